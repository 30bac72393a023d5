"""Cross-message checks (conformance/rules/pairs.py) on the corpus and on mutations of it.

The v2.0 reference set (oots-france ``reference/messages``) is NOT one exchange: each file came out of its own
builder run (deterministic ids ``1a2b3c4d-0000-4000-8000-<counter>`` restarted per message), the four answers
were produced by the French node in the *provider* role for the request id of the official v1.2 example
(``urn:uuid:4ffb5281-…``, pyRegRep ``EDM_Ferst_Request``), and ``requete.xml`` was rebuilt later in the
*requester* role (FR -> DE provider ``DE73524311``), see the fixture README. So, genuinely:

* every answer's ``@requestId`` is not ``requete.xml``'s ``@id``           -> EDM-RESP-001 / EDM-ERR-009
* the response's provider is the French DINUM, not the DE office asked     -> PAIR-002
* every answer header has its own ExchangeId (counter 6, 9, 12, 15, 22)    -> AS4-HDR-009
* answer headers go AP_FR_01 (or ``blue_gw``) -> AP_DE_01, the request's direction, and their
  originalSender is DINUM, not the request's finalRecipient                 -> AS4-HDR-015

Each message is consistent with its own header, and everything else agrees (ConversationId, requester echo,
subject, evidence type, version, format). ``_repair`` fixes exactly the differences listed above; the repaired
set passes every check and is the base the per-id mutations start from.

The v1.2 pyRegRep preview flow fails on two points of the official example itself: the 0002 echoes requester
``NL22233223`` for ``NL222332239`` (EDM-RESP-004) and the final response's evidence classification
``DE/17a2b329…`` is not the requested ``DE/edf717b7…`` (PAIR-001, a warning).
"""
from __future__ import annotations

import copy

import pytest
from lxml import etree

from conformance.rules import registry
from conformance.rules.findings import Severity, Source
from conformance.rules.ns import NS, q, xp
from conformance.rules.pairs import context, order_pair, validate_pair

MSG = "edm-v2.0-oots-france/xml/reference/messages/"
CS = "edm-v2.0-oots-france/xml/common_services/"
V12 = "edm-v1.2-pyregrep/xml/"
ERRORS = ("erreur", "erreurCapaciteNonSupportee", "erreurExpiration", "erreurRequeteInvalide")
FILES = {
    "req": MSG + "requete.xml", "req_h": MSG + "requete.entete.xml",
    "resp": MSG + "reponse.xml", "resp_h": MSG + "reponse.entete.xml",
    **{e: MSG + f"{e}.xml" for e in ERRORS}, **{e + "_h": MSG + f"{e}.entete.xml" for e in ERRORS},
    "dsd": CS + "dsd_data_services_fi.xml", "dsd_none": CS + "dsd_aucun_service_fr.xml",
    "eb_req": CS + "eb_requirements_fr.xml", "eb_empty": CS + "eb_requirements_vides.xml",
    "eb_et": CS + "eb_evidence_types_fi.xml",
    "req1": V12 + "EDM_Ferst_Request.xml", "err1": V12 + "EDM_Ferst_Response.xml",
    "req2": V12 + "EDM_Second_Request.xml", "resp2": V12 + "EDM_Second_Response.xml",
}
PROVIDER = ("DE73524311", "urn:cef.eu:names:identifier:EAS:9930")
OTHER_UUID = "urn:uuid:00000000-1111-4222-8333-444444444444"
PREVIEW_URL = "https://preview.provider.example/session/1234"


# ------------------------------------------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def raw(corpus):
    """Parsed corpus documents, by short name (never mutate: use ``W``)."""
    return {k: etree.fromstring(corpus(v)) for k, v in FILES.items()}


def one(root, path):
    found = xp(root, path)
    assert found, f"{path} not found"
    return found[0]


def slot_value(root, name):
    return one(root, f".//rim:Slot[@name='{name}']/rim:SlotValue/rim:Value")


def add_string_slot(root, name, value, *, after="PossibilityForPreview"):
    """Insert a StringValueType slot after the slot ``after`` (request level)."""
    s = etree.Element(q("rim", "Slot"), name=name)
    sv = etree.SubElement(s, q("rim", "SlotValue"))
    sv.set(f"{{{NS['xsi']}}}type", "rim:StringValueType")
    etree.SubElement(sv, q("rim", "Value")).text = value
    one(root, f"./rim:Slot[@name='{after}']").addnext(s)
    return s


def prop(h, name):
    return one(h, f".//eb:MessageProperties/eb:Property[@name='{name}']")


def party(h, side):
    return one(h, f".//eb:PartyInfo/eb:{side}/eb:PartyId")


