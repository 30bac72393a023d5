"""ebMS 3 header model: build, parse, XSD validity, and the real Domibus headers of the TDD corpus."""
from __future__ import annotations

import copy
import functools
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from lxml import etree

from simulators.as4.errors import EbmsError
from simulators.as4.model import (
    DEFAULT_MPC, NS_EB, NS_S12, NS_WSU, OOTS, WSU_ID, AgreementRef, MessageInfo, PartInfo, Party,
    Property, Service, SignalMessage, UserMessage, build_envelope, format_timestamp, messaging_id,
    parse_messaging, parse_timestamp, parse_xml, to_bytes,
)

EB = "{%s}" % NS_EB

# --- TDD corpus and schema helpers (also used by test_errors_receipts) ----------------------------------


def tdd_path(*parts: str) -> Path:
    """A corpus file, found the way the harness finds TDD artefacts; a missing corpus fails the test."""
    from conformance.rules import tdd

    for root in tdd.get_repository().roots:
        p = root.joinpath(*parts)
        if p.exists():
            return p
    pytest.fail(f"TDD corpus file not found: {'/'.join(parts)}", pytrace=False)


FR_MESSAGES = ("edm-v2.0-oots-france", "xml", "reference", "messages")
FR_REEL = ("edm-v2.0-oots-france", "xml", "incoming", "reel")


@functools.lru_cache(maxsize=1)
def _load_schema(root: str) -> etree.XMLSchema:
    base = Path(root)
    locations = [
        ("http://www.w3.org/XML/1998/namespace", base / "w3c/xsd/xml/xml.xsd"),
        (NS_S12, base / "ebms3/xsd/ebms/soap12.xsd"),
        (NS_EB, base / "ebms3/xsd/ebms/ebms-header-3_0-200704.xsd"),
    ]
    imports = "".join(f'<xs:import namespace="{ns}" schemaLocation="{p.as_uri()}"/>' for ns, p in locations)
    wrapper = f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">{imports}</xs:schema>'
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.fromstring(wrapper.encode(), parser))


def ebms_schema() -> etree.XMLSchema:
    """ebMS 3 header XSD (errata 64179) + SOAP 1.2 + xml.xsd, all resolved from the local corpus."""
    root = tdd_path("ebms3", "xsd", "ebms", "ebms-header-3_0-200704.xsd").parents[3]
    tdd_path("w3c", "xsd", "xml", "xml.xsd")
    return _load_schema(str(root))


def assert_valid(el: etree._Element) -> None:
    schema = ebms_schema()
    # validate a re-parsed copy: the schema must hold for what goes on the wire
    doc = etree.fromstring(etree.tostring(el))
    assert schema.validate(doc), "\n".join(str(e) for e in schema.error_log)


# --- fixtures ----------------------------------------------------------------------------------------------


def make_user_message(**overrides) -> UserMessage:
    fields = dict(
        message_info=MessageInfo(
            message_id="4c2f4b8a-1111-4000-8000-000000000001@oots.eu",
            timestamp=datetime(2026, 8, 11, 9, 22, 22, 123000, tzinfo=timezone.utc),
        ),
        from_party=Party("AP_DE_01", OOTS.PARTY_TYPE),
        to_party=Party("AP_FR_01", OOTS.PARTY_TYPE),
        service=Service(OOTS.SERVICE, OOTS.SERVICE_TYPE),
        action=OOTS.ACTION_REQUEST,
        conversation_id="e0a6a5b7-6b2e-4b9c-9a63-8f0c6d3a1b24",
        properties=[
            Property(OOTS.ORIGINAL_SENDER, "DE73524311", "urn:cef.eu:names:identifier:EAS:9930"),
            Property(OOTS.FINAL_RECIPIENT, "00000000000002", "urn:cef.eu:names:identifier:EAS:0009"),
            Property(OOTS.EXCHANGE_ID, "1a2b3c4d-0000-4000-8000-000000000002"),
            Property(OOTS.SPECIFICATION_ID, OOTS.SPECIFICATION_ID_V2),
        ],
        parts=[
            PartInfo("cid:regrep@oots.eu", [Property("MimeType", OOTS.MIME_REGREP)]),
            PartInfo("cid:evidence@oots.eu", [Property("MimeType", "application/pdf")]),
        ],
    )
    fields.update(overrides)
    return UserMessage(**fields)


