"""Hypothesis strategies for EDM messages: valid model objects, their XML, and labelled invalid mutants.

    from simulators.edm import strategies as S
    @given(S.requests("v2.0"))            # QueryRequest (model) valid for the validator
    @given(S.responses_xml("v1.2"))       # bytes through simulators.edm.build
    @given(S.mutations("v2.0"))           # (check id, bytes): a valid message broken for exactly that check

*Valid* means: ``conformance.rules.validator.Validator().validate_bytes`` reports no FATAL and no WARNING
finding (CAUTION notices, e.g. "no rule set loaded", are allowed). Subjects, agents and evidence documents come
from :mod:`simulators.personas` and :mod:`simulators.edm.evidence`, so examples look like real exchanges; ids
and dates are drawn by Hypothesis (reproducible with ``derandomize=True`` or a fixed seed).

A *mutation* (:data:`MUTATIONS`) is a small lxml edit of a valid generated message that breaks exactly one
harness check: the validator's FATAL/WARNING findings are that check's id and no other. Each mutation says
which message kind and versions it applies to and what it needs from the base message (e.g. a supplementary
document, a preview exception). ``mutations(version)`` draws one mutation label, a suitable base message, and
returns ``(label, mutated_xml_bytes)``.
"""
from __future__ import annotations

import copy
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Callable

from hypothesis import strategies as st
from lxml import etree

from conformance.rules.ns import NS, XML_LANG, XSI_TYPE
from simulators.personas import OOTS_COUNTRIES, Personas
from . import model as m
from .build import build_request, to_bytes
from .evidence import EVIDENCE_TYPES, PDF, XML, make_evidence

__all__ = ["requests", "responses", "exceptions", "requests_xml", "responses_xml", "exceptions_xml",
           "messages", "mutations", "mutation_labels", "MUTATIONS", "Mutation", "PROCEDURES"]

#: Procedures code list values (TDD, identical in 1.2.5 and 2.0.1) used for ``Procedure``.
PROCEDURES = ("T1", "T2", "T3", "R1", "S1", "V5", "X7", "X9", "AM1")
_LANGS = ("EN", "FR", "DE", "ES", "IT", "NL", "PT", "PL", "SV")
_SR = "https://sr.oots.tech.ec.europa.eu"
_PERSONA_SEED = "oots-harness/strategies"
_TZ = (timezone.utc, timezone(timedelta(hours=1)), timezone(timedelta(hours=2)), timezone(timedelta(hours=-3)))
_DOMAIN = "evidence.oots-harness.test"


@lru_cache(maxsize=4096)
def _natural(cc: str, i: int):
    return Personas(_PERSONA_SEED).natural(cc, i)


@lru_cache(maxsize=4096)
def _legal(cc: str, i: int):
    return Personas(_PERSONA_SEED).legal(cc, i)


@lru_cache(maxsize=1024)
def _authority(cc: str, i: int):
    return Personas(_PERSONA_SEED).authority(cc, i)


@lru_cache(maxsize=4096)
def _evidence(kind: str, cc: str, i: int, etype: str, fmt: str, lang: str, doc_kind: str):
    persona = _natural(cc, i) if kind == "natural" else _legal(cc, i)
    return make_evidence(persona, etype, fmt, lang, kind=doc_kind)


# --- small strategies -------------------------------------------------------------------------------------

countries = st.sampled_from(OOTS_COUNTRIES)
_index = st.integers(0, 40)


def _uuid(draw) -> str:
    return str(draw(st.uuids(version=4)))


def _datetime(draw) -> datetime:
    dt = draw(st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31)))
    ms = draw(st.sampled_from((0, 0, 250, 500)))
    return dt.replace(microsecond=ms * 1000, tzinfo=draw(st.sampled_from(_TZ)))


def _agent(draw, classification: str | None, *, address: bool, country: str | None = None) -> m.Agent:
    cc = country or draw(countries)
    return _authority(cc, draw(st.integers(0, 11))).to_agent(classification, with_address=address)


def _intermediary(cc: str) -> m.Agent:
    return m.Agent(m.Identifier(f"OOTS{cc}", f"urn:oasis:names:tc:ebcore:partyid-type:unregistered:{cc}"),
                   m.LocalizedText(f"OOTS {cc} Intermediary Platform", "EN"), classification=m.AgentRole.INTERMEDIARY)


def _https(draw, what: str) -> str:
    return f"https://{what}.{draw(st.sampled_from(('fr', 'de', 'es', 'it')))}.oots-harness.test/{_uuid(draw)}"