def set_ident(el, value, scheme):
    el.text = value
    el.set("schemeID", scheme)


def _repair(d):
    """Turn the reference set into one exchange (see module docstring): fix the answers, keep the request."""
    req, req_h = d["req"], d["req_h"]
    for name in ("resp", *ERRORS):
        body, h = d[name], d[name + "_h"]
        body.set("requestId", req.get("id"))
        for slot in ("EvidenceProvider", "ErrorProvider"):
            for ident in xp(body, f"./rim:Slot[@name='{slot}']//sdg:Agent/sdg:Identifier"):
                set_ident(ident, *PROVIDER)
        prop(h, "ExchangeId").text = prop(req_h, "ExchangeId").text
        for mine, theirs in (("From", "To"), ("To", "From")):
            party(h, mine).text = party(req_h, theirs).text
            party(h, mine).set("type", party(req_h, theirs).get("type"))
        for mine, theirs in (("originalSender", "finalRecipient"), ("finalRecipient", "originalSender")):
            prop(h, mine).text = prop(req_h, theirs).text
            prop(h, mine).set("type", prop(req_h, theirs).get("type"))
    # a DSD answer the request could have been built from: the captured FI entry, pointed at the DE provider
    dsd, dset = d["dsd"], one(req, ".//sdg:DataServiceEvidenceType")
    one(dsd, ".//sdg:DataServiceEvidenceType/sdg:EvidenceTypeClassification").text = \
        one(dset, "./sdg:EvidenceTypeClassification").text
    one(dsd, ".//sdg:DataServiceEvidenceType/sdg:Title[@lang='EN']").text = one(dset, "./sdg:Title").text
    set_ident(one(dsd, ".//sdg:AccessService/sdg:Identifier"), party(req_h, "To").text, party(req_h, "To").get("type"))
    set_ident(one(dsd, ".//sdg:Publisher/sdg:Identifier"), *PROVIDER)
    one(dsd, ".//sdg:Publisher/sdg:Name").text = one(req, ".//rim:Slot[@name='EvidenceProvider']//sdg:Name").text
    # Evidence Broker answers relating the request's requirement to its procedure (T3, FR)
    req_id = one(req, ".//sdg:Requirement/sdg:Identifier").text
    for eb in (d["eb_req"], d["eb_et"]):
        one(eb, ".//sdg:Requirement/sdg:Identifier").text = req_id
        frame = one(eb, ".//sdg:ReferenceFramework")
        one(frame, "./sdg:RelatedTo/sdg:Identifier").text = "T3"
        one(frame, "./sdg:Jurisdiction/sdg:AdminUnitLevel1").text = "FR"
    for c in xp(d["eb_et"], ".//sdg:EvidenceType/sdg:EvidenceTypeClassification"):
        c.text = one(dset, "./sdg:EvidenceTypeClassification").text
    # the v1.2 flow without the two slips of the official example
    one(d["err1"], ".//rim:Slot[@name='EvidenceRequester']//sdg:Identifier").text = "NL222332239"
    one(d["resp2"], ".//sdg:IsConformantTo/sdg:EvidenceTypeClassification").text = \
        one(d["req2"], ".//sdg:DataServiceEvidenceType/sdg:EvidenceTypeClassification").text
    return d


def _preview_error(d):
    """``erreur.xml`` turned into an EDM:ERR:0002 PreviewRequired with a PreviewLocation."""
    err = d["erreur"]
    exc = one(err, "./rs:Exception")
    exc.set(f"{{{NS['xsi']}}}type", "rs:AuthorizationExceptionType")
    exc.set("code", "EDM:ERR:0002")
    exc.set("message", "Missing Authorization")
    exc.set("severity", "urn:sr.oots.tech.ec.europa.eu:codes:ErrorSeverity:EDMErrorResponse:PreviewRequired")
    s = etree.SubElement(exc, q("rim", "Slot"), name="PreviewLocation")
    sv = etree.SubElement(s, q("rim", "SlotValue"))
    sv.set(f"{{{NS['xsi']}}}type", "rim:StringValueType")
    etree.SubElement(sv, q("rim", "Value")).text = PREVIEW_URL
    return err


def _second_request(d):
    """v2.0 preview request #2 built from ``requete.xml`` (+ its header: new MessageId, same exchange)."""
    d["req"].set("id", OTHER_UUID)  # d holds copies: "req" becomes request #2; d["req_first"] keeps #1
    slot_value(d["req"], "PossibilityForPreview").text = "true"
    slot_value(d["req_first"], "PossibilityForPreview").text = "true"
    add_string_slot(d["req"], "PreviewLocation", PREVIEW_URL)
    add_string_slot(d["req"], "ReturnLocation", "https://requester.example/return/42", after="PreviewLocation")
    one(d["req_h"], ".//eb:MessageId").text = "2nd-request@oots.eu"
    return d["req"]


