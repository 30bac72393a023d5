"""P-Mode model: the FR Domibus example, OOTS legs, lookups, Domibus-style matching errors, TOML worlds,
and routing of outgoing messages."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest

from simulators.as4.errors import EbmsError
from simulators.as4.model import DEFAULT_MPC, OOTS, AgreementRef, MessageInfo, Property, Service, UserMessage
from simulators.as4.model import Party as EbParty
from simulators.as4.pmode import (
    FOUR_CORNERS, Leg, Party, PModeError, PModeSet, Process, PropertyDef, PropertySet, ReceptionAwareness,
    Security, check_property_profile, oots_legs,
)
from simulators.as4.routing import Route, Router, RoutingError

FR_PMODE = "edm-v2.0-oots-france/xml/domibus/configuration_PMode_Domibus.xml"
GATEWAY = "http://sdg.europa.eu/edelivery/gateway"
T = OOTS.PARTY_TYPE


@pytest.fixture(scope="module")
def fr_pmode_bytes(corpus) -> bytes:
    return corpus(FR_PMODE)


@pytest.fixture(scope="module")
def fr(fr_pmode_bytes) -> PModeSet:
    return PModeSet.parse_domibus(fr_pmode_bytes)


@pytest.fixture()
def world() -> PModeSet:
    """A French node and two foreign access points; ee_gw may only respond."""
    return PModeSet.oots(
        [Party("fr_gw", "AP_FR_01", endpoint="https://127.0.0.1:8443/domibus/services/msh"),
         Party("de_gw", "AP_DE_01", endpoint="http://127.0.0.1:9001/msh"),
         Party("ee_gw", "AP_EE_01", endpoint="http://127.0.0.1:9002/msh")],
        own_party="fr_gw", initiators=["fr_gw", "de_gw"],
    )


def um(
    frm: str = "AP_DE_01", to: str = "AP_FR_01", *, action: str = OOTS.ACTION_REQUEST,
    service: Service | None = None, frm_type: str | None = T, to_type: str | None = T,
    role_from: str = GATEWAY, role_to: str = GATEWAY, props: list[Property] | None = None,
    agreement: AgreementRef | None = None,
) -> UserMessage:
    if props is None:
        props = [
            Property(OOTS.ORIGINAL_SENDER, "DE73524311", "urn:cef.eu:names:identifier:EAS:9930"),
            Property(OOTS.FINAL_RECIPIENT, "00000000000002", "urn:cef.eu:names:identifier:EAS:0009"),
            Property(OOTS.EXCHANGE_ID, "1a2b3c4d-0000-4000-8000-000000000002"),
            Property(OOTS.SPECIFICATION_ID, OOTS.SPECIFICATION_ID_V2),
        ]
    return UserMessage(
        message_info=MessageInfo("m-1@oots.eu", datetime(2026, 1, 2, tzinfo=timezone.utc)),
        from_party=EbParty(frm, frm_type, role_from), to_party=EbParty(to, to_type, role_to),
        service=service or Service(OOTS.SERVICE, OOTS.SERVICE_TYPE), action=action,
        conversation_id="c-1", agreement_ref=agreement, properties=props,
    )


# --- the FR example -----------------------------------------------------------------------------------------
def test_fr_example_parties_and_process(fr):
    assert fr.own_party == "blue_gw"
    (blue,) = fr.parties
    assert (blue.name, blue.party_id, blue.party_id_type, blue.endpoint) == (
        "blue_gw", "blue_gw", T, "http://localhost:8080/domibus/services/msh")
    assert blue.allow_chunking is False
    (proc,) = fr.processes
    assert proc.name == "ootsProcess"
    assert proc.initiators == proc.responders == ("blue_gw",)
    assert proc.initiator_role.value == proc.responder_role.value == GATEWAY
    assert (proc.agreement.name, proc.agreement.value) == ("agreementEmpty", "")
    assert proc.mep.value.endswith("/oneWay") and proc.binding.value.endswith("/push")
    assert proc.legs == ("ootsRequestLeg", "ootsResponseLeg", "ootsErrorLeg", "testServiceCase")


@pytest.mark.case("AS4-HDR-005", ref="as4-profile.md §6.4; FR configuration_PMode_Domibus.xml")
def test_fr_example_legs(fr):
    got = {leg.name: (leg.service, leg.service_type, leg.action, leg.compress) for leg in fr.legs}
    assert got == {
        "ootsRequestLeg": ("QueryManager", OOTS.SERVICE_TYPE, "ExecuteQueryRequest", True),
        "ootsResponseLeg": ("QueryManager", OOTS.SERVICE_TYPE, "ExecuteQueryResponse", False),
        "ootsErrorLeg": ("QueryManager", OOTS.SERVICE_TYPE, "ExceptionResponse", True),
        "testServiceCase": (OOTS.TEST_SERVICE, None, OOTS.TEST_ACTION, True),
    }
    for leg in fr.legs:
        assert (leg.security.name, leg.suite) == ("eDeliveryAS4PolicyRSA", "rsa")
        assert (leg.reliability.non_repudiation, leg.reliability.reply_pattern) == (True, "response")
        assert leg.error_handling.error_as_response is True
        assert leg.property_set.name == "fourCornersPropertySet"
        assert leg.mpc.qualified_name == DEFAULT_MPC


@pytest.mark.case("AS4-REL-002", ref="as4-profile.md §6.1", tier="informational")
def test_fr_example_reliability_and_properties(fr):
    ra = fr.leg("ootsRequestLeg").reception_awareness
    assert (ra.retry_timeout, ra.retry_count, ra.strategy, ra.duplicate_detection) == (12, 4, "CONSTANT", True)
    assert ra.retry == "12;4;CONSTANT" and ra.retries == 4
    ps = fr.leg("ootsRequestLeg").property_set
    assert ps.required_keys == ("originalSender", "finalRecipient")
    assert set(ps.keys) == {"originalSender", "finalRecipient", "ExchangeId", "SpecificationId"}
    assert ps == FOUR_CORNERS
    # the definitions no leg uses are kept too
    assert [e.name for e in fr.catalog.error_handlings] == ["defaultErrorHandling", "secondErrorHandlingAllTrue"]
    assert [s.name for s in fr.catalog.splittings] == ["default"]
    assert [m.name for m in fr.catalog.meps] == ["oneway", "twoway"]


def test_python_oots_legs_equal_the_fr_example(fr):
    """The legs we build from Python carry what the FR example says (§6.4), names aside."""
    ours = {leg.name: leg for leg in oots_legs()}
    for theirs in fr.legs:
        mine = ours[theirs.name]
        assert (mine.service, mine.service_type, mine.action, mine.compress) == (
            theirs.service, theirs.service_type, theirs.action, theirs.compress)
        assert (mine.service_name, mine.action_name) == (theirs.service_name, theirs.action_name)
        assert mine.suite == theirs.suite
        assert mine.reception_awareness == theirs.reception_awareness
        assert mine.reliability == theirs.reliability and mine.error_handling == theirs.error_handling
        assert mine.property_set == theirs.property_set


# --- lookups ---------------------------------------------------------------------------------------------------
def test_leg_for_and_party_by_id(world):
    assert world.leg_for(OOTS.SERVICE, OOTS.SERVICE_TYPE, OOTS.ACTION_RESPONSE).name == "ootsResponseLeg"
    assert world.leg_for("querymanager", OOTS.SERVICE_TYPE.upper(), "executequeryrequest").name == "ootsRequestLeg"
    assert world.leg_for(OOTS.TEST_SERVICE, None, OOTS.TEST_ACTION).is_test
    assert world.party_by_id("AP_DE_01", T).name == "de_gw"
    assert world.party_by_id("ap_de_01", T.upper()).name == "de_gw"  # Domibus compares ignoring case
    with pytest.raises(EbmsError) as e:
        world.leg_for(OOTS.SERVICE, OOTS.SERVICE_TYPE, "ExecuteSomething")
    assert e.value.code == "EBMS:0001"
    with pytest.raises(EbmsError) as e:
        world.leg_for(OOTS.SERVICE, None, OOTS.ACTION_REQUEST)  # the type is part of the service
    assert e.value.code == "EBMS:0001"
    for pid, ptype in (("AP_XX_01", T), ("AP_DE_01", OOTS.PARTY_TYPE_PROJECTATHON), ("AP_DE_01", None),
                       ("AP_DE_01", "not a uri")):
        with pytest.raises(EbmsError) as e:
            world.party_by_id(pid, ptype)
        assert e.value.code == "EBMS:0003"
    with pytest.raises(KeyError):
        world.party("nobody")


def test_reception_awareness_retry_forms():
    ra = ReceptionAwareness.parse_retry("10;5;PROGRESSIVE;x")
    assert (ra.retry_timeout, ra.retry_count, ra.strategy, ra.retry_extra) == (10, 5, "PROGRESSIVE", ("x",))
    assert ra.retry == "10;5;PROGRESSIVE;x"
    delays = ra.retry_delays()
    assert len(delays) == 5 and delays[-1] == pytest.approx(600.0)
    assert all(b - a > 0 for a, b in zip([0.0, *delays], delays))
    assert [d - c for c, d in zip([0.0, *delays], delays)] == sorted(d - c for c, d in zip([0.0, *delays], delays))
    assert ReceptionAwareness().retry_delays() == [180.0, 360.0, 540.0, 720.0]
    none = ReceptionAwareness.parse_retry(None)
    assert none.retry is None and none.retries == 0 and none.retry_delays() == []
    assert ReceptionAwareness.parse_retry("1;3;SEND_ONCE").retries == 0
    for bad in ("12;4", "a;4;CONSTANT", "12;4;SOMETIMES"):
        with pytest.raises(PModeError):
            ReceptionAwareness.parse_retry(bad)


# --- matching (what the receiving Domibus answers) -------------------------------------------------------------
def test_match_finds_parties_and_leg(world):
    m = world.match(um())
    assert (m.from_party.name, m.to_party.name, m.leg.name) == ("de_gw", "fr_gw", "ootsRequestLeg")
    frm, to, leg = world.match(um("AP_FR_01", "AP_DE_01", action=OOTS.ACTION_RESPONSE))
    assert (frm.name, to.name, leg.name, leg.compress) == ("fr_gw", "de_gw", "ootsResponseLeg", False)
    assert world.match(um(action=OOTS.ACTION_EXCEPTION)).leg.name == "ootsErrorLeg"
    test = um(service=Service(OOTS.TEST_SERVICE), action=OOTS.TEST_ACTION)
    assert world.match(test).leg.name == "testServiceCase"
    # the v2 properties are optional in the FR property set
    v1 = um(props=[Property(OOTS.ORIGINAL_SENDER, "a", "t"), Property(OOTS.FINAL_RECIPIENT, "b", "t")])
    assert world.match(v1).leg.name == "ootsRequestLeg"


def test_match_on_the_fr_example_itself(fr):
    assert fr.match(um("blue_gw", "blue_gw")).leg.name == "ootsRequestLeg"


def test_fr_example_through_the_dict_form(fr):
    again = PModeSet.from_dict(fr.to_dict())
    assert again.parties == fr.parties and again.legs == fr.legs
    assert again.leg("ootsRequestLeg").security.policy is None


@pytest.mark.case("AS4-ERR-002", ref="HAP CachingPModeProvider.findPartyName")
@pytest.mark.parametrize("msg,detail", [
    (dict(frm="AP_XX_01"), "Sender party"),
    (dict(to="AP_XX_01"), "Receiver party"),
    (dict(frm_type=OOTS.PARTY_TYPE_PROJECTATHON), "Sender party"),
    (dict(to_type=None), "Receiver party"),
])
def test_match_unknown_party_is_ebms_0003(world, msg, detail):
    with pytest.raises(EbmsError) as e:
        world.match(um(**msg))
    assert e.value.code == "EBMS:0003" and detail in e.value.detail
    assert e.value.ref_to_message_id == "m-1@oots.eu"


@pytest.mark.case("AS4-ERR-002", ref="HAP CachingPModeProvider.findServiceName/findActionName/findLegName")
@pytest.mark.parametrize("msg,detail", [
    (dict(service=Service("QueryManagerX", OOTS.SERVICE_TYPE)), "No matching service"),
    (dict(service=Service(OOTS.SERVICE)), "No matching service"),  # type missing
    (dict(action="ExecuteQuery"), "No matching action"),
    (dict(action=OOTS.TEST_ACTION), "No matching leg"),  # QueryManager + test action: no leg
    (dict(frm="AP_EE_01"), "No Candidates"),  # ee_gw is not an initiator of ootsProcess
    (dict(role_from="http://example.org/other-role"), "No Candidates"),
    (dict(agreement=AgreementRef("urn:some:agreement")), "No matching agreement"),
])
def test_match_unknown_service_action_or_combination_is_ebms_0001(world, msg, detail):
    with pytest.raises(EbmsError) as e:
        world.match(um(**msg))
    assert e.value.code == "EBMS:0001" and detail in e.value.detail
    assert e.value.short_description == "ValueNotRecognized"


def test_match_role_check_can_be_disabled(world):
    msg = um(role_from="http://example.org/other-role")
    assert world.match(msg, check_roles=False).leg.name == "ootsRequestLeg"


@pytest.mark.case("AS4-ERR-003", ref="HAP PropertyProfileValidator; FR fourCornersPropertySet")
@pytest.mark.parametrize("missing", [OOTS.ORIGINAL_SENDER, OOTS.FINAL_RECIPIENT])
def test_match_missing_four_corner_property_is_ebms_0010(world, missing):
    props = [p for p in um().properties if p.name != missing]
    with pytest.raises(EbmsError) as e:
        world.match(um(props=props))
    assert e.value.code == "EBMS:0010" and e.value.short_description == "ProcessingModeMismatch"
    # without the four-corner switch, the property set's required flag says the same
    with pytest.raises(EbmsError) as e:
        world.match(um(props=props), four_corner=False)
    assert e.value.code == "EBMS:0010" and missing in e.value.detail
    assert world.match(um(props=props), check_properties=False).leg.name == "ootsRequestLeg"


@pytest.mark.case("AS4-ERR-003", ref="HAP PropertyProfileValidator")
def test_property_profile_rejects_unknown_duplicate_and_mistyped_properties(world):
    extra = um(props=[*um().properties, Property("trackingIdentifier", "x")])
    with pytest.raises(EbmsError, match="trackingIdentifier") as e:
        world.match(extra)
    assert e.value.code == "EBMS:0010"
    dup = um(props=[*um().properties, Property(OOTS.EXCHANGE_ID, "again")])
    with pytest.raises(EbmsError) as e:
        world.match(dup)
    assert e.value.code == "EBMS:0010"
    typed = PropertySet("typed", (PropertyDef("n", "count", "int", True), PropertyDef("b", "flag", "boolean")))
    check_property_profile(um(props=[Property("count", "3"), Property("flag", "TRUE")]), typed, four_corner=False)
    for props in ([Property("count", "three")], [Property("count", "1"), Property("flag", "yes")]):
        with pytest.raises(EbmsError) as e:
            check_property_profile(um(props=props), typed, four_corner=False)
        assert e.value.code == "EBMS:0010"


@pytest.mark.case("AS4-REL-004", ref="HAP PModeProvider: test action only with the test service", tier="non-strict")
def test_test_action_outside_test_service_is_ebms_0010():
    legs = [*oots_legs(), Leg("oddLeg", OOTS.SERVICE, OOTS.SERVICE_TYPE, OOTS.TEST_ACTION)]
    s = PModeSet.oots([Party("a"), Party("b")], legs=legs)
    with pytest.raises(EbmsError) as e:
        s.match(um("a", "b", action=OOTS.TEST_ACTION))
    assert e.value.code == "EBMS:0010"


def test_an_agreement_ref_must_match_the_process_agreement(world):
    bilateral = replace(world.processes[0], name="bilateral", agreement=replace(
        world.processes[0].agreement, name="agr1", value="urn:agreement:1", type="t"))
    s = PModeSet(world.parties, world.legs, [bilateral], "fr_gw", world.catalog)
    assert s.match(um(agreement=AgreementRef("urn:agreement:1", "t"))).leg.name == "ootsRequestLeg"
    with pytest.raises(EbmsError) as e:
        s.match(um())  # no AgreementRef, but the only process has a non-empty agreement
    assert e.value.code == "EBMS:0001"


# --- consistency and hardening -----------------------------------------------------------------------------------
def test_inconsistent_sets_are_refused():
    with pytest.raises(PModeError, match="duplicate party"):
        PModeSet.oots([Party("a"), Party("a")])
    with pytest.raises(PModeError, match="share the identifier"):
        PModeSet.oots([Party("a", "X"), Party("b", "x")])
    with pytest.raises(PModeError, match="unknown party"):
        PModeSet([Party("a")], oots_legs(), [Process(initiators=("a",), responders=("zz",))])
    with pytest.raises(PModeError, match="unknown leg"):
        PModeSet([Party("a")], oots_legs(), [Process(initiators=("a",), responders=("a",), legs=("nope",))])
    with pytest.raises(PModeError, match="own party"):
        PModeSet.oots([Party("a")], own_party="b")
    with pytest.raises(PModeError, match="suite"):
        Party("a", suite="dsa")  # type: ignore[arg-type]


@pytest.mark.parametrize("xml,msg", [
    (b"not xml", "well-formed"),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>', "DOCTYPE|not a Domibus"),
    (b"<configuration/>", "not a Domibus configuration"),
    (b'<db:configuration xmlns:db="http://domibus.eu/configuration" party="a"/>', "businessProcesses"),
])
def test_parse_domibus_refuses_bad_input(xml, msg):
    with pytest.raises(PModeError, match=msg):
        PModeSet.parse_domibus(xml)


@pytest.mark.parametrize("old,new,msg", [
    (b'security="eDeliveryAS4PolicyRSA"', b'security="nope"', "unknown security"),
    (b'<initiatorParty name="blue_gw"/>', b'<initiatorParty name="red_gw"/>', "unknown party"),
    (b'retry="12;4;CONSTANT"', b'retry="12;4;RANDOM"', "strategy"),
    (b'compressPayloads="false"', b'compressPayloads="maybe"', "boolean"),
    (b'<propertyRef property="exchangeIdProperty"/>', b'<propertyRef property="x"/>', "unknown property"),
])
def test_parse_domibus_refuses_dangling_references(fr_pmode_bytes, old, new, msg):
    assert old in fr_pmode_bytes
    with pytest.raises(PModeError, match=msg):
        PModeSet.parse_domibus(fr_pmode_bytes.replace(old, new, 1))


# --- dict / TOML ----------------------------------------------------------------------------------------------------
WORLD_TOML = """
[as4]
own_party = "fr_gw"
reception_awareness = { retry = "6;3;CONSTANT", duplicate_detection = true }

