"""Every corpus message parses; parse -> build -> parse gives an equal model; hand-built models survive build+parse."""
from __future__ import annotations

import random
import re
from datetime import date, datetime, timedelta, timezone

import pytest
from lxml import etree

from conformance.rules.checks._edm import EDM_ERRORS
from simulators.edm import (ASSOCIATION_TYPE_PREFIX, ERROR_CODES, SEV_ERROR, SEV_PREVIEW, V1_2, V2_0,
                            DocumentKind, EvidenceDocument, EvidencePackage, ExceptionResponse, QueryRequest,
                            QueryResponse, new_urn_uuid, new_uuid, parse_exception, parse_message, parse_request,
                            parse_response, to_bytes)
from simulators.edm.build import format_datetime
from simulators.edm.parse import parse_datetime

from . import CORPUS_MESSAGES, full_package_response, representative_messages, typical_request, typical_response

_CASE_BY_TYPE = {"QueryRequest": "EDM-REQ-001", "QueryResponse": "EDM-RESP-002", "ExceptionResponse": "EDM-ERR-001"}


def test_corpus_list_is_complete(tdd):
    """The parametrised list below is every message sample of the three corpus folders (headers excluded)."""
    found = set()
    for root in tdd.roots:
        for pattern in ("edm-v0.99-governikus/xml/Request-Response Samples/**/oots_*.xml",
                        "edm-v1.2-pyregrep/xml/*.xml", "edm-v2.0-oots-france/xml/reference/messages/*.xml"):
            for p in root.glob(pattern):
                rel = p.relative_to(root).as_posix()
                if not rel.endswith("_header.xml") and not rel.endswith(".entete.xml"):
                    found.add(rel)
    assert found == set(CORPUS_MESSAGES)


@pytest.mark.parametrize("rel", sorted(CORPUS_MESSAGES), ids=lambda r: r.rsplit("/", 1)[-1].removesuffix(".xml")
                         + ("-" + r.split("/")[0].split("-")[1]))
def test_corpus_message_parses_and_round_trips(corpus, rel):
    kind, version = CORPUS_MESSAGES[rel]
    first = parse_message(corpus(rel))
    assert type(first).__name__ == kind
    assert first.version == version
    data = to_bytes(first)
    second = parse_message(data)
    assert second == first
    assert to_bytes(second) == data  # the builder is deterministic


@pytest.mark.case("EDM-REQ-007")
def test_v20_request_content(corpus):
    req = parse_request(corpus("edm-v2.0-oots-france/xml/reference/messages/requete.xml"))
    assert req.id == "urn:uuid:1a2b3c4d-0000-4000-8000-000000000000"
    assert req.issue_datetime == datetime(2026, 8, 6, 10, tzinfo=timezone.utc)
    assert (req.procedure, req.procedure_lang, req.lang) == ("T3", None, None)
    assert (req.possibility_for_preview, req.explicit_request_given) == (False, True)
    assert req.requester.identifier.value == "00000000000002"
    assert req.requester.address.admin_unit_level1 == "FR"
    assert req.intermediary.identifier.scheme_id == "urn:oasis:names:tc:ebcore:partyid-type:unregistered:FR"
    assert req.requirements[0].descriptions[0].lang == "EN"
    assert req.natural_person.date_of_birth == date(1992, 10, 22)
    assert req.natural_person.identifier.value == "FR/DE/123123123"
    assert req.evidence_request.distributed_as[0].format == "application/pdf"
    assert req.evidence_request.distributed_as[0].languages == ["EN"]


def test_v20_response_content(corpus):
    resp = parse_response(corpus("edm-v2.0-oots-france/xml/reference/messages/reponse.xml"))
    [pkg] = resp.packages
    assert pkg.id == "urn:uuid:1a2b3c4d-0000-4000-8000-000000000016"
    [doc] = pkg.documents
    assert doc.kind is DocumentKind.MAIN_EVIDENCE
    assert doc.content_id == "1a2b3c4d-0000-4000-8000-000000000003@pdf.oots.fr"
    assert doc.href == "cid:1a2b3c4d-0000-4000-8000-000000000003@pdf.oots.fr"
    assert (doc.title, doc.media_type) == ("Evidence", "application/pdf")
    assert doc.evidence.is_about.family_name == "Dupont"
    assert doc.evidence.issuing_date == date(1970, 3, 3)
    assert pkg.associations == []
    assert resp.evidence_provider[0].classification == "EP"