class W(dict):
    """A fresh, repaired copy of the corpus for one test (mutations do not leak)."""

    def __init__(self, repaired):
        super().__init__({k: copy.deepcopy(v) for k, v in repaired.items()})
        self["req_first"] = copy.deepcopy(repaired["req"])
        self["req_first_h"] = copy.deepcopy(repaired["req_h"])


@pytest.fixture(scope="module")
def repaired(raw):
    return _repair({k: copy.deepcopy(v) for k, v in raw.items()})


@pytest.fixture
def w(repaired):
    return W(repaired)


def run(a, b, **kw):
    """Run the pair exactly as given (no reordering); returns findings."""
    kw.setdefault("reorder", False)
    ran, found = validate_pair(a, b, **kw)
    assert ran, "no pair check applied"
    assert not [f for f in found if f.id == "HARNESS-CRASH"], found
    return found


def ids(found):
    return {f.id for f in found}


# ------------------------------------------------------------------------------------------- corpus pairs
def test_each_reference_message_agrees_with_its_own_header(raw):
    for name in ("req", "resp", *ERRORS):
        assert run(raw[name], raw[name + "_h"]) == [], name


def test_reference_response_vs_request_fails_only_on_the_known_provenance_gaps(raw):
    found = run(raw["resp"], raw["req"], a_name="reponse.xml", b_name="requete.xml")
    assert ids(found) == {"EDM-RESP-001", "PAIR-002"}
    rid = next(f for f in found if f.id == "EDM-RESP-001")
    assert rid.expected == raw["req"].get("id") and rid.actual == "urn:uuid:4ffb5281-179d-4578-adf2-39fd13ccc797"
    assert rid.location == "reponse.xml!/query:QueryResponse/@requestId"
    assert rid.actual == raw["req1"].get("id")  # the answers were built for the v1.2 example's request


@pytest.mark.parametrize("err", ERRORS)
def test_reference_errors_vs_request_fail_only_on_request_id(raw, err):
    assert ids(run(raw[err], raw["req"])) == {"EDM-ERR-009"}


@pytest.mark.parametrize("answer", ("resp", *ERRORS))
def test_reference_answer_headers_vs_request_header_are_not_one_exchange(raw, answer):
    found = run(raw[answer + "_h"], raw["req_h"])
    assert ids(found) == {"AS4-HDR-009", "AS4-HDR-015"}  # ConversationId is shared: AS4-HDR-007 passes
    assert {f.actual for f in found if f.id == "AS4-HDR-009"} == {prop(raw[answer + "_h"], "ExchangeId").text}


def test_repaired_reference_set_is_one_consistent_exchange(repaired):
    d = repaired
    pairs = [(d["resp"], d["req"]), (d["resp_h"], d["req_h"]), (d["resp"], d["resp_h"]), (d["req"], d["req_h"]),
             (d["req"], d["dsd"]), (d["req_h"], d["dsd"]), (d["req"], d["eb_req"]), (d["req"], d["eb_et"])]
    for e in ERRORS:
        pairs += [(d[e], d["req"]), (d[e + "_h"], d["req_h"]), (d[e], d[e + "_h"])]
    for a, b in pairs:
        assert run(a, b) == [], (a.tag, b.tag)


def test_v12_preview_flow_from_the_official_example(raw):
    """Ferst_Request -> Ferst_Response (0002) -> Second_Request -> Second_Response."""
    r = raw
    f = run(r["err1"], r["req1"])
    assert ids(f) == {"EDM-RESP-004"}  # the example's own typo: NL22233223 for NL222332239
    assert (f[0].expected, f[0].actual) == ("NL222332239 [urn:cef.eu:names:identifier:EAS:0190]",
                                            "NL22233223 [urn:cef.eu:names:identifier:EAS:0190]")
    assert run(r["req2"], r["err1"]) == []  # PreviewLocation echoed (v1.2: no ReturnLocation)
    assert run(r["req2"], r["req1"]) == []  # new @id, same content
    f = run(r["resp2"], r["req2"])
    assert ids(f) == {"PAIR-001"} and f[0].severity is Severity.WARNING


def test_v12_preview_flow_repaired_passes(repaired):
    r = repaired
    for a, b in ((r["err1"], r["req1"]), (r["req2"], r["err1"]), (r["req2"], r["req1"]), (r["resp2"], r["req2"])):
        assert run(a, b) == []


