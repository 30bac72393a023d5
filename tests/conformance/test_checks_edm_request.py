"""EDM-REQ-* and EDM-VER-002 single-message checks: one breaking and one passing message per check id.

Passing messages are the corpus samples (v2.0 oots-france reference, v1.2 pyRegRep), loaded at run time;
breaking ones are small lxml mutations of them. The helpers here are shared with the response and exception
test modules.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable

import pytest
from lxml import etree

from conformance.rules import registry
from conformance.rules.detect import Detection, detect
from conformance.rules.findings import Finding
from conformance.rules.ns import NS, XML_LANG, q
from conformance.rules.registry import MessageContext, run_single
from conformance.rules.xmlsafe import parse_bytes

V20 = "edm-v2.0-oots-france/xml/reference/messages/"
V12 = "edm-v1.2-pyregrep/xml/"
V10 = "edm-v0.99-governikus/xml/Request-Response Samples/Birth Certificate/"
REQ20, RESP20, ERR20 = V20 + "requete.xml", V20 + "reponse.xml", V20 + "erreur.xml"
REQ12, REQ12B = V12 + "EDM_Ferst_Request.xml", V12 + "EDM_Second_Request.xml"
RESP12, ERR12 = V12 + "EDM_Second_Response.xml", V12 + "EDM_Ferst_Response.xml"
V20_MESSAGES = ["requete", "reponse", "erreur", "erreurRequeteInvalide", "erreurCapaciteNonSupportee",
                "erreurExpiration"]
EDM_MODULES = ("edm_request", "edm_response", "edm_exception")


# --- shared helpers ---------------------------------------------------------------------------------------

def parse(data: bytes) -> etree._Element:
    doc = parse_bytes(data)
    assert doc.root is not None, doc.findings
    return doc.root


def run(root: etree._Element, header: etree._Element | None = None, detection: Detection | None = None
        ) -> tuple[list[str], list[Finding]]:
    return run_single(MessageContext(root, detection or detect(root), "test", header=header))


def module_ids(module: str) -> set[str]:
    """Ids registered by ``conformance.rules.checks.<module>``."""
    registry._load_builtin_checks()
    return {i for i, s in registry.SINGLE.items() if s.func.__module__.endswith(f".checks.{module}")}


def edm_ids() -> set[str]:
    return set().union(*(module_ids(m) for m in EDM_MODULES))


def X(root, path: str) -> etree._Element:
    """First node of an XPath (harness prefixes); fails the test when absent."""
    found = root.xpath(path, namespaces=NS)
    assert found, f"mutation target not found: {path}"
    return found[0]


def drop(root, path: str):
    el = X(root, path)
    el.getparent().remove(el)
    return root


def set_text(root, path: str, value: str):
    X(root, path).text = value
    return root


def set_attr(root, path: str, attr: str, value: str | None):
    el = X(root, path)
    if value is None:
        el.attrib.pop(attr, None)
    else:
        el.set(attr, value)
    return root


def slot_path(name: str, under: str = "") -> str:
    return f"{under}/rim:Slot[@name='{name}']" if under else f"/*/rim:Slot[@name='{name}']"


def value_path(name: str, under: str = "") -> str:
    return slot_path(name, under) + "/rim:SlotValue/rim:Value"


_DECLS = " ".join(f'xmlns:{p}="{u}"' for p, u in NS.items() if p != "xml")


def frag(xml: str) -> etree._Element:
    """An element from a snippet that may use the harness prefixes freely."""
    wrapper = etree.fromstring(f"<w {_DECLS}>{xml}</w>")
    return wrapper[0]


def string_slot(name: str, value: str, vtype: str = "StringValueType") -> etree._Element:
    return frag(f'<rim:Slot name="{name}"><rim:SlotValue xsi:type="rim:{vtype}"><rim:Value>{value}</rim:Value>'
                f'</rim:SlotValue></rim:Slot>')


def replace_with(root, path: str, xml: str):
    el = X(root, path)
    el.getparent().replace(el, frag(xml))
    return root


def add_after(root, path: str, el: etree._Element):
    X(root, path).addnext(el)
    return root


def seq(*mutations):
    """Apply several mutations in order."""
    def m(root):
        for f in mutations:
            f(root)
    return m


def set_spec(root, value: str):
    return set_text(root, value_path("SpecificationIdentifier"), value)


Mutation = Callable[[etree._Element], object]


@dataclass
class Case:
    """A message built from a corpus file (+ optional mutation, + optional ebMS header) and the id at stake."""

    id: str
    base: str
    mutate: Mutation | None = None
    label: str = ""
    header: str | None = None  # corpus path of the ebMS header
    header_mutate: Mutation | None = None
    extra: dict = field(default_factory=dict)

    def build(self, corpus):
        root = copy.deepcopy(_load(corpus, self.base))
        if self.mutate:
            self.mutate(root)
        header = None
        if self.header:
            header = copy.deepcopy(_load(corpus, self.header))
            if self.header_mutate:
                self.header_mutate(header)
        return root, header

    @property
    def name(self) -> str:
        return f"{self.id}-{self.label or self.base.rsplit('/', 1)[-1]}"


_CACHE: dict[str, etree._Element] = {}


def _load(corpus, rel: str) -> etree._Element:
    if rel not in _CACHE:
        _CACHE[rel] = parse(corpus(rel))
    return _CACHE[rel]


def params(cases: list[Case]):
    out = []
    for c in cases:
        spec = registry.SINGLE.get(c.id)
        tier = spec.severity.tier if spec else "strict"
        out.append(pytest.param(c, id=c.name, marks=pytest.mark.case(c.id, ref=spec.ref if spec else None,
                                                                     tier=tier)))
    return out


def assert_breaks(case: Case, corpus):
    root, header = case.build(corpus)
    ran, findings = run(root, header)
    ids = [f.id for f in findings]
    assert "HARNESS-CRASH" not in ids, [f.message for f in findings if f.id == "HARNESS-CRASH"]
    assert case.id in ran, f"{case.id} did not run on this message (kind/version filter)"
    hits = [f for f in findings if f.id == case.id]
    assert hits, f"{case.id} not reported; got {ids}"
    spec = registry.SINGLE[case.id]
    for f in hits:  # the contract: Expected / Actual, a location, the registered severity and ref
        assert f.severity is spec.severity and f.ref == (spec.ref or None)
        assert f.location.startswith("/") and f.message and f.expected is not None


def assert_holds(case: Case, corpus):
    root, header = case.build(corpus)
    ran, findings = run(root, header)
    assert "HARNESS-CRASH" not in [f.id for f in findings]
    assert case.id in ran, f"{case.id} did not run on this message (kind/version filter)"
    hits = [f.line() for f in findings if f.id == case.id]
    assert not hits, hits


def assert_covered(module: str, negative: list[Case], positive: list[Case]):
    ids = module_ids(module)
    assert ids, f"no checks registered by {module}"
    assert ids - {c.id for c in negative} == set(), "check ids without a breaking message"
    assert ids - {c.id for c in positive} == set(), "check ids without a passing message"


# --- request mutations ------------------------------------------------------------------------------------

ER_AGENT = "/*/rim:Slot[@name='EvidenceRequester']//sdg:Agent[sdg:Classification='ER']"
IP_AGENT = "/*/rim:Slot[@name='EvidenceRequester']//sdg:Agent[sdg:Classification='IP']"
PROVIDER_AGENT = "/*/rim:Slot[@name='EvidenceProvider']//sdg:Agent"
QUERY = "/*/query:Query"
PERSON = "//rim:Slot[@name='NaturalPerson']//sdg:Person"
DSET = "//rim:Slot[@name='EvidenceRequest']//sdg:DataServiceEvidenceType"
REQUIREMENT = "/*/rim:Slot[@name='Requirements']//sdg:Requirement"


def dup_slot(name: str):
    def m(root):
        el = X(root, slot_path(name))
        el.addnext(copy.deepcopy(el))
    return m


def ip_into_er_element(root):
    ip = X(root, IP_AGENT)
    ip_element = ip.getparent()
    X(root, ER_AGENT).getparent().append(ip)
    ip_element.getparent().remove(ip_element)


def to_legal_person(legal_name: bool = True):
    def m(root):
        natural = X(root, "//rim:Slot[@name='NaturalPerson']")
        name = "<sdg:LegalName>ACME SAS</sdg:LegalName>" if legal_name else ""
        natural.addnext(frag(
            '<rim:Slot name="LegalPerson"><rim:SlotValue xsi:type="rim:AnyValueType"><sdg:LegalPerson>'
            '<sdg:LevelOfAssurance>High</sdg:LevelOfAssurance>'
            '<sdg:LegalPersonIdentifier schemeID="eidas">FR/DE/123456789</sdg:LegalPersonIdentifier>'
            f'{name}</sdg:LegalPerson></rim:SlotValue></rim:Slot>'))
        natural.getparent().remove(natural)
    return m


def add_legal_person(root):
    to_legal_person()(root)
    X(root, "//rim:Slot[@name='LegalPerson']").addnext(copy.deepcopy(_NATURAL_SLOT))


_NATURAL_SLOT = frag('<rim:Slot name="NaturalPerson"><rim:SlotValue xsi:type="rim:AnyValueType"><sdg:Person>'
                     '<sdg:LevelOfAssurance>High</sdg:LevelOfAssurance><sdg:FamilyName>A</sdg:FamilyName>'
                     '<sdg:GivenName>B</sdg:GivenName><sdg:DateOfBirth>1990-01-01</sdg:DateOfBirth>'
                     '</sdg:Person></rim:SlotValue></rim:Slot>')


def preview_slots(preview: str | None, ret: str | None):
    def m(root):
        anchor = X(root, slot_path("Procedure"))
        if ret is not None:
            anchor.addnext(string_slot("ReturnLocation", ret))
        if preview is not None:
            anchor.addnext(string_slot("PreviewLocation", preview))
    return m


def set_v12_lang(root):
    root.attrib.pop("{http://www.w3.org/2001/XMLSchema-instance}lang", None)
    root.set(XML_LANG, "DE")


def procedure_international(root):
    slot = X(root, slot_path("Procedure"))
    slot.getparent().replace(slot, frag(
        '<rim:Slot name="Procedure"><rim:SlotValue xsi:type="rim:InternationalStringValueType"><rim:Value>'
        '<rim:LocalizedString xml:lang="EN" value="T3"/></rim:Value></rim:SlotValue></rim:Slot>'))


NEGATIVE = [
    Case("EDM-VER-002", REQ20, lambda r: set_spec(r, "oots-edm:v1.0"), "request-v1.0"),
    Case("EDM-VER-002", RESP20, lambda r: set_spec(r, "oots-edm:v1.1"), "response-v1.1"),
    Case("EDM-VER-002", ERR20, lambda r: set_spec(r, "oots-edm:v1.0"), "exception-v1.0"),
    Case("EDM-VER-002", V10 + "oots_request.xml", None, "governikus-v1.0"),
    Case("EDM-REQ-001", REQ20, lambda r: r.set("id", "1a2b3c4d-0000-4000-8000-000000000000"), "bare-uuid"),
    Case("EDM-REQ-001", REQ12, lambda r: r.attrib.pop("id"), "no-id"),
    Case("EDM-REQ-002", REQ20, lambda r: drop(r, slot_path("SpecificationIdentifier")), "missing"),
    Case("EDM-REQ-002", REQ20, lambda r: set_spec(r, "oots-edm:v3.0"), "unknown-version"),
    Case("EDM-REQ-002", REQ20, lambda r: set_spec(r, "oots-edm:v2.0.1"), "patch-level"),
    Case("EDM-REQ-002", REQ12, dup_slot("SpecificationIdentifier"), "twice"),
    Case("EDM-REQ-003", REQ20, lambda r: set_text(r, value_path("IssueDateTime"), "2026-13-06T10:00:00Z"), "month"),
    Case("EDM-REQ-003", REQ20, lambda r: set_attr(r, slot_path("IssueDateTime") + "/rim:SlotValue",
                                                  q("xsi", "type"), "rim:StringValueType"), "type"),
    Case("EDM-REQ-003", REQ12, lambda r: drop(r, slot_path("IssueDateTime")), "missing"),
    Case("EDM-REQ-004", REQ20, lambda r: drop(r, slot_path("PossibilityForPreview")), "missing"),
    Case("EDM-REQ-004", REQ12, lambda r: set_text(r, value_path("ExplicitRequestGiven"), "yes"), "not-boolean"),
    Case("EDM-REQ-005", REQ20, lambda r: set_attr(r, slot_path("EvidenceRequester") + "/rim:SlotValue",
                                                  "collectionType",
                                                  "urn:oasis:names:tc:ebxml-regrep:CollectionType:Bag"), "bag"),
    Case("EDM-REQ-005", REQ20, lambda r: drop(r, slot_path("EvidenceRequester")), "missing"),
    Case("EDM-REQ-005", REQ12, lambda r: set_attr(r, ER_AGENT + "/..", q("xsi", "type"), "rim:StringValueType"),
         "element-type"),
    Case("EDM-REQ-006", REQ20, lambda r: drop(r, ER_AGENT + "/sdg:Address"), "no-address"),
    Case("EDM-REQ-006", REQ20, lambda r: set_text(r, ER_AGENT + "/sdg:Classification", "EP"), "no-er"),
    Case("EDM-REQ-006", REQ20, lambda r: X(r, ER_AGENT).append(frag("<sdg:Jurisdiction/>")), "jurisdiction"),
    Case("EDM-REQ-006", REQ12, lambda r: set_attr(r, ER_AGENT + "/sdg:Name", "lang", None), "name-lang"),
    Case("EDM-REQ-006", REQ12, lambda r: set_attr(r, ER_AGENT + "/sdg:Identifier", "schemeID", None), "scheme"),
    Case("EDM-REQ-007", REQ20, ip_into_er_element, "ip-shares-element"),
    Case("EDM-REQ-007", REQ20, lambda r: drop(r, IP_AGENT + "/sdg:Classification"), "unclassified"),
    Case("EDM-REQ-008", REQ20, lambda r: set_attr(r, PROVIDER_AGENT + "/sdg:Identifier", "schemeID", None), "scheme"),
    Case("EDM-REQ-008", REQ20, lambda r: X(r, PROVIDER_AGENT).append(
        frag("<sdg:Classification>EP</sdg:Classification>")), "extra-element"),
    Case("EDM-REQ-008", REQ12, lambda r: drop(r, slot_path("EvidenceProvider")), "missing"),
    Case("EDM-REQ-009", REQ20, lambda r: add_after(
        r, slot_path("Procedure"), string_slot("EvidenceProviderClassificationValues", "x")), "unknown"),
    Case("EDM-REQ-009", REQ12B, lambda r: add_after(r, slot_path("PreviewLocation"),
                                                    string_slot("ReturnLocation", "https://r.example/")),
         "v12-return-location"),
    Case("EDM-REQ-010", REQ20, lambda r: set_attr(r, "/*/query:ResponseOption", "returnType", "ObjectRef"), "return"),
    Case("EDM-REQ-010", REQ12, lambda r: set_attr(r, QUERY, "queryDefinition", "Other"), "definition"),
    Case("EDM-REQ-011", REQ20, add_legal_person, "both"),
    Case("EDM-REQ-011", REQ12, lambda r: drop(r, "//rim:Slot[@name='NaturalPerson']"), "none"),
    Case("EDM-REQ-011", REQ20, lambda r: replace_with(r, PERSON, "<sdg:Agent/>"), "wrong-holder"),
    Case("EDM-REQ-012", REQ20, lambda r: drop(r, "//rim:Slot[@name='EvidenceRequest']"), "missing"),
    Case("EDM-REQ-012", REQ20, lambda r: drop(r, DSET + "/sdg:Title"), "no-title"),
    Case("EDM-REQ-012", REQ12, lambda r: replace_with(r, DSET, "<sdg:Agent/>"), "wrong-holder"),
    Case("EDM-REQ-014", REQ20, lambda r: drop(r, DSET + "/sdg:DistributedAs"), "v20-none"),
    Case("EDM-REQ-014", REQ20, lambda r: X(r, DSET + "/sdg:DistributedAs").append(
        frag("<sdg:Format>application/xml</sdg:Format>")), "two-formats"),
    Case("EDM-REQ-014", REQ12, lambda r: X(r, DSET + "/sdg:DistributedAs").addnext(
        copy.deepcopy(X(r, DSET + "/sdg:DistributedAs"))), "v12-two"),
    Case("EDM-REQ-015", REQ20, lambda r: r.set(XML_LANG, "EN"), "v20-lang"),
    Case("EDM-REQ-015", REQ12, None, "v12-xsi-lang"),
    Case("EDM-REQ-016", REQ20, lambda r: set_text(r, PERSON + "/sdg:LevelOfAssurance", "Medium"), "loa"),
    Case("EDM-REQ-016", REQ20, lambda r: set_text(r, PERSON + "/sdg:DateOfBirth", "22/10/1992"), "dob"),
    Case("EDM-REQ-016", REQ12, lambda r: drop(r, PERSON + "/sdg:FamilyName"), "family-name"),
    Case("EDM-REQ-016", REQ20, to_legal_person(legal_name=False), "legal-name"),
    Case("EDM-REQ-017", REQ20, lambda r: set_attr(r, PERSON + "/sdg:Identifier", "schemeID", "nif"), "scheme"),
    Case("EDM-REQ-017", REQ12, lambda r: set_text(r, PERSON + "/sdg:Identifier", "123456789"), "format"),
    Case("EDM-REQ-018", REQ20, lambda r: set_attr(r, REQUIREMENT + "/sdg:Name", "lang", None), "name-lang"),
    Case("EDM-REQ-018", REQ12, lambda r: drop(r, REQUIREMENT + "/sdg:Identifier"), "identifier"),
    Case("EDM-REQ-019", REQ20, preview_slots("https://p.example/s", None), "v20-no-return"),
    Case("EDM-REQ-019", REQ20, preview_slots("https://p.example/s", "http://r.example/"), "v20-return-http"),
    Case("EDM-REQ-019", REQ12B, lambda r: set_text(r, value_path("PreviewLocation"), "http://p.example/"), "v12-http"),
    Case("EDM-REQ-023", REQ20, lambda r: drop(r, slot_path("Procedure")), "no-procedure"),
    Case("EDM-REQ-023", REQ12, lambda r: drop(r, slot_path("Requirements")), "no-requirements"),
    Case("EDM-REQ-023", REQ20, procedure_international, "v20-procedure-type"),
]

POSITIVE = [
    Case("EDM-VER-002", REQ20), Case("EDM-VER-002", REQ12), Case("EDM-VER-002", RESP20), Case("EDM-VER-002", ERR20),
    *[Case(i, REQ20) for i in ("EDM-REQ-001", "EDM-REQ-002", "EDM-REQ-003", "EDM-REQ-004", "EDM-REQ-005",
                               "EDM-REQ-006", "EDM-REQ-007", "EDM-REQ-008", "EDM-REQ-009", "EDM-REQ-010",
                               "EDM-REQ-011", "EDM-REQ-012", "EDM-REQ-014", "EDM-REQ-015", "EDM-REQ-016",
                               "EDM-REQ-017", "EDM-REQ-018", "EDM-REQ-019", "EDM-REQ-023")],
    *[Case(i, REQ12) for i in ("EDM-REQ-001", "EDM-REQ-002", "EDM-REQ-003", "EDM-REQ-004", "EDM-REQ-005",
                               "EDM-REQ-006", "EDM-REQ-007", "EDM-REQ-008", "EDM-REQ-009", "EDM-REQ-010",
                               "EDM-REQ-011", "EDM-REQ-012", "EDM-REQ-014", "EDM-REQ-016", "EDM-REQ-017",
                               "EDM-REQ-018", "EDM-REQ-019", "EDM-REQ-023")],
    Case("EDM-REQ-015", REQ12, set_v12_lang, "v12-xml-lang"),
    Case("EDM-REQ-019", REQ12B, None, "v12-second-request"),
    Case("EDM-REQ-009", REQ12B, None, "v12-second-request"),
    Case("EDM-REQ-019", REQ20, preview_slots("https://p.example/s", "https://r.example/back"), "v20-second-request"),
    Case("EDM-REQ-009", REQ20, preview_slots("https://p.example/s", "https://r.example/back"), "v20-second-request"),
    *[Case(i, REQ20, to_legal_person(), "legal-person") for i in ("EDM-REQ-011", "EDM-REQ-016", "EDM-REQ-017")],
    Case("EDM-REQ-023", REQ12, None, "v12-international-procedure"),
]


@pytest.mark.parametrize("case", params(NEGATIVE))
def test_breaking_message_is_reported(case, corpus):
    assert_breaks(case, corpus)


@pytest.mark.parametrize("case", params(POSITIVE))
def test_conformant_message_passes(case, corpus):
    assert_holds(case, corpus)


def test_every_request_check_has_both_cases():
    assert_covered("edm_request", NEGATIVE, POSITIVE)


# --- whole-corpus expectations (all three kinds) ---------------------------------------------------------

@pytest.mark.parametrize("name", V20_MESSAGES)
def test_v20_reference_messages_give_no_edm_finding(name, corpus):
    """Validated against the official v2.0.1 Schematron upstream: none of our checks may object (with the header)."""
    root = parse(corpus(f"{V20}{name}.xml"))
    header = parse(corpus(f"{V20}{name}.entete.xml"))
    ran, findings = run(root, header)
    assert ran
    assert [f.line() for f in findings if f.id in edm_ids() or f.id == "HARNESS-CRASH"] == []


@pytest.mark.parametrize("name,expected", [
    ("EDM_Ferst_Request.xml", {"EDM-REQ-015"}),  # xsi:lang instead of xml:lang on the root (PROVENANCE)
    ("EDM_Second_Request.xml", {"EDM-REQ-015"}),
    ("EDM_Ferst_Response.xml", set()),
    ("EDM_Second_Response.xml", set()),
])
def test_v12_samples_only_known_defects(name, expected, corpus):
    ran, findings = run(parse(corpus(V12 + name)))
    assert {f.id for f in findings if f.id in edm_ids() or f.id == "HARNESS-CRASH"} == expected


def test_legacy_v10_gets_only_the_caution(corpus):
    ran, findings = run(parse(corpus(V10 + "oots_request.xml")))
    assert [(f.id, f.severity.value) for f in findings] == [("EDM-VER-002", "CAUTION")]


# --- robustness: odd input never crashes a check ---------------------------------------------------------

def _crashes(root, detection=None, header=None):
    _, findings = run(root, header, detection)
    return [f.message for f in findings if f.id == "HARNESS-CRASH"]


def ablations(root: etree._Element):
    """The message with each element removed in turn, then with each element's attributes and text cleared."""
    n = sum(1 for _ in root.iter())
    for i in range(1, n):
        for how in ("drop", "strip"):
            r = copy.deepcopy(root)
            el = list(r.iter())[i]
            if how == "drop":
                el.getparent().remove(el)
            else:
                el.attrib.clear()
                el.text = "  "
            yield r


