"""Common Services answer checks (conformance/rules/checks/common_services.py) on the real captures."""
from __future__ import annotations

import copy
import re

import pytest

from conformance.rules.detect import detect
from conformance.rules.findings import Severity
from conformance.rules.ns import NS, q, xp
from tests.conformance.test_checks_ebms import (Case, add_xml, assert_coverage, check, module_ids, params,
                                                parse, rm, run_case, set_attr, set_text)

CS = "edm-v2.0-oots-france/xml/common_services/"
DSD_OK = CS + "dsd_data_services_fi.xml"
DSD_ERR = CS + "dsd_aucun_service_fr.xml"
EB_REQ = CS + "eb_requirements_fr.xml"
EB_ET = CS + "eb_evidence_types_fi.xml"
EB_ERR = CS + "eb_requirements_vides.xml"
CAPTURES = [CS + n for n in ("dsd_aucun_service_fr.xml", "dsd_data_services_fi.xml", "eb_evidence_types_fi.xml",
                             "eb_evidence_types_fr.xml", "eb_requirements_catalogue.xml", "eb_requirements_fr.xml",
                             "eb_requirements_vides.xml")]
PRE_1_0 = ["edm-v0.99-governikus/xml/DSD/" + n for n in
           ("DSD-exception-2.xml", "DSDQueryErrorResponse.xml", "DSDQueryResponse.xml",
            "DSDQueryResponseEPClassification.xml", "DSDQueryResponseJurisdiction.xml",
            "Regrep-DSD-exception_two_evidence_types_two_provider_attributes.xml")] + \
          ["edm-v0.99-governikus/xml/EB/" + n for n in
           ("Query_Error_Response.xml", "Response_for_Get_Evidence_Type_for_Requirement_Query.xml",
            "Response_for_Get_List_of_Requirements_Query.xml")]

RO = "/query:QueryResponse/rim:RegistryObjectList/rim:RegistryObject"
REQ = RO + "/rim:Slot/rim:SlotValue/sdg:Requirement"
DSET = RO + "/rim:Slot/rim:SlotValue/sdg:DataServiceEvidenceType"
ACC = DSET + "/sdg:AccessService"
EXC = "/query:QueryResponse/rs:Exception"
SPEC = "/query:QueryResponse/rim:Slot[@name='SpecificationIdentifier']"
V2 = {"request_headers": {"Accept": "application/x-ebrs+xml", "Accept-Version": "oots-cs:v2.0"}}
V1 = {"request_headers": {"Accept": "application/x-ebrs+xml"}}
AI = "urn:sr.oots.tech.ec.europa.eu:codes:ErrorSeverity:DSDErrorResponse:AdditionalInput"

URCC = """<rim:Slot name="UserRequestedClassificationConcepts">
  <rim:SlotValue xsi:type="rim:CollectionValueType">
    <rim:Element xsi:type="rim:AnyValueType">
      <sdg:EvidenceProviderClassification>
        <sdg:Identifier>https://sr.acc.oots.tech.ec.europa.eu/codelists/FI/municipality</sdg:Identifier>
        <sdg:Type>https://www.w3.org/2001/XMLSchema#string</sdg:Type>
        <sdg:ValueExpression>https://sr.acc.oots.tech.ec.europa.eu/codelists/FI/municipality</sdg:ValueExpression>
        <sdg:Description lang="EN">In which municipality were you born?</sdg:Description>
      </sdg:EvidenceProviderClassification>
    </rim:Element>
  </rim:SlotValue>
</rim:Slot>"""
JD = """<rim:Slot name="JurisdictionDetermination"><rim:SlotValue xsi:type="rim:AnyValueType">
  <sdg:EvidenceProviderJurisdictionDetermination><sdg:JurisdictionContextId>X</sdg:JurisdictionContextId>
  </sdg:EvidenceProviderJurisdictionDetermination></rim:SlotValue></rim:Slot>"""


def dsd_0005(corpus):
    """A v2.0 DSD:ERR:0005 answer assembled from the two real DSD captures."""
    root = parse(corpus(DSD_ERR))
    exc = root.find(q("rs", "Exception"))
    exc.set("code", "DSD:ERR:0005")
    exc.set("severity", AI)
    exc.set("detail", "ADDITIONAL_INPUT")
    exc.set("message", "The query requires additional user input")
    dset_slot = copy.deepcopy(xp(parse(corpus(DSD_OK)), RO + "/rim:Slot")[0])
    exc.append(dset_slot)
    add_xml(EXC, URCC)(root)
    return root


