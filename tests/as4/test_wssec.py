"""WS-Security for AS4: our sign/verify/encrypt/decrypt, and cross-checks with independent implementations.

Independent verifiers and what each one actually checks (see also the module docstring of wssec):

* ``signxml`` (suite rsa): the full signature — SignatureValue over SignedInfo with the BST certificate
  and all four reference digests. Attachments are fed through its ``uri_resolver``; it ignores the SwA
  transform URI it does not know, so a binary part is digested as returned (raw octets) and an XML part,
  returned as a parsed element, is canonicalised with the configured default (exc-c14n), which is what
  SwA 1.1 §5.4.2 requires. signxml has no EdDSA.
* Debian ``xmlsec1`` CLI (1.2.37, both suites): run ``--verify`` on the real message; it processes the
  References in order, so its per-reference status (``--print-xml-debug``) shows the Body and Messaging
  digests verified before it stops at the first ``cid:`` reference (unknown SwA transform). It can never
  check the SignatureValue of a message with attachments, nor Ed25519 at all (for eddsa the copy it
  reads has SignatureMethod swapped to rsa-sha256; references and digests are untouched).
* ``xmlsec`` Python binding (libxmlsec 1.3.9): decrypts our RSA-OAEP(SHA-256/MGF1-SHA256) EncryptedKey +
  AES-128-GCM EncryptedData (ciphertext copied inline as CipherValue); verifies our rsa-sha256
  SignatureValue over the canonical SignedInfo (``verify_binary``); produces a signature over the XML
  parts and an RSA-OAEP/AES-GCM encryption that our verifier and decrypter must accept.
* OpenSSL CLI (suite eddsa): verifies the Ed25519 SignatureValue over the canonical SignedInfo.
"""
from __future__ import annotations

import base64
import copy
import hashlib
import random
import re
import shutil
import subprocess
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree

from simulators.as4 import wssec
from simulators.as4.errors import EbmsError
from simulators.as4.parts import Attachment
from simulators.pki import REFERENCE_TIME, cert_pem, key_pem

from .conftest import NS_EB, NS_S12

DS = "{%s}" % wssec.NS_DS
XENC = "{%s}" % wssec.NS_XENC
WSSE = "{%s}" % wssec.NS_WSSE
SUITES = ["rsa", "eddsa"]
SENDER, RECEIVER = "de-ap", "fr-node"
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


# --- helpers -------------------------------------------------------------------------------------------
def _send(pki, envelope, parts, suite, *, sign_cred=None, key_ref="bst"):
    """Sign + encrypt as the sender would; return (wire bytes, encrypted parts, sign() references)."""
    cred = sign_cred or pki.credential(SENDER, "sign", suite)
    refs = wssec.sign(envelope, parts, cred.key, cred.cert, suite)
    enc = wssec.encrypt(envelope, parts, pki.credential(RECEIVER, "encrypt", suite).cert, suite, key_ref=key_ref)
    return etree.tostring(envelope), enc, refs


def _receive(pki, trust, wire, enc, suite, **kw):
    env = etree.fromstring(wire, PARSER)
    plain = wssec.decrypt(env, enc, pki.credential(RECEIVER, "encrypt", suite).key)
    return plain, wssec.verify(env, plain, trust, at=REFERENCE_TIME, **kw)


def _security(env):
    return env.find(f"{{{NS_S12}}}Header/{WSSE}Security")


def _signed_info(env):
    return _security(env).find(f"{DS}Signature/{DS}SignedInfo")


def _resign(env, key, method=wssec.RSA_SHA256):
    """Recompute SignatureValue (after a test changed SignedInfo) with ``method``: a *valid* signature."""
    si = _signed_info(env)
    si.find(f"{DS}SignatureMethod").set("Algorithm", method)
    data = etree.tostring(si, method="c14n", exclusive=True, inclusive_ns_prefixes=["env"])
    h = hashes.SHA1() if method == wssec.RSA_SHA1 else hashes.SHA256()
    si.getparent().find(f"{DS}SignatureValue").text = base64.b64encode(key.sign(data, padding.PKCS1v15(), h))


def _raises(code, reason=None):
    class _Ctx:
        def __enter__(self):
            self.cm = pytest.raises(wssec.SecurityError)
            self.info = self.cm.__enter__()
            return self.info

        def __exit__(self, *exc):
            if not self.cm.__exit__(*exc):
                return False  # another exception type: let it propagate
            assert self.info.value.code == code, str(self.info.value)
            if reason is not None:
                assert self.info.value.reason == reason, str(self.info.value)
            return True
    return _Ctx()


# --- round trips ---------------------------------------------------------------------------------------
@pytest.mark.case("AS4-SIG-005")
@pytest.mark.case("AS4-ENC-004")
@pytest.mark.parametrize("suite", SUITES)
def test_round_trip(pki, trust, make_envelope, payloads, suite):
    wire, enc, refs = _send(pki, make_envelope(), payloads, suite)
    assert [a.content_type for a in enc] == ["application/octet-stream"] * 2
    assert all(e.data[12:-16] != p.data and len(e.data) == len(p.data) + 28 for e, p in zip(enc, payloads))
    plain, result = _receive(pki, trust, wire, enc, suite, expected_cert=pki.credential(SENDER, "sign", suite).cert)
    assert plain == payloads
    assert result.cert == pki.credential(SENDER, "sign", suite).cert
    assert result.signature_method == wssec.SIGNATURE_METHOD[suite]
    assert [(r.uri, r.digest_value) for r in result.references] == [(r.uri, r.digest_value) for r in refs]
    assert [r.uri for r in refs] == ["#_body-1", "#_messaging-1", "cid:regrep@oots.eu", "cid:evidence@oots.eu"]
    assert result.references[2].element.tag == DS + "Reference"  # detached copies, for the receipt NRI
    for ref in result.references:  # made lazily from the verified Reference: a detached, stable copy
        assert ref.element is ref.element and ref.element is not ref.source
        assert ref.element.getparent() is None and ref.source.getparent() is not None
        assert etree.tostring(ref.element, method="c14n", exclusive=True) == \
            etree.tostring(ref.source, method="c14n", exclusive=True)


