"""ebMS header checks (conformance/rules/checks/ebms_header.py) on real captures and mutated copies.

Also holds the small case machinery the other check tests import: a :class:`Case` is a corpus message (or a
builder), an optional mutation, and whether the check's finding must appear (negative case) or must not
(positive case, where the check must also have run).
"""
from __future__ import annotations

import base64
import copy
from dataclasses import dataclass, field
from typing import Callable

import pytest
from lxml import etree

from conformance.rules import registry
from conformance.rules.detect import detect
from conformance.rules.findings import Finding, Severity
from conformance.rules.ns import NS, q, xp
from conformance.rules.registry import MessageContext, run_single
from conformance.rules.xmlsafe import parse_bytes

OF = "edm-v2.0-oots-france/xml/"
H_REQ = OF + "reference/messages/requete.entete.xml"
H_RESP = OF + "reference/messages/reponse.entete.xml"
H_V1 = "edm-v0.99-governikus/xml/Request-Response Samples/Birth Certificate/oots_request_header.xml"
WS_SUBMIT = OF + "reference/soap/requete.soumission.xml"
WS_REQ_REEL = OF + "incoming/reel/requete.xml"
WS_RESP_REEL = OF + "incoming/reel/reponseAvecPieceJointe.xml"

HEADER_CAPTURES = [OF + f"reference/messages/{n}.entete.xml" for n in
                   ("requete", "reponse", "erreur", "erreurCapaciteNonSupportee", "erreurExpiration",
                    "erreurRequeteInvalide")]
V1_SAMPLE_HEADERS = ["edm-v0.99-governikus/xml/Request-Response Samples/" + p for p in
                     ("Birth Certificate/oots_request_header.xml", "Birth Certificate/oots_response_header.xml",
                      "Secondary Education Completion Evidence/oots_request_header.xml",
                      "Secondary Education Completion Evidence/oots_response_header.xml")]
WS_CAPTURES = [OF + "incoming/reel/" + n for n in
               ("erreurObjetIntrouvable.xml", "listeMessagesEnAttente.vide.xml", "listeMessagesEnAttente.xml",
                "reponseAvecPieceJointe.xml", "requete.demarcheInconnue.xml", "requete.xml", "soumissionMessage.xml")] \
    + [OF + "reference/soap/" + n for n in
       ("erreur.soumission.xml", "erreurCapaciteNonSupportee.soumission.xml", "erreurRequeteInvalide.soumission.xml",
        "listeMessagesEnAttente.filtree.xml", "listeMessagesEnAttente.xml", "recuperationMessage.xml",
        "reponse.soumission.xml", "requete.soumission.xml")]


# --------------------------------------------------------------------------- case machinery (shared)

@dataclass(frozen=True)
class Case:
    id: str
    base: str | Callable  # corpus path, or builder(corpus) -> root
    mutate: Callable | None = None  # mutate(root) in place (may return a new root)
    present: bool = True  # True: negative case (finding expected); False: positive case
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.id}-{'neg' if self.present else 'pos'}-{self.note or 'capture'}".replace(" ", "_")


def parse(data: bytes) -> etree._Element:
    doc = parse_bytes(data)
    assert doc.root is not None, doc.findings
    return doc.root


def check(root: etree._Element, name: str = "<test>", extra: dict | None = None
          ) -> tuple[list[str], list[Finding]]:
    ran, findings = run_single(MessageContext(root, detect(root), name, extra=extra or {}))
    crashes = [f for f in findings if f.id == "HARNESS-CRASH"]
    assert not crashes, crashes
    return ran, findings


def build(corpus, case: Case) -> etree._Element:
    root = case.base(corpus) if callable(case.base) else parse(corpus(case.base))
    root = copy.deepcopy(root)
    if case.mutate is not None:
        new = case.mutate(root)
        root = new if new is not None else root
    return root


