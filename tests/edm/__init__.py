"""Tests of the EDM model (``simulators.edm``); hand-built representative messages of every shape live here."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

from simulators.edm import (V1_2, V2_0, ERROR_CODES, Address, Agent, AgentRole, DataServiceEvidenceType,
                            DistributedAs, Distribution, DocumentKind, EvidenceDocument, EvidencePackage,
                            EvidenceTypeRef, ExceptionResponse, Identifier, LegalPerson, LocalizedText, Person,
                            ProviderClassification, QueryRequest, QueryResponse, ValidityPeriod)
from simulators.edm.bench import main_evidence, supplementary, typical_request, typical_response

#: the corpus messages the model must read (headers excluded), relative to the TDD corpus roots
CORPUS_MESSAGES = {
    "edm-v0.99-governikus/xml/Request-Response Samples/Birth Certificate/oots_request.xml": ("QueryRequest", "v1.0"),
    "edm-v0.99-governikus/xml/Request-Response Samples/Birth Certificate/oots_response.xml": ("QueryResponse", "v1.0"),
    "edm-v0.99-governikus/xml/Request-Response Samples/Secondary Education Completion Evidence/"
    "oots_exception_preview.xml": ("ExceptionResponse", "v1.0"),
    "edm-v0.99-governikus/xml/Request-Response Samples/Secondary Education Completion Evidence/"
    "oots_request1_preview.xml": ("QueryRequest", "v1.0"),
    "edm-v0.99-governikus/xml/Request-Response Samples/Secondary Education Completion Evidence/"
    "oots_request2_after_preview.xml": ("QueryRequest", "v1.0"),
    "edm-v0.99-governikus/xml/Request-Response Samples/Secondary Education Completion Evidence/"
    "oots_response.xml": ("QueryResponse", "v1.0"),
    "edm-v1.2-pyregrep/xml/EDM_Ferst_Request.xml": ("QueryRequest", "v1.2"),
    "edm-v1.2-pyregrep/xml/EDM_Ferst_Response.xml": ("ExceptionResponse", "v1.2"),
    "edm-v1.2-pyregrep/xml/EDM_Second_Request.xml": ("QueryRequest", "v1.2"),
    "edm-v1.2-pyregrep/xml/EDM_Second_Response.xml": ("QueryResponse", "v1.2"),
    "edm-v2.0-oots-france/xml/reference/messages/erreur.xml": ("ExceptionResponse", "v2.0"),
    "edm-v2.0-oots-france/xml/reference/messages/erreurCapaciteNonSupportee.xml": ("ExceptionResponse", "v2.0"),
    "edm-v2.0-oots-france/xml/reference/messages/erreurExpiration.xml": ("ExceptionResponse", "v2.0"),
    "edm-v2.0-oots-france/xml/reference/messages/erreurRequeteInvalide.xml": ("ExceptionResponse", "v2.0"),
    "edm-v2.0-oots-france/xml/reference/messages/reponse.xml": ("QueryResponse", "v2.0"),
    "edm-v2.0-oots-france/xml/reference/messages/requete.xml": ("QueryRequest", "v2.0"),
}

T0 = datetime(2026, 8, 6, 10, 0, 0, tzinfo=timezone.utc)
CET = timezone(timedelta(hours=1))
PREVIEW_URL = "https://preview.provider.example.de/session/9b1f0c7e-3e1a-4bd4-8f0e-2c8f9a3d5e61"
RETURN_URL = "https://portal.oots.example.fr/return/0d7c4b0e-5a56-4c1b-9f57-2f3c0c0f6a10"


def error_provider() -> Agent:
    return Agent(Identifier("DE73524311", "urn:cef.eu:names:identifier:EAS:9930"),
                 LocalizedText("Civil Registration Office Berlin I", "EN"),
                 Address(full_address="Schönstedtstraße 5, 13357 Berlin", post_code="13357", post_city_name="Berlin",
                         admin_unit_level1="DE", admin_unit_level2="DE300"), AgentRole.ERROR_PROVIDER)


def legal_person_request(version: str = V2_0) -> QueryRequest:
    """A company as subject, represented by a natural person; the DSD:ERR:0005 answer (provider classification)."""
    req = typical_request(version)
    company = LegalPerson(
        "Boulangerie Dupont SARL", Identifier("FR/DE/552100554", "eidas"), level_of_assurance="Substantial",
        registered_address=Address(full_address="1 rue de la Paix, 75002 Paris", post_code="75002",
                                   post_city_name="Paris", thoroughfare="rue de la Paix", admin_unit_level1="FR"))
    rep = Person("Dupont", "Marie", date(1970, 1, 31), level_of_assurance="High",
                 identifier=Identifier("FR/DE/987654321", "eidas"), birth_name="Martin", place_of_birth="Lyon",
                 current_address=Address(full_address="1 rue de la Paix, 75002 Paris", admin_unit_level1="FR"),
                 gender="Female")
    epc = ProviderClassification(
        Identifier("9be524c1-6efe-417a-974c-088f54f0bcae", "https://sr.oots.tech.ec.europa.eu/codelists/DE/states"),
        "codelist", "https://query.cs.oots.tech.ec.europa.eu/dsd/rest/codelists/DE/states/1",
        [LocalizedText("Select the federal state of the register.", "EN")], ["BE"])
    dset = DataServiceEvidenceType(
        "7d3b3bb8-2f6a-4a3e-9d7c-0f7e1b3f6a21",
        "https://sr.oots.tech.ec.europa.eu/evidencetypeclassifications/DE/5c1b7a1e-0a8e-4c55-8d0e-7f3b0c1e2d33",
        [LocalizedText("Extract from the commercial register", "EN"), LocalizedText("Handelsregisterauszug", "DE")],
        [], [DistributedAs("application/xml",
                           conforms_to="https://sr.oots.tech.ec.europa.eu/datamodels/company-register-1.0.0",
                           languages=["EN", "DE"] if version == V2_0 else [])]
        + ([DistributedAs("application/pdf", associated_document_requests=["HumanReadableVersion", "Annex"])]
           if version == V2_0 else []))
    return replace(req, id="urn:uuid:3c2b1a00-0000-4000-8000-00000000000a", natural_person=None,
                   legal_person=company, authorized_representative=rep, evidence_request=dset,
                   evidence_provider_classifications=[epc], procedure="R1")


def preview_request(version: str = V2_0) -> QueryRequest:
    """Request #2 of a preview: same content, new id, PreviewLocation (+ ReturnLocation in v2.0)."""
    return replace(typical_request(version), id="urn:uuid:1a2b3c4d-0000-4000-8000-0000000000b2",
                   issue_datetime=T0 + timedelta(minutes=3), preview_location=PREVIEW_URL,
                   return_location=RETURN_URL if version == V2_0 else None)


