"""Domibus 5.2 export: the PMode XML (round trip of the FR example, structure, OOTS values) and the
PKCS#12 key/trust stores with Domibus aliases."""
from __future__ import annotations

import shutil
from pathlib import Path
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from lxml import etree

from simulators.as4.domibus_export import (
    BUSINESS_PROCESSES_ORDER, CA_ALIAS, build_pmode_xml, check_pmode_xml, export_domibus, main,
)
from simulators.as4.model import OOTS
from simulators.as4.pmode import Leg, Party, PModeError, PModeSet, ReceptionAwareness, oots_legs

FR_PMODE = "edm-v2.0-oots-france/xml/domibus/configuration_PMode_Domibus.xml"
GATEWAY = "http://sdg.europa.eu/edelivery/gateway"
PASSWORD = "test-Pa55"


@pytest.fixture(scope="module")
def fr_xml(corpus) -> bytes:
    return corpus(FR_PMODE)


@pytest.fixture(scope="module")
def world() -> PModeSet:
    return PModeSet.oots(
        [Party("fr_gw", "AP_FR_01", endpoint="https://127.0.0.1:8443/domibus/services/msh"),
         Party("de_gw", "AP_DE_01", endpoint="http://127.0.0.1:9001/msh"),
         Party("ee_gw", "AP_EE_01", OOTS.PARTY_TYPE_PROJECTATHON, endpoint="http://127.0.0.1:9002/msh")],
        own_party="fr_gw",
    )


@pytest.fixture(scope="module")
def pki():
    from simulators.pki import PKI

    return PKI(seed="domibus-export-tests")


@pytest.fixture(scope="module")
def exported(world, pki, tmp_path_factory):
    return export_domibus(world, pki, tmp_path_factory.mktemp("domibus"), PASSWORD)


def _root(xml: bytes) -> etree._Element:
    return etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))


def _bp(xml: bytes) -> etree._Element:
    return _root(xml).find("businessProcesses")


# --- round trip of the FR example ---------------------------------------------------------------------------
def test_fr_example_round_trips(fr_xml):
    first = PModeSet.parse_domibus(fr_xml)
    xml = build_pmode_xml(first)
    second = PModeSet.parse_domibus(xml)
    assert second.own_party == first.own_party == "blue_gw"
    assert second.parties == first.parties
    assert second.legs == first.legs
    assert second.processes == first.processes
    assert second.services() == first.services() and second.actions() == first.actions()
    assert second.catalog == first.catalog  # properties, property sets, unused definitions...
    assert build_pmode_xml(second) == xml  # a fixed point


def test_fr_example_values_survive_export(fr_xml):
    """Same names and values as the corpus file, element by element (payloadProfiles aside: we add it empty)."""
    ours, theirs = _root(build_pmode_xml(PModeSet.parse_domibus(fr_xml))), _root(fr_xml)

    def flat(root):
        return sorted((root.getroottree().getpath(el), tuple(sorted(el.attrib.items())))
                      for el in root.iter() if isinstance(el.tag, str) and el.tag != "payloadProfiles")

    assert flat(ours) == flat(theirs)


def test_check_accepts_the_fr_example_and_our_export(fr_xml, world):
    assert check_pmode_xml(fr_xml) == []
    assert check_pmode_xml(build_pmode_xml(world)) == []


@pytest.mark.parametrize("old,new,msg", [
    (b'service="queryManager"', b'service="qm"', "unknown service"),
    (b'<responderParty name="de_gw"/>', b'<responderParty name="xx"/>', "unknown responder party"),
    (b'responderRole="defaultResponderRole"', b'responderRole="r"', "unknown responderRole"),
    (b'partyIdType="partyTypeUrn"', b'partyIdType="t"', "unknown partyIdType"),
    (b'compressPayloads="true"', b'compressPayloads="yes"', "not a boolean"),
    (b'retry="12;4;CONSTANT"', b'retry="12 minutes"', "bad retry"),
    (b'<role name="defaultResponderRole"', b'<role name="defaultInitiatorRole"', "duplicate names"),
    (b' party="fr_gw"', b' party="nobody"', "configuration/@party"),
    (b'<security name="eDeliveryAS4Policy" policy="eDeliveryAS4Policy.xml" profile="rsa"/>',
     b'<security name="eDeliveryAS4Policy"/>', "neither @profile nor @policy"),
])
def test_check_finds_broken_pmodes(world, old, new, msg):
    xml = build_pmode_xml(world)
    assert old in xml
    problems = check_pmode_xml(xml.replace(old, new, 1))
    assert any(msg in p for p in problems), problems