@pytest.mark.case("AS4-ENC-003")
@pytest.mark.parametrize("key_ref", ["issuer-serial", "ski"])
@pytest.mark.parametrize("suite", SUITES)
def test_round_trip_other_recipient_key_references(pki, trust, make_envelope, payloads, suite, key_ref):
    wire, enc, _ = _send(pki, make_envelope(), payloads, suite, key_ref=key_ref)
    env = etree.fromstring(wire)
    assert len(_security(env).findall(f"{WSSE}BinarySecurityToken")) == 1  # only the sender's
    plain, _ = _receive(pki, trust, wire, enc, suite)
    assert plain == payloads


def test_message_without_payloads(pki, trust, make_envelope):
    env = make_envelope()
    cred = pki.credential(SENDER, "sign")
    wssec.sign(env, [], cred.key, cred.cert)
    assert wssec.encrypt(env, [], pki.credential(RECEIVER, "encrypt").cert) == []
    assert wssec.decrypt(env, [], pki.credential(RECEIVER, "encrypt").key) == []
    assert len(wssec.verify(env, [], trust).references) == 2


def test_ids_are_added_when_missing(pki, trust, make_envelope):
    env = make_envelope()
    body = env.find(f"{{{NS_S12}}}Body")
    del body.attrib[wssec.WSU_ID]
    cred = pki.credential(SENDER, "sign")
    refs = wssec.sign(env, [], cred.key, cred.cert, new_id=lambda p: f"fixed-{p}")
    assert body.get(wssec.WSU_ID) == "fixed-body" and refs[0].uri == "#fixed-body"
    wssec.verify(env, [], trust)


# --- structure of what we send -------------------------------------------------------------------------
@pytest.mark.case("AS4-SIG-001")
@pytest.mark.case("AS4-SIG-003")
@pytest.mark.case("AS4-SIG-004")
@pytest.mark.case("AS4-ENC-002")
@pytest.mark.parametrize("suite", SUITES)
def test_header_layout_and_algorithms(pki, make_envelope, payloads, suite):
    wire, enc, _ = _send(pki, make_envelope(), payloads, suite)
    env = etree.fromstring(wire)
    header = env.find(f"{{{NS_S12}}}Header")
    sec = _security(env)
    assert header[0] is sec and sec.get(f"{{{NS_S12}}}mustUnderstand") == "true"
    assert [etree.QName(c).localname for c in sec] == [
        "BinarySecurityToken", "EncryptedKey", "EncryptedData", "EncryptedData", "BinarySecurityToken", "Signature"]
    bst_recipient, bst_sender = sec.findall(f"{WSSE}BinarySecurityToken")
    assert base64.b64decode(bst_sender.text) == pki.credential(SENDER, "sign", suite).cert.public_bytes(
        serialization.Encoding.DER)
    assert base64.b64decode(bst_recipient.text) == pki.credential(RECEIVER, "encrypt", suite).cert.public_bytes(
        serialization.Encoding.DER)
    sig = sec.find(f"{DS}Signature")
    si = sig.find(f"{DS}SignedInfo")
    assert si.find(f"{DS}CanonicalizationMethod").get("Algorithm") == wssec.EXC_C14N
    assert si.find(f"{DS}SignatureMethod").get("Algorithm") == wssec.SIGNATURE_METHOD[suite]
    for ref in si.findall(f"{DS}Reference"):
        assert ref.find(f"{DS}DigestMethod").get("Algorithm") == wssec.SHA256
        want = wssec.EXC_C14N if ref.get("URI").startswith("#") else wssec.SWA_CONTENT_SIGNATURE
        assert [t.get("Algorithm") for t in ref.iter(f"{DS}Transform")] == [want]
    ref = sig.find(f"{DS}KeyInfo/{WSSE}SecurityTokenReference/{WSSE}Reference")
    assert ref.get("URI") == "#" + bst_sender.get(wssec.WSU_ID) and ref.get("ValueType") == wssec.X509V3
    for ed, part in zip(sec.findall(f"{XENC}EncryptedData"), payloads):
        assert ed.get("Type") == wssec.SWA_CONTENT_ONLY and ed.get("MimeType") == part.content_type
        assert ed.find(f"{XENC}EncryptionMethod").get("Algorithm") == wssec.AES128_GCM
        cref = ed.find(f"{XENC}CipherData/{XENC}CipherReference")
        assert cref.get("URI") == part.href
        assert [t.get("Algorithm") for t in cref.iter(f"{DS}Transform")] == [wssec.SWA_CIPHERTEXT]
    method = sec.find(f"{XENC}EncryptedKey/{XENC}EncryptionMethod")
    if suite == "rsa":
        assert method.get("Algorithm") == wssec.RSA_OAEP
        assert method.find(f"{DS}DigestMethod").get("Algorithm") == wssec.SHA256
        assert method.find(f"{{{wssec.NS_XENC11}}}MGF").get("Algorithm") == wssec.MGF1_SHA256
    else:
        assert method.get("Algorithm") == wssec.KW_AES128
        am = sec.find(f"{XENC}EncryptedKey/{DS}KeyInfo/{XENC}AgreementMethod")
        assert am.get("Algorithm") == wssec.X25519
        assert am.find(f"{{{wssec.NS_XENC11}}}KeyDerivationMethod").get("Algorithm") == wssec.HKDF_URI
        assert am.find(f"{XENC}OriginatorKeyInfo/{{{wssec.NS_DSIG11}}}DEREncodedKeyValue") is not None
    refs = sec.findall(f"{XENC}EncryptedKey/{XENC}ReferenceList/{XENC}DataReference")
    assert [r.get("URI")[1:] for r in refs] == [ed.get("Id") for ed in sec.findall(f"{XENC}EncryptedData")]