def oots_prefix(data: bytes) -> bytes:
    """The same answer with the sdg namespace bound to ``oots:`` (as some Commission answers do)."""
    return data.replace(b"sdg:", b"oots:").replace(b"xmlns:sdg=", b"xmlns:oots=")


def default_ns(data: bytes) -> bytes:
    """The same answer with sdg elements in the default namespace and the extra declarations dropped."""
    data = re.sub(rb'\sxmlns:(lcm|spi|ns7|ws-addr|xlink)="[^"]*"', b"", data)
    return data.replace(b"<sdg:", b"<").replace(b"</sdg:", b"</").replace(b"xmlns:sdg=", b"xmlns=")


def from_bytes(rel: str, transform):
    return lambda corpus: parse(transform(corpus(rel)))


def _move_spec_last(root):
    s = xp(root, SPEC)[0]
    root.append(s)


CASES = [
    # CS-028
    Case("CS-028", DSD_OK, present=False, extra=V2),
    Case("CS-028", EB_ERR, present=False, note="failure"),
    Case("CS-028", DSD_OK, rm(SPEC), present=False, note="v1 shape without Accept-Version", extra=V1),
    Case("CS-028", DSD_OK, _move_spec_last, note="slot not first"),
    Case("CS-028", EB_ERR, set_text(SPEC + "/rim:SlotValue/rim:Value", "oots-edm:v2.0"), note="wrong value"),
    Case("CS-028", EB_REQ, set_attr(SPEC + "/rim:SlotValue", q("xsi", "type"), "rim:AnyValueType"),
         note="wrong value type"),
    Case("CS-028", DSD_OK, rm(SPEC), note="Accept-Version sent slot missing", extra=V2),
    Case("CS-028", DSD_OK, note="slot without Accept-Version", extra=V1),
    # CS-RESP-001..003
    Case("CS-RESP-001", DSD_OK, present=False),
    Case("CS-RESP-001", EB_REQ, set_attr("/*", "status", "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:"
                                                        "PartialSuccess"), note="PartialSuccess"),
    Case("CS-RESP-001", DSD_ERR, set_attr("/*", "status", "Failure"), note="status not a URN"),
    Case("CS-RESP-002", EB_ERR, present=False),
    Case("CS-RESP-002", dsd_0005, lambda r: r.append(copy.deepcopy(r.find(q("rs", "Exception")))),
         present=False, note="DSD failure with two 0005 exceptions"),
    Case("CS-RESP-002", EB_REQ, rm(RO), note="success without objects"),
    Case("CS-RESP-002", DSD_OK, lambda r: r.append(copy.deepcopy(parse(b'<rs:Exception xmlns:rs="%s" code="x"/>'
                                                                        % NS["rs"].encode()))),
         note="success with exception"),
    Case("CS-RESP-002", EB_ERR, lambda r: r.append(copy.deepcopy(r.find(q("rs", "Exception")))),
         note="EB failure with two exceptions"),
    Case("CS-RESP-002", DSD_ERR, add_xml("/*", "<rim:RegistryObjectList/>"), note="failure with list"),
    Case("CS-RESP-003", DSD_ERR, present=False),
    Case("CS-RESP-003", EB_ERR, set_attr(EXC, "severity", None), note="no severity"),
    Case("CS-RESP-003", DSD_ERR, set_attr(EXC, "message", None), note="no message"),
    Case("CS-RESP-003", EB_ERR, set_attr(EXC, "code", None), note="no code"),
    Case("CS-RESP-003", DSD_ERR, set_attr(EXC, q("xsi", "type"), None), note="no xsi type"),
    # Evidence Broker
    Case("CS-EB-001", CS + "eb_requirements_catalogue.xml", present=False),
    Case("CS-EB-001", EB_REQ, set_attr(RO, "id", "6aa3a360-fb02-4304-b2e2-5893c0f55211"), note="id not urn uuid"),
    Case("CS-EB-001", EB_REQ, add_xml(RO, '<rim:Slot name="Extra"/>'), note="second slot"),
    Case("CS-EB-001", EB_REQ, set_attr(RO + "/rim:Slot/rim:SlotValue", q("xsi", "type"), "rim:StringValueType"),
         note="slot value type"),
    Case("CS-EB-002", EB_ET, present=False),
    Case("CS-EB-002", EB_REQ, rm(REQ + "/sdg:Identifier"), note="no Identifier"),
    Case("CS-EB-002", EB_REQ, set_attr(REQ + "/sdg:Name", "lang", None), note="Name without lang"),
    Case("CS-EB-003", CS + "eb_requirements_catalogue.xml", present=False),
    Case("CS-EB-003", EB_REQ, rm(REQ + "/sdg:ReferenceFramework/sdg:RelatedTo/sdg:Identifier"),
         note="no procedure"),
    Case("CS-EB-003", EB_REQ, add_xml(REQ + "/sdg:ReferenceFramework/sdg:RelatedTo",
                                      "<sdg:Identifier>T3</sdg:Identifier>"), note="two procedures"),
    Case("CS-EB-003", EB_REQ, rm(REQ + "/sdg:ReferenceFramework/sdg:Jurisdiction"), note="no jurisdiction"),
    Case("CS-EB-004", CS + "eb_evidence_types_fr.xml", present=False),
    Case("CS-EB-004", EB_ET, rm(REQ + "/sdg:EvidenceTypeList/sdg:EvidenceType"), present=False,
         note="empty list declares no match"),
    Case("CS-EB-004", EB_ET, rm(REQ + "/sdg:EvidenceTypeList/sdg:EvidenceType/sdg:EvidenceTypeClassification"),
         note="no classification"),
    Case("CS-EB-004", EB_ET, rm(REQ + "/sdg:EvidenceTypeList/sdg:Identifier"), note="no list identifier"),
    Case("CS-EB-005", EB_ERR, present=False),
    Case("CS-EB-005", EB_ERR, set_attr(EXC, "code", "EB:ERR:0009"), note="unknown code"),
    Case("CS-EB-005", EB_ERR, set_attr(EXC, q("xsi", "type"), "rs:InvalidRequestExceptionType"), note="wrong type"),
    Case("CS-EB-005", EB_ERR, set_attr(EXC, "severity", AI), note="wrong severity"),
    Case("CS-EB-006", EB_ERR, present=False),
    Case("CS-EB-006", EB_ERR, add_xml(EXC, '<rim:Slot name="DataServiceEvidenceType"/>'), note="slot in EB error"),
    # Data Service Directory
    Case("CS-DSD-001", DSD_OK, present=False),
    Case("CS-DSD-001", DSD_OK, set_attr(RO, "id", "RE238912378"), note="id not urn uuid"),
    Case("CS-DSD-001", DSD_OK, set_attr(RO + "/rim:Slot", "name", "DataService"), note="wrong slot name"),
    Case("CS-DSD-002", DSD_OK, present=False),
    Case("CS-DSD-002", DSD_OK, rm(DSET + "/sdg:Title"), note="no Title"),
    Case("CS-DSD-002", DSD_OK, rm(DSET + "/sdg:DistributedAs/sdg:Format"), note="no Format"),
    Case("CS-DSD-002", DSD_OK, rm(DSET + "/sdg:AccessService"), note="no AccessService"),
    Case("CS-DSD-003", DSD_OK, present=False),
    Case("CS-DSD-003", DSD_OK, set_attr(ACC + "/sdg:Identifier", "schemeID", None), note="no party type"),
    Case("CS-DSD-003", DSD_OK, rm(ACC + "/sdg:Publisher"), note="no Publisher"),
    Case("CS-DSD-003", DSD_OK, rm(ACC + "/sdg:ConformsTo"), note="no ConformsTo"),
    Case("CS-DSD-003", from_bytes(DSD_OK, oots_prefix), rm(ACC + "/sdg:Publisher/sdg:Name"),
         note="oots prefix no Publisher Name"),
    Case("CS-DSD-004", DSD_OK, present=False),
    Case("CS-DSD-004", DSD_OK, set_text(ACC + "/sdg:ConformsTo", "oots:edm-v1.0"), note="pre-1.0 form"),
    Case("CS-DSD-005", DSD_ERR, present=False),
    Case("CS-DSD-005", dsd_0005, present=False, note="0005 AdditionalInput"),
    Case("CS-DSD-005", DSD_ERR, set_attr(EXC, "code", "DSD:ERR:0009"), note="unknown code"),
    Case("CS-DSD-005", DSD_ERR, set_attr(EXC, "severity", AI), note="0001 with AdditionalInput"),
    Case("CS-DSD-005", dsd_0005, set_attr(EXC, "severity", "FAILURE"), note="0005 without AdditionalInput"),
    Case("CS-DSD-005", DSD_ERR, set_attr(EXC, "code", "DSD:ERR:0003"), note="0003 is InvalidRequest"),
    Case("CS-DSD-006", dsd_0005, present=False),
    Case("CS-DSD-006", dsd_0005, add_xml(EXC, JD), note="v2.0 with JurisdictionDetermination"),
    Case("CS-DSD-006", dsd_0005, rm(EXC + "/rim:Slot[@name='DataServiceEvidenceType']"), note="no evidence type"),
    Case("CS-DSD-006", dsd_0005, rm(EXC + "/rim:Slot[@name='UserRequestedClassificationConcepts']"),
         note="no question"),
    Case("CS-DSD-006", dsd_0005, add_xml(EXC + "/rim:Slot/rim:SlotValue/rim:Element/"
                                               "sdg:EvidenceProviderClassification",
                                         "<sdg:SupportedValue><sdg:StringValue>x</sdg:StringValue>"
                                         "</sdg:SupportedValue>"), note="SupportedValue"),
    Case("CS-DSD-006", dsd_0005, set_attr(EXC + "/rim:Slot[@name='UserRequestedClassificationConcepts']/"
                                                "rim:SlotValue", q("xsi", "type"), "rim:AnyValueType"),
         note="question not a collection"),
    Case("CS-DSD-007", DSD_ERR, present=False),
    Case("CS-DSD-007", DSD_ERR, add_xml(EXC, URCC), note="slot in 0001"),
]