def run_case(corpus, case: Case) -> list[Finding]:
    root = build(corpus, case)
    ran, findings = check(root, case.label, case.extra)
    hits = [f for f in findings if f.id == case.id]
    if case.present:
        assert hits, f"{case.id} expected on {case.label}; got {[f.line() for f in findings]}"
        assert all(f.severity is registry.SINGLE[case.id].severity for f in hits)
    else:
        assert case.id in ran, f"{case.id} did not run on {case.label}"
        assert not hits, [f.line() for f in hits]
    return findings


def params(cases: list[Case]):
    """pytest params tagged ``case(id, ref=..., tier=...)`` from the check's registration."""
    registry._load_builtin_checks()
    out = []
    for c in cases:
        spec = registry.SINGLE.get(c.id)
        mark = pytest.mark.case(c.id, ref=spec.ref if spec else None,
                                tier=spec.severity.tier if spec else "strict")
        out.append(pytest.param(c, marks=mark, id=c.label))
    return out


def module_ids(module: str) -> set[str]:
    registry._load_builtin_checks()
    return {i for i, s in registry.SINGLE.items() if s.func.__module__ == module}


def assert_coverage(module: str, cases: list[Case]) -> None:
    ids = module_ids(module)
    assert ids, module
    neg = {c.id for c in cases if c.present}
    pos = {c.id for c in cases if not c.present}
    assert not ids - neg, f"no negative case for {sorted(ids - neg)}"
    assert not ids - pos, f"no positive case for {sorted(ids - pos)}"
    assert not (neg | pos) - ids, f"cases for unregistered ids {sorted((neg | pos) - ids)}"


# mutation helpers ---------------------------------------------------------------------------------

def rm(path: str):
    def f(root):
        for el in xp(root, path):
            el.getparent().remove(el)
    return f


def set_text(path: str, value: str):
    def f(root):
        els = xp(root, path)
        assert els, path
        for el in els:
            el.text = value
    return f


def set_attr(path: str, name: str, value: str | None):
    def f(root):
        els = xp(root, path)
        assert els, path
        for el in els:
            if value is None:
                el.attrib.pop(name, None)
            else:
                el.set(name, value)
    return f


def add_xml(path: str, fragment: str, index: int | None = None):
    """Insert ``fragment`` (namespaces of NS usable via their prefixes) as a child of the nodes at ``path``."""
    decl = " ".join(f'xmlns:{p}="{u}"' for p, u in NS.items() if p != "xml")

    def f(root):
        for el in xp(root, path):
            new = etree.fromstring(f"<w {decl}>{fragment}</w>")[0]
            if index is None:
                el.append(new)
            else:
                el.insert(index, new)
    return f


def chain(*fs):
    def f(root):
        for fn in fs:
            new = fn(root)
            root = new if new is not None else root
        return root
    return f


def edit_payload(index: int, fn: Callable[[bytes], bytes]):
    """Decode the ``index``-th WS-plugin payload, transform its bytes, re-encode it."""
    def f(root):
        value = xp(root, "/*/*[local-name()='Body']/*/payload/value")[index]
        data = base64.b64decode("".join(c for c in value.text if c.isalnum() or c in "+/="))
        value.text = base64.b64encode(fn(data)).decode("ascii")
    return f


UM = "//eb:Messaging/eb:UserMessage"
PROP = UM + "/eb:MessageProperties/eb:Property"


def as4_envelope(corpus) -> etree._Element:
    """A secured AS4 envelope around the reference request header (mustUnderstand + wsu:Id + wsse:Security)."""
    m = parse(corpus(H_REQ))
    env = etree.Element(q("S12", "Envelope"), nsmap={"S12": NS["S12"], "wsse": NS["wsse"], "wsu": NS["wsu"]})
    hdr = etree.SubElement(env, q("S12", "Header"))
    sec = etree.SubElement(hdr, q("wsse", "Security"))
    sec.set(q("S12", "mustUnderstand"), "true")
    m.set(q("S12", "mustUnderstand"), "true")
    m.set(q("wsu", "Id"), "_messaging")
    hdr.append(m)
    etree.SubElement(env, q("S12", "Body"))
    return env