# --- building --------------------------------------------------------------------------------------------


@pytest.mark.case("AS4-HDR-001", ref="as4-profile.md §3")
def test_messaging_has_must_understand_and_wsu_id():
    messaging = make_user_message().to_xml(messaging_id="_msg-1")
    assert messaging.tag == EB + "Messaging"
    assert messaging.get("{%s}mustUnderstand" % NS_S12) == "true"
    assert messaging.get(WSU_ID) == "_msg-1" == messaging_id(messaging)
    # a fresh, distinct id when none is given
    a, b = make_user_message().to_xml(), make_user_message().to_xml()
    assert a.get(WSU_ID) and a.get(WSU_ID) != b.get(WSU_ID)


@pytest.mark.case("AS4-HDR-002", ref="ebms-header-3_0-200704.xsd")
def test_built_messaging_validates_against_ebms3_xsd():
    assert_valid(make_user_message().to_xml())
    # with every optional element too
    full = make_user_message(
        message_info=MessageInfo("m@oots.eu", datetime(2026, 1, 1), ref_to_message_id="r@oots.eu"),
        agreement_ref=AgreementRef("urn:agreement", type="urn:type", pmode="pm-1"),
        from_party=Party("AP_DE_01", OOTS.PARTY_TYPE, extra_ids=[("0088:123", "urn:gln")]),
    )
    assert_valid(full.to_xml())
    # and with none of them (no properties, no payload, no mpc)
    assert_valid(make_user_message(properties=[], parts=[], mpc=None).to_xml())


@pytest.mark.case("AS4-MIME-003", ref="E115 §Packaging")
def test_envelope_has_empty_body_with_wsu_id_and_validates():
    env = build_envelope(make_user_message(), body_id="_body-1", messaging_id="_msg-1")
    assert env.tag == "{%s}Envelope" % NS_S12
    header, body = list(env)
    assert header.tag == "{%s}Header" % NS_S12 and body.tag == "{%s}Body" % NS_S12
    assert len(body) == 0 and body.get("{%s}Id" % NS_WSU) == "_body-1"
    assert header[0].get(WSU_ID) == "_msg-1"
    assert_valid(env)


def test_build_envelope_accepts_a_messaging_element():
    messaging = make_user_message().to_xml()
    env = build_envelope(messaging)
    assert env[0][0] is messaging
    with pytest.raises(ValueError):
        build_envelope(etree.Element("foo"))


@pytest.mark.case("AS4-HDR-002")
def test_user_message_round_trip():
    um = make_user_message(agreement_ref=AgreementRef("urn:a", "t"))
    again = UserMessage.from_xml(to_bytes(build_envelope(um)))
    assert again == um
    assert again.message_id == um.message_id
    assert again.get_property(OOTS.SPECIFICATION_ID) == OOTS.SPECIFICATION_ID_V2
    assert again.find_property(OOTS.ORIGINAL_SENDER).type == "urn:cef.eu:names:identifier:EAS:9930"
    assert again.part("cid:evidence@oots.eu").mime_type == "application/pdf"
    assert again.parts[0].content_id == "regrep@oots.eu"


def test_defaults_are_fresh_and_wire_precise():
    a, b = MessageInfo(), MessageInfo()
    assert a.message_id != b.message_id and a.message_id.endswith("@oots.eu")
    assert "<" not in a.message_id
    assert a.timestamp.tzinfo is not None and a.timestamp.microsecond % 1000 == 0