@pytest.mark.parametrize("case", params(CASES))
def test_case(corpus, case):
    run_case(corpus, case)


def test_every_registered_cs_check_has_both_cases():
    assert_coverage("conformance.rules.checks.common_services", CASES)


def _mine() -> set[str]:
    return module_ids("conformance.rules.checks.common_services")


@pytest.mark.parametrize("rel", CAPTURES)
def test_real_captures_are_clean(corpus, rel):
    root = parse(corpus(rel))
    det = detect(root)
    assert det.kind in ("eb-response", "dsd-response") and det.version == "v2.0"
    ran, findings = check(root, rel, V2)
    assert "CS-028" in ran and "CS-RESP-002" in ran
    assert not [f.line() for f in findings if f.id in _mine()]


@pytest.mark.case("CS-029", ref="common-services.md §4-5; edm.md §1", tier="strict")
@pytest.mark.case("CS-030", ref="common-services.md (OF captures)", tier="strict")
@pytest.mark.parametrize("transform", [oots_prefix, default_ns], ids=["oots-prefix", "default-namespace"])
@pytest.mark.parametrize("rel", [DSD_OK, EB_ET, EB_REQ])
def test_prefixes_and_extra_namespaces_do_not_matter(corpus, rel, transform):
    """CS-029/030: the checks bind namespace URIs; oots:/default sdg and missing extra declarations are fine."""
    data = transform(corpus(rel))
    assert data != corpus(rel)
    root = parse(data)
    assert detect(root).kind == detect(parse(corpus(rel))).kind
    ran, findings = check(root, rel, V2)
    assert not [f.line() for f in findings if f.id in _mine()]
    broken = copy.deepcopy(root)
    path = DSET + "/sdg:Title" if rel == DSD_OK else REQ + "/sdg:Name"
    rm(path)(broken)
    assert {"CS-DSD-002", "CS-EB-002"} & {f.id for f in check(broken, rel)[1]}