def signal_only(corpus) -> etree._Element:
    return parse(f"""<eb:Messaging xmlns:eb="{NS['eb']}"><eb:SignalMessage><eb:MessageInfo>
        <eb:Timestamp>2026-08-11T09:22:22.000Z</eb:Timestamp><eb:MessageId>r1@oots.eu</eb:MessageId>
        <eb:RefToMessageId>m1@oots.eu</eb:RefToMessageId></eb:MessageInfo><eb:Receipt/></eb:SignalMessage>
        </eb:Messaging>""".encode())


# --------------------------------------------------------------------------- cases

CASES = [
    # AS4-HDR-001: only judged in a secured AS4 envelope
    Case("AS4-HDR-001", as4_envelope, present=False, note="secured envelope"),
    Case("AS4-HDR-001", as4_envelope, set_attr(UM + "/..", q("S12", "mustUnderstand"), None), note="no mustUnderstand"),
    Case("AS4-HDR-001", as4_envelope, set_attr(UM + "/..", q("S12", "mustUnderstand"), "false"),
         note="mustUnderstand false"),
    Case("AS4-HDR-001", as4_envelope, set_attr(UM + "/..", q("wsu", "Id"), None), note="no wsu Id"),
    Case("AS4-HDR-001", H_REQ, present=False, note="bare header not judged"),
    # AS4-HDR-002
    Case("AS4-HDR-002", H_REQ, present=False),
    Case("AS4-HDR-002", WS_SUBMIT, rm(UM + "/eb:MessageInfo"), present=False, note="submit without MessageInfo"),
    Case("AS4-HDR-002", signal_only, present=False, note="receipt only"),
    Case("AS4-HDR-002", H_REQ, rm(UM + "/eb:MessageInfo"), note="no MessageInfo"),
    Case("AS4-HDR-002", H_REQ, set_text(UM + "/eb:MessageInfo/eb:Timestamp", "2026-08-06T12:00:00.000+02:00"),
         note="Timestamp not UTC"),
    Case("AS4-HDR-002", H_REQ, set_text(UM + "/eb:MessageInfo/eb:Timestamp", "2026-13-06T10:00:00Z"),
         note="Timestamp invalid"),
    Case("AS4-HDR-002", H_REQ, set_text(UM + "/eb:MessageInfo/eb:MessageId", "<abc@oots.eu>"),
         note="MessageId brackets"),
    Case("AS4-HDR-002", H_REQ, set_text(UM + "/eb:MessageInfo/eb:MessageId", "1a2b3c4d"), note="MessageId no at"),
    Case("AS4-HDR-002", H_REQ, lambda r: r.append(copy.deepcopy(r[0])), note="two UserMessages"),
    Case("AS4-HDR-002", WS_SUBMIT, set_text(UM + "/eb:MessageInfo/eb:MessageId", ""),
         note="submit with empty MessageId"),
    # AS4-HDR-003
    Case("AS4-HDR-003", H_REQ, present=False),
    Case("AS4-HDR-003", H_REQ, set_attr(UM + "/eb:PartyInfo/eb:From/eb:PartyId", "type", None), note="no type"),
    Case("AS4-HDR-003", H_REQ, add_xml(UM + "/eb:PartyInfo/eb:To", '<eb:PartyId type="x">y</eb:PartyId>', 0),
         note="two PartyIds"),
    Case("AS4-HDR-003", H_REQ, rm(UM + "/eb:PartyInfo/eb:To"), note="no To"),
    # AS4-HDR-004
    Case("AS4-HDR-004", WS_REQ_REEL, present=False),
    Case("AS4-HDR-004", H_REQ, set_text(UM + "/eb:PartyInfo/eb:To/eb:Role", "http://example.org/responder"),
         note="wrong role"),
    # AS4-HDR-005
    Case("AS4-HDR-005", H_REQ, present=False),
    Case("AS4-HDR-005", H_REQ, set_attr(UM + "/eb:CollaborationInfo/eb:Service", "type", None), note="no type"),
    Case("AS4-HDR-005", H_REQ, set_text(UM + "/eb:CollaborationInfo/eb:Service", "QueryService"), note="wrong value"),
    # AS4-HDR-006
    Case("AS4-HDR-006", H_RESP, present=False),
    Case("AS4-HDR-006", H_REQ, chain(
        set_text(UM + "/eb:CollaborationInfo/eb:Service", "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/"
                                                          "200704/service"),
        set_text(UM + "/eb:CollaborationInfo/eb:Action", "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/"
                                                         "200704/test")), present=False, note="test service"),
    Case("AS4-HDR-006", H_REQ, set_text(UM + "/eb:CollaborationInfo/eb:Action", "ExecuteQuery"), note="unknown"),
    Case("AS4-HDR-006", H_REQ, set_text(UM + "/eb:CollaborationInfo/eb:Action",
                                        "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/test"),
         note="test action on QueryManager"),
    # AS4-HDR-007
    Case("AS4-HDR-007", H_REQ, present=False),
    Case("AS4-HDR-007", H_REQ, set_text(UM + "/eb:CollaborationInfo/eb:ConversationId", " "), note="empty"),
    # AS4-HDR-008
    Case("AS4-HDR-008", WS_RESP_REEL, present=False),
    Case("AS4-HDR-008", H_REQ, set_attr(PROP + "[@name='finalRecipient']", "type", None), note="no type"),
    Case("AS4-HDR-008", H_REQ, rm(PROP + "[@name='originalSender']"), note="no originalSender"),
    Case("AS4-HDR-008", H_REQ, set_text(PROP + "[@name='originalSender']", ""), note="empty originalSender"),
    # AS4-HDR-009
    Case("AS4-HDR-009", H_REQ, present=False),
    Case("AS4-HDR-009", H_REQ, set_text(PROP + "[@name='ExchangeId']", "exchange-1"), note="not a UUID"),
    Case("AS4-HDR-009", H_REQ, rm(PROP + "[@name='ExchangeId']"), note="absent"),
    # AS4-HDR-010
    Case("AS4-HDR-010", WS_SUBMIT, present=False),
    Case("AS4-HDR-010", H_V1, present=False, note="v1 header without SpecificationId"),
    Case("AS4-HDR-010", H_REQ, set_text(PROP + "[@name='SpecificationId']", "oots-edm:v2.0.1"), note="not literal"),
    Case("AS4-HDR-010", WS_SUBMIT, edit_payload(0, lambda b: b.replace(b"oots-edm:v2.0", b"oots-edm:v1.2")),
         note="payload declares v1.2"),
    Case("AS4-HDR-010", WS_REQ_REEL, rm(PROP + "[@name='SpecificationId']"), note="header lacks it payload v2"),
    # AS4-HDR-011
    Case("AS4-HDR-011", H_REQ, present=False),
    Case("AS4-HDR-011", H_REQ, add_xml(UM + "/eb:CollaborationInfo", "<eb:AgreementRef>urn:a</eb:AgreementRef>", 0),
         note="AgreementRef"),
    # AS4-HDR-012
    Case("AS4-HDR-012", H_RESP, present=False),
    Case("AS4-HDR-012", H_REQ, set_text(UM + "/eb:PayloadInfo/eb:PartInfo/eb:PartProperties/"
                                             "eb:Property[@name='MimeType']", "application/xml"), note="xml"),
    Case("AS4-HDR-012", H_REQ, rm(UM + "/eb:PayloadInfo"), note="no PayloadInfo"),
    # AS4-HDR-013
    Case("AS4-HDR-013", H_RESP, present=False),
    Case("AS4-HDR-013", WS_RESP_REEL, present=False, note="formats match"),
    Case("AS4-HDR-013", H_RESP, rm(UM + "/eb:PayloadInfo/eb:PartInfo[2]/eb:PartProperties/"
                                        "eb:Property[@name='MimeType']"), note="no MimeType"),
    Case("AS4-HDR-013", WS_RESP_REEL, set_text(UM + "/eb:PayloadInfo/eb:PartInfo[2]/eb:PartProperties/"
                                                    "eb:Property[@name='MimeType']", "image/png"),
         note="MimeType vs Format"),
    Case("AS4-HDR-013", WS_RESP_REEL, edit_payload(0, lambda b: b.replace(b"cid:802edbd4", b"cid:902edbd4")),
         note="undeclared evidence part"),
    # AS4-HDR-014
    Case("AS4-HDR-014", H_REQ, present=False),
    Case("AS4-HDR-014", H_REQ, add_xml(UM + "/eb:MessageInfo", "<eb:RefToMessageId>x@oots.eu</eb:RefToMessageId>"),
         note="RefToMessageId"),
    # EDM-COR-002
    Case("EDM-COR-002", H_REQ, present=False),
    Case("EDM-COR-002", H_V1, present=False, note="v1 two properties"),
    Case("EDM-COR-002", H_REQ, add_xml(UM + "/eb:MessageProperties",
                                       '<eb:Property name="trackingIdentifier">t1</eb:Property>'), note="5 properties"),
    Case("EDM-COR-002", H_REQ, chain(rm(PROP + "[@name='finalRecipient']"),
                                     add_xml(UM + "/eb:MessageProperties",
                                             '<eb:Property name="ExchangeId">1a2b3c4d-0000-4000-8000-00000000000f'
                                             '</eb:Property>')), note="4 properties wrong names"),
    Case("EDM-COR-002", H_V1, rm(PROP + "[@name='finalRecipient']"), note="v1 missing finalRecipient"),
    Case("EDM-COR-002", H_REQ, set_attr(PROP + "[@name='ExchangeId']", "name", None), note="property without name"),
    Case("EDM-COR-002", H_REQ, rm(PROP + "[@name='SpecificationId']"), note="ExchangeId without SpecificationId"),
    # EDM-COR-003
    Case("EDM-COR-003", WS_REQ_REEL, present=False),
    Case("EDM-COR-003", H_REQ, set_attr(PROP + "[@name='originalSender']", "type", "EAS:0009"), note="bare EAS"),
    Case("EDM-COR-003", H_REQ, set_attr(PROP + "[@name='finalRecipient']", "type",
                                        "urn:cef.eu:names:identifier:EAS:SIRET"), note="EAS not a code"),
    # EDM-COR-004 (WS-plugin view: the payload is at hand)
    Case("EDM-COR-004", WS_REQ_REEL, present=False),
    Case("EDM-COR-004", WS_RESP_REEL, present=False, note="response"),
    Case("EDM-COR-004", WS_REQ_REEL, set_text(UM + "/eb:CollaborationInfo/eb:Action", "ExecuteQueryResponse"),
         note="request sent as response"),
    Case("EDM-COR-004", OF + "incoming/reel/erreurObjetIntrouvable.xml",
         set_text(UM + "/eb:CollaborationInfo/eb:Action", "ExecuteQueryResponse"), note="exception sent as response"),
]