@pytest.mark.case("AS4-HDR-002")
def test_timestamps_are_written_in_utc_with_z():
    assert format_timestamp(datetime(2026, 8, 11, 11, 22, 22, 5000, tzinfo=timezone(timedelta(hours=2)))) \
        == "2026-08-11T09:22:22.005Z"
    assert format_timestamp(datetime(2026, 8, 11, 9, 22, 22)) == "2026-08-11T09:22:22.000Z"  # naive = UTC
    assert parse_timestamp("2026-08-11T09:22:22.000Z") == datetime(2026, 8, 11, 9, 22, 22, tzinfo=timezone.utc)
    assert parse_timestamp("2026-08-11T09:22:22.1234567+02:00").utcoffset() == timedelta(hours=2)
    assert parse_timestamp("2026-08-11T09:22:22").tzinfo is None
    for bad in ("2026-08-11", "yesterday", "2026-08-11 09:22:22Z"):
        with pytest.raises(ValueError):
            parse_timestamp(bad)


def test_part_info_property_helpers():
    p = PartInfo("cid:x", [Property("MimeType", "a/b"), Property("PayloadName", "n")])
    q = p.with_property("MimeType", "c/d").with_property("CharacterSet", "UTF-8")
    assert [x.name for x in q.properties] == ["MimeType", "PayloadName", "CharacterSet"]
    assert q.mime_type == "c/d" and p.mime_type == "a/b"
    assert q.without_property("PayloadName").get("PayloadName") is None
    assert PartInfo("http://example.org/x").content_id is None
    assert PartInfo(None).content_id is None


# --- parsing the TDD corpus --------------------------------------------------------------------------------

ENTETES = ["requete", "reponse", "erreur", "erreurRequeteInvalide", "erreurCapaciteNonSupportee",
           "erreurExpiration"]


@pytest.mark.case("AS4-HDR-004", ref="FR spec/fixtures/reference/messages")
@pytest.mark.parametrize("name", ENTETES)
def test_parse_reference_headers(name):
    um = UserMessage.from_xml(tdd_path(*FR_MESSAGES, f"{name}.entete.xml").read_bytes())
    assert um.from_party.role == um.to_party.role == OOTS.ROLE
    assert um.from_party.party_type == OOTS.PARTY_TYPE and not um.from_party.extra_ids
    assert um.service == Service(OOTS.SERVICE, OOTS.SERVICE_TYPE)
    assert um.action in OOTS.ACTIONS
    assert um.agreement_ref is None and um.message_info.ref_to_message_id is None
    assert um.message_info.timestamp == datetime(2026, 8, 6, 10, 0, tzinfo=timezone.utc)
    assert um.get_property(OOTS.SPECIFICATION_ID) == OOTS.SPECIFICATION_ID_V2
    assert um.find_property(OOTS.ORIGINAL_SENDER).type.startswith("urn:cef.eu:names:identifier:EAS:")
    assert um.find_property(OOTS.EXCHANGE_ID).type is None
    assert um.parts[0].mime_type == OOTS.MIME_REGREP and um.parts[0].content_id.endswith("@oots.eu")
    assert um.mpc is None  # the FR builder omits it
    # re-serialised by us, it is schema-valid and reads back identical
    assert_valid(um.to_xml())
    assert UserMessage.from_xml(um.to_xml()) == um


REEL = {  # capture -> (action, number of parts)
    "requete.xml": (OOTS.ACTION_REQUEST, 1),
    "requete.demarcheInconnue.xml": (OOTS.ACTION_REQUEST, 1),
    "reponseAvecPieceJointe.xml": (OOTS.ACTION_RESPONSE, 2),
    "erreurObjetIntrouvable.xml": (OOTS.ACTION_EXCEPTION, 1),
}


@pytest.mark.case("AS4-HDR-008", ref="Domibus 5.2.1 WS-plugin captures (FR incoming/reel)")
@pytest.mark.parametrize("name", sorted(REEL))
def test_parse_real_domibus_captures(name):
    raw = tdd_path(*FR_REEL, name).read_bytes()
    assert b"<ns5:Messaging" in raw  # Domibus' own prefix, which we must not rely on
    um = UserMessage.from_xml(raw)
    action, nparts = REEL[name]
    assert um.action == action and len(um.parts) == nparts
    assert um.mpc == DEFAULT_MPC
    assert um.from_party.party_id == "blue_gw" and um.from_party.role == OOTS.ROLE
    # Domibus reorders properties (the builder wrote originalSender first; the order even varies
    # between captures): lookups must not depend on it
    assert {p.name for p in um.properties[:2]} == {OOTS.EXCHANGE_ID, OOTS.SPECIFICATION_ID}
    for name_ in (OOTS.ORIGINAL_SENDER, OOTS.FINAL_RECIPIENT, OOTS.EXCHANGE_ID, OOTS.SPECIFICATION_ID):
        assert um.get_property(name_)
    assert um.message_info.timestamp.tzinfo == timezone.utc
    assert um.message_id.endswith("@oots.eu")
    if nparts == 2:
        assert um.parts[1].mime_type == "application/pdf"
    assert_valid(um.to_xml())
    assert parse_messaging(raw) == [um]