def test_v12_samples_tolerated(corpus):
    """pyRegRep v1.2 samples write ``xsi:lang``; it is read as the language (and written back as xml:lang)."""
    req = parse_request(corpus("edm-v1.2-pyregrep/xml/EDM_Ferst_Request.xml"))
    assert (req.lang, req.procedure, req.procedure_lang) == ("DE", "T2", "EN")
    assert req.natural_person.nationality == "DE" and req.natural_person.gender == "Male"
    assert req.evidence_provider_classifications[0].supported_values == ["HH"]
    assert req.evidence_request.distributed_as[0].transformation.endswith("/passed")
    assert b'xml:lang="DE"' in to_bytes(req)
    second = parse_request(corpus("edm-v1.2-pyregrep/xml/EDM_Second_Request.xml"))
    assert second.is_preview_followup and second.return_location is None
    exc = parse_exception(corpus("edm-v1.2-pyregrep/xml/EDM_Ferst_Response.xml"))
    assert exc.is_preview_required and exc.preview_method == "GET"
    assert [t.lang for t in exc.preview_description] == ["NL", "RO", "EN"]


def test_pre_v12_samples_read_leniently(corpus):
    base = "edm-v0.99-governikus/xml/Request-Response Samples/Secondary Education Completion Evidence/"
    exc = parse_exception(corpus(base + "oots_exception_preview.xml"))
    assert exc.code is None and exc.effective_code == "EDM:ERR:0002"  # no @code: the xsi:type says
    assert (exc.severity, exc.message) == ("FAILURE", "User redirection required")  # kept as sent
    resp = parse_response(corpus(base + "oots_response.xml"))
    assert len(resp.packages) == 2 and all(len(p.documents) == 1 for p in resp.packages)  # flat list
    assert resp.request_id == "bc2842c1-6625-450d-a7c6-7d692230b753"  # bare UUID, as sent


def test_prefixes_do_not_matter(corpus):
    """Namespaces are bound by URI: other prefixes and a default namespace give the same model."""
    data = corpus("edm-v2.0-oots-france/xml/reference/messages/reponse.xml").decode()
    other = re.sub(r'(?<=[<"/])rim:', "r4:", data).replace("xmlns:rim=", "xmlns:r4=")  # xsi:type values too
    sdg_default = other.replace("xmlns:sdg=", "xmlns=").replace("<sdg:", "<").replace("</sdg:", "</")
    assert "<r4:Slot" in sdg_default and 'xsi:type="r4:' in sdg_default and "<sdg:" not in sdg_default
    assert parse_message(sdg_default.encode()) == parse_message(data.encode())


@pytest.mark.parametrize("name,msg", sorted(representative_messages().items()))
def test_hand_built_round_trip(name, msg):
    assert parse_message(to_bytes(msg)) == msg