def _texts(draw, text: str, langs=("EN",)) -> list[m.LocalizedText]:
    return [m.LocalizedText(text, lang) for lang in langs]


# --- requests ---------------------------------------------------------------------------------------------

@st.composite
def requests(draw, version: str = m.V2_0, *, subject: str | None = None, preview: bool | None = None,
             intermediary: bool | None = None, authorized_representative: bool | None = None) -> m.QueryRequest:
    """A valid ``QueryRequest``. ``subject``: natural | legal; ``preview``: second request of a preview
    (PreviewLocation, + ReturnLocation in v2.0); the others force the optional agents on or off."""
    v2 = m.is_v2(version)
    subject = subject or draw(st.sampled_from(("natural", "natural", "legal")))
    req_cc, prov_cc = draw(countries), draw(countries)
    i = draw(_index)
    persona = _natural(prov_cc, i) if subject == "natural" else _legal(prov_cc, i)
    etype = draw(st.sampled_from([t for t in EVIDENCE_TYPES.values() if t.subject == subject]))
    requesters = [_agent(draw, m.AgentRole.REQUESTER, address=True, country=req_cc)]
    if intermediary if intermediary is not None else draw(st.booleans()):
        requesters.append(_intermediary(req_cc))
    n_dist = draw(st.integers(1, 2)) if v2 else draw(st.integers(0, 1))
    fmts = draw(st.permutations((PDF, XML)))[:n_dist]
    distributed = []
    for fmt in fmts:
        d = m.DistributedAs(fmt, conforms_to=etype.data_model() if fmt == XML else None)
        if v2:
            d.languages = draw(st.lists(st.sampled_from(_LANGS), max_size=2, unique=True))
            d.associated_document_requests = draw(st.lists(
                st.sampled_from(("Annex", "HumanReadableVersion", "Translation")), max_size=3, unique=True))
        distributed.append(d)
    title_langs = ["EN"] + draw(st.lists(st.sampled_from(_LANGS[1:]), max_size=1))
    dset = m.DataServiceEvidenceType(
        etype.data_service_id(prov_cc), etype.classification(prov_cc), _texts(draw, etype.title_en, title_langs),
        _texts(draw, etype.description_en) if draw(st.booleans()) else [], distributed)
    requirements = [m.Requirement(f"{_SR}/requirements/{_uuid(draw)}", [m.LocalizedText(f"Proof of {etype.key}", "EN")],
                                  _texts(draw, etype.description_en) if draw(st.booleans()) else [])
                    for _ in range(draw(st.integers(1, 2)))]
    rep = authorized_representative if authorized_representative is not None else draw(st.integers(0, 5)) == 0
    is_preview = preview if preview is not None else draw(st.integers(0, 3)) == 0
    req = m.QueryRequest(
        id="urn:uuid:" + _uuid(draw), issue_datetime=_datetime(draw), evidence_requester=requesters,
        evidence_provider=_agent(draw, None, address=False, country=prov_cc), evidence_request=dset,
        natural_person=persona.to_subject() if subject == "natural" else None,
        legal_person=persona.to_subject() if subject == "legal" else None,
        authorized_representative=_natural(req_cc, draw(_index)).to_subject() if rep else None,
        possibility_for_preview=True if is_preview else draw(st.booleans()),
        explicit_request_given=draw(st.booleans()), procedure=draw(st.sampled_from(PROCEDURES)),
        procedure_lang=None if v2 else draw(st.sampled_from(_LANGS)), requirements=requirements,
        preview_location=_https(draw, "preview") if is_preview else None,
        return_location=_https(draw, "return") if is_preview and v2 else None,
        lang=None if v2 else draw(st.sampled_from(_LANGS)), version=version)
    return req


# --- responses --------------------------------------------------------------------------------------------

def _document(draw, kind: str, cc: str, i: int, etype: str, fmt: str, lang: str, doc_kind: str, issuer: m.Agent,
              v2: bool) -> m.EvidenceDocument:
    doc = _evidence(kind, cc, i, etype, fmt, lang, doc_kind)
    persona = _natural(cc, i) if kind == "natural" else _legal(cc, i)
    return doc.to_edm(persona, issuer, languages=v2 and draw(st.booleans()))