def test_v20_request_vs_captured_fi_dsd_answer_does_not_match(raw):
    """The captured DSD answer is Finland's test service; the request targets a DE provider."""
    found = run(raw["req"], raw["dsd"])
    assert ids(found) == {"EDM-REQ-013", "EDM-REQ-008"}
    what = {(f.id, f.location.rsplit("/", 1)[-1]) for f in found}
    assert ("EDM-REQ-013", "sdg:EvidenceTypeClassification") in what and ("EDM-REQ-013", "sdg:Title") in what
    assert ids(run(raw["req_h"], raw["dsd"])) == {"CS-022", "CS-023"}
    # Identifier and DistributedAs (pdf, EN) do match: the rebuilt request copied the DSD identifier
    assert not [f for f in found if f.location.endswith(("sdg:Identifier", "sdg:DistributedAs"))
                and f.id == "EDM-REQ-013"]


def test_v20_request_vs_captured_eb_answers(raw):
    assert ids(run(raw["req"], raw["eb_req"])) == {"PAIR-004"}  # FR answers for procedure 00, request is T3
    assert ids(run(raw["req"], raw["eb_et"])) == {"PAIR-004", "PAIR-005"}
    assert ids(run(raw["req"], raw["eb_empty"])) == {"CS-017"}
    assert ids(run(raw["req"], raw["dsd_none"])) == {"CS-018"}


# ----------------------------------------------------------------------------- per id: a pass and a break
def _c(a, b, **kw):
    return lambda w: (w[a], w[b], kw)


def _mut(a, b, mutate, **kw):
    def build(w):
        mutate(w)
        return w[a], w[b], kw
    return build


def _set(path_key, xpath, value=None, attr=None):
    def m(w):
        el = one(w[path_key], xpath)
        if attr:
            el.set(attr, value)
        else:
            el.text = value
    return m


def _many(*ms):
    def m(w):
        for x in ms:
            x(w)
    return m


def _remove(key, xpath):
    def m(w):
        el = one(w[key], xpath)
        el.getparent().remove(el)
    return m


def _preview_pair(w, *, allow=True):
    _preview_error(w)
    slot_value(w["req"], "PossibilityForPreview").text = "true" if allow else "false"


def _second(w):
    _preview_error(w)
    _second_request(w)


def _extra_part(key):
    def m(w):
        pi = one(w[key], ".//eb:PayloadInfo")
        extra = copy.deepcopy(one(pi, "./eb:PartInfo"))
        extra.set("href", "cid:stray@oots.eu")
        one(extra, ".//eb:Property[@name='MimeType']").text = "application/pdf"
        pi.append(extra)
    return m


def _dsd_0005(w):
    d = w["dsd_none"]
    exc = one(d, "./rs:Exception")
    exc.set("code", "DSD:ERR:0005")
    exc.set("severity", "urn:sr.oots.tech.ec.europa.eu:codes:ErrorSeverity:DSDErrorResponse:AdditionalInput")
    exc.append(copy.deepcopy(one(w["dsd"], ".//rim:Slot[@name='DataServiceEvidenceType']")))


def _with_epc(w):
    s = copy.deepcopy(one(w["req1"], "./rim:Slot[@name='EvidenceProviderClassification']"))
    one(w["req"], "./rim:Slot[@name='EvidenceProvider']").addnext(s)


EP_ID = "./rim:Slot[@name='EvidenceProvider']//sdg:Agent/sdg:Identifier"
ER_ECHO = "./rim:Slot[@name='EvidenceRequester']//sdg:Agent/sdg:Identifier"
NAT = ".//sdg:IsAbout/sdg:NaturalPerson/"
DSET = ".//sdg:DataServiceEvidenceType/"
SPEC = ".//rim:Slot[@name='SpecificationIdentifier']//rim:Value"
PROP = ".//eb:Property[@name='{}']"
MIME = ".//eb:PartInfo[{}]//eb:Property[@name='MimeType']"
SR = "https://sr.oots.tech.ec.europa.eu/"
NIL = "00000000-0000-4000-8000-000000000000"
IP_SCHEME = "urn:oasis:names:tc:ebcore:partyid-type:unregistered:FR"
XHREF = f"{{{NS['xlink']}}}href"