@pytest.mark.parametrize("rel", [REQ20, REQ12, REQ12B])
def test_no_crash_on_ablated_requests(rel, corpus):
    root = parse(corpus(rel))
    for r in ablations(root):
        assert _crashes(r) == []


@pytest.mark.parametrize("xml", [
    '<query:QueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:4.0"/>',
    '<query:QueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:4.0">text<!-- c --><?pi x?>'
    '</query:QueryRequest>',
    f'<query:QueryRequest {_DECLS}><rim:Slot name="SpecificationIdentifier">oots-edm:v2.0</rim:Slot>'
    '<rim:Slot name="EvidenceRequester"><rim:SlotValue>x<!-- c --></rim:SlotValue></rim:Slot>'
    '<rim:Slot/><query:Query><rim:Slot name="NaturalPerson"><rim:SlotValue><!-- c --></rim:SlotValue></rim:Slot>'
    '</query:Query></query:QueryRequest>',
    f'<query:QueryRequest {_DECLS}><rim:Slot name="SpecificationIdentifier"><rim:SlotValue><rim:Value>'
    'oots-edm:v2.0</rim:Value></rim:SlotValue></rim:Slot><query:Query><rim:Slot name="EvidenceRequest">'
    '<rim:SlotValue><sdg:DataServiceEvidenceType><sdg:DistributedAs/></sdg:DataServiceEvidenceType>'
    '</rim:SlotValue></rim:Slot></query:Query></query:QueryRequest>',
])
def test_no_crash_on_odd_requests(xml):
    root = etree.fromstring(xml)
    assert _crashes(root) == []
    for version in ("v2.0", "v1.2", None, "v1.0", "v9.9"):  # and whatever version a caller forces
        assert _crashes(root, Detection("request", version)) == []


@pytest.mark.parametrize("kind", ["request", "response", "exception"])
def test_no_crash_when_kind_is_forced_on_foreign_xml(kind):
    for version in ("v2.0", "v1.2", None):
        assert _crashes(etree.fromstring("<foo><bar/>text</foo>"), Detection(kind, version)) == []