@st.composite
def responses(draw, version: str = m.V2_0, *, status: str | None = None, supplementary: bool | None = None,
              main_format: str | None = None) -> m.QueryResponse:
    """A valid ``QueryResponse``. ``status``: success (with documents) | empty (refused preview) | deferred.
    ``supplementary`` (v2.0): force Translation/Annex/HumanReadableVersion documents on or off."""
    v2 = m.is_v2(version)
    status = status or draw(st.sampled_from(("success",) * 6 + ("empty", "deferred")))
    prov_cc = draw(countries)
    provider = _agent(draw, m.AgentRole.PROVIDER, address=True, country=prov_cc)
    issuer = m.Agent(provider.identifier, provider.name)
    packages = []
    if status == "success":
        kind = draw(st.sampled_from(("natural", "natural", "legal")))
        i = draw(_index)
        types = [t.key for t in EVIDENCE_TYPES.values() if t.subject == kind]
        combos = draw(st.lists(st.tuples(st.sampled_from(types), st.sampled_from((PDF, XML))), min_size=1,
                               max_size=2, unique=True))
        if main_format:
            combos = [(t, main_format) for t, _ in combos[:1]]
        for etype, fmt in combos:
            lang = draw(st.sampled_from(_LANGS))
            docs = [_document(draw, kind, prov_cc, i, etype, fmt, lang, "MainEvidence", issuer, v2)]
            if v2:
                wanted = draw(st.lists(st.sampled_from(("Translation", "HumanReadableVersion", "Annex")),
                                       max_size=3, unique=True))
                if supplementary is True and not wanted:
                    wanted = ["Annex"]
                if supplementary is False:
                    wanted = []
                for sk in wanted:
                    sl = ("FR" if lang == "EN" else "EN") if sk == "Translation" else lang
                    docs.append(_document(draw, kind, prov_cc, i, etype, fmt, sl, sk, issuer, v2))
            packages.append(m.EvidencePackage(docs))
    issued = _datetime(draw)
    return m.QueryResponse(
        request_id="urn:uuid:" + _uuid(draw), response_id=_uuid(draw), issue_datetime=issued,
        evidence_provider=[provider], evidence_requester=_agent(draw, None, address=False),
        packages=packages if v2 else [m.EvidencePackage([d]) for p in packages for d in p.documents],
        response_available_datetime=issued + timedelta(days=draw(st.integers(1, 30))) if status == "deferred"
        else None, version=version)


# --- exceptions -------------------------------------------------------------------------------------------

@st.composite
def exceptions(draw, version: str = m.V2_0, *, preview: bool | None = None, code: str | None = None,
               request_id: bool | None = None) -> m.ExceptionResponse:
    """A valid exception ``QueryResponse``. ``preview=True``: EDM:ERR:0002 PreviewRequired with PreviewLocation
    (v1.2 adds PreviewMethod); ``request_id=False`` omits it (forces an InvalidRequest, 0003)."""
    if request_id is False:  # only an InvalidRequest may omit the requestId (C025)
        preview, code = False, "EDM:ERR:0003"
    if preview is None:
        preview = draw(st.integers(0, 3)) == 0 and code in (None, "EDM:ERR:0002")
    if preview:
        code = "EDM:ERR:0002"
    code = code or draw(st.sampled_from(sorted(m.ERROR_CODES)))
    if request_id is None:
        request_id = code != "EDM:ERR:0003" or draw(st.booleans())
    detail = None
    if code == "EDM:ERR:0003":
        detail = draw(st.sampled_from(("R-EDM-REQ-S009", "R-EDM-REQ-S016", "R-EDM-REQ-C001", None)))
    elif draw(st.booleans()):
        detail = draw(st.sampled_from(("No matching evidence", "Provider timeout", "Unsupported format")))
    description = []
    if preview and draw(st.booleans()):
        description = [m.LocalizedText("Preview the evidence before it is sent", "EN")] + (
            [m.LocalizedText("Prévisualisez la preuve avant son envoi", "FR")] if draw(st.booleans()) else [])
    return m.ExceptionResponse(
        response_id=_uuid(draw), error_provider=_agent(draw, m.AgentRole.ERROR_PROVIDER, address=True),
        code=code, request_id="urn:uuid:" + _uuid(draw) if request_id else None,
        evidence_requester=_agent(draw, None, address=False) if draw(st.integers(0, 4)) else None,
        timestamp=_datetime(draw), detail=detail,
        preview_location=_https(draw, "preview") if preview else None, preview_description=description,
        version=version)