def full_package_response() -> QueryResponse:
    """v2.0 success: two packages, the first with MainEvidence + Translation + Annex + HumanReadableVersion."""
    resp = typical_response(V2_0, (DocumentKind.TRANSLATION, DocumentKind.ANNEX,
                                   DocumentKind.HUMAN_READABLE_VERSION))
    xml_main = replace(main_evidence(20), distribution=Distribution(
        "application/xml", conforms_to="https://sr.oots.tech.ec.europa.eu/datamodels/birth-certificate-1.0.0"),
        validity_period=ValidityPeriod(date(2026, 8, 1), date(2027, 7, 31)))
    second = EvidencePackage([EvidenceDocument(xml_main, "main-20@xml.oots.example", title="BirthCertificate"),
                              supplementary(DocumentKind.HUMAN_READABLE_VERSION, 21)])
    return replace(resp, packages=resp.packages + [second])


def legal_response(version: str = V2_0) -> QueryResponse:
    """Success about a legal person (IsAbout/LegalPerson)."""
    resp = typical_response(version, ())
    req = legal_person_request(version)
    doc = resp.packages[0].documents[0]
    ev = replace(doc.evidence, is_about=req.legal_person.minimum_data_set(), is_conformant_to=EvidenceTypeRef(
        req.evidence_request.evidence_type_classification, req.evidence_request.titles))
    return replace(resp, request_id=req.id, packages=[EvidencePackage([replace(doc, evidence=ev)])])


def deferred_response(version: str = V2_0) -> QueryResponse:
    return replace(typical_response(version), packages=[], status=None,
                   response_available_datetime=datetime(2026, 8, 20, 9, 30, tzinfo=CET))


def empty_response(version: str = V2_0) -> QueryResponse:
    """Refused preview: Success with an empty list."""
    return replace(typical_response(version), packages=[])


def error(code: str, version: str = V2_0, **kw) -> ExceptionResponse:
    """An exception response for ``code``; 0002 carries the preview slots, 0003 the violated rule."""
    args = dict(response_id="1a2b3c4d-0000-4000-8000-0000000000e1", error_provider=error_provider(), code=code,
                request_id="urn:uuid:1a2b3c4d-0000-4000-8000-000000000000", timestamp=T0,
                evidence_requester=typical_response(version).evidence_requester, version=version)
    if code == "EDM:ERR:0002":
        args.update(preview_location=PREVIEW_URL,
                    preview_description=[LocalizedText("Please select your diploma.", "EN"),
                                         LocalizedText("Bitte wählen Sie Ihr Diplom aus.", "DE")])
    if code == "EDM:ERR:0003":
        args.update(detail="R-EDM-REQ-S009")
    args.update(kw)
    return ExceptionResponse(**args)


def representative_messages() -> dict[str, object]:
    """Every shape the builders must get right, keyed by a readable id, for both supported lines."""
    out: dict[str, object] = {}
    for v in (V2_0, V1_2):
        out[f"request-natural-ip-{v}"] = typical_request(v)
        out[f"request-legal-{v}"] = legal_person_request(v)
        out[f"request-preview2-{v}"] = preview_request(v)
        out[f"response-success-{v}"] = typical_response(v)
        out[f"response-legal-{v}"] = legal_response(v)
        out[f"response-deferred-{v}"] = deferred_response(v)
        out[f"response-empty-{v}"] = empty_response(v)
        for code in ERROR_CODES:
            out[f"error-{code[-4:]}-{v}"] = error(code, v)
    out["response-full-package-v2.0"] = full_package_response()
    out["error-0003-no-request-id-v2.0"] = error("EDM:ERR:0003", request_id=None)
    out["error-0002-no-preview-v2.0"] = error("EDM:ERR:0002", preview_location=None, preview_description=[])
    return out