def test_check_finds_section_order_and_missing_sections(world):
    bp = _bp(build_pmode_xml(world))
    bp.insert(0, bp.find("services"))  # move services first
    bp.remove(bp.find("agreements"))
    xml = etree.tostring(bp.getparent())
    problems = check_pmode_xml(xml)
    assert any("out of XSD order" in p for p in problems)
    assert any("lacks <agreements>" in p for p in problems)
    assert check_pmode_xml(b"<x") and check_pmode_xml(b"<configuration/>")


# --- our PMode against the example's structure and the OOTS values -------------------------------------------
def _kinds(root: etree._Element) -> dict[str, set[str]]:
    """Element path (local names, no positions) -> attribute names used there."""
    out: dict[str, set[str]] = {}
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        path = "/".join(etree.QName(a).localname for a in [*reversed(list(el.iterancestors())), el])
        out.setdefault(path, set()).update(el.attrib)
    return out


@pytest.mark.case("AS4-HDR-004", ref="as4-profile.md §6.4; FR configuration_PMode_Domibus.xml")
def test_export_has_every_element_kind_of_the_fr_example(fr_xml, world):
    theirs, ours = _kinds(_root(fr_xml)), _kinds(_root(build_pmode_xml(world)))
    missing = sorted(set(theirs) - set(ours))
    assert not missing, f"element kinds of the FR example absent from ours: {missing}"
    for path, attrs in theirs.items():
        assert attrs <= ours[path], f"{path}: attributes {sorted(attrs - ours[path])} missing"
    # and the sections come in the order Domibus's XSD wants
    positions = [BUSINESS_PROCESSES_ORDER.index(c.tag) for c in _bp(build_pmode_xml(world))]
    assert positions == sorted(positions)