def requests_xml(version: str = m.V2_0, **kw) -> st.SearchStrategy[bytes]:
    return requests(version, **kw).map(to_bytes)


def responses_xml(version: str = m.V2_0, **kw) -> st.SearchStrategy[bytes]:
    return responses(version, **kw).map(to_bytes)


def exceptions_xml(version: str = m.V2_0, **kw) -> st.SearchStrategy[bytes]:
    return exceptions(version, **kw).map(to_bytes)


def messages(version: str = m.V2_0) -> st.SearchStrategy:
    """Any valid EDM message of ``version``."""
    return st.one_of(requests(version), responses(version), exceptions(version))


# --- mutations --------------------------------------------------------------------------------------------

def _x(root, path: str) -> list:
    return root.xpath(path, namespaces=NS)


def _one(root, path: str):
    found = _x(root, path)
    if not found:
        raise LookupError(f"mutation target not found: {path}")
    return found[0]


def _drop(el) -> None:
    el.getparent().remove(el)


def _sdg(local: str, text: str | None = None):
    el = etree.Element(f"{{{NS['sdg']}}}{local}")
    el.text = text
    return el


def _slot(name: str, vtype: str, value: str):
    slot = etree.Element(f"{{{NS['rim']}}}Slot", name=name)
    sv = etree.SubElement(slot, f"{{{NS['rim']}}}SlotValue")
    sv.set(XSI_TYPE, f"rim:{vtype}")
    etree.SubElement(sv, f"{{{NS['rim']}}}Value").text = value
    return slot


def _add_slot(parent, slot) -> None:
    """Append a slot after the existing ones (slots come first in every RegRep type used here)."""
    existing = [c for c in parent if c.tag == f"{{{NS['rim']}}}Slot"]
    if existing:
        existing[-1].addnext(slot)
    else:
        parent.insert(0, slot)


_SLOT = "rim:Slot[@name='%s']"
_Q = "query:Query/"


def _m_request_id(root, rng):
    root.set("id", root.get("id").removeprefix("urn:uuid:") if rng.random() < 0.5 else "urn:uuid:not-a-uuid")


def _m_duplicate_spec(root, rng):
    s = _one(root, _SLOT % "SpecificationIdentifier")
    s.addnext(copy.deepcopy(s))


def _m_issue_datetime(root, rng):
    s = _one(root, _SLOT % "IssueDateTime")
    if rng.random() < 0.5:
        _drop(s)
    else:
        _one(s, "rim:SlotValue").set(XSI_TYPE, "rim:StringValueType")


def _m_booleans(root, rng):
    _drop(_one(root, _SLOT % rng.choice(("PossibilityForPreview", "ExplicitRequestGiven"))))


def _m_requester_bag(root, rng):
    _one(root, _SLOT % "EvidenceRequester" + "/rim:SlotValue").set(
        "collectionType", "urn:oasis:names:tc:ebxml-regrep:CollectionType:Bag")


def _m_er_agent(root, rng):
    agent = _one(root, _SLOT % "EvidenceRequester" + "//sdg:Agent[sdg:Classification='ER']")
    if rng.random() < 0.5:
        _drop(_one(agent, "sdg:Address"))
    else:
        del _one(agent, "sdg:Name").attrib["lang"]


def _m_ip_agent(root, rng):
    """A second requester element whose agent is classified neither ER nor IP (EP)."""
    item = _one(root, _SLOT % "EvidenceRequester" + "/rim:SlotValue/rim:Element[sdg:Agent/sdg:Classification='ER']")
    clone = copy.deepcopy(item)
    _one(clone, "sdg:Agent/sdg:Classification").text = "EP"
    item.getparent().append(clone)


def _m_provider_extra(root, rng):
    agent = _one(root, _SLOT % "EvidenceProvider" + "/rim:SlotValue/sdg:Agent")
    addr = _sdg("Address")
    addr.append(_sdg("AdminUnitLevel1", "FR"))
    agent.append(addr)


def _m_unknown_slot(root, rng):
    _add_slot(root, _slot(rng.choice(("EvidenceProviderClassificationValues", "Jurisdiction", "Foo")),
                          "StringValueType", "x"))


def _m_return_type(root, rng):
    if rng.random() < 0.5:
        _one(root, "query:ResponseOption").set("returnType", "LeafClass")
    else:
        _one(root, "query:Query").set("queryDefinition", "FindObjectByIdQuery")