#: id -> (passing pairs, breaking pairs); a breaking entry is a builder or (builder, exact expected ids)
CASES = {
    "EDM-RESP-001": (
        [_c("resp", "req"), _c("resp2", "req2")],
        [_mut("resp", "req", _set("resp", ".", OTHER_UUID, "requestId")),
         _mut("resp", "req", _set("resp", ".", OTHER_UUID.replace("urn:uuid:", ""), "requestId"))]),
    "EDM-ERR-009": (
        [_c("erreur", "req"),
         _mut("erreurRequeteInvalide", "req", lambda w: w["erreurRequeteInvalide"].attrib.pop("requestId"))],
        [_mut("erreur", "req", _set("erreur", ".", OTHER_UUID, "requestId")),
         _mut("erreur", "req", lambda w: w["erreur"].attrib.pop("requestId"))]),
    "EDM-RESP-004": (
        [_c("resp", "req"), _c("erreurExpiration", "req")],
        [_mut("resp", "req", _many(_set("resp", ER_ECHO, "OOTSFRANCE"), _set("resp", ER_ECHO, IP_SCHEME, "schemeID"))),
         _mut("erreur", "req", _set("erreur", ER_ECHO, "00000000000099"))]),
    "EDM-RESP-013": (
        [_c("resp", "req"), _mut("resp", "req", _set("resp", NAT + "sdg:FamilyName", " DUPONT "))],
        [_mut("resp", "req", _set("resp", NAT + "sdg:GivenName", "Pierre")),
         _mut("resp", "req", _set("resp", NAT + "sdg:DateOfBirth", "1992-10-23")),
         _mut("resp", "req", _remove("resp", NAT + "sdg:Identifier"))]),
    "PAIR-001": (
        [_c("resp", "req")],
        [_mut("resp", "req", _set("resp", ".//sdg:IsConformantTo/sdg:EvidenceTypeClassification",
                                  SR + "evidencetypeclassifications/DE/" + NIL))]),
    "PAIR-002": ([_c("resp", "req")], [_mut("resp", "req", _set("resp", EP_ID, "DE00000000"))]),
    "PAIR-003": (
        [_c("resp", "req"), _mut("erreurRequeteInvalide", "req", _set("req", SPEC, "oots-edm:v1.0"))],
        [_mut("resp", "req", _set("resp", SPEC, "oots-edm:v1.2")),
         _mut("erreur", "req", _set("erreur", SPEC, "oots-edm:v1.2"))]),
    "PAIR-008": (
        [_c("resp", "req"), _c("resp2", "req2")],
        [_mut("resp", "req", _set("resp", ".//sdg:Distribution/sdg:Format", "application/xml"))]),
    "EDM-PRV-001": (
        [_mut("erreur", "req", _preview_pair), _c("err1", "req1")],
        [_mut("erreur", "req", lambda w: _preview_pair(w, allow=False))]),
    "PAIR-006": (
        [_mut("erreur", "req_first", _second), _c("err1", "req1")],
        [_mut("erreur", "req", _many(_second, _set("erreur", ".", OTHER_UUID, "requestId")))]),
    "EDM-COR-002": (
        [_c("req", "req_h"), _c("resp", "resp_h")],
        [_mut("req", "req_h", _set("req_h", PROP.format("SpecificationId"), "oots-edm:v1.2")),
         _mut("resp", "resp_h", _remove("resp_h", PROP.format("SpecificationId")))]),
    "EDM-COR-003": (
        [_c("req", "req_h"), _c("resp", "resp_h"), _c("erreur", "erreur_h")],
        [_mut("req", "req_h", _set("req_h", PROP.format("originalSender"), "OOTSFRANCE")),
         _mut("resp", "resp_h", _set("resp_h", PROP.format("finalRecipient"),
                                     "urn:cef.eu:names:identifier:EAS:0002", "type")),
         _mut("erreur", "erreur_h", _set("erreur_h", PROP.format("originalSender"), "00000000000002"))]),
    "EDM-COR-004": (
        [_c("req", "req_h"), _c("erreur", "erreur_h")],
        [_mut("resp", "resp_h", _set("resp_h", ".//eb:Action", "ExecuteQueryRequest")),
         _mut("erreur", "erreur_h", _set("erreur_h", ".//eb:Action", "ExecuteQueryResponse"))]),
    "AS4-HDR-012": (
        [_c("req", "req_h"), _c("resp", "resp_h")],
        [_mut("req", "req_h", _set("req_h", MIME.format(1), "text/xml"))]),
    "EDM-RESP-011": (
        [_c("resp", "resp_h")],
        [_mut("resp", "resp_h", _set("resp_h", MIME.format(2), "image/png")),
         (_mut("resp", "resp_h", _set("resp", ".//rim:RepositoryItemRef", "cid:elsewhere@oots.eu", XHREF)),
          {"EDM-RESP-011", "PAIR-007"})]),
    "PAIR-007": (
        [_c("resp", "resp_h"), _c("req", "req_h")],
        [_mut("req", "req_h", _extra_part("req_h")), _mut("erreur", "erreur_h", _extra_part("erreur_h")),
         _mut("resp", "resp_h", _extra_part("resp_h"))]),
    "AS4-HDR-007": (
        [_c("resp_h", "req_h")],
        [_mut("resp_h", "req_h", _set("resp_h", ".//eb:ConversationId", "other"))]),
    "AS4-HDR-009": (
        [_c("resp_h", "req_h"), _c("erreur_h", "req_h")],
        [_mut("resp_h", "req_h", _set("resp_h", PROP.format("ExchangeId"), "other")),
         _mut("erreur_h", "req_h", _remove("erreur_h", PROP.format("ExchangeId")))]),
    "AS4-HDR-015": (
        [_c("resp_h", "req_h")],
        [_mut("resp_h", "req_h", _set("resp_h", ".//eb:From/eb:PartyId", "AP_XX_01")),
         _mut("resp_h", "req_h", _set("resp_h", ".//eb:To/eb:PartyId", "urn:other", "type")),
         _mut("erreur_h", "req_h", _set("erreur_h", PROP.format("finalRecipient"), "00000000000009"))]),
    "EDM-REQ-019": (
        [_mut("req", "erreur", _second), _c("req2", "err1")],
        [_mut("req", "erreur", _many(_second, _set("req", ".//rim:Slot[@name='PreviewLocation']//rim:Value",
                                                   "https://elsewhere.example/"))),
         _mut("req", "erreur", _many(_second, _remove("req", "./rim:Slot[@name='ReturnLocation']"))),
         _mut("req2", "err1", _set("err1", ".//rim:Slot[@name='PreviewLocation']//rim:Value",
                                   "https://other.example/"))]),
    "EDM-REQ-020": (
        [_mut("req", "req_first", _second), _c("req2", "req1"), _mut("req_h", "req_first_h", _second),
         _c("req", "req_first")],
        [_mut("req", "req_first", _many(_second, _set("req", ".//rim:Slot[@name='Procedure']//rim:Value", "T1"))),
         _mut("req", "req_first", _many(_second, _set("req", ".", "urn:uuid:1a2b3c4d-0000-4000-8000-000000000000",
                                                      "id"))),
         _mut("req2", "req1", _set("req2", ".//sdg:Person/sdg:GivenName", "John")),
         _mut("req2", "req1", _set("req2", DSET + "sdg:Identifier", NIL)),
         _mut("req_h", "req_first_h", _many(_second, _set("req_h", PROP.format("ExchangeId"), "new-exchange"))),
         _mut("req", "req_first", _many(_second, _set("req_h", ".//eb:ConversationId", "new-conversation")),
              a_header="req_h", b_header="req_first_h")]),
    "EDM-REQ-021": (
        [_c("req2", "req1"), _mut("req", "req_first", _second)],
        [_mut("req", "req_first",
              _many(_second, lambda w: add_string_slot(w["req_first"], "PreviewLocation", PREVIEW_URL))),
         (_c("req2", "req2"), {"EDM-REQ-020", "EDM-REQ-021"})]),
    "EDM-REQ-013": (
        [_c("req", "dsd")],
        [_mut("req", "dsd", _set("dsd", DSET + "sdg:Identifier", NIL)),
         _mut("req", "dsd", _set("req", DSET + "sdg:Title", "Birth certificate")),
         _mut("req", "dsd", _set("req", DSET + "sdg:DistributedAs/sdg:Language", "DE")),
         _mut("req", "dsd", _set("req", DSET + "sdg:DistributedAs/sdg:Format", "application/json"))]),
    "EDM-REQ-008": (
        [_c("req", "dsd")],
        [_mut("req", "dsd", _set("dsd", ".//sdg:Publisher/sdg:Identifier", "DE99999999")),
         _mut("req", "dsd", _set("req", "./rim:Slot[@name='EvidenceProvider']//sdg:Name", "Someone else"))]),
    "CS-020": (
        [_c("req", "dsd")],
        [_mut("req", "dsd", _set("dsd", ".//sdg:AccessService/sdg:ConformsTo", "oots-edm:v1.2"))]),
    "CS-018": (
        [_c("req", "dsd"), _mut("req", "dsd_none", _many(_dsd_0005, _with_epc))],
        [_c("req", "dsd_none"), _mut("req", "dsd_none", _set("dsd_none", "./rs:Exception", "DSD:ERR:0003", "code"))]),
    "CS-019": (
        [_mut("req", "dsd_none", _many(_dsd_0005, _with_epc)), _c("req", "dsd")],
        [_mut("req", "dsd_none", _dsd_0005)]),
    "CS-022": (
        [_c("req_h", "dsd")],
        [_mut("req_h", "dsd", _set("req_h", ".//eb:To/eb:PartyId", "AP_DE_02")),
         _mut("req_h", "dsd", _set("dsd", ".//sdg:AccessService/sdg:Identifier",
                                   "urn:oasis:names:tc:ebcore:partyid-type:unregistered:DE", "schemeID"))]),
    "CS-023": (
        [_c("req_h", "dsd")],
        # the To still names the only access service the DSD lists: CS-022 stays quiet
        [(_mut("req_h", "dsd", _set("req_h", PROP.format("finalRecipient"), "DE11111111")), {"CS-023"})]),
    "CS-017": ([_c("req", "eb_req"), _c("req", "eb_et")], [_c("req", "eb_empty")]),
    "PAIR-004": (
        [_c("req", "eb_req"), _c("req", "eb_et")],
        [_mut("req", "eb_req", _set("eb_req", ".//sdg:RelatedTo/sdg:Identifier", "T1")),
         _mut("req", "eb_req", _set("eb_req", ".//sdg:ReferenceFramework/sdg:Jurisdiction/sdg:AdminUnitLevel1", "DE")),
         _mut("req", "eb_et", _set("req", ".//sdg:Requirement/sdg:Identifier", SR + "requirements/" + NIL))]),
    "PAIR-005": (
        [_c("req", "eb_et"), _c("req", "eb_req")],
        [_mut("req", "eb_et", _set("req", DSET + "sdg:EvidenceTypeClassification",
                                   SR + "evidencetypeclassifications/DE/" + NIL))]),
}