@pytest.mark.case("AS4-HDR-005", ref="as4-profile.md §3, §6.4")
@pytest.mark.case("AS4-HDR-006", ref="as4-profile.md §3, §6.4")
def test_export_carries_the_oots_values(world):
    root = _root(build_pmode_xml(world))
    bp = root.find("businessProcesses")
    assert root.get("party") == "fr_gw"
    # parties: ids, types (by partyIdType name), endpoints
    types = {t.get("name"): t.get("value") for t in bp.iterfind("parties/partyIdTypes/partyIdType")}
    got = {p.get("name"): (p.get("endpoint"), [(i.get("partyId"), types[i.get("partyIdType")])
                                               for i in p.iterfind("identifier")])
           for p in bp.iterfind("parties/party")}
    assert got == {
        "fr_gw": ("https://127.0.0.1:8443/domibus/services/msh", [("AP_FR_01", OOTS.PARTY_TYPE)]),
        "de_gw": ("http://127.0.0.1:9001/msh", [("AP_DE_01", OOTS.PARTY_TYPE)]),
        "ee_gw": ("http://127.0.0.1:9002/msh", [("AP_EE_01", OOTS.PARTY_TYPE_PROJECTATHON)]),
    }
    # both roles are the gateway URI
    roles = {r.get("name"): r.get("value") for r in bp.iterfind("roles/role")}
    (proc,) = bp.findall("process")
    assert roles[proc.get("initiatorRole")] == roles[proc.get("responderRole")] == GATEWAY
    # service, actions
    services = {s.get("name"): (s.get("value"), s.get("type")) for s in bp.iterfind("services/service")}
    actions = {a.get("name"): a.get("value") for a in bp.iterfind("actions/action")}
    assert ("QueryManager", "urn:oasis:names:tc:ebcore:ebrs:ebms:binding:1.0") in services.values()
    assert {"ExecuteQueryRequest", "ExecuteQueryResponse", "ExceptionResponse"} <= set(actions.values())
    # legs: compression per §6.4, security profile rsa, reliability, property set
    securities = {s.get("name"): s for s in bp.iterfind("securities/security")}
    ras = {r.get("name"): r for r in bp.iterfind("as4/receptionAwareness")}
    rels = {r.get("name"): r for r in bp.iterfind("as4/reliability")}
    ehs = {e.get("name"): e for e in bp.iterfind("errorHandlings/errorHandling")}
    legs = {}
    for lc in bp.iterfind("legConfigurations/legConfiguration"):
        legs[(services[lc.get("service")][0], actions[lc.get("action")])] = lc.get("compressPayloads")
        assert securities[lc.get("security")].get("profile") == "rsa"
        assert securities[lc.get("security")].get("policy") == "eDeliveryAS4Policy.xml"
        assert rels[lc.get("reliability")].attrib == {"name": "AS4Reliability", "nonRepudiation": "true",
                                                       "replyPattern": "response"}
        assert ras[lc.get("receptionAwareness")].get("retry") == "12;4;CONSTANT"
        assert ras[lc.get("receptionAwareness")].get("duplicateDetection") == "true"
        assert ehs[lc.get("errorHandling")].get("errorAsResponse") == "true"
        assert lc.get("propertySet") == "fourCornersPropertySet"
        assert lc.get("payloadProfile") is None  # a profile would make Domibus check Content-IDs
    assert legs == {
        ("QueryManager", "ExecuteQueryRequest"): "true", ("QueryManager", "ExecuteQueryResponse"): "false",
        ("QueryManager", "ExceptionResponse"): "true", (OOTS.TEST_SERVICE, OOTS.TEST_ACTION): "true",
    }
    # property set: originalSender/finalRecipient required, ExchangeId/SpecificationId optional
    props = {p.get("name"): (p.get("key"), p.get("required")) for p in bp.iterfind("properties/property")}
    refs = [props[r.get("property")] for r in bp.iterfind("properties/propertySet[@name='fourCornersPropertySet']/propertyRef")]
    assert sorted(refs) == sorted([("originalSender", "true"), ("finalRecipient", "true"),
                                   ("ExchangeId", "false"), ("SpecificationId", "false")])
    # process: one-way push, empty agreement, all parties both ways, the four legs
    meps = {m.get("name"): m.get("value") for m in bp.iterfind("meps/mep")}
    bindings = {b.get("name"): b.get("value") for b in bp.iterfind("meps/binding")}
    agreements = {a.get("name"): (a.get("value"), a.get("type")) for a in bp.iterfind("agreements/agreement")}
    assert meps[proc.get("mep")].endswith("/oneWay") and bindings[proc.get("binding")].endswith("/push")
    assert agreements[proc.get("agreement")] == ("", "")
    assert [p.get("name") for p in proc.iterfind("initiatorParties/initiatorParty")] == ["fr_gw", "de_gw", "ee_gw"]
    assert [p.get("name") for p in proc.iterfind("responderParties/responderParty")] == ["fr_gw", "de_gw", "ee_gw"]
    assert [leg.get("name") for leg in proc.iterfind("legs/leg")] == [
        "ootsRequestLeg", "ootsResponseLeg", "ootsErrorLeg", "testServiceCase"]
    # payload profiles are defined (unbound)
    assert bp.find("payloadProfiles/payloadProfile") is not None


def test_export_reparses_to_the_same_set(world):
    again = PModeSet.parse_domibus(build_pmode_xml(world))
    assert again.parties == world.parties and again.legs == world.legs and again.processes == world.processes


def test_conflicting_definitions_get_distinct_names():
    fast = ReceptionAwareness(retry_timeout=1, retry_count=1)
    legs = [replace_ra(leg, fast) if leg.name == "ootsResponseLeg" else leg for leg in oots_legs()]
    s = PModeSet.oots([Party("a"), Party("b")], legs=legs)
    xml = build_pmode_xml(s, "b")
    assert check_pmode_xml(xml) == []
    ras = {r.get("name"): r.get("retry") for r in _bp(xml).iterfind("as4/receptionAwareness")}
    assert ras == {"receptionAwareness": "12;4;CONSTANT", "receptionAwareness2": "1;1;CONSTANT"}
    again = PModeSet.parse_domibus(xml)
    assert again.leg("ootsResponseLeg").reception_awareness.retry == "1;1;CONSTANT"
    assert again.leg("ootsRequestLeg").reception_awareness.retry == "12;4;CONSTANT"
    with pytest.raises(PModeError):
        build_pmode_xml(s, "zz")


