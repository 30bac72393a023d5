"""What the builders emit passes the validator (no FATAL, no WARNING) and has the shape the digest describes."""
from __future__ import annotations

import pytest
from lxml import etree

from conformance.rules.findings import Severity
from conformance.rules.ns import NS, XML_LANG, XSI_TYPE
from conformance.rules.validator import Validator
from simulators.edm import (ASSOCIATION_TYPE_PREFIX, EDM_SCHEME, ERROR_CODES, SEV_ERROR, SEV_PREVIEW, V1_2, V2_0,
                            to_bytes)

from . import (deferred_response, empty_response, error, full_package_response, legal_person_request,
               preview_request, representative_messages, typical_request, typical_response)

MESSAGES = representative_messages()


@pytest.fixture(scope="module")
def validator():
    return Validator()


def _problems(result) -> list[str]:
    """FATAL/WARNING findings, and any CAUTION other than TDD-001 (no official rule set loaded)."""
    return [f.line() for f in result.findings
            if f.severity in (Severity.FATAL, Severity.WARNING) or f.id != "TDD-001"]


def _case(name: str) -> str:
    if name.startswith("request"):
        return "EDM-REQ-001"
    return "EDM-RESP-002" if name.startswith("response") else "EDM-ERR-001"


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_builder_output_is_conformant(validator, name, request):
    request.node.add_marker(pytest.mark.case(_case(name)))
    msg = MESSAGES[name]
    res = validator.validate_bytes(to_bytes(msg), name)
    assert res.tool_error is None
    assert res.version == msg.version
    assert res.kind == {"QueryRequest": "request", "QueryResponse": "response",
                        "ExceptionResponse": "exception"}[type(msg).__name__]
    assert _problems(res) == []
    assert res.checks_run  # the harness checks did run


def test_validator_is_not_vacuous(validator):
    """Negative control: a v2.0 request built with a root xml:lang and no DistributedAs is refused."""
    req = typical_request()
    req.lang = "EN"
    req.evidence_request.distributed_as = []
    ids = {f.id for f in validator.validate_bytes(to_bytes(req)).findings if f.severity is Severity.FATAL}
    assert {"EDM-REQ-014", "EDM-REQ-015"} <= ids


def _root(msg) -> etree._Element:
    return etree.fromstring(to_bytes(msg))


def _xp(el, path):
    return el.xpath(path, namespaces=NS)


@pytest.mark.case("EDM-REQ-015")
def test_root_language_per_version():
    assert _root(typical_request(V2_0)).get(XML_LANG) is None
    assert _root(typical_request(V1_2)).get(XML_LANG) == "EN"


@pytest.mark.case("EDM-REQ-010")
def test_request_frame_and_slot_types():
    root = _root(legal_person_request())
    assert _xp(root, "query:ResponseOption/@returnType") == ["LeafClassWithRepositoryItem"]
    assert _xp(root, "query:Query/@queryDefinition") == ["DocumentQuery"]
    types = {s.get("name"): _xp(s, "rim:SlotValue/@xsi:type")[0] for s in _xp(root, "rim:Slot")}
    assert types == {"SpecificationIdentifier": "rim:StringValueType", "IssueDateTime": "rim:DateTimeValueType",
                     "Procedure": "rim:StringValueType", "PossibilityForPreview": "rim:BooleanValueType",
                     "ExplicitRequestGiven": "rim:BooleanValueType", "Requirements": "rim:CollectionValueType",
                     "EvidenceRequester": "rim:CollectionValueType", "EvidenceProvider": "rim:AnyValueType",
                     "EvidenceProviderClassification": "rim:CollectionValueType"}
    assert [s.get("name") for s in _xp(root, "query:Query/rim:Slot")] == [
        "LegalPerson", "AuthorizedRepresentative", "EvidenceRequest"]
    v12 = _root(typical_request(V1_2))
    assert _xp(v12, "rim:Slot[@name='Procedure']/rim:SlotValue/@xsi:type") == ["rim:InternationalStringValueType"]
    assert _xp(v12, "rim:Slot[@name='Procedure']//rim:LocalizedString/@value") == ["T3"]


@pytest.mark.case("EDM-REQ-007")
def test_intermediary_platform_is_its_own_element():
    root = _root(typical_request())
    assert _xp(root, "rim:Slot[@name='EvidenceRequester']/rim:SlotValue/rim:Element/sdg:Agent/sdg:Classification/"
                     "text()") == ["ER", "IP"]


@pytest.mark.case("EDM-REQ-019")
def test_preview_request_slots():
    root = _root(preview_request(V2_0))
    assert _xp(root, "rim:Slot/@name")[3:5] == ["PreviewLocation", "ReturnLocation"]
    v12 = _root(preview_request(V1_2))
    assert _xp(v12, "rim:Slot[@name='PreviewLocation']") and not _xp(v12, "rim:Slot[@name='ReturnLocation']")
    assert not _xp(_root(typical_request()), "rim:Slot[@name='PreviewLocation' or @name='ReturnLocation']")