_SEVERITY = {"PAIR-001": Severity.WARNING, "PAIR-004": Severity.WARNING, "PAIR-005": Severity.WARNING,
             "PAIR-006": Severity.WARNING, "PAIR-008": Severity.WARNING}


def _params(which):
    out = []
    for cid, (good, bad) in CASES.items():
        for i, case in enumerate(good if which == "pass" else bad):
            out.append(pytest.param(cid, case, id=f"{cid}-{which}{i}"))
    return out


def _build(case, w):
    build, expect = case if isinstance(case, tuple) else (case, None)
    a, b, kw = build(w)
    kw = {k: (w[v] if k in ("a_header", "b_header") else v) for k, v in kw.items()}
    return a, b, kw, expect


@pytest.mark.parametrize("cid,case", _params("pass"))
def test_check_passes(cid, case, w):
    a, b, kw, _ = _build(case, w)
    found = run(a, b, **kw)
    assert cid not in ids(found), [f.line() for f in found]
    assert cid in validate_pair(a, b, reorder=False, **kw)[0], f"{cid} did not run on its passing pair"


@pytest.mark.parametrize("cid,case", _params("break"))
def test_check_breaks(cid, case, w):
    a, b, kw, expect = _build(case, w)
    found = run(a, b, a_name="A", b_name="B", **kw)
    assert ids(found) == (expect or {cid}), [f.line() for f in found]
    mine = [f for f in found if f.id == cid]
    for f in mine:
        assert f.source is Source.PAIR and f.severity is _SEVERITY.get(cid, Severity.FATAL)
        assert f.expected is not None and f.actual is not None and f.message
        assert f.location.startswith(("A!/", "B!/")), f.location