@pytest.mark.parametrize("rel", PRE_1_0)
def test_pre_1_0_samples_run_without_crashing(corpus, rel):
    """The v0.99 samples predate the v1/v2 shapes (no @lang, non-UUID ids, severity FAILURE): findings, no crash."""
    check(parse(corpus(rel)), rel)


def test_pre_1_0_dsd_0005_with_jurisdiction_is_accepted_in_v1_shape(corpus):
    root = parse(corpus("edm-v0.99-governikus/xml/DSD/DSD-exception-2.xml"))
    assert detect(root).version is None
    ids = {f.id for f in check(root)[1]}
    assert "CS-DSD-006" not in ids  # JurisdictionDetermination allowed before v2.0
    assert "CS-DSD-005" in ids  # severity "FAILURE" instead of AdditionalInput


def test_severities_are_as_documented():
    from conformance.rules import registry
    sev = {i: registry.SINGLE[i].severity for i in _mine()}
    warn = {"CS-EB-005", "CS-DSD-004"}
    assert sev == {i: (Severity.WARNING if i in warn else Severity.FATAL) for i in sev}
    assert set(sev) == {"CS-028", "CS-RESP-001", "CS-RESP-002", "CS-RESP-003", "CS-EB-001", "CS-EB-002",
                        "CS-EB-003", "CS-EB-004", "CS-EB-005", "CS-EB-006", "CS-DSD-001", "CS-DSD-002",
                        "CS-DSD-003", "CS-DSD-004", "CS-DSD-005", "CS-DSD-006", "CS-DSD-007"}