def _m_two_subjects(root, rng):
    """Add the other kind of subject (a complete, valid one) next to the existing one."""
    query = _one(root, "query:Query")
    add_legal = bool(_x(query, _SLOT % "NaturalPerson"))
    personas = Personas(_PERSONA_SEED)
    other = (personas.legal if add_legal else personas.natural)(rng.choice(OOTS_COUNTRIES), rng.randrange(40))
    donor = m.QueryRequest(
        "urn:uuid:00000000-0000-4000-8000-000000000000", datetime(2026, 1, 1, tzinfo=timezone.utc), [],
        m.Agent(m.Identifier("-"), m.LocalizedText("-")), m.DataServiceEvidenceType("-", "-"),
        natural_person=None if add_legal else other.to_subject(), legal_person=other.to_subject() if add_legal else None)
    slot = _one(build_request(donor), _Q + _SLOT % ("LegalPerson" if add_legal else "NaturalPerson"))
    _one(query, _SLOT % "EvidenceRequest").addprevious(slot)


def _m_evidence_request(root, rng):
    dset = _one(root, _Q + _SLOT % "EvidenceRequest" + "/rim:SlotValue/sdg:DataServiceEvidenceType")
    local = rng.choice(("Title", "EvidenceTypeClassification", "Identifier"))
    for el in _x(dset, f"sdg:{local}"):
        _drop(el)


def _m_distributed_as(root, rng, version):
    dset = _one(root, _Q + _SLOT % "EvidenceRequest" + "/rim:SlotValue/sdg:DataServiceEvidenceType")
    dist = _x(dset, "sdg:DistributedAs")
    if version == m.V2_0:
        if rng.random() < 0.5:
            for d in dist:
                _drop(d)
        else:
            _one(dist[0], "sdg:Format").addnext(_sdg("Format", "application/json"))
    else:
        for _ in range(2):
            d = _sdg("DistributedAs")
            d.append(_sdg("Format", "application/pdf"))
            dset.append(d)


def _m_root_lang(root, rng, version):
    if version == m.V2_0:
        root.set(XML_LANG, rng.choice(("EN", "FR", "de")))
    else:
        del root.attrib[XML_LANG]


def _m_loa(root, rng):
    subject = _one(root, _Q + "rim:Slot[@name='NaturalPerson' or @name='LegalPerson']/rim:SlotValue/*")
    loa = _one(subject, "sdg:LevelOfAssurance")
    if rng.random() < 0.5:
        loa.text = rng.choice(("Medium", "high", "4"))
    else:
        _drop(loa)


def _m_eidas_id(root, rng):
    ident = _one(root, _Q + "rim:Slot[@name='NaturalPerson' or @name='LegalPerson']/rim:SlotValue/*/"
                      "*[local-name()='Identifier' or local-name()='LegalPersonIdentifier'][@schemeID='eidas']")
    if rng.random() < 0.5:
        ident.text = ident.text.split("/", 2)[2]  # national id without XX/YY/
    else:
        ident.set("schemeID", "national")


def _m_requirement(root, rng):
    req = _one(root, _SLOT % "Requirements" + "//sdg:Requirement")
    for el in _x(req, "sdg:Name" if rng.random() < 0.5 else "sdg:Identifier"):
        _drop(el)


def _m_preview_location(root, rng):
    """Existing PreviewLocation: not https (C005). Otherwise add one: v2.0 without its ReturnLocation (S062);
    v1.2 (no pair rule) with a non-https URL."""
    found = _x(root, _SLOT % "PreviewLocation")
    if found:
        _one(found[0], "rim:SlotValue/rim:Value").text = "http://preview.oots-harness.test/p/1"
    else:
        url = "https://preview.oots-harness.test/p/1" if _version(root) == m.V2_0 else "ftp://preview.test/p/1"
        _add_slot(root, _slot("PreviewLocation", "StringValueType", url))


def _m_no_procedure(root, rng):
    _drop(_one(root, _SLOT % "Procedure"))


# responses

def _m_response_id(root, rng):
    v = _one(root, _SLOT % "EvidenceResponseIdentifier" + "/rim:SlotValue/rim:Value")
    v.text = "urn:uuid:" + v.text if rng.random() < 0.5 else "RESP-" + v.text[:8]


def _m_provider_class(root, rng):
    _one(root, _SLOT % "EvidenceProvider" + "//sdg:Agent/sdg:Classification").text = rng.choice(("ER", "ERRP"))