def replace_ra(leg: Leg, ra: ReceptionAwareness) -> Leg:
    from dataclasses import replace

    return replace(leg, reception_awareness=ra)


# --- key and trust stores ----------------------------------------------------------------------------------------------
def _aliases(data: bytes) -> tuple[set[str], int]:
    """Friendly names of every certificate in a PKCS#12, and how many private keys cryptography sees."""
    p = pkcs12.load_pkcs12(data, PASSWORD.encode())
    names = {c.friendly_name.decode() for c in [p.cert, *p.additional_certs] if c and c.friendly_name}
    return names, int(p.key is not None)


def test_export_layout_and_readme(exported, world):
    out = exported.out_dir
    assert exported.pmode == out / "pmode.xml" and _root(exported.pmode.read_bytes()).get("party") == "fr_gw"
    for name in ("fr_gw", "de_gw", "ee_gw"):
        r = exported.parties[name]
        assert _root(r.pmode.read_bytes()).get("party") == name
        assert check_pmode_xml(r.pmode.read_bytes()) == []
    readme = exported.readme.read_text()
    assert PASSWORD in readme
    for alias in ("fr_gw_rsa_sign", "fr_gw_rsa_decrypt", "de_gw_rsa_encrypt", "ee_gw_rsa_sign", CA_ALIAS):
        assert alias in readme
    assert exported.ca_pem.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")


@pytest.mark.case("AS4-SIG-006", ref="as4-profile.md §6.5 (Domibus aliases)", tier="non-strict")
def test_keystores_and_truststores_carry_exactly_the_domibus_aliases(exported, pki):
    parties = ("fr_gw", "de_gw", "ee_gw")
    for name in parties:
        r = exported.parties[name]
        assert r.keystore == r.directory / "keystore.p12" and r.truststore == r.directory / "truststore.p12"
        ks_aliases, keys = _aliases(r.keystore.read_bytes())
        assert ks_aliases == {f"{name}_rsa_sign", f"{name}_rsa_decrypt"} == set(r.keystore_aliases)
        assert keys == 1  # cryptography surfaces the first key; openssl below counts both
        p = pkcs12.load_pkcs12(r.keystore.read_bytes(), PASSWORD.encode())
        assert p.cert.certificate == pki.party(name).sign.cert
        assert p.key.public_key() == pki.party(name).sign.key.public_key()
        expected = {f"{q}_rsa_{u}" for q in parties if q != name for u in ("sign", "encrypt")} | {CA_ALIAS}
        ts_aliases, ts_keys = _aliases(r.truststore.read_bytes())
        assert ts_aliases == expected == set(r.truststore_aliases) and ts_keys == 0
        certs = {c.friendly_name.decode(): c.certificate
                 for c in pkcs12.load_pkcs12(r.truststore.read_bytes(), PASSWORD.encode()).additional_certs}
        for q in parties:
            if q != name:
                assert certs[f"{q}_rsa_sign"] == pki.party(q).sign.cert
                assert certs[f"{q}_rsa_encrypt"] == pki.party(q).encrypt.cert
        assert certs[CA_ALIAS] == pki.root.cert
        assert r.tls_truststore is None
    with pytest.raises(ValueError):
        pkcs12.load_pkcs12(exported.parties["fr_gw"].keystore.read_bytes(), b"wrong")


