"""Bad input gives an EdmParseError naming the location and the rule, never another exception."""
from __future__ import annotations

from typing import Callable

import pytest
from lxml import etree

from conformance.rules.ns import NS
from simulators.edm import (EdmParseError, parse_exception, parse_message, parse_request, parse_response,
                            to_bytes)

from . import error, full_package_response, legal_person_request, typical_request, typical_response

REQUEST = to_bytes(typical_request())
RESPONSE = to_bytes(full_package_response())
EXCEPTION = to_bytes(error("EDM:ERR:0002"))


def _mutate(data: bytes, fn: Callable[[etree._Element], None]) -> bytes:
    root = etree.fromstring(data)
    fn(root)
    return etree.tostring(root)


def _one(root, path):
    found = root.xpath(path, namespaces=NS)
    assert found, path
    return found[0]


def _remove(path):
    def fn(root):
        el = _one(root, path)
        el.getparent().remove(el)
    return fn


def _set_text(path, value):
    def fn(root):
        _one(root, path).text = value
    return fn


def _set_attr(path, name, value):
    def fn(root):
        _one(root, path).set(name, value)
    return fn


def _err(parse, data) -> EdmParseError:
    with pytest.raises(EdmParseError) as info:
        parse(data)
    return info.value


# --- not EDM / not XML ----------------------------------------------------------------------------------

@pytest.mark.case("EDM-REQ-001")
def test_wrong_root():
    e = _err(parse_request, b"<foo/>")
    assert (e.location, e.rule, e.case) == ("/foo", "R-EDM-REQ-S001", "EDM-REQ-001")
    assert isinstance(e, ValueError) and "/foo" in str(e) and "R-EDM-REQ-S001" in str(e)
    assert _err(parse_request, RESPONSE).rule == "R-EDM-REQ-S001"
    assert _err(parse_response, REQUEST).case == "EDM-RESP-002"
    assert _err(parse_exception, REQUEST).case == "EDM-ERR-001"
    assert "parse_exception" in str(_err(parse_response, EXCEPTION))
    soap = b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>'
    assert _err(parse_message, soap).location == "/S12:Envelope"


@pytest.mark.parametrize("data,finding", [
    (b"", "XML-001"), (b"<query:QueryRequest", "XML-001"),
    (b'<!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>', "XML-002"),
])
def test_unreadable_documents(data, finding):
    e = _err(parse_message, data)
    assert e.case == finding and e.location == "/"


# --- missing mandatory parts ----------------------------------------------------------------------------

@pytest.mark.parametrize("slot,rule,case", [
    ("SpecificationIdentifier", "R-EDM-REQ-S005", "EDM-REQ-002"),
    ("IssueDateTime", "R-EDM-REQ-S006", "EDM-REQ-003"),
    ("PossibilityForPreview", "R-EDM-REQ-S009", "EDM-REQ-004"),
    ("ExplicitRequestGiven", "R-EDM-REQ-S010", "EDM-REQ-004"),
    ("EvidenceRequester", "R-EDM-REQ-S012", "EDM-REQ-005"),
    ("EvidenceProvider", "R-EDM-REQ-S013", "EDM-REQ-008"),
])
def test_request_missing_slot(slot, rule, case, request):
    request.node.add_marker(pytest.mark.case(case))
    e = _err(parse_request, _mutate(REQUEST, _remove(f"rim:Slot[@name='{slot}']")))
    assert (e.location, e.rule, e.case) == ("/query:QueryRequest", rule, case)
    assert slot in e.reason


@pytest.mark.case("EDM-REQ-012")
def test_request_missing_evidence_request():
    e = _err(parse_request, _mutate(REQUEST, _remove("query:Query/rim:Slot[@name='EvidenceRequest']")))
    assert (e.location, e.rule) == ("/query:QueryRequest/query:Query", "R-EDM-REQ-S015")


@pytest.mark.case("EDM-ERR-005")
def test_request_subject_count():
    none = _err(parse_request, _mutate(REQUEST, _remove("query:Query/rim:Slot[@name='NaturalPerson']")))
    assert (none.location, none.rule, none.case) == ("/query:QueryRequest/query:Query", "R-EDM-REQ-S016",
                                                     "EDM-REQ-011")

    def add_legal(root):
        legal = etree.fromstring(to_bytes(legal_person_request())).xpath(
            "query:Query/rim:Slot[@name='LegalPerson']", namespaces=NS)[0]
        _one(root, "query:Query").insert(0, legal)
    both = _err(parse_request, _mutate(REQUEST, add_legal))
    assert both.rule == "R-EDM-REQ-S016"