def _m_requester_name(root, rng):
    _drop(_one(root, _SLOT % "EvidenceRequester" + "/rim:SlotValue/sdg:Agent/sdg:Name"))


def _m_extra_package(root, rng):
    pkg = etree.SubElement(_one(root, "rim:RegistryObjectList"), f"{{{NS['rim']}}}RegistryObject",
                           id="urn:uuid:" + str(uuid.UUID(int=rng.getrandbits(128), version=4)))
    pkg.set(XSI_TYPE, "rim:RegistryPackageType")


def _m_main_unclassified(root, rng):
    _drop(_one(root, "//rim:Classification[@classificationNode='MainEvidence']"))


def _m_classification_id(root, rng):
    cls = _x(root, "//rim:Classification[@classificationScheme='urn:fdc:oots:classification:edm']")
    rng.choice(cls).set("id", rng.choice(("cls-1", "urn:uuid:1234", "classification")))


def _m_main_metadata(root, rng):
    main = _x(root, "//rim:RegistryObject[@xsi:type='rim:ExtrinsicObjectType']"
                    "[not(rim:Classification) or rim:Classification/@classificationNode='MainEvidence']")
    ev = _one(rng.choice(main), _SLOT % "EvidenceMetadata" + "/rim:SlotValue/sdg:Evidence")
    _drop(_one(ev, "sdg:" + rng.choice(("IssuingDate", "IssuingAuthority", "IsConformantTo", "Distribution"))))


def _m_supplementary_metadata(root, rng):
    supp = _x(root, "//rim:RegistryObject[rim:Classification/@classificationNode!='MainEvidence']")
    ev = _one(rng.choice(supp), _SLOT % "EvidenceMetadata" + "/rim:SlotValue/sdg:Evidence")
    _one(ev, "sdg:Identifier").addnext(_sdg("IssuingDate", "2025-01-01"))


def _m_repository_ref(root, rng):
    ref = rng.choice(_x(root, "//rim:RepositoryItemRef"))
    if rng.random() < 0.5:
        del ref.attrib[f"{{{NS['xlink']}}}title"]
    else:
        ref.set(f"{{{NS['xlink']}}}href", ref.get(f"{{{NS['xlink']}}}href").removeprefix("cid:"))


def _m_evidence_identifier(root, rng):
    ident = rng.choice(_x(root, "//sdg:Evidence/sdg:Identifier"))
    ident.text = rng.choice(("EV-" + ident.text[:8], "urn:uuid:" + ident.text))


def _m_is_about(root, rng):
    subj = _one(root, "//sdg:IsAbout/*")
    _drop(_one(subj, "sdg:GivenName" if subj.tag.endswith("NaturalPerson") else "sdg:LegalName"))


def _m_structured_conforms(root, rng):
    main = _x(root, "//rim:RegistryObject[@xsi:type='rim:ExtrinsicObjectType']"
                    "[not(rim:Classification) or rim:Classification/@classificationNode='MainEvidence']")
    dist = _one(rng.choice(main), ".//sdg:Evidence/sdg:Distribution")
    conf = _x(dist, "sdg:ConformsTo")
    if conf:
        _drop(conf[0])
    else:
        _one(dist, "sdg:Format").text = "application/xml"


def _m_deferred(root, rng):
    rad = _x(root, _SLOT % "ResponseAvailableDateTime")
    if rad:
        _drop(rad[0])
    else:
        root.set("status", m.STATUS_PREFIX + "Unavailable")


# exceptions

def _m_error_provider(root, rng):
    agent = _one(root, _SLOT % "ErrorProvider" + "/rim:SlotValue/sdg:Agent")
    if rng.random() < 0.5:
        _one(agent, "sdg:Classification").text = "EP"
    else:
        _drop(_one(agent, "sdg:Address"))


def _m_error_message(root, rng):
    exc = _one(root, "rs:Exception")
    if rng.random() < 0.5 or _x(exc, _SLOT % "PreviewLocation"):  # an unknown code also voids the preview
        exc.set("message", "Something went wrong")
    else:
        exc.set("code", "EDM:ERR:0042")


def _m_timestamp(root, rng):
    _drop(_one(root, "rs:Exception/" + _SLOT % "Timestamp"))


def _m_exception_request_id(root, rng):
    rid = root.get("requestId")
    if rid and _one(root, "rs:Exception").get(XSI_TYPE) != "rs:InvalidRequestExceptionType" and rng.random() < 0.5:
        del root.attrib["requestId"]
    else:
        root.set("requestId", str(uuid.UUID(int=rng.getrandbits(128), version=4)))