def test_every_pair_check_has_a_passing_and_a_breaking_case():
    registry._load_builtin_checks()
    registered = set(registry.PAIRS)
    assert registered == set(CASES), (registered ^ set(CASES))
    for cid, (good, bad) in CASES.items():
        assert good and bad, cid
        assert registry.PAIRS[cid].severity is _SEVERITY.get(cid, Severity.FATAL), cid


# --------------------------------------------------------------------------------------------- the API
def test_order_pair_puts_the_judged_message_first(repaired):
    w = W(repaired)
    _second(w)
    cases = [
        (w["req_first"], w["resp"], "response"), (w["resp_h"], w["resp"], "response"),
        (w["dsd"], w["req"], "request"), (w["dsd"], w["req_h"], "ebms-header"), (w["eb_req"], w["req"], "request"),
        (w["req_first_h"], w["resp_h"], "ebms-header"),
    ]
    for a, b, first_kind in cases:
        x, y = order_pair(context(a, "a"), context(b, "b"))
        assert x.kind == first_kind and y.name == "a", (a.tag, b.tag)
    # request vs exception: the follow-up request #2 goes first, the answered request second
    x, _ = order_pair(context(w["erreur"], "e"), context(w["req"], "r2"))
    assert x.name == "r2"
    x, _ = order_pair(context(w["req_first"], "r1"), context(w["erreur"], "e"))
    assert x.name == "e"
    # two requests: the one with PreviewLocation (else the later IssueDateTime) first
    assert order_pair(context(w["req_first"], "r1"), context(w["req"], "r2"))[0].name == "r2"
    assert order_pair(context(repaired["req1"], "r1"), context(repaired["req1"], "r1b"))[0].name == "r1"
    later = copy.deepcopy(w["req_first"])
    slot_value(later, "IssueDateTime").text = "2026-08-06T11:00:00.000Z"
    assert order_pair(context(w["req_first"], "early"), context(later, "late"))[0].name == "late"
    # two request headers: the later timestamp first
    h2 = copy.deepcopy(w["req_first_h"])
    one(h2, ".//eb:Timestamp").text = "2026-08-06T10:05:00.000Z"
    assert order_pair(context(w["req_first_h"], "h1"), context(h2, "h2"))[0].name == "h2"