@pytest.mark.parametrize("case", params(CASES))
def test_case(corpus, case):
    run_case(corpus, case)


def test_every_registered_header_check_has_both_cases():
    assert_coverage("conformance.rules.checks.ebms_header", CASES)


def my_ids() -> set[str]:
    return (module_ids("conformance.rules.checks.ebms_header") | module_ids("conformance.rules.checks.wsplugin")
            | module_ids("conformance.rules.checks.common_services"))


@pytest.mark.parametrize("rel", HEADER_CAPTURES + WS_CAPTURES)
def test_real_captures_have_no_fatal_finding(corpus, rel):
    """The reference headers and the real WS-plugin captures pass every check of this work package."""
    _, findings = check(parse(corpus(rel)), rel)
    fatal = [f.line() for f in findings if f.id in my_ids() and f.severity is Severity.FATAL]
    assert not fatal


@pytest.mark.parametrize("rel", HEADER_CAPTURES)
def test_reference_headers_are_clean_v2(corpus, rel):
    root = parse(corpus(rel))
    assert detect(root).version == "v2.0"
    ran, findings = check(root, rel)
    assert {"AS4-HDR-002", "AS4-HDR-009", "AS4-HDR-010", "EDM-COR-002"} <= set(ran)
    assert not [f for f in findings if f.id in my_ids()]