[[as4.parties]]
name = "fr_gw"
party_id = "AP_FR_01"
endpoint = "https://127.0.0.1:8443/domibus/services/msh"

[[as4.parties]]
name = "de_gw"
endpoint = "http://127.0.0.1:9001/msh"
initiator = false
sign_cert = "de_sign.pem"

[[as4.parties]]
name = "ee_gw"
party_id_type = "urn:oasis:names:tc:ebcore:partyid-type:unregistered:oots-simulator"
suite = "eddsa"
"""


def test_from_toml_world(tmp_path):
    from simulators.pki import PKI, cert_pem

    pki = PKI(seed="pmode-toml")
    cert = pki.credential("de_gw", "sign", "eddsa").cert  # any certificate; eddsa keys are cheap
    (tmp_path / "de_sign.pem").write_bytes(cert_pem(cert))
    (tmp_path / "world.toml").write_text(WORLD_TOML, encoding="utf-8")
    s = PModeSet.from_toml(tmp_path / "world.toml", table="as4")
    assert s.own_party == "fr_gw"
    assert [p.name for p in s.parties] == ["fr_gw", "de_gw", "ee_gw"]
    assert s.party("fr_gw").party_id == "AP_FR_01" and s.party("de_gw").party_id == "de_gw"
    assert s.party("ee_gw").party_id_type == OOTS.PARTY_TYPE_PROJECTATHON and s.party("ee_gw").suite == "eddsa"
    assert s.party("de_gw").sign_cert == cert and s.party("fr_gw").sign_cert is None
    assert s.processes[0].initiators == ("fr_gw", "ee_gw")
    assert s.processes[0].responders == ("fr_gw", "de_gw", "ee_gw")
    assert [leg.name for leg in s.legs] == ["ootsRequestLeg", "ootsResponseLeg", "ootsErrorLeg", "testServiceCase"]
    assert {leg.reception_awareness.retry for leg in s.legs} == {"6;3;CONSTANT"}
    # dict round trip (certificates are not part of the dict form)
    again = PModeSet.from_dict(s.to_dict())
    assert again.parties == s.parties and again.legs == s.legs and again.processes == s.processes
    # with_pki fills what is missing, keeps what is set
    filled = s.with_pki(pki)
    assert filled.party("de_gw").sign_cert == cert
    assert filled.party("fr_gw").encrypt_cert == pki.party("fr_gw").encrypt.cert


def test_from_dict_custom_legs_and_errors():
    s = PModeSet.from_dict({
        "parties": [{"name": "a"}, {"name": "b"}],
        "security": {"name": "as4v2", "profile": "eddsa", "policy": None},
        "legs": [{"name": "onlyLeg", "service": "S", "action": "A", "compress": False,
                  "reception_awareness": {"retry_timeout": 1, "retry_count": 2, "strategy": "PROGRESSIVE"}}],
    })
    (leg,) = s.legs
    assert (leg.suite, leg.security.policy, leg.compress, leg.reception_awareness.retry) == (
        "eddsa", None, False, "1;2;PROGRESSIVE")
    assert (leg.service_name, leg.action_name) == ("s", "a")
    for bad, msg in (({}, "parties"), ({"parties": [{"endpoint": "x"}]}, "name"),
                     ({"parties": [{"name": "a", "colour": "red"}]}, "unknown keys"),
                     ({"parties": [{"name": "a"}], "legs": [{"name": "l", "service": "s"}]}, "bad leg"),
                     ({"parties": [{"name": "a", "sign_cert": "/nonexistent.pem"}]}, "cannot read")):
        with pytest.raises(PModeError, match=msg):
            PModeSet.from_dict(bad)
    with pytest.raises(PModeError, match="TOML"):
        PModeSet.from_toml("parties = [\n")


def test_security_suite_per_leg():
    legs = oots_legs(security=Security("eDeliveryAS4Policy", "eddsa", None))
    assert {leg.suite for leg in legs} == {"eddsa"}


# --- routing ---------------------------------------------------------------------------------------------------------
def test_router_routes_to_the_to_party(world):
    r = Router(world)
    route = r.route(um())
    assert isinstance(route, Route)
    assert (route.party.name, route.url, route.leg.name) == (
        "fr_gw", "https://127.0.0.1:8443/domibus/services/msh", "ootsRequestLeg")
    assert r.url_for(um("AP_FR_01", "AP_DE_01", action=OOTS.ACTION_RESPONSE)) == "http://127.0.0.1:9001/msh"
    # a service/action the PMode lacks still routes (negative tests send such messages on purpose)
    assert r.route(um(action="Nonsense")).leg is None


def test_router_overrides(world):
    r = Router(world, overrides={"fr_gw": "http://127.0.0.1:5000/capture"})
    assert r.url_for(um()) == "http://127.0.0.1:5000/capture"
    r.set_override("AP_DE_01", "http://127.0.0.1:5001/de")  # by party id
    assert r.url_for(um("AP_FR_01", "AP_DE_01")) == "http://127.0.0.1:5001/de"
    r.set_override("AP_ZZ_99", "http://127.0.0.1:5002/zz")  # a party the PMode does not know
    route = r.route(um(to="AP_ZZ_99"))
    assert (route.party.party_id, route.url) == ("AP_ZZ_99", "http://127.0.0.1:5002/zz")
    r.clear_override("fr_gw")
    assert r.url_for(um()) == "https://127.0.0.1:8443/domibus/services/msh"
    r.clear_override()
    assert r.overrides == {}
    with pytest.raises(RoutingError):
        r.set_override("fr_gw", "ftp://127.0.0.1/x")


def test_router_errors(world):
    r = Router(world)
    with pytest.raises(RoutingError) as e:
        r.route(um(to="AP_ZZ_99"))
    assert e.value.code == "EBMS:0003" and e.value.party_id == "AP_ZZ_99"
    assert e.value.ref_to_message_id == "m-1@oots.eu"
    with pytest.raises(RoutingError) as e:
        r.route(um(to_type=OOTS.PARTY_TYPE_PROJECTATHON))  # right id, wrong type
    assert e.value.code == "EBMS:0003"
    s = PModeSet.oots([Party("a"), Party("b", endpoint="")])
    with pytest.raises(RoutingError, match="no endpoint") as e:
        Router(s).route(um("a", "b"))
    assert e.value.code == "EBMS:0004"
    s = PModeSet.oots([Party("a"), Party("b", endpoint="localhost:8080")])
    with pytest.raises(RoutingError, match="http"):
        Router(s).route(um("a", "b"))