@pytest.mark.case("AS4-ENC-005")
def test_digests_are_over_plaintext_and_xml_is_canonicalised(pki, make_envelope, payloads):
    _, _, refs = _send(pki, make_envelope(), payloads, "rsa")
    xml_digest, bin_digest = refs[2].digest_value, refs[3].digest_value
    assert bin_digest == base64.b64encode(hashlib.sha256(payloads[1].data).digest()).decode()
    canonical = etree.tostring(etree.fromstring(payloads[0].data).getroottree(), method="c14n", exclusive=True,
                               with_comments=False)
    assert b"<!--" not in canonical and b"xmlns:unused" not in canonical
    assert xml_digest == base64.b64encode(hashlib.sha256(canonical).digest()).decode()
    assert xml_digest != base64.b64encode(hashlib.sha256(payloads[0].data).digest()).decode()


def test_equivalent_xml_payload_still_verifies(pki, trust, make_envelope, payloads):
    """SwA 1.1 §5.4.2: an XML part is signed in canonical form, so a c14n-equivalent rewrite verifies."""
    env = make_envelope()
    cred = pki.credential(SENDER, "sign")
    wssec.sign(env, payloads, cred.key, cred.cert)
    rewritten = b'<query:QueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:4.0" lang="fr"  ' \
                b'id="q-1"><query:ResponseOption returnType="LeafClassWithRepositoryItem"></query:ResponseOption>' \
                b'</query:QueryRequest>'
    wssec.verify(env, [replace(payloads[0], data=rewritten), payloads[1]], trust)
    with _raises(wssec.FAILED_AUTHENTICATION, "digest-mismatch"):
        wssec.verify(env, [replace(payloads[0], data=rewritten.replace(b"fr", b"de")), payloads[1]], trust)


# --- certificates --------------------------------------------------------------------------------------
@pytest.mark.case("AS4-SIG-009")
@pytest.mark.parametrize("variant,reason", [
    ("untrusted", "untrusted"), ("expired", "expired"), ("not-yet-valid", "not-yet-valid"),
    ("wrong-usage", "wrong-key-usage"), ("revoked", "revoked"),
])
@pytest.mark.parametrize("suite", SUITES)
def test_bad_signing_certificate_is_ebms_0101(pki, trust, make_envelope, payloads, suite, variant, reason):
    bad = pki.credential(SENDER, "sign", suite, variant)
    wire, enc, _ = _send(pki, make_envelope(), payloads, suite, sign_cred=bad)
    with _raises(wssec.FAILED_AUTHENTICATION, reason):
        _receive(pki, trust, wire, enc, suite)


@pytest.mark.case("AS4-SIG-006")
def test_signer_must_be_the_expected_party(pki, trust, make_envelope, payloads):
    wire, enc, _ = _send(pki, make_envelope(), payloads, "rsa")
    with _raises(wssec.FAILED_AUTHENTICATION, "unexpected-certificate"):
        _receive(pki, trust, wire, enc, "rsa", expected_cert=pki.credential("someone-else", "sign").cert)


@pytest.mark.case("AS4-ENC-006")
@pytest.mark.parametrize("suite", SUITES)
def test_wrong_decryption_key_is_ebms_0102(pki, make_envelope, payloads, suite):
    wire, enc, _ = _send(pki, make_envelope(), payloads, suite)
    env = etree.fromstring(wire)
    with _raises(wssec.FAILED_DECRYPTION, "key-unwrap-failed"):
        wssec.decrypt(env, enc, pki.credential("intruder", "encrypt", suite).key)
    other = "eddsa" if suite == "rsa" else "rsa"
    with _raises(wssec.FAILED_DECRYPTION, "wrong-key"):
        wssec.decrypt(env, enc, pki.credential(RECEIVER, "encrypt", other).key)


@pytest.mark.case("AS4-ENC-006")
def test_tampered_ciphertext_is_ebms_0102(pki, make_envelope, payloads):
    wire, enc, _ = _send(pki, make_envelope(), payloads, "rsa")
    env = etree.fromstring(wire)
    rng = random.Random(7)
    for i, part in enumerate(enc):
        for pos in rng.sample(range(len(part.data)), 20):
            data = bytearray(part.data)
            data[pos] ^= 0x01
            parts = list(enc)
            parts[i] = replace(part, data=bytes(data))
            with _raises(wssec.FAILED_DECRYPTION, "bad-ciphertext"):
                wssec.decrypt(env, parts, pki.credential(RECEIVER, "encrypt").key)


# --- policy --------------------------------------------------------------------------------------------
@pytest.mark.case("AS4-SIG-008")
def test_rsa_sha1_signature_is_ebms_0103(pki, trust, make_envelope, payloads):
    env = make_envelope()
    cred = pki.credential(SENDER, "sign")
    wssec.sign(env, payloads, cred.key, cred.cert)
    _resign(env, cred.key, wssec.RSA_SHA1)  # cryptographically valid, but SHA-1
    with _raises(wssec.POLICY_NONCOMPLIANCE, "signature-algorithm"):
        wssec.verify(env, payloads, trust)
    _resign(env, cred.key, wssec.RSA_SHA256)
    wssec.verify(env, payloads, trust)  # the same message back on rsa-sha256 is fine


@pytest.mark.case("AS4-SIG-008")
@pytest.mark.parametrize("which", [0, 1, 2, 3])
def test_sha1_digest_is_ebms_0103(pki, trust, make_envelope, payloads, which):
    env = make_envelope()
    cred = pki.credential(SENDER, "sign")
    wssec.sign(env, payloads, cred.key, cred.cert)
    ref = _signed_info(env).findall(f"{DS}Reference")[which]
    uri = ref.get("URI")
    if uri.startswith("cid:"):
        octets = wssec.attachment_octets(next(p for p in payloads if p.href == uri))
    else:
        octets = etree.tostring(env.xpath("//*[@wsu:Id=$i]", i=uri[1:], namespaces={"wsu": wssec.NS_WSU})[0],
                                method="c14n", exclusive=True)
    ref.find(f"{DS}DigestMethod").set("Algorithm", wssec.SHA1)
    ref.find(f"{DS}DigestValue").text = base64.b64encode(hashlib.sha1(octets).digest())
    _resign(env, cred.key)
    with _raises(wssec.POLICY_NONCOMPLIANCE, "digest-algorithm"):
        wssec.verify(env, payloads, trust)