def test_request_duplicate_slot():
    def dup(root):
        root.insert(1, etree.fromstring(etree.tostring(_one(root, "rim:Slot[@name='IssueDateTime']"))))
    e = _err(parse_request, _mutate(REQUEST, dup))
    assert e.rule == "R-EDM-REQ-S006" and "2 times" in e.reason
    assert e.location == "/query:QueryRequest/rim:Slot[@name='IssueDateTime']"


@pytest.mark.parametrize("slot,rule", [
    ("EvidenceResponseIdentifier", "R-EDM-RESP-S010"), ("IssueDateTime", "R-EDM-RESP-S011"),
    ("EvidenceProvider", "R-EDM-RESP-S012"), ("EvidenceRequester", "R-EDM-RESP-S013"),
])
@pytest.mark.case("EDM-RESP-002")
def test_response_missing_slot(slot, rule):
    e = _err(parse_response, _mutate(RESPONSE, _remove(f"rim:Slot[@name='{slot}']")))
    assert (e.location, e.rule) == ("/query:QueryResponse", rule)


@pytest.mark.parametrize("path,case", [
    ("rim:Slot[@name='ErrorProvider']", "EDM-ERR-001"),
    ("rs:Exception", "EDM-ERR-002"),
    ("rs:Exception/rim:Slot[@name='Timestamp']", "EDM-ERR-003"),
])
def test_exception_missing_part(path, case, request):
    request.node.add_marker(pytest.mark.case(case))
    e = _err(parse_exception, _mutate(EXCEPTION, _remove(path)))
    assert e.case == case and e.location.startswith("/query:QueryResponse")


# --- malformed values -----------------------------------------------------------------------------------

Q = "query:Query"
PERSON = f"{Q}/rim:Slot[@name='NaturalPerson']/rim:SlotValue/sdg:Person"


@pytest.mark.parametrize("mutation,location,rule,case", [
    (_set_attr(".", "id", "4ffb5281-179d-4578-adf2-39fd13ccc797"), "/query:QueryRequest", "R-EDM-REQ-S004",
     "EDM-REQ-001"),
    (_set_text("rim:Slot[@name='SpecificationIdentifier']//rim:Value", "oots-edm:v9.9"),
     "/query:QueryRequest/rim:Slot[@name='SpecificationIdentifier']", "R-EDM-REQ-C001", "EDM-REQ-002"),
    (_set_text("rim:Slot[@name='IssueDateTime']//rim:Value", "yesterday"),
     "/query:QueryRequest/rim:Slot[@name='IssueDateTime']", "R-EDM-REQ-S021", "EDM-REQ-003"),
    (_set_text("rim:Slot[@name='IssueDateTime']//rim:Value", "2026-02-30T10:00:00Z"),
     "/query:QueryRequest/rim:Slot[@name='IssueDateTime']", "R-EDM-REQ-S021", "EDM-REQ-003"),
    (_set_attr("rim:Slot[@name='IssueDateTime']/rim:SlotValue", f"{{{NS['xsi']}}}type", "rim:StringValueType"),
     "/query:QueryRequest/rim:Slot[@name='IssueDateTime']/rim:SlotValue", "R-EDM-REQ-S021", "EDM-REQ-003"),
    (_set_text("rim:Slot[@name='PossibilityForPreview']//rim:Value", "maybe"),
     "/query:QueryRequest/rim:Slot[@name='PossibilityForPreview']", "R-EDM-REQ-S024", "EDM-REQ-004"),
    (_set_text(f"{PERSON}/sdg:DateOfBirth", "22/10/1992"),
     f"/{Q}/rim:Slot[@name='NaturalPerson']/rim:SlotValue/sdg:Person/sdg:DateOfBirth", None, "EDM-REQ-016"),
    (_remove(f"{PERSON}/sdg:FamilyName"), f"/{Q}/rim:Slot[@name='NaturalPerson']/rim:SlotValue/sdg:Person",
     None, "EDM-REQ-016"),
    (_set_attr("query:ResponseOption", "returnType", "ObjectRef"), "/query:QueryRequest/query:ResponseOption",
     None, "EDM-REQ-010"),
], ids=["id-not-urn-uuid", "unknown-version", "datetime-garbage", "datetime-impossible", "datetime-wrong-type",
        "boolean", "date-of-birth", "no-family-name", "return-type"])
