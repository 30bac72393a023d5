"""Detached JWS of Common Services answers (conformance/rules/cs_signature.py): real captures and forgeries."""
from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from conformance.rules.cs_signature import (ALGORITHMS, b64url_decode, b64url_encode, build_protected_header,
                                            digest_value, encode_protected, parse_headers, sign_cs_response,
                                            sign_raw, signing_input, verify_cs_response)
from conformance.rules.findings import Severity, Source

CS = "edm-v2.0-oots-france/xml/common_services/"
REF = "common-services.md §2 (TDD 3.6.2)"
NAMES = ("dsd_aucun_service_fr", "dsd_data_services_fi", "eb_evidence_types_fi", "eb_evidence_types_fr",
         "eb_requirements_catalogue", "eb_requirements_fr", "eb_requirements_vides")


def capture(corpus, name: str) -> tuple[bytes, dict[str, str]]:
    return corpus(f"{CS}{name}.xml"), parse_headers(corpus(f"{CS}{name}.headers"))


def capture_root(corpus) -> x509.Certificate:
    body, headers = capture(corpus, "dsd_data_services_fi")
    return verify_cs_response(body, headers).certificates[-1]


# --------------------------------------------------------------------------- our own small PKI

def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME,
                                                                                      "oots-harness test")])