@pytest.mark.parametrize("rel", V1_SAMPLE_HEADERS)
@pytest.mark.case("AS4-HDR-002")
def test_v1_sample_headers_are_templates_with_known_defects(corpus, rel):
    """The pre-1.0 samples have no MessageInfo (the ebMS3 XSD requires it) and untyped C1/C4 properties."""
    root = parse(corpus(rel))
    assert detect(root).version is None  # no SpecificationId: pre-2.0 header
    ran, findings = check(root, rel)
    assert "AS4-HDR-009" not in ran  # v2.0-only
    assert {f.id for f in findings if f.id in my_ids()} == {"AS4-HDR-002", "AS4-HDR-008"}


def test_signal_only_messaging_is_not_judged_as_user_message(corpus):
    _, findings = check(signal_only(corpus))
    assert not [f for f in findings if f.id in my_ids()]


def test_find_messaging_in_all_three_layouts(corpus):
    from conformance.rules.checks.ebms_header import find_messaging, find_user_message
    for root in (parse(corpus(H_REQ)), as4_envelope(corpus), parse(corpus(WS_REQ_REEL))):
        m = find_messaging(root)
        assert m is not None and m.tag == q("eb", "Messaging")
        assert find_user_message(root) is not None
    assert find_messaging(parse(corpus(OF + "incoming/reel/listeMessagesEnAttente.xml"))) is None