def test_request_malformed(mutation, location, rule, case, request):
    request.node.add_marker(pytest.mark.case(case))
    e = _err(parse_request, _mutate(REQUEST, mutation))
    expected = location if location.startswith("/query:QueryRequest") else "/query:QueryRequest" + location
    assert (e.location, e.rule, e.case) == (expected, rule, case)


NESTED = "rim:RegistryObjectList/rim:RegistryObject/rim:RegistryObjectList/rim:RegistryObject"


@pytest.mark.parametrize("mutation,rule,case", [
    (_set_attr(f"{NESTED}[2]/rim:Classification", "classificationNode", "Appendix"), "R-EDM-RESP-S049",
     "EDM-RESP-007"),
    (_set_attr(f"{NESTED}[2]/rim:Classification", "id", "classification-1"), "R-EDM-RESP-S065", "EDM-RESP-007"),
    (_remove(f"{NESTED}[1]/rim:Classification"), "R-EDM-RESP-S048", "EDM-RESP-006"),
    (_set_attr(f"{NESTED}[1]/rim:RepositoryItemRef", f"{{{NS['xlink']}}}href", "https://evil.example/doc.pdf"),
     "R-EDM-RESP-C042", "EDM-RESP-010"),
    (_set_attr(f"{NESTED}[1]", "id", "document-1"), "R-EDM-RESP-S037", "EDM-RESP-005"),
    (_set_attr(".", "status", "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Unavailable"),
     "R-EDM-RESP-S045", "EDM-RESP-015"),
    (_set_attr(f"{NESTED}[5]", "sourceObject", ""), "R-EDM-RESP-S051", "EDM-RESP-005"),
    (_set_text(f"{NESTED}[1]//sdg:IssuingDate", "2026-13-01"), None, "EDM-RESP-008"),
], ids=["node", "classification-id", "no-classification", "href-not-cid", "object-id", "unavailable-no-date",
        "association-source", "issuing-date"])
def test_response_malformed(mutation, rule, case, request):
    request.node.add_marker(pytest.mark.case(case))
    e = _err(parse_response, _mutate(RESPONSE, mutation))
    assert (e.rule, e.case) == (rule, case)
    assert e.location.startswith("/query:QueryResponse")


def test_v20_response_must_be_packaged():
    def unpack(root):
        lst = _one(root, "rim:RegistryObjectList")
        doc = _one(root, NESTED)
        for pkg in list(lst):
            lst.remove(pkg)
        lst.append(doc)
    e = _err(parse_response, _mutate(to_bytes(typical_response()), unpack))
    assert e.rule == "R-EDM-RESP-S066"
    assert e.location == "/query:QueryResponse/rim:RegistryObjectList/rim:RegistryObject"


@pytest.mark.case("EDM-ERR-002")
def test_exception_malformed():
    e = _err(parse_exception, _mutate(EXCEPTION, _set_attr("rs:Exception", "code", "EDM:ERR:0099")))
    assert (e.location, e.rule) == ("/query:QueryResponse/rs:Exception", "R-EDM-ERR-C026")
    e = _err(parse_exception, _mutate(EXCEPTION, _set_text("rs:Exception/rim:Slot[@name='Timestamp']//rim:Value",
                                                           "now")))
    assert e.case == "EDM-ERR-003" and e.location.endswith("rim:Slot[@name='Timestamp']")


# --- never another exception ----------------------------------------------------------------------------

@pytest.mark.parametrize("name,data", [("request", REQUEST), ("response", RESPONSE), ("exception", EXCEPTION),
                                       ("legal", to_bytes(legal_person_request("v1.2")))])
def test_any_element_removed_or_garbled_gives_parse_error_or_model(name, data):
    """Remove each element in turn, then blank each text and attribute: a model or an EdmParseError."""
    count = len(list(etree.fromstring(data).iter()))
    outcomes = {"parsed": 0, "refused": 0}

    def attempt(mutated: bytes) -> None:
        try:
            parse_message(mutated)
            outcomes["parsed"] += 1
        except EdmParseError as exc:
            assert exc.location.startswith("/") and exc.reason
            outcomes["refused"] += 1

    for i in range(1, count):
        def drop(root, i=i):
            el = list(root.iter())[i]
            el.getparent().remove(el)
        attempt(_mutate(data, drop))

        def garble(root, i=i):
            el = list(root.iter())[i]
            if el.text and el.text.strip():
                el.text = "§ garbled"
            for k in el.attrib:
                el.set(k, "")
        attempt(_mutate(data, garble))
    assert outcomes["refused"] > 0 and outcomes["parsed"] > 0