def test_pem_copies_match_the_stores(exported, pki):
    pem = exported.parties["de_gw"].directory / "pem"
    key = serialization.load_pem_private_key((pem / "de_gw_rsa_decrypt.key.pem").read_bytes(), PASSWORD.encode())
    assert key.public_key() == pki.party("de_gw").encrypt.cert.public_key()
    from cryptography import x509

    cert = x509.load_pem_x509_certificate((pem / "fr_gw_rsa_encrypt.crt.pem").read_bytes())
    assert cert == pki.party("fr_gw").encrypt.cert
    names = sorted(p.name for p in pem.iterdir())
    assert names == sorted(
        [f"de_gw_rsa_{u}.{k}.pem" for u in ("sign", "decrypt") for k in ("crt", "key")]
        + [f"{q}_rsa_{u}.crt.pem" for q in ("fr_gw", "ee_gw") for u in ("sign", "encrypt")]
        + [f"{CA_ALIAS}.crt.pem"])


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not on PATH")
def test_openssl_reads_the_stores(exported):
    r = exported.parties["fr_gw"]

    def info(path, *extra):
        return subprocess.run(["openssl", "pkcs12", "-info", "-in", str(path), "-passin", f"pass:{PASSWORD}", *extra],
                              capture_output=True, text=True, timeout=30)

    out = info(r.keystore, "-nokeys")
    assert out.returncode == 0, out.stderr
    names = {line.split(":", 1)[1].strip() for line in out.stdout.splitlines() if "friendlyName:" in line}
    assert names == {"fr_gw_rsa_sign", "fr_gw_rsa_decrypt"}
    keys = info(r.keystore, "-nocerts", "-nodes")
    assert keys.returncode == 0 and keys.stdout.count("BEGIN PRIVATE KEY") == 2
    out = info(r.truststore, "-nokeys")
    assert out.returncode == 0, out.stderr
    names = {line.split(":", 1)[1].strip() for line in out.stdout.splitlines() if "friendlyName:" in line}
    assert names == {"de_gw_rsa_sign", "de_gw_rsa_encrypt", "ee_gw_rsa_sign", "ee_gw_rsa_encrypt", CA_ALIAS}
    assert info(r.truststore, "-nokeys", "-passin", "pass:wrong").returncode != 0


def test_parties_without_domibus_stores_are_explained(pki, tmp_path):
    from simulators.pki import PKI

    foreign = PKI(seed="someone-else").party("xx_gw")  # certificates of another PKI: no keys for us
    s = PModeSet.oots([
        Party("fr_gw"), Party("v2_gw", suite="eddsa"),
        Party("xx_gw", sign_cert=foreign.sign.cert, encrypt_cert=foreign.encrypt.cert,
              tls_cert=foreign.sign.cert),
    ])
    res = export_domibus(s, pki, tmp_path, PASSWORD, include_ca=False)
    assert res.ca_pem is None
    assert res.parties["v2_gw"].keystore is None and "rsa profile" in res.parties["v2_gw"].notes[0]
    xx = res.parties["xx_gw"]
    assert xx.keystore is None and any("not issued by this PKI" in n for n in xx.notes)
    fr = res.parties["fr_gw"]
    assert set(fr.truststore_aliases) == {"xx_gw_rsa_sign", "xx_gw_rsa_encrypt"}  # no eddsa peer, no CA
    certs = {c.friendly_name.decode(): c.certificate
             for c in pkcs12.load_pkcs12(fr.truststore.read_bytes(), PASSWORD.encode()).additional_certs}
    assert certs["xx_gw_rsa_sign"] == foreign.sign.cert
    assert fr.tls_truststore_aliases == ["xx_gw_tls"]
    assert "not issued by this PKI" in res.readme.read_text()
    with pytest.raises(ValueError):
        export_domibus(s, pki, tmp_path / "again", "")


def test_command_line(tmp_path, capsys):
    (tmp_path / "w.toml").write_text('[[parties]]\nname = "a_gw"\n\n[[parties]]\nname = "b_gw"\n', encoding="utf-8")
    assert main(["--world", str(tmp_path / "w.toml"), "--out", str(tmp_path / "out"),
                 "--password", "pw", "--seed", "cli"]) == 0
    assert (tmp_path / "out" / "a_gw" / "keystore.p12").exists()
    assert "a_gw_rsa_sign" in capsys.readouterr().out
    assert main(["--world", str(tmp_path / "missing.toml"), "--out", str(tmp_path / "o2"), "--password", "p"]) == 1


def test_cli_export_domibus_writes_pmode_and_stores(tmp_path):
    from simulators.cli import main as cli
    from simulators.as4.domibus_export import check_pmode_xml

    world = Path(__file__).resolve().parents[2] / "fixtures" / "worlds" / "as4-parties.toml"
    assert cli(["as4", "export-domibus", "--world", str(world), "--out", str(tmp_path), "--password", PASSWORD]) == 0
    assert check_pmode_xml((tmp_path / "pmode.xml").read_bytes()) == []
    names, keys = _aliases((tmp_path / "de_gw" / "keystore.p12").read_bytes())
    assert names == {"de_gw_rsa_sign", "de_gw_rsa_decrypt"} and keys >= 1
    assert cli(["as4", "export-domibus", "--world", str(tmp_path / "missing.toml"), "--out", str(tmp_path),
                "--password", PASSWORD]) == 1