@pytest.mark.case("AS4-SIG-002")
def test_unsigned_attachment_is_ebms_0103(pki, trust, make_envelope, payloads):
    env = make_envelope()
    cred = pki.credential(SENDER, "sign")
    wssec.sign(env, payloads[:1], cred.key, cred.cert)  # the evidence part is not covered
    with _raises(wssec.POLICY_NONCOMPLIANCE, "unsigned-part"):
        wssec.verify(env, payloads, trust)


@pytest.mark.case("AS4-SIG-002")
@pytest.mark.parametrize("which", [0, 1])
def test_unsigned_body_or_messaging_is_ebms_0103(pki, trust, make_envelope, which):
    env = make_envelope()
    cred = pki.credential(SENDER, "sign")
    wssec.sign(env, [], cred.key, cred.cert)
    si = _signed_info(env)
    si.remove(si.findall(f"{DS}Reference")[which])
    _resign(env, cred.key)
    with _raises(wssec.POLICY_NONCOMPLIANCE, "unsigned-part"):
        wssec.verify(env, [], trust)


@pytest.mark.case("AS4-SIG-008")
def test_unsigned_message_is_ebms_0103(pki, trust, make_envelope, payloads):
    env = make_envelope()
    with _raises(wssec.POLICY_NONCOMPLIANCE, "no-security"):
        wssec.verify(env, payloads, trust)
    wssec.encrypt(env, payloads, pki.credential(RECEIVER, "encrypt").cert)  # encrypted, never signed
    with _raises(wssec.POLICY_NONCOMPLIANCE, "unsigned"):
        wssec.verify(env, payloads, trust)


@pytest.mark.case("AS4-SIG-007")
def test_signature_wrapping_is_refused(pki, trust, make_envelope):
    """A signed Body moved into a wrapper, with an unsigned Body put in its place: 0103 (Body unsigned)."""
    env = make_envelope()
    cred = pki.credential(SENDER, "sign")
    wssec.sign(env, [], cred.key, cred.cert)
    body = env.find(f"{{{NS_S12}}}Body")
    wrapper = etree.SubElement(_security(env), "{urn:x}Wrapper")
    wrapper.append(copy.deepcopy(body))
    body.attrib[wssec.WSU_ID] = "_evil"
    with _raises(wssec.POLICY_NONCOMPLIANCE, "unsigned-part"):
        wssec.verify(env, [], trust)
    body.attrib[wssec.WSU_ID] = "_body-1"  # now two elements carry the signed id
    with _raises(wssec.FAILED_AUTHENTICATION, "duplicate-id"):
        wssec.verify(env, [], trust)


def test_external_reference_is_refused(pki, trust, make_envelope):
    env = make_envelope()
    cred = pki.credential(SENDER, "sign")
    wssec.sign(env, [], cred.key, cred.cert)
    ref = etree.SubElement(_signed_info(env), f"{DS}Reference", URI="http://127.0.0.1:9/evil")
    etree.SubElement(ref, f"{DS}DigestMethod", Algorithm=wssec.SHA256)
    etree.SubElement(ref, f"{DS}DigestValue").text = base64.b64encode(bytes(32))
    _resign(env, cred.key)
    with _raises(wssec.POLICY_NONCOMPLIANCE, "reference-uri"):
        wssec.verify(env, [], trust)


@pytest.mark.case("AS4-ENC-001")
def test_unencrypted_part_is_ebms_0103(pki, make_envelope, payloads):
    wire, enc, _ = _send(pki, make_envelope(), payloads[:1], "rsa")
    key = pki.credential(RECEIVER, "encrypt").key
    with _raises(wssec.POLICY_NONCOMPLIANCE, "unencrypted-part"):
        wssec.decrypt(etree.fromstring(wire), [*enc, payloads[1]], key)
    out = wssec.decrypt(etree.fromstring(wire), [*enc, payloads[1]], key, require_encrypted=False)
    assert out == payloads
    with _raises(wssec.POLICY_NONCOMPLIANCE, "unencrypted-part"):
        wssec.decrypt(make_envelope(), payloads, key)


@pytest.mark.case("AS4-ENC-003")
def test_disallowed_encryption_algorithms_are_ebms_0103(pki, make_envelope, payloads):
    wire, enc, _ = _send(pki, make_envelope(), payloads, "rsa")
    key = pki.credential(RECEIVER, "encrypt").key
    env = etree.fromstring(wire)
    _security(env).find(f"{XENC}EncryptedData/{XENC}EncryptionMethod").set(
        "Algorithm", "http://www.w3.org/2001/04/xmlenc#aes128-cbc")
    with _raises(wssec.POLICY_NONCOMPLIANCE, "data-encryption-algorithm"):
        wssec.decrypt(env, enc, key)
    env = etree.fromstring(wire)
    _security(env).find(f"{XENC}EncryptedKey/{XENC}EncryptionMethod/{{{wssec.NS_XENC11}}}MGF").set(
        "Algorithm", wssec.MGF1_SHA1)
    with _raises(wssec.POLICY_NONCOMPLIANCE, "key-transport-algorithm"):
        wssec.decrypt(env, enc, key)
    env = etree.fromstring(wire)
    _security(env).find(f"{XENC}EncryptedKey/{XENC}EncryptionMethod").set(
        "Algorithm", "http://www.w3.org/2001/04/xmlenc#rsa-1_5")
    with _raises(wssec.POLICY_NONCOMPLIANCE, "key-transport-algorithm"):
        wssec.decrypt(env, enc, key)


# --- tampering -----------------------------------------------------------------------------------------
def _substitute(byte: int) -> int:
    c = chr(byte)
    if c.isdigit():
        return ord("0123456789"[(int(c) + 1) % 10])
    if c.isalpha() and c.isascii():
        return byte + 1 if c not in "zZ" else byte - 1
    return byte ^ 0x01