def _cert(subject_key, issuer_key, subject: str, issuer: str, *, ca: bool, days: int = 30) -> x509.Certificate:
    now = datetime.now(timezone.utc)
    b = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
         .public_key(subject_key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=days))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    algo = None if isinstance(issuer_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return b.sign(issuer_key, algo)


@pytest.fixture(scope="module")
def pki():
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = _cert(root_key, root_key, "Harness Test Root", "Harness Test Root", ca=True)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = _cert(leaf_key, root_key, "Mock OOTS CS", "Harness Test Root", ca=False)
    ed_key = ed25519.Ed25519PrivateKey.generate()
    ed_leaf = _cert(ed_key, root_key, "Mock OOTS CS EdDSA", "Harness Test Root", ca=False)
    other_key = ec.generate_private_key(ec.SECP256R1())
    other_root = _cert(other_key, other_key, "Unrelated Root", "Unrelated Root", ca=True)
    return {"root": root, "leaf": leaf, "key": leaf_key, "ed_key": ed_key, "ed_leaf": ed_leaf,
            "other_root": other_root}


def _resign(headers: dict, key, alg: str, mutate_header=None, *, sep: str = " ") -> dict:
    """Re-sign with ``key`` after editing the protected header (a forgery the signer controls)."""
    protected_b64 = headers["oots-response-sig"].split(".")[0]
    header = json.loads(b64url_decode(protected_b64))
    if mutate_header:
        mutate_header(header)
    pb = encode_protected(header)
    sig = sign_raw(key, alg, signing_input(pb, headers["digest"], sep=sep))
    return {**headers, "oots-response-sig": f"{pb}..{b64url_encode(sig)}"}


def _tamper_protected(headers: dict, fn) -> dict:
    """Edit the protected header and keep the original signature (an attacker without the key)."""
    pb, _, sig = headers["oots-response-sig"].split(".")
    header = json.loads(b64url_decode(pb))
    fn(header)
    return {**headers, "oots-response-sig": f"{encode_protected(header)}..{sig}"}


# --------------------------------------------------------------------------- real captures

@pytest.mark.case("CS-004", ref=REF)
@pytest.mark.case("CS-005", ref=REF)
@pytest.mark.parametrize("name", NAMES)
def test_every_real_capture_verifies(corpus, name):
    body, headers = capture(corpus, name)
    rep = verify_cs_response(body, headers)
    assert rep.ok and not rep.findings, [f.line() for f in rep.findings]
    assert rep.digest_ok and rep.signature_ok and rep.chain_ok and rep.alg == "ES256"
    assert rep.trusted is None and "internally" in rep.notes[0]
    assert rep.certificates[0].subject.rfc4514_string().startswith("CN=EC-OOTS-CS-ACC")
    assert rep.checked_at == datetime.fromtimestamp(rep.protected["iat"], timezone.utc)


@pytest.mark.case("CS-006", ref=REF)
@pytest.mark.parametrize("name", NAMES[:2])
def test_capture_chains_to_its_commission_root(corpus, name):
    body, headers = capture(corpus, name)
    root = capture_root(corpus)
    pem = root.public_bytes(serialization.Encoding.PEM)
    for roots in ([root], pem, [pem], [root.public_bytes(serialization.Encoding.DER)]):
        rep = verify_cs_response(body, headers, trust_roots=roots)
        assert rep.ok and rep.trusted is True and not rep.notes


@pytest.mark.case("CS-004", ref=REF)
@pytest.mark.parametrize("name", NAMES)
def test_single_byte_changes_of_the_body_fail_the_digest(corpus, name):
    body, headers = capture(corpus, name)
    n = len(body)
    positions = sorted({0, 1, n // 2, n - 2, n - 1} | {i * n // 23 for i in range(23)})
    for pos in positions:
        changed = bytearray(body)
        changed[pos] ^= 0x01
        rep = verify_cs_response(bytes(changed), headers)
        assert rep.ids() == {"CS-004"}, (pos, rep.ids())
        assert rep.signature_ok  # the signature covers the digest header, which is intact
    assert verify_cs_response(body + b"\n", headers).ids() == {"CS-004"}
    assert verify_cs_response(body[:-1], headers).ids() == {"CS-004"}


@pytest.mark.case("CS-004", ref=REF)
def test_digest_header_problems(corpus):
    body, headers = capture(corpus, "eb_requirements_vides")
    assert verify_cs_response(body, {k: v for k, v in headers.items() if k != "digest"}).ids() >= {"CS-004"}
    assert "CS-004" in verify_cs_response(body, {**headers, "digest": "SHA-512=" + headers["digest"][8:]}).ids()
    assert "CS-004" in verify_cs_response(body, {**headers, "digest": "SHA-256=notbase64!"}).ids()
    # header names are case-insensitive
    assert verify_cs_response(body, {"Digest": headers["digest"], "OOTS-Response-Sig": headers["oots-response-sig"]}).ok


# --------------------------------------------------------------------------- forgeries and variants

@pytest.mark.case("CS-006", ref=REF)
def test_resigned_with_our_key_verifies_internally_but_not_against_the_commission_root(corpus, pki):
    body, _ = capture(corpus, "dsd_data_services_fi")
    headers = sign_cs_response(body, pki["key"], [pki["leaf"], pki["root"]])
    rep = verify_cs_response(body, headers)
    assert rep.ok and rep.signature_ok and rep.chain_ok and rep.trusted is None
    rep = verify_cs_response(body, headers, trust_roots=[capture_root(corpus)])
    assert rep.ids() == {"CS-006"} and rep.trusted is False and not rep.ok
    assert all(f.severity is Severity.FATAL and f.source is Source.SIGNATURE for f in rep.findings)
    assert verify_cs_response(body, headers, trust_roots=[pki["root"]]).trusted is True


def test_sign_cs_response_uses_the_commission_header_layout(corpus, pki):
    body, cap_headers = capture(corpus, "dsd_data_services_fi")
    ours = sign_cs_response(body, pki["key"], [pki["leaf"], pki["root"]], iat=1_700_000_000)
    theirs = json.loads(b64url_decode(cap_headers["oots-response-sig"].split(".")[0]))
    mine = json.loads(b64url_decode(ours["oots-response-sig"].split(".")[0]))
    assert list(mine) == list(theirs)
    assert mine["iat"] == 1_700_000_000 and mine["alg"] == "ES256"
    assert ours["digest"] == digest_value(body) == cap_headers["digest"]
    assert len(b64url_decode(ours["oots-response-sig"].split(".")[2])) == 64  # raw r||s


@pytest.mark.case("CS-005", ref=REF)
def test_tampered_protected_header_fails(corpus):
    body, headers = capture(corpus, "eb_requirements_fr")
    for fn in (lambda h: h.update(iat=h["iat"] + 1), lambda h: h.update(typ="JOSE"),
               lambda h: h["x5c"].reverse()):
        rep = verify_cs_response(body, _tamper_protected(headers, fn))
        assert "CS-005" in rep.ids() and not rep.signature_ok and not rep.ok


@pytest.mark.case("CS-005", ref=REF)
def test_tampered_or_missing_signature_fails(corpus):
    body, headers = capture(corpus, "eb_requirements_fr")
    pb, _, sig = headers["oots-response-sig"].split(".")
    raw = bytearray(b64url_decode(sig))
    raw[5] ^= 0x80
    assert verify_cs_response(body, {**headers, "oots-response-sig": f"{pb}..{b64url_encode(bytes(raw))}"}).ids() \
        == {"CS-005"}
    assert verify_cs_response(body, {"digest": headers["digest"]}).ids() == {"CS-005"}
    assert verify_cs_response(body, {**headers, "oots-response-sig": f"{pb}.{sig}"}).ids() == {"CS-005"}
    assert verify_cs_response(body, {**headers, "oots-response-sig": f"%%..{sig}"}).ids() == {"CS-005"}
    short = b64url_encode(b64url_decode(sig)[:63])
    assert "CS-005" in verify_cs_response(body, {**headers, "oots-response-sig": f"{pb}..{short}"}).ids()


@pytest.mark.case("CS-005", ref=REF)
def test_broken_or_expired_chain_fails(corpus, pki):
    body, headers = capture(corpus, "dsd_aucun_service_fr")
    rep = verify_cs_response(body, headers, at=datetime(2031, 1, 1, tzinfo=timezone.utc))
    assert rep.ids() == {"CS-005"} and not rep.chain_ok  # the acceptance leaf expires in 2027
    forged = sign_cs_response(body, pki["key"], [pki["leaf"], pki["other_root"]])
    rep = verify_cs_response(body, forged)
    assert rep.ids() == {"CS-005"} and rep.signature_ok and not rep.chain_ok
    rep = verify_cs_response(body, forged, trust_roots=[pki["other_root"]])
    assert rep.ids() == {"CS-005", "CS-006"}  # an anchored but broken chain is not trusted


@pytest.mark.case("CS-005", ref=REF)
def test_kid_and_x5t_must_name_the_leaf(corpus, pki):
    body, _ = capture(corpus, "eb_requirements_vides")
    good = sign_cs_response(body, pki["key"], [pki["leaf"], pki["root"]])
    wrong_kid = _resign(good, pki["key"], "ES256", lambda h: h.update(kid=base64.b64encode(b"\x30\x00").decode()))
    assert verify_cs_response(body, wrong_kid).ids() == {"CS-005"}
    wrong_x5t = _resign(good, pki["key"], "ES256", lambda h: h["x5t#o"].update(digVal="AAAA"))
    assert verify_cs_response(body, wrong_x5t).ids() == {"CS-005"}
    no_x5c = _resign(good, pki["key"], "ES256", lambda h: h.pop("x5c"))
    assert verify_cs_response(body, no_x5c).ids() == {"CS-005"}


@pytest.mark.case("CS-007", ref=REF)
def test_non_detached_or_encoded_payload_is_rejected(corpus, pki):
    body, headers = capture(corpus, "eb_evidence_types_fi")
    pb, _, sig = headers["oots-response-sig"].split(".")
    assert "CS-007" in verify_cs_response(body, {**headers, "oots-response-sig": f"{pb}.{b64url_encode(body)}.{sig}"}
                                          ).ids()
    good = sign_cs_response(body, pki["key"], [pki["leaf"], pki["root"]])
    for fn in (lambda h: h.update(b64=True), lambda h: h.pop("b64"),
               lambda h: h.update(sigD={"mId": "http://uri.etsi.org/19182/ObjectIdByURI", "pars": ["digest"]}),
               lambda h: h["sigD"].update(pars=["digest", "content-type"]),
               lambda h: h.update(crit=["b64"])):
        rep = verify_cs_response(body, _resign(good, pki["key"], "ES256", fn))
        assert rep.ids() == {"CS-007"}, rep.ids()  # signed by its holder: only the form is wrong


@pytest.mark.case("CS-008", ref=REF)
def test_unexpected_algorithm_is_rejected(corpus, pki):
    body, headers = capture(corpus, "eb_evidence_types_fr")
    for alg in ("HS256", "none", "RS256", None):
        rep = verify_cs_response(body, _tamper_protected(headers, lambda h: h.update(alg=alg)))
        assert "CS-008" in rep.ids() and not rep.ok
    good = sign_cs_response(body, pki["key"], [pki["leaf"], pki["root"]])
    assert verify_cs_response(body, good, algorithms=("EdDSA",)).ids() == {"CS-008"}


@pytest.mark.case("CS-008", ref=REF)
def test_eddsa_is_supported(corpus, pki):
    body, _ = capture(corpus, "eb_evidence_types_fr")
    headers = sign_cs_response(body, pki["ed_key"], [pki["ed_leaf"], pki["root"]])
    rep = verify_cs_response(body, headers, trust_roots=[pki["root"]])
    assert rep.ok and rep.alg == "EdDSA" and "EdDSA" in ALGORITHMS
    with pytest.raises(ValueError):
        sign_cs_response(body, ec.generate_private_key(ec.SECP384R1()), [pki["leaf"]])


@pytest.mark.case("CS-009", ref=REF)
def test_unspaced_signing_input_is_detected(corpus, pki):
    body, _ = capture(corpus, "dsd_data_services_fi")
    digest = digest_value(body)
    pb = encode_protected(build_protected_header([pki["leaf"], pki["root"]]))
    assert signing_input(pb, digest, sep="") == f"{pb}.digest:{digest}".encode()
    sig = sign_raw(pki["key"], "ES256", signing_input(pb, digest, sep=""))
    headers = {"digest": digest, "oots-response-sig": f"{pb}..{b64url_encode(sig)}"}
    rep = verify_cs_response(body, headers)
    assert rep.ids() == {"CS-009"} and not rep.signature_ok
    assert "no space" in rep.findings[0].actual
    sig = sign_raw(pki["key"], "ES256", signing_input(pb, digest, name="Digest"))
    rep = verify_cs_response(body, {"digest": digest, "oots-response-sig": f"{pb}..{b64url_encode(sig)}"})
    assert rep.ids() == {"CS-009"} and "capitalised" in rep.findings[0].actual
    spaced = _resign(sign_cs_response(body, pki["key"], [pki["leaf"], pki["root"]]), pki["key"], "ES256")
    assert verify_cs_response(body, spaced).ok  # the conformant form verifies


def test_parse_headers_reads_the_capture_layout(corpus):
    h = parse_headers(corpus(CS + "dsd_data_services_fi.headers"))
    assert set(h) == {"content-type", "digest", "oots-response-sig"}
    assert h["content-type"] == "application/x-ebrs+xml" and h["digest"].startswith("SHA-256=")
    assert parse_headers("Digest: SHA-256=abc\r\nX-Empty:\r\n") == {"digest": "SHA-256=abc", "x-empty": ""}