def test_namespace_prefixes_do_not_matter(corpus):
    """Domibus changes the ebMS prefix (ns5:, eb:, default): checks bind the namespace URI."""
    data = corpus(H_REQ).replace(b"eb:", b"ns3:").replace(b"xmlns:eb=", b"xmlns:ns3=")
    default = corpus(H_REQ).replace(b"eb:", b"").replace(b"xmlns:eb=", b"xmlns=")
    for variant in (data, default):
        root = parse(variant)
        ran, findings = check(root)
        assert "AS4-HDR-010" in ran and not [f for f in findings if f.id in my_ids()]
        broken = copy.deepcopy(root)
        set_text(UM + "/eb:CollaborationInfo/eb:Action", "Nope")(broken)
        assert "AS4-HDR-006" in {f.id for f in check(broken)[1]}


SEVERITIES = {
    "AS4-HDR-001": "FATAL", "AS4-HDR-002": "FATAL", "AS4-HDR-003": "FATAL", "AS4-HDR-004": "FATAL",
    "AS4-HDR-005": "FATAL", "AS4-HDR-006": "FATAL", "AS4-HDR-007": "FATAL", "AS4-HDR-008": "FATAL",
    "AS4-HDR-009": "FATAL", "AS4-HDR-010": "FATAL", "AS4-HDR-011": "WARNING", "AS4-HDR-012": "FATAL",
    "AS4-HDR-013": "FATAL", "AS4-HDR-014": "WARNING", "EDM-COR-002": "FATAL", "EDM-COR-003": "WARNING",
    "EDM-COR-004": "FATAL",
}


def test_severities_are_as_documented():
    ids = module_ids("conformance.rules.checks.ebms_header")
    assert {i: registry.SINGLE[i].severity.value for i in ids} == SEVERITIES