@pytest.mark.case("EDM-RESP-005")
def test_v20_packaging_shape():
    resp = full_package_response()
    root = _root(resp)
    top = _xp(root, "rim:RegistryObjectList/rim:RegistryObject")
    assert [o.get(XSI_TYPE) for o in top] == ["rim:RegistryPackageType"] * 2
    nested = _xp(top[0], "rim:RegistryObjectList/rim:RegistryObject")
    assert [o.get(XSI_TYPE) for o in nested] == ["rim:ExtrinsicObjectType"] * 4 + ["rim:AssociationType"] * 3
    nodes = [_xp(o, f"rim:Classification[@classificationScheme='{EDM_SCHEME}']/@classificationNode")
             for o in nested[:4]]
    assert nodes == [["MainEvidence"], ["Translation"], ["Annex"], ["HumanReadableVersion"]]
    main_id = nested[0].get("id")
    for doc, assoc in zip(nested[1:4], nested[4:]):
        assert assoc.get("sourceObject") == doc.get("id") and assoc.get("targetObject") == main_id
        assert assoc.get("type") == ASSOCIATION_TYPE_PREFIX + _xp(doc, "rim:Classification/@classificationNode")[0]
    refs = _xp(root, "//rim:RepositoryItemRef")
    assert [r.get(f"{{{NS['xlink']}}}href") for r in refs] == ["cid:" + d.content_id for d in resp.documents]
    # supplementary documents carry no main-evidence metadata (S063)
    for doc in nested[1:4]:
        assert [etree.QName(c).localname for c in _xp(doc, ".//sdg:Evidence/*")] == ["Identifier", "Distribution"]


@pytest.mark.case("EDM-VER-001")
def test_v12_flat_list():
    root = _root(typical_response(V1_2))
    top = _xp(root, "rim:RegistryObjectList/rim:RegistryObject")
    assert [o.get(XSI_TYPE) for o in top] == ["rim:ExtrinsicObjectType"] * 3
    assert not _xp(root, "//rim:Classification")


@pytest.mark.case("EDM-RESP-015")
@pytest.mark.parametrize("version", [V2_0, V1_2])
def test_deferred_and_empty(version):
    root = _root(deferred_response(version))
    assert root.get("status").endswith(":Unavailable")
    assert _xp(root, "rim:Slot[@name='ResponseAvailableDateTime']/rim:SlotValue/rim:Value/text()") == [
        "2026-08-20T09:30:00+01:00"]
    assert _xp(root, "rim:RegistryObjectList") and not _xp(root, "rim:RegistryObjectList/*")
    empty = _root(empty_response(version))
    assert empty.get("status").endswith(":Success") and not _xp(empty, "rim:RegistryObjectList/*")


@pytest.mark.case("EDM-ERR-002")
@pytest.mark.parametrize("code", sorted(ERROR_CODES))
@pytest.mark.parametrize("version", [V2_0, V1_2])
def test_exception_attributes(code, version):
    exc = _xp(_root(error(code, version)), "rs:Exception")[0]
    row = ERROR_CODES[code]
    assert (exc.get(XSI_TYPE), exc.get("code"), exc.get("message")) == (row.xsi_type, code, row.message)
    assert exc.get("severity") == (SEV_PREVIEW if code == "EDM:ERR:0002" else SEV_ERROR)
    assert _xp(exc, "rim:Slot[@name='Timestamp']/rim:SlotValue/@xsi:type") == ["rim:DateTimeValueType"]
    assert exc.get("detail") == ("R-EDM-REQ-S009" if code == "EDM:ERR:0003" else None)
    assert _xp(exc, "../rim:Slot[@name='ErrorProvider']//sdg:Classification/text()") == ["ERRP"]


@pytest.mark.case("EDM-PRV-002")
def test_preview_error_per_version():
    v2 = _xp(_root(error("EDM:ERR:0002", V2_0)), "rs:Exception")[0]
    assert [s.get("name") for s in _xp(v2, "rim:Slot")] == ["Timestamp", "PreviewLocation", "PreviewDescription"]
    v12 = _xp(_root(error("EDM:ERR:0002", V1_2)), "rs:Exception")[0]
    assert [s.get("name") for s in _xp(v12, "rim:Slot")] == [
        "Timestamp", "PreviewLocation", "PreviewDescription", "PreviewMethod"]
    assert _xp(v12, "rim:Slot[@name='PreviewMethod']//rim:Value/text()") == ["GET"]
    assert _xp(v12, "rim:Slot[@name='PreviewDescription']//rim:LocalizedString/@xml:lang") == ["EN", "DE"]


@pytest.mark.case("EDM-ERR-009")
def test_request_id_omitted_only_when_asked():
    assert _root(error("EDM:ERR:0003", request_id=None)).get("requestId") is None
    assert _root(error("EDM:ERR:0004")).get("requestId") == "urn:uuid:1a2b3c4d-0000-4000-8000-000000000000"