def _span(wire: bytes, start: bytes, end: bytes) -> range:
    i = wire.index(start)
    return range(i, wire.index(end, i) + len(end))


@pytest.mark.case("AS4-SIG-007")
@pytest.mark.parametrize("suite", SUITES)
@pytest.mark.parametrize("part", ["messaging", "body", "signedinfo"])
def test_single_byte_tampering_of_xml_parts_is_refused(pki, trust, make_envelope, payloads, suite, part):
    wire, enc, _ = _send(pki, make_envelope(), payloads, suite)
    key = pki.credential(RECEIVER, "encrypt", suite).key
    span = {
        "messaging": _span(wire, b"<eb:Messaging", b"</eb:Messaging>"),
        "body": _span(wire, b"<env:Body", b"/>"),
        "signedinfo": _span(wire, b"<ds:SignedInfo", b"</ds:SignedInfo>"),
    }[part]
    positions = list(span)
    random.Random(f"{suite}-{part}").shuffle(positions)
    effective = parse_errors = 0
    for pos in positions:
        tampered = wire[:pos] + bytes([_substitute(wire[pos])]) + wire[pos + 1:]
        try:
            env = etree.fromstring(tampered, PARSER)
        except etree.XMLSyntaxError:
            parse_errors += 1  # refused before WS-Security even runs
            continue
        plain = wssec.decrypt(env, enc, key)
        with pytest.raises(wssec.SecurityError) as info:
            wssec.verify(env, plain, trust, at=REFERENCE_TIME)
        assert info.value.code in (wssec.FAILED_AUTHENTICATION, wssec.POLICY_NONCOMPLIANCE), info.value
        effective += 1
        if effective == 20:
            break
    assert effective >= (8 if part == "body" else 20), (effective, parse_errors)


@pytest.mark.case("AS4-SIG-007")
@pytest.mark.parametrize("suite", SUITES)
@pytest.mark.parametrize("which", [0, 1])
def test_single_byte_tampering_of_payloads_is_refused(pki, trust, make_envelope, payloads, suite, which):
    """A payload changed after signing (then validly encrypted): 0101, unless the change is invisible
    to c14n (XML part), which the signature rightly does not cover."""
    env = make_envelope()
    cred = pki.credential(SENDER, "sign", suite)
    wssec.sign(env, payloads, cred.key, cred.cert, suite)
    original = payloads[which].data
    canonical = wssec.attachment_octets(payloads[which])
    positions = list(range(len(original)))
    random.Random(f"{suite}-{which}").shuffle(positions)
    effective = 0
    for pos in positions:
        data = original[:pos] + bytes([_substitute(original[pos])]) + original[pos + 1:]
        parts = list(payloads)
        parts[which] = replace(payloads[which], data=data)
        try:
            same = wssec.attachment_octets(parts[which]) == canonical
        except (ValueError, etree.XMLSyntaxError):
            same = False
        if same:
            wssec.verify(env, parts, trust)  # an XML-equivalent rewrite, not a tampering
            continue
        with _raises(wssec.FAILED_AUTHENTICATION):
            wssec.verify(env, parts, trust)
        effective += 1
        if effective == 20:
            break
    assert effective == 20


# --- hardening -----------------------------------------------------------------------------------------
def _mutations(env):
    """Copies of ``env`` with one element of wsse:Security removed, or one attribute or text garbled."""
    sec = _security(env)
    paths = [env.getroottree().getelementpath(el) for el in sec.iter(etree.Element) if el is not sec]
    for path in paths:
        for kind in ("remove", "attrs", "text", "dup"):
            mutated = copy.deepcopy(env)
            el = mutated.find(path)
            if kind == "remove":
                el.getparent().remove(el)
                yield mutated
            elif kind == "text" and (el.text or "").strip():
                for garbage in ("@@not base64@@", "A" * (wssec.MAX_TOKEN_B64 + 4), "AAAA"):
                    m = copy.deepcopy(mutated)
                    m.find(path).text = garbage
                    yield m
            elif kind == "attrs":
                for name in el.attrib:
                    for value in ("", "#nowhere", "cid:nowhere", "http://127.0.0.1:9/x"):
                        m = copy.deepcopy(mutated)
                        m.find(path).set(name, value)
                        yield m
            elif kind == "dup":
                el.addnext(copy.deepcopy(el))
                yield mutated


@pytest.mark.parametrize("suite", SUITES)
def test_malformed_security_headers_only_raise_security_errors(pki, trust, make_envelope, payloads, suite):
    wire, enc, _ = _send(pki, make_envelope(), payloads, suite)
    key = pki.credential(RECEIVER, "encrypt", suite).key
    env = etree.fromstring(wire)
    outcomes = {"accepted": 0, "refused": 0}
    for mutated in _mutations(env):
        try:
            plain = wssec.decrypt(mutated, enc, key)
            wssec.verify(mutated, plain, trust, at=REFERENCE_TIME)
        except wssec.SecurityError as exc:
            assert isinstance(exc, EbmsError) and exc.code in (
                wssec.FAILED_AUTHENTICATION, wssec.FAILED_DECRYPTION, wssec.POLICY_NONCOMPLIANCE)
            outcomes["refused"] += 1
        else:
            # whatever is accepted must be exactly what was signed; the content type may be lost with an
            # (unsigned) EncryptedData/@MimeType: eb:PartInfo's MimeType property is the signed truth
            assert [(p.content_id, p.data) for p in plain] == [(p.content_id, p.data) for p in payloads]
            outcomes["accepted"] += 1
    assert outcomes["refused"] > 100, outcomes