@pytest.mark.case("EDM-RESP-007")
def test_package_derives_classification_and_associations():
    resp = full_package_response()
    pkg = resp.packages[0]
    main = pkg.main
    assert sorted(d.kind for d in pkg.documents) == sorted(DocumentKind)
    assert [(a.type, a.source_object, a.target_object) for a in pkg.associations] == [
        (ASSOCIATION_TYPE_PREFIX + d.kind.value, d.id, main.id) for d in pkg.documents[1:]]
    ids = [pkg.id, *(d.id for d in pkg.documents), *(d.classification_id for d in pkg.documents),
           *(a.id for a in pkg.associations)]
    assert len(set(ids)) == len(ids) and all(re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", i) for i in ids)
    # derived ids are stable: the same model built twice gives the same ids
    assert full_package_response().packages[0] == pkg


def test_explicit_associations_are_kept():
    doc = typical_response().packages[0].documents
    pkg = EvidencePackage(doc, associations=[])
    assert pkg.associations == []
    resp = typical_response()
    resp.packages = [pkg]
    assert parse_response(to_bytes(resp)).packages[0].associations == []


def test_v12_response_rejects_supplementary_documents():
    resp = typical_response(V2_0)
    resp.version = V1_2
    with pytest.raises(ValueError, match="no packaging"):
        to_bytes(resp)


def test_v12_response_is_one_package_per_document():
    docs = [d for p in typical_response(V1_2).packages for d in p.documents]
    resp = QueryResponse(**{**typical_response(V1_2).__dict__, "packages": [EvidencePackage(docs)]})
    assert len(resp.packages) == 3
    assert parse_response(to_bytes(resp)) == resp


@pytest.mark.case("EDM-ERR-002")
def test_error_code_table_is_the_validators():
    assert set(ERROR_CODES) == set(EDM_ERRORS)
    for code, row in ERROR_CODES.items():
        assert (row.local_type, row.message) == EDM_ERRORS[code]
        assert row.xsi_type == ("query:" if code == "EDM:ERR:0008" else "rs:") + row.local_type


@pytest.mark.case("EDM-ERR-010")
def test_exception_defaults():
    e = ExceptionResponse("1a2b3c4d-0000-4000-8000-0000000000e1", typical_response().evidence_provider[0],
                          "EDM:ERR:0004")
    assert (e.exception_type, e.message, e.severity, e.preview_method) == (
        "ObjectNotFoundExceptionType", "Object not found", SEV_ERROR, None)
    p = ExceptionResponse("1a2b3c4d-0000-4000-8000-0000000000e1", e.error_provider, "EDM:ERR:0002",
                          preview_location="https://preview.example/x", version=V1_2)
    assert (p.severity, p.preview_method, p.xsi_type) == (SEV_PREVIEW, "GET", "rs:AuthorizationExceptionType")


def test_request_helpers_and_v12_defaults():
    req = typical_request(V1_2)
    assert (req.lang, req.procedure_lang) == ("EN", "EN")  # C069 and the v1.x InternationalString Procedure
    assert req.requester.classification == "ER" and req.intermediary.classification == "IP"
    assert req.subject is req.natural_person and not req.is_preview_followup
    assert isinstance(req, QueryRequest)


@pytest.mark.parametrize("text,expected", [
    ("2026-08-06T10:00:00Z", datetime(2026, 8, 6, 10, tzinfo=timezone.utc)),
    ("2026-08-06T10:00:00.123Z", datetime(2026, 8, 6, 10, 0, 0, 123000, tzinfo=timezone.utc)),
    ("2022-02-14T19:20:30+01:00", datetime(2022, 2, 14, 19, 20, 30, tzinfo=timezone(timedelta(hours=1)))),
    ("2022-02-14T19:20:30-05:30", datetime(2022, 2, 14, 19, 20, 30, tzinfo=timezone(-timedelta(hours=5, minutes=30)))),
    ("2022-02-14T19:20:30", datetime(2022, 2, 14, 19, 20, 30)),
    ("2022-02-14T19:20:30.1234567", datetime(2022, 2, 14, 19, 20, 30, 123456)),
    ("2022-12-31T24:00:00Z", datetime(2023, 1, 1, tzinfo=timezone.utc)),
])
def test_datetime_lexical_round_trip(text, expected):
    dt = parse_datetime(text)
    assert dt == expected and dt.utcoffset() == expected.utcoffset()
    assert parse_datetime(format_datetime(dt)) == dt


def test_seeded_ids_are_reproducible():
    a, b = random.Random(7), random.Random(7)
    assert [new_uuid(a), new_urn_uuid(a)] == [new_uuid(b), new_urn_uuid(b)]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", new_uuid(a))


def test_document_content_is_not_part_of_equality():
    doc = typical_response().packages[0].documents[0]
    with_bytes = EvidenceDocument(doc.evidence, doc.content_id, content=b"%PDF-1.4")
    assert with_bytes == EvidenceDocument(doc.evidence, doc.content_id)


def test_element_input_is_accepted():
    el = etree.fromstring(to_bytes(typical_request()))
    assert parse_message(el) == typical_request()