def _m_severity(root, rng):
    _one(root, "rs:Exception").set("severity", rng.choice((
        "urn:sr.oots.tech.ec.europa.eu:codes:ErrorSeverity:DSDErrorResponse:AdditionalInput",
        "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Warning")))


def _m_preview_on_other(root, rng):
    exc = _one(root, "rs:Exception")
    exc.append(_slot("PreviewLocation", "StringValueType", "https://preview.oots-harness.test/p/2"))
    if _version(root) == m.V1_2:
        exc.append(_slot("PreviewMethod", "StringValueType", "GET"))


def _m_preview_method(root, rng):
    exc = _one(root, "rs:Exception")
    methods = _x(exc, _SLOT % "PreviewMethod")
    if _version(root) == m.V2_0:
        exc.append(_slot("PreviewMethod", "StringValueType", "GET"))
    elif rng.random() < 0.5:
        _drop(methods[0])
    else:
        _one(methods[0], "rim:SlotValue/rim:Value").text = "FETCH"


def _version(root) -> str | None:
    v = _x(root, "rim:Slot[@name='SpecificationIdentifier']/rim:SlotValue/rim:Value/text()")
    return m.version_of(v[0].strip()) if v else None


@dataclass(frozen=True)
class Mutation:
    """A labelled mutation: ``apply(root, rng[, version])`` edits a valid ``kind`` message in place so that
    the check ``label`` (and no other) fails. ``base`` makes the strategy for a suitable valid message."""

    label: str
    kind: str  # request | response | exception
    apply: Callable
    versions: tuple[str, ...] = (m.V2_0, m.V1_2)
    base: Callable[[str], st.SearchStrategy] | None = None
    needs_version: bool = False
    what: str = ""


def _req(**kw):
    return lambda v: requests(v, **kw)


def _resp(**kw):
    return lambda v: responses(v, **kw)


def _exc(**kw):
    return lambda v: exceptions(v, **kw)