def _rename_prefixes(el: etree._Element, default_ns: bool) -> etree._Element:
    """The same document with other prefixes (or a default namespace) for eb."""
    nsmap = {None: NS_EB} if default_ns else {"x9": NS_EB}
    out = etree.Element(el.tag, nsmap=nsmap, attrib=dict(el.attrib))
    out.text = el.text

    def walk(src, dst):
        for c in src:
            if isinstance(c.tag, str):
                n = etree.SubElement(dst, c.tag, attrib=dict(c.attrib))
                n.text, n.tail = c.text, c.tail
                walk(c, n)

    walk(el, out)
    return etree.fromstring(etree.tostring(out))


@pytest.mark.parametrize("default_ns", [False, True])
def test_parsing_binds_namespaces_not_prefixes(default_ns):
    el = etree.fromstring(tdd_path(*FR_MESSAGES, "reponse.entete.xml").read_bytes())
    renamed = _rename_prefixes(el, default_ns)
    assert renamed.prefix != el.prefix
    assert UserMessage.from_xml(renamed) == UserMessage.from_xml(el)


def test_wrong_namespace_is_not_ebms():
    xml = tdd_path(*FR_MESSAGES, "requete.entete.xml").read_bytes().replace(
        b"ebms/v3.0/ns/core/200704/", b"ebms/v3.0/ns/core/200705/")
    with pytest.raises(EbmsError) as ei:
        UserMessage.from_xml(xml)
    assert ei.value.code == "EBMS:0009"


def test_property_order_is_not_significant():
    um = make_user_message()
    shuffled = make_user_message(properties=list(reversed(um.properties)))
    parsed = UserMessage.from_xml(shuffled.to_xml())
    for p in um.properties:
        assert parsed.find_property(p.name) == p
    # order is preserved as on the wire (conformance reports may show it)
    assert parsed.properties == shuffled.properties


@pytest.mark.case("AS4-HDR-012", ref="Projectathon header with PayloadName")
def test_extra_part_properties_and_missing_message_info():
    # Governikus/Projectathon headers carry PayloadName part properties but no MessageInfo
    path = tdd_path("edm-v0.99-governikus", "xml", "Request-Response Samples",
                    "Secondary Education Completion Evidence", "oots_response_header.xml")
    root = etree.fromstring(path.read_bytes())
    with pytest.raises(EbmsError) as ei:
        UserMessage.from_xml(root)
    assert ei.value.code == "EBMS:0009" and "MessageInfo" in str(ei.value)

    um_el = root.find(EB + "UserMessage")
    MessageInfo("x@oots.eu", datetime(2026, 1, 1, tzinfo=timezone.utc)).to_element(um_el)
    um_el.insert(0, um_el[-1])  # MessageInfo goes first
    um = UserMessage.from_xml(root)
    assert um.from_party.party_type == OOTS.PARTY_TYPE_PROJECTATHON
    assert [p.mime_type for p in um.parts] == [OOTS.MIME_REGREP, "application/pdf", "application/pdf"]
    assert um.parts[1].get("PayloadName") == "SecondaryEducationCompletion.pdf"
    assert um.get_property(OOTS.ORIGINAL_SENDER).endswith(":C4")


def test_unknown_extension_elements_are_ignored():
    messaging = make_user_message().to_xml()
    um_el = messaging.find(EB + "UserMessage")
    etree.SubElement(um_el.find(EB + "PayloadInfo")[0], EB + "Description").text = "ignored"
    etree.SubElement(messaging, "{urn:example}Extension")
    um_el.find(EB + "MessageInfo").append(etree.Comment("a comment"))
    assert UserMessage.from_xml(messaging) == make_user_message()