def test_validate_pair_reorders_accepts_bytes_and_envelopes(repaired, corpus):
    w = W(repaired)
    ran, found = validate_pair(w["req"], w["resp"], a_name="requete", b_name="reponse")
    assert "EDM-RESP-001" in ran and found == []
    ran, found = validate_pair(etree.tostring(w["req_h"]), etree.tostring(w["req"]))
    assert "EDM-COR-003" in ran and found == []
    # a WS-plugin envelope stands for its ebMS header
    env = corpus("edm-v2.0-oots-france/xml/incoming/reel/reponseAvecPieceJointe.xml")
    ran, _ = validate_pair(env, w["req_h"])
    assert "AS4-HDR-015" in ran


def test_validate_pair_reports_unusable_input_instead_of_raising(raw):
    ran, found = validate_pair(b"<not-closed", raw["req"])
    assert ran == [] and ids(found) == {"XML-001"} and found[0].location.startswith("a!")
    ran, found = validate_pair(raw["dsd"], raw["eb_req"])
    assert ran == [] and ids(found) == {"PAIR-000"} and found[0].severity is Severity.CAUTION


ODD = [
    b"<query:QueryRequest xmlns:query='urn:oasis:names:tc:ebxml-regrep:xsd:query:4.0'/>",
    b"<query:QueryResponse xmlns:query='urn:oasis:names:tc:ebxml-regrep:xsd:query:4.0' "
    b"xmlns:rim='urn:oasis:names:tc:ebxml-regrep:xsd:rim:4.0'><rim:Slot name='EvidenceResponseIdentifier'/>"
    b"<rim:Slot name='SpecificationIdentifier'><rim:SlotValue/></rim:Slot></query:QueryResponse>",
    b"<query:QueryResponse xmlns:query='urn:oasis:names:tc:ebxml-regrep:xsd:query:4.0' "
    b"xmlns:rs='urn:oasis:names:tc:ebxml-regrep:xsd:rs:4.0' status='Failure'><rs:Exception/></query:QueryResponse>",
    b"<eb:Messaging xmlns:eb='http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/'/>",
    b"<eb:Messaging xmlns:eb='http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/'><eb:UserMessage>"
    b"<eb:PayloadInfo><eb:PartInfo/><eb:PartInfo href=''/></eb:PayloadInfo><eb:MessageProperties><eb:Property/>"
    b"</eb:MessageProperties></eb:UserMessage></eb:Messaging>",
]


def test_no_pair_check_raises_on_odd_input(raw):
    """Every registered pair check, on hollow documents and mixed with real ones: findings, never a crash."""
    registry._load_builtin_checks()
    docs = [etree.fromstring(x) for x in ODD] + [raw[k] for k in ("req", "resp", "erreur", "req_h", "dsd", "eb_et")]
    ctxs = [context(d, f"d{i}") for i, d in enumerate(docs)]
    for spec in registry.PAIRS.values():
        for a in ctxs:
            for b in ctxs:
                for f in registry._guarded(spec, (a, b), Source.PAIR, None):
                    assert f.id == spec.id, f.line()


def test_no_pair_check_raises_when_any_single_element_is_removed(repaired):
    """Delete each element in turn from either side of the consistent pairs (about 1,500 runs, < 1 s)."""
    pairs = [("resp", "req"), ("erreur", "req"), ("resp", "resp_h"), ("req", "req_h"), ("resp_h", "req_h"),
             ("req", "dsd"), ("req_h", "dsd"), ("req", "eb_et"), ("req2", "err1"), ("req2", "req1"), ("resp2", "req2")]
    runs = 0
    for ka, kb in pairs:
        for side in (0, 1):
            base = repaired[(ka, kb)[side]]
            count = sum(1 for e in base.iter() if isinstance(e.tag, str))
            for i in range(1, count):
                doc = copy.deepcopy(base)
                victim = [e for e in doc.iter() if isinstance(e.tag, str)][i]
                victim.getparent().remove(victim)
                a, b = (doc, repaired[kb]) if side == 0 else (repaired[ka], doc)
                _, found = validate_pair(a, b, reorder=False)
                assert not [f for f in found if f.id == "HARNESS-CRASH"], (ka, kb, side, i)
                runs += 1
    assert runs > 1000