def test_oversized_and_garbage_inputs(pki, trust, make_envelope):
    env = make_envelope()
    cred = pki.credential(SENDER, "sign")
    wssec.sign(env, [], cred.key, cred.cert)
    si = _signed_info(env)
    for _ in range(wssec.MAX_REFERENCES):
        si.append(copy.deepcopy(si.find(f"{DS}Reference")))
    with _raises(wssec.POLICY_NONCOMPLIANCE, "too-many-references"):
        wssec.verify(env, [], trust)
    with _raises(wssec.POLICY_NONCOMPLIANCE):
        wssec.verify(etree.fromstring(b"<x/>"), [], trust)
    doc = etree.fromstring(etree.tostring(make_envelope()))
    part = Attachment("a@x", "application/xml", b"<!DOCTYPE a [<!ENTITY e 'x'>]><a>&e;</a>")
    with pytest.raises(ValueError):
        wssec.sign(doc, [part], cred.key, cred.cert)


# --- independent implementations -----------------------------------------------------------------------
def _resolver(parts):
    by_uri = {p.href: p for p in parts}

    def resolve(uri):
        part = by_uri[uri]
        return etree.fromstring(part.data) if wssec.is_xml_type(part.content_type) else part.data
    return resolve


@pytest.mark.case("AS4-SIG-005")
def test_signxml_verifies_our_signature(pki, trust, make_envelope, payloads):
    signxml = pytest.importorskip("signxml")
    from signxml.algorithms import CanonicalizationMethod

    wire, enc, _ = _send(pki, make_envelope(), payloads, "rsa")
    plain = wssec.decrypt(etree.fromstring(wire), enc, pki.credential(RECEIVER, "encrypt").key)
    config = signxml.SignatureConfiguration(
        expect_references=4,
        default_reference_c14n_method=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    cert = pki.credential(SENDER, "sign").cert
    # validate_schema=False: signxml's bundled XML-DSig schema does not know ec:InclusiveNamespaces
    # (a strict wildcard in CanonicalizationMethod), which Domibus also sends
    results = signxml.XMLVerifier().verify(wire, x509_cert=cert, uri_resolver=_resolver(plain), id_attribute="Id",
                                           expect_config=config, validate_schema=False)
    assert len(results) == 4
    bad = [plain[0], replace(plain[1], data=plain[1].data[:-1] + bytes([plain[1].data[-1] ^ 1]))]
    with pytest.raises(signxml.exceptions.InvalidDigest):
        signxml.XMLVerifier().verify(wire, x509_cert=cert, uri_resolver=_resolver(bad), id_attribute="Id",
                                     expect_config=config, validate_schema=False)


def _xmlsec1_reference_status(xml: bytes, cert_pem_bytes: bytes, tmp_path) -> dict[str, str]:
    (tmp_path / "msg.xml").write_bytes(xml)
    (tmp_path / "cert.pem").write_bytes(cert_pem_bytes)
    out = subprocess.run(
        ["xmlsec1", "--verify", "--print-xml-debug", "--pubkey-cert-pem", str(tmp_path / "cert.pem"),
         "--id-attr:Id", f"{NS_S12}:Body", "--id-attr:Id", f"{NS_EB}:Messaging", str(tmp_path / "msg.xml")],
        capture_output=True, text=True, timeout=60,
    ).stdout
    return dict((uri, status) for status, uri in re.findall(
        r'<ReferenceVerificationContext status="(\w+)" >\s*<Id>.*?</Id>\s*<URI>(.*?)</URI>', out, re.S))


@pytest.mark.case("AS4-SIG-005")
@pytest.mark.parametrize("suite", SUITES)
@pytest.mark.skipif(shutil.which("xmlsec1") is None, reason="Debian xmlsec1 not installed")
def test_xmlsec1_cli_verifies_the_xml_references(pki, make_envelope, payloads, suite, tmp_path):
    wire, _, refs = _send(pki, make_envelope(), payloads, suite)
    if suite == "eddsa":  # xmlsec1 1.2 has no Ed25519: let it read the method it knows (digests unchanged)
        wire = wire.replace(wssec.EDDSA_ED25519.encode(), wssec.RSA_SHA256.encode())
    rsa_cert = cert_pem(pki.credential(SENDER, "sign").cert)
    status = _xmlsec1_reference_status(wire, rsa_cert, tmp_path)
    assert status == {"#_body-1": "succeeded", "#_messaging-1": "succeeded", "cid:regrep@oots.eu": "unknown"}
    tampered = wire.replace(b"<eb:Action>ExecuteQueryRequest", b"<eb:Action>ExecuteQueryResponse")
    status = _xmlsec1_reference_status(tampered, rsa_cert, tmp_path)
    assert status["#_body-1"] == "succeeded" and status["#_messaging-1"] != "succeeded"


def _canonical_signed_info(wire: bytes) -> tuple[bytes, bytes]:
    env = etree.fromstring(wire)
    si = _signed_info(env)
    prefixes = si.find(f"{DS}CanonicalizationMethod/{{{wssec.NS_EC}}}InclusiveNamespaces").get("PrefixList").split()
    value = base64.b64decode(si.getparent().find(f"{DS}SignatureValue").text)
    return etree.tostring(si, method="c14n", exclusive=True, inclusive_ns_prefixes=prefixes), value


@pytest.mark.case("AS4-SIG-005")
def test_xmlsec_binding_verifies_our_rsa_signature_value(pki, make_envelope, payloads):
    xmlsec = pytest.importorskip("xmlsec")
    wire, _, _ = _send(pki, make_envelope(), payloads, "rsa")
    data, value = _canonical_signed_info(wire)
    ctx = xmlsec.SignatureContext()
    ctx.key = xmlsec.Key.from_memory(cert_pem(pki.credential(SENDER, "sign").cert), xmlsec.KeyFormat.CERT_PEM)
    ctx.verify_binary(data, xmlsec.Transform.RSA_SHA256, value)
    with pytest.raises(xmlsec.Error):
        ctx.verify_binary(data.replace(b"#_body-1", b"#_body-2"), xmlsec.Transform.RSA_SHA256, value)


@pytest.mark.case("AS4-SIG-005")
@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
def test_openssl_verifies_our_ed25519_signature_value(pki, make_envelope, payloads, tmp_path):
    wire, _, _ = _send(pki, make_envelope(), payloads, "eddsa")
    data, value = _canonical_signed_info(wire)
    (tmp_path / "si").write_bytes(data)
    (tmp_path / "sig").write_bytes(value)
    (tmp_path / "cert.pem").write_bytes(cert_pem(pki.credential(SENDER, "sign", "eddsa").cert))
    cmd = ["openssl", "pkeyutl", "-verify", "-certin", "-inkey", str(tmp_path / "cert.pem"), "-rawin",
           "-in", str(tmp_path / "si"), "-sigfile", str(tmp_path / "sig")]
    assert subprocess.run(cmd, capture_output=True, timeout=60).returncode == 0
    (tmp_path / "si").write_bytes(data.replace(b"#_body-1", b"#_body-2"))
    assert subprocess.run(cmd, capture_output=True, timeout=60).returncode != 0


@pytest.mark.case("AS4-ENC-004")
def test_xmlsec_binding_decrypts_our_encryption(pki, make_envelope, payloads):
    xmlsec = pytest.importorskip("xmlsec")
    wire, enc, _ = _send(pki, make_envelope(), payloads, "rsa")
    sec = _security(etree.fromstring(wire))
    manager = xmlsec.KeysManager()
    manager.add_key(xmlsec.Key.from_memory(key_pem(pki.credential(RECEIVER, "encrypt").key), xmlsec.KeyFormat.PEM))
    for ed, part, plain in zip(sec.findall(f"{XENC}EncryptedData"), enc, payloads):
        # a stand-alone copy: the EncryptedKey inline in KeyInfo, the MIME part inline as CipherValue
        ek = copy.deepcopy(sec.find(f"{XENC}EncryptedKey"))
        for child in (ek.find(f"{DS}KeyInfo"), ek.find(f"{XENC}ReferenceList")):
            ek.remove(child)
        ed = copy.deepcopy(ed)
        key_info = ed.find(f"{DS}KeyInfo")
        key_info.clear()
        key_info.append(ek)
        cipher_data = ed.find(f"{XENC}CipherData")
        cipher_data.clear()
        etree.SubElement(cipher_data, f"{XENC}CipherValue").text = base64.b64encode(part.data)
        standalone = etree.fromstring(etree.tostring(ed))
        assert xmlsec.EncryptionContext(manager).decrypt(standalone) == plain.data


def _xmlsec_encrypted_message(xmlsec, pki, envelope, parts, key_transport):
    """Encrypt ``parts`` with the xmlsec binding, then move its output into AS4 shape (no crypto by us)."""
    cert = pki.credential(RECEIVER, "encrypt").cert
    manager = xmlsec.KeysManager()
    manager.add_key(xmlsec.Key.from_memory(cert_pem(cert), xmlsec.KeyFormat.CERT_PEM))
    sec = etree.SubElement(envelope.find(f"{{{NS_S12}}}Header"), f"{WSSE}Security")
    sec.set(f"{{{NS_S12}}}mustUnderstand", "true")
    ek_out = None
    out, eds = [], []
    session = xmlsec.Key.generate(xmlsec.KeyData.AES, 128, xmlsec.KeyDataType.SESSION)
    for i, part in enumerate(parts):
        tmpl = xmlsec.template.encrypted_data_create(etree.Element("root"), xmlsec.Transform.AES128_GCM,
                                                     type=wssec.SWA_CONTENT_ONLY, ns="xenc")
        xmlsec.template.encrypted_data_ensure_cipher_value(tmpl)
        ki = xmlsec.template.encrypted_data_ensure_key_info(tmpl, ns="ds")
        ek = xmlsec.template.add_encrypted_key(ki, xmlsec.Transform.RSA_OAEP)
        xmlsec.template.encrypted_data_ensure_cipher_value(ek)
        method = ek.find(f"{XENC}EncryptionMethod")
        if key_transport == wssec.RSA_OAEP:  # ask for the xmlenc 1.1 URI with SHA-256 / MGF1-SHA256
            method.set("Algorithm", wssec.RSA_OAEP)
            etree.SubElement(method, f"{DS}DigestMethod", Algorithm=wssec.SHA256)
            etree.SubElement(method, f"{{{wssec.NS_XENC11}}}MGF", Algorithm=wssec.MGF1_SHA256)
        ctx = xmlsec.EncryptionContext(manager)
        ctx.key = session
        # re-parse: xmlsec edits the C tree under lxml's proxies, so search a clean copy
        ed = etree.fromstring(etree.tostring(ctx.encrypt_binary(tmpl, part.data)))
        ek = ed.find(f"{DS}KeyInfo/{XENC}EncryptedKey")
        if ek_out is None:
            ek_out = copy.deepcopy(ek)
            ek_out.set("Id", "EK-1")
            etree.SubElement(etree.SubElement(ek_out, f"{DS}KeyInfo"), f"{WSSE}SecurityTokenReference")
            etree.SubElement(ek_out, f"{XENC}ReferenceList")
        data = base64.b64decode(ed.findtext(f"{XENC}CipherData/{XENC}CipherValue"))
        ed.remove(ed.find(f"{DS}KeyInfo"))
        cipher_data = ed.find(f"{XENC}CipherData")
        cipher_data.clear()
        cref = etree.SubElement(cipher_data, f"{XENC}CipherReference", URI=part.href)
        etree.SubElement(etree.SubElement(cref, f"{XENC}Transforms"), f"{DS}Transform",
                         Algorithm=wssec.SWA_CIPHERTEXT)
        ed.set("Id", f"ED-{i}")
        ed.set("MimeType", part.content_type)
        eds.append(ed)
        out.append(Attachment(part.content_id, "application/octet-stream", data))
    sec.append(ek_out)
    for ed in eds:
        etree.SubElement(ek_out.find(f"{XENC}ReferenceList"), f"{XENC}DataReference", URI="#" + ed.get("Id"))
        sec.append(ed)
    assert ek_out.find(f"{XENC}EncryptionMethod").get("Algorithm") == key_transport
    return out


@pytest.mark.case("AS4-ENC-003")
def test_we_decrypt_xmlsec_binding_encryption(pki, make_envelope, payloads):
    xmlsec = pytest.importorskip("xmlsec")
    key = pki.credential(RECEIVER, "encrypt").key
    env = make_envelope()
    enc = _xmlsec_encrypted_message(xmlsec, pki, env, payloads, wssec.RSA_OAEP)
    assert wssec.decrypt(env, enc, key) == payloads
    # the older key transport (SHA-1 MGF): only with the lenient inbound policy E115 allows
    env = make_envelope()
    enc = _xmlsec_encrypted_message(xmlsec, pki, env, payloads, wssec.RSA_OAEP_MGF1P)
    with _raises(wssec.POLICY_NONCOMPLIANCE, "key-transport-algorithm"):
        wssec.decrypt(env, enc, key)
    assert wssec.decrypt(env, enc, key, allowed=wssec.LENIENT_INBOUND) == payloads


@pytest.mark.case("AS4-SIG-005")
def test_we_verify_an_xmlsec_binding_signature(pki, trust, make_envelope):
    xmlsec = pytest.importorskip("xmlsec")
    cred = pki.credential(SENDER, "sign")
    env = make_envelope()
    header, body = env.find(f"{{{NS_S12}}}Header"), env.find(f"{{{NS_S12}}}Body")
    messaging = header.find(f"{{{NS_EB}}}Messaging")
    sec = etree.SubElement(header, f"{WSSE}Security", nsmap={"wsse": wssec.NS_WSSE})
    bst = etree.SubElement(sec, f"{WSSE}BinarySecurityToken", EncodingType=wssec.BASE64_BINARY,
                           ValueType=wssec.X509V3)
    bst.set(wssec.WSU_ID, "X509-xmlsec")
    bst.text = base64.b64encode(cred.cert.public_bytes(serialization.Encoding.DER))
    sig = xmlsec.template.create(env, xmlsec.Transform.EXCL_C14N, xmlsec.Transform.RSA_SHA256, ns="ds")
    sec.append(sig)
    for target in (body, messaging):
        ref = xmlsec.template.add_reference(sig, xmlsec.Transform.SHA256, uri="#" + target.get(wssec.WSU_ID))
        xmlsec.template.add_transform(ref, xmlsec.Transform.EXCL_C14N)
    key_info = xmlsec.template.ensure_key_info(sig)
    token_ref = etree.SubElement(key_info, f"{WSSE}SecurityTokenReference")
    etree.SubElement(token_ref, f"{WSSE}Reference", URI="#X509-xmlsec", ValueType=wssec.X509V3)
    ctx = xmlsec.SignatureContext()
    for target in (body, messaging):
        ctx.register_id(target, "Id", wssec.NS_WSU)
    ctx.key = xmlsec.Key.from_memory(key_pem(cred.key), xmlsec.KeyFormat.PEM)
    ctx.sign(sig)
    wire = etree.tostring(env)
    result = wssec.verify(etree.fromstring(wire), [], trust, expected_cert=cred.cert)
    assert [r.uri for r in result.references] == ["#_body-1", "#_messaging-1"]
    with _raises(wssec.FAILED_AUTHENTICATION, "digest-mismatch"):
        wssec.verify(etree.fromstring(wire.replace(b"conv-1", b"conv-2")), [], trust)


# --- with the receipt module ---------------------------------------------------------------------------
@pytest.mark.case("AS4-RCP-003")
@pytest.mark.case("AS4-RCP-004")
@pytest.mark.parametrize("suite", SUITES)
def test_receipt_round_trip(pki, trust, make_envelope, payloads, suite):
    """Receiver: decrypt, verify, answer with a signed receipt copying the verified References; sender:
    verify the receipt's signature (receiver's certificate) and check its NRI against sign()'s output."""
    from simulators.as4 import model, receipts

    wire, enc, sent_refs = _send(pki, make_envelope(), payloads, suite)
    _, result = _receive(pki, trust, wire, enc, suite)
    signal = receipts.build_receipt("3f2a0c1e-7d7b-4bde-9c59-0a5c4f1d2b6e@oots.eu",
                                    [r.element for r in result.references])
    receipt_env = model.build_envelope(signal)
    receiver = pki.credential(RECEIVER, "sign", suite)
    wssec.sign(receipt_env, [], receiver.key, receiver.cert, suite)
    receipt_wire = etree.tostring(receipt_env)

    got = etree.fromstring(receipt_wire)
    wssec.verify(got, [], trust, expected_cert=receiver.cert, at=REFERENCE_TIME)
    assert wssec.decrypt(got, [], pki.credential(SENDER, "encrypt", suite).key) == []  # not encrypted
    receipts.check_receipt(got, "3f2a0c1e-7d7b-4bde-9c59-0a5c4f1d2b6e@oots.eu", [r.element for r in sent_refs])


@pytest.mark.case("AS4-SIG-005")
@pytest.mark.parametrize("suite", ["rsa", "eddsa"])
def test_signature_on_a_built_envelope_verifies_on_the_wire(suite):
    """A root made with etree.Element canonicalises differently from a parsed one (lxml/libxml2 2.14):
    the signer must sign what the receiver will canonicalise."""
    from simulators.as4 import model
    from simulators.pki import PKI

    pki = PKI(seed=7)
    sender = pki.party("builtenv", suite)
    um = model.UserMessage(model.MessageInfo(), model.Party("builtenv", model.OOTS.PARTY_TYPE),
                           model.Party("peer", model.OOTS.PARTY_TYPE),
                           model.Service(model.OOTS.SERVICE, model.OOTS.SERVICE_TYPE),
                           "ExecuteQueryRequest", "conv-1")
    env = model.build_envelope(um)  # built, never parsed
    wssec.sign(env, [], sender.sign.key, sender.sign.cert, suite)
    wire = etree.fromstring(etree.tostring(env))
    assert wssec.verify(wire, [], pki.trust_store()).cert == sender.sign.cert