def _without(path: str) -> etree._Element:
    messaging = make_user_message().to_xml()
    el = messaging.find(path, {"eb": NS_EB})
    el.getparent().remove(el)
    return messaging


@pytest.mark.case("AS4-HDR-003")
@pytest.mark.parametrize("path", [
    "eb:UserMessage/eb:MessageInfo",
    "eb:UserMessage/eb:MessageInfo/eb:MessageId",
    "eb:UserMessage/eb:MessageInfo/eb:Timestamp",
    "eb:UserMessage/eb:PartyInfo/eb:From",
    "eb:UserMessage/eb:PartyInfo/eb:To/eb:PartyId",
    "eb:UserMessage/eb:PartyInfo/eb:To/eb:Role",
    "eb:UserMessage/eb:CollaborationInfo/eb:Service",
    "eb:UserMessage/eb:CollaborationInfo/eb:Action",
    "eb:UserMessage/eb:CollaborationInfo/eb:ConversationId",
])
def test_missing_required_element_is_invalid_header(path):
    with pytest.raises(EbmsError) as ei:
        UserMessage.from_xml(_without(path))
    assert ei.value.code == "EBMS:0009"
    assert path.rsplit(":", 1)[1] in ei.value.detail


@pytest.mark.parametrize("mutate", ["bad-timestamp", "empty-id", "nameless-property", "two-messages"])
def test_malformed_values_are_invalid_header(mutate):
    messaging = make_user_message().to_xml()
    um_el = messaging.find(EB + "UserMessage")
    if mutate == "bad-timestamp":
        um_el.find(f"{EB}MessageInfo/{EB}Timestamp").text = "11/08/2026"
    elif mutate == "empty-id":
        um_el.find(f"{EB}MessageInfo/{EB}MessageId").text = "  "
    elif mutate == "nameless-property":
        del um_el.find(f"{EB}MessageProperties/{EB}Property").attrib["name"]
    else:
        messaging.append(copy.deepcopy(um_el))
    with pytest.raises(EbmsError) as ei:
        UserMessage.from_xml(messaging)
    assert ei.value.code == "EBMS:0009"


def test_several_parties_are_kept_for_conformance_checks():
    um = make_user_message(to_party=Party("AP_FR_01", OOTS.PARTY_TYPE, extra_ids=[("x", None)]))
    parsed = UserMessage.from_xml(um.to_xml())
    assert parsed.to_party.party_id == "AP_FR_01" and parsed.to_party.extra_ids == [("x", None)]


def test_parse_messaging_and_signal_lookup():
    env = build_envelope(make_user_message())
    msgs = parse_messaging(env)
    assert len(msgs) == 1 and isinstance(msgs[0], UserMessage)
    with pytest.raises(EbmsError):
        SignalMessage.from_xml(env)
    with pytest.raises(EbmsError):
        UserMessage.from_xml(etree.fromstring(b"<a><b/></a>"))
    env.find("{%s}Header" % NS_S12).append(make_user_message().to_xml())
    with pytest.raises(EbmsError, match="2 eb:Messaging"):
        UserMessage.from_xml(env)


# --- hardened XML parsing --------------------------------------------------------------------------------


def test_parse_xml_rejects_dtd_and_entities_and_garbage():
    xxe = (b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b'<a>&x;</a>')
    billion = b'<!DOCTYPE a [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]><a>&b;</a>'
    for bad in (xxe, billion, b"<a><b></a>", b"", b"\x00\x01"):
        with pytest.raises(EbmsError) as ei:
            parse_xml(bad)
        assert ei.value.code == "EBMS:0009"


@pytest.mark.case("AS4-MIME-002", ref="E115 §2.2.2 (BOM)")
def test_parse_xml_accepts_bom_and_str():
    data = to_bytes(build_envelope(make_user_message()))
    assert UserMessage.from_xml(b"\xef\xbb\xbf" + data) == make_user_message()
    assert parse_xml(data.decode("utf-8").split("?>", 1)[1]).tag == "{%s}Envelope" % NS_S12