MUTATIONS: tuple[Mutation, ...] = (
    Mutation("EDM-REQ-001", "request", _m_request_id, what="@id without urn:uuid: prefix / not a UUID"),
    Mutation("EDM-REQ-002", "request", _m_duplicate_spec, what="SpecificationIdentifier twice"),
    Mutation("EDM-REQ-003", "request", _m_issue_datetime, what="IssueDateTime removed / typed String"),
    Mutation("EDM-REQ-004", "request", _m_booleans, what="PossibilityForPreview or ExplicitRequestGiven removed"),
    Mutation("EDM-REQ-005", "request", _m_requester_bag, what="EvidenceRequester collection is a Bag"),
    Mutation("EDM-REQ-006", "request", _m_er_agent, what="ER agent without Address / Name@lang"),
    Mutation("EDM-REQ-007", "request", _m_ip_agent, what="extra requester agent classified EP"),
    Mutation("EDM-REQ-008", "request", _m_provider_extra, what="EvidenceProvider agent with an Address"),
    Mutation("EDM-REQ-009", "request", _m_unknown_slot, what="unknown request-level slot"),
    Mutation("EDM-REQ-010", "request", _m_return_type, what="returnType / queryDefinition changed"),
    Mutation("EDM-REQ-011", "request", _m_two_subjects, what="NaturalPerson and LegalPerson both present"),
    Mutation("EDM-REQ-012", "request", _m_evidence_request, what="DataServiceEvidenceType without Title/..."),
    Mutation("EDM-REQ-014", "request", _m_distributed_as, needs_version=True,
             what="v2.0 no DistributedAs or two Formats; v1.2 two DistributedAs"),
    Mutation("EDM-REQ-015", "request", _m_root_lang, needs_version=True,
             what="v2.0 root xml:lang added; v1.2 root xml:lang removed"),
    Mutation("EDM-REQ-016", "request", _m_loa, what="subject LevelOfAssurance invalid or removed"),
    Mutation("EDM-REQ-017", "request", _m_eidas_id, what="subject eIDAS id not XX/YY/.. or other schemeID"),
    Mutation("EDM-REQ-018", "request", _m_requirement, what="Requirement without Name / Identifier"),
    Mutation("EDM-REQ-019", "request", _m_preview_location,
             what="PreviewLocation not https, or (v2.0) without ReturnLocation"),
    Mutation("EDM-REQ-023", "request", _m_no_procedure, what="Procedure removed (SHOULD)"),
    Mutation("EDM-RESP-002", "response", _m_response_id, what="EvidenceResponseIdentifier not a bare UUID"),
    Mutation("EDM-RESP-003", "response", _m_provider_class, what="EvidenceProvider not classified EP"),
    Mutation("EDM-RESP-004", "response", _m_requester_name, what="EvidenceRequester agent without Name"),
    Mutation("EDM-RESP-005", "response", _m_extra_package, base=_resp(status="success"),
             what="empty RegistryPackage at top level (v2.0: no nested list; v1.2: not flat)"),
    Mutation("EDM-RESP-006", "response", _m_main_unclassified, versions=(m.V2_0,), base=_resp(status="success"),
             what="MainEvidence classification removed"),
    Mutation("EDM-RESP-007", "response", _m_classification_id, versions=(m.V2_0,), base=_resp(status="success"),
             what="classification @id not urn:uuid"),
    Mutation("EDM-RESP-008", "response", _m_main_metadata, base=_resp(status="success"),
             what="MainEvidence without IssuingDate/IssuingAuthority/IsConformantTo/Distribution"),
    Mutation("EDM-RESP-009", "response", _m_supplementary_metadata, versions=(m.V2_0,),
             base=_resp(status="success", supplementary=True), what="supplementary document with IssuingDate"),
    Mutation("EDM-RESP-010", "response", _m_repository_ref, base=_resp(status="success"),
             what="RepositoryItemRef without xlink:title / cid:"),
    Mutation("EDM-RESP-012", "response", _m_evidence_identifier, base=_resp(status="success"),
             what="sdg:Evidence/sdg:Identifier not a UUID"),
    Mutation("EDM-RESP-013", "response", _m_is_about, base=_resp(status="success"),
             what="IsAbout without GivenName / LegalName"),
    Mutation("EDM-RESP-014", "response", _m_structured_conforms, base=_resp(status="success"),
             what="structured main distribution without ConformsTo"),
    Mutation("EDM-RESP-015", "response", _m_deferred,
             base=lambda v: st.one_of(responses(v, status="deferred"), responses(v, status="empty")),
             what="Unavailable without ResponseAvailableDateTime"),
    Mutation("EDM-ERR-001", "exception", _m_error_provider, what="ErrorProvider not ERRP / without Address"),
    Mutation("EDM-ERR-002", "exception", _m_error_message, what="message or code off the EDMErrorCodes list"),
    Mutation("EDM-ERR-003", "exception", _m_timestamp, what="Timestamp slot removed"),
    Mutation("EDM-ERR-009", "exception", _m_exception_request_id, what="requestId omitted / not urn:uuid"),
    Mutation("EDM-ERR-010", "exception", _m_severity, base=_exc(preview=False), what="severity not Error"),
    Mutation("EDM-PRV-001", "exception", _m_preview_on_other, base=_exc(preview=False),
             what="PreviewLocation on an exception other than 0002 PreviewRequired"),
    Mutation("EDM-PRV-002", "exception", _m_preview_method,
             base=lambda v: exceptions(v) if m.is_v2(v) else exceptions(v, preview=True),
             what="v2.0 PreviewMethod added; v1.2 PreviewMethod removed / not an HTTP method"),
)
_BY_LABEL = {mu.label: mu for mu in MUTATIONS}
_KIND_STRATEGY = {"request": requests, "response": responses, "exception": exceptions}


def mutation_labels(version: str = m.V2_0) -> list[str]:
    """The check ids ``mutations(version)`` can break."""
    return [mu.label for mu in MUTATIONS if version in mu.versions]


def apply_mutation(label: str, data: bytes, rng: random.Random, version: str) -> bytes:
    """Apply the mutation ``label`` to a valid message's bytes."""
    mu = _BY_LABEL[label]
    root = etree.fromstring(data)
    if mu.needs_version:
        mu.apply(root, rng, version)
    else:
        mu.apply(root, rng)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@st.composite
def mutations(draw, version: str = m.V2_0, labels: tuple[str, ...] | None = None) -> tuple[str, bytes]:
    """``(label, mutated bytes)``: a valid generated message broken for exactly the check ``label``."""
    label = draw(st.sampled_from(labels or mutation_labels(version)))
    mu = _BY_LABEL[label]
    base = (mu.base or _KIND_STRATEGY[mu.kind])(version)
    msg = draw(base)
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    return label, apply_mutation(label, to_bytes(msg), rng, version)
