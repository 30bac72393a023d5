"""The AS4 message pipeline: pack -> unpack round trips, receipts, error answers, and every failure
mapped to its ebMS code (never a crash)."""
from __future__ import annotations

import base64
import copy
import hashlib
import random
import re
from dataclasses import replace

import pytest

from simulators.as4 import wssec
from simulators.as4.compression import DecompressionLimits, gzip_compress
from simulators.as4.errors import EbmsError
from simulators.as4.message import (Packed, UnpackLimits, check_receipt_response, error_response, pack, parse,
                                    receipt_for, unpack)
from simulators.as4.mime import build_swa, parse_swa
from simulators.as4.model import (NS_DS, NS_EB, NS_S12, OOTS, PartInfo, Property, build_envelope,
                                  parse_xml, to_bytes)
from simulators.as4.parts import Attachment
from simulators.as4.receipts import InvalidReceiptError, build_receipt
from simulators.pki import REFERENCE_TIME
from tests.as4.conftest import XML_PAYLOAD
from tests.as4.test_model import assert_valid, make_user_message

SUITES = ["rsa", "eddsa"]
SENDER, RECEIVER = "de-ap", "fr-node"
EB, DS, S12 = "{%s}" % NS_EB, "{%s}" % NS_DS, "{%s}" % NS_S12
_rnd = random.Random(7)
PDF = b"%PDF-1.4\n" + b"".join(b"%d 0 obj << /Length 40 >> stream BT /F1 12 Tf (%d) Tj ET endstream\n"
                               % (i, _rnd.randint(0, 10**6)) for i in range(300)) + _rnd.randbytes(2000) + b"%%EOF\n"
CSV = b"name;value\n" + b"".join(b"row%d;%d\n" % (i, i * i) for i in range(200))


def _payloads() -> list[Attachment]:
    return [
        Attachment("regrep@oots.eu", OOTS.MIME_REGREP, XML_PAYLOAD),
        Attachment("evidence@oots.eu", "application/pdf", PDF),
        Attachment("annex@oots.eu", "text/csv; charset=utf-8", CSV),
    ]


def _pack(pki, suite="rsa", *, payloads=None, um=None, sign=None, **kw) -> Packed:
    sign = sign or pki.credential(SENDER, "sign", suite)
    return pack(um or make_user_message(parts=[]), _payloads() if payloads is None else payloads,
                sign_key=sign.key, sign_cert=sign.cert,
                recipient_cert=pki.credential(RECEIVER, "encrypt", suite).cert, suite=suite, **kw)


def _unpack(pki, trust, packed_or_ct, body=None, suite="rsa", **kw):
    ct, body = (packed_or_ct.content_type, packed_or_ct.body) if body is None else (packed_or_ct, body)
    kw.setdefault("decrypt_key", pki.credential(RECEIVER, "encrypt", suite).key)
    return unpack(ct, body, trust=trust, at=REFERENCE_TIME, **kw)


def _raises(code):
    """pytest.raises(EbmsError) that also checks the code."""
    class _Ctx:
        def __enter__(self):
            self.cm = pytest.raises(EbmsError)
            self.info = self.cm.__enter__()
            return self.info

        def __exit__(self, *exc):
            if not self.cm.__exit__(*exc):
                return False
            assert self.info.value.code == code, str(self.info.value)
            return True
    return _Ctx()


# --- round trips ---------------------------------------------------------------------------------------
@pytest.mark.case("AS4-MIME-006")
@pytest.mark.case("AS4-CMP-001")
@pytest.mark.case("AS4-SIG-005")
@pytest.mark.case("AS4-ENC-001")
@pytest.mark.parametrize("start", [True, False], ids=["start", "no-start"])
@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "plain"])
@pytest.mark.parametrize("suite", SUITES)
def test_round_trip(pki, trust, suite, compress, start):
    sent = _payloads()
    packed = _pack(pki, suite, compress=compress, start=start)
    assert packed.content_type.startswith('multipart/related; type="application/soap+xml"')
    assert ("start=" in packed.content_type) is start
    assert packed.message_id == make_user_message().message_id
    for p in sent:  # every part travels encrypted
        assert p.data[:200] not in packed.body
    assert [r.uri for r in packed.references][2:] == [p.href for p in sent]

    got = _unpack(pki, trust, packed, suite=suite,
                  expected_sender_cert=pki.credential(SENDER, "sign", suite).cert)
    assert got.signal is None and got.message_id == packed.message_id
    assert [(a.content_id, a.content_type.split(";")[0], a.data) for a in got.payloads] == \
        [(p.content_id, p.content_type.split(";")[0], p.data) for p in sent]
    if not compress:  # the EncryptedData/@MimeType carries the full original Content-Type
        assert got.payloads[2].content_type == "text/csv; charset=utf-8"
    assert got.sender_cert == pki.credential(SENDER, "sign", suite).cert
    assert [r.digest_value for r in got.references] == [r.digest_value for r in packed.references]
    # the wire header says how each part was compressed; the delivered PartInfos no longer do
    wire_parts = got.user_message.parts
    assert [p.href for p in wire_parts] == [p.href for p in sent]
    assert [p.mime_type for p in wire_parts] == [OOTS.MIME_REGREP, "application/pdf", "text/csv"]
    assert all((p.get("CompressionType") == "application/gzip") is compress for p in wire_parts)
    if compress:
        assert wire_parts[0].get("CharacterSet") == "UTF-8" and wire_parts[2].get("CharacterSet") == "utf-8"
    assert all(p.get("CompressionType") is None for p in got.parts)
    assert_valid(got.envelope.find(f"{S12}Header/{EB}Messaging"))


def test_compression_shrinks_and_signs_the_gzip_octets(pki, trust):
    plain, gz = _pack(pki, compress=False), _pack(pki, compress=True)
    assert len(gz.body) < len(plain.body) - 3000
    # the digest of a compressed part is over its gzip octets (compress -> sign -> encrypt)
    assert gz.references[3].digest_value == base64.b64encode(hashlib.sha256(gzip_compress(PDF)).digest()).decode()


def test_given_part_infos_are_kept_and_ordered(pki, trust):
    um = make_user_message(parts=[
        PartInfo("cid:evidence@oots.eu", [Property("MimeType", "application/pdf"), Property("PayloadName", "d.pdf")]),
        PartInfo("cid:regrep@oots.eu"),
    ])
    payloads = _payloads()[:2]
    before = copy.deepcopy((um, payloads))
    packed = _pack(pki, um=um, payloads=payloads)
    assert (um, payloads) == before  # inputs untouched
    got = _unpack(pki, trust, packed)
    assert [p.content_id for p in got.payloads] == ["evidence@oots.eu", "regrep@oots.eu"]
    assert got.user_message.parts[0].get("PayloadName") == "d.pdf"
    assert got.user_message.parts[1].mime_type == OOTS.MIME_REGREP  # filled from the attachment


@pytest.mark.parametrize("parts, payloads, match", [
    ([PartInfo("cid:missing@oots.eu")], _payloads()[:1], "names no payload"),
    ([PartInfo("cid:regrep@oots.eu")], _payloads()[:2], "without a PartInfo"),
    ([PartInfo(None)], _payloads()[:1], "names no payload"),
])
def test_inconsistent_part_infos_are_refused(pki, parts, payloads, match):
    with pytest.raises(ValueError, match=match):
        _pack(pki, um=make_user_message(parts=parts), payloads=payloads)


def test_message_without_payloads(pki, trust):
    packed = _pack(pki, payloads=[])
    got = _unpack(pki, trust, packed)
    assert got.payloads == [] and got.user_message.parts == [] and len(got.references) == 2


# --- receipts ------------------------------------------------------------------------------------------
@pytest.mark.case("AS4-RCP-002")
@pytest.mark.case("AS4-RCP-003")
@pytest.mark.case("AS4-RCP-004")
@pytest.mark.parametrize("suite", SUITES)
def test_receipt_round_trip(pki, trust, suite):
    packed = _pack(pki, suite)
    got = _unpack(pki, trust, packed, suite=suite)
    me = pki.credential(RECEIVER, "sign", suite)
    ct, body = receipt_for(got, sign_key=me.key, sign_cert=me.cert, suite=suite)
    assert ct.startswith("application/soap+xml")
    env = parse_xml(body)
    assert env.find(f".//{{{wssec.NS_XENC}}}EncryptedData") is None  # signed, not encrypted
    signal = check_receipt_response(ct, body, packed, trust=trust, expected_sender_cert=me.cert, at=REFERENCE_TIME)
    assert signal.ref_to_message_id == packed.message_id and signal.message_id != packed.message_id
    assert len(signal.receipt.references) == len(packed.references) == 5
    # the receipt is a signal our own unpack reads (verified, nothing to decrypt)
    as_signal = unpack(ct, body, trust=trust, at=REFERENCE_TIME)
    assert as_signal.user_message is None and as_signal.signal.receipt is not None
    assert as_signal.sender_cert == me.cert


def _receipt_with(pki, got, refs, cred=None):
    """A validly signed receipt acknowledging ``refs`` (what a faulty peer could send)."""
    cred = cred or pki.credential(RECEIVER, "sign")
    env = parse_xml(to_bytes(build_envelope(build_receipt(got.user_message.message_id, refs))))
    wssec.sign(env, [], cred.key, cred.cert)
    return "application/soap+xml; charset=UTF-8", to_bytes(env)


@pytest.mark.case("AS4-RCP-003")
def test_receipt_with_altered_digest_is_refused(pki, trust):
    packed = _pack(pki)
    got = _unpack(pki, trust, packed)
    refs = [copy.deepcopy(r.element) for r in got.references]
    value = refs[3].find(f"{DS}DigestValue")
    value.text = ("A" if value.text[0] != "A" else "B") + value.text[1:]
    ct, body = _receipt_with(pki, got, refs)
    with pytest.raises(InvalidReceiptError, match="digest differs") as info:
        check_receipt_response(ct, body, packed, trust=trust, at=REFERENCE_TIME)
    assert info.value.code == "EBMS:0302" and info.value.ref_to_message_id == packed.message_id
    # a missing reference too
    ct, body = _receipt_with(pki, got, [r.element for r in got.references[:-1]])
    with pytest.raises(InvalidReceiptError, match="not acknowledged"):
        check_receipt_response(ct, body, packed, trust=trust, at=REFERENCE_TIME)


@pytest.mark.case("AS4-RCP-004")
def test_receipt_tampered_in_transit_or_untrusted_is_refused(pki, trust):
    packed = _pack(pki)
    got = _unpack(pki, trust, packed)
    me = pki.credential(RECEIVER, "sign")
    ct, body = receipt_for(got, sign_key=me.key, sign_cert=me.cert)
    digest = re.search(rb"<ds:DigestValue>([^<]+)</ds:DigestValue></ds:Reference></ebbp", body).group(1)
    tampered = body.replace(digest, (b"A" if digest[:1] != b"A" else b"B") + digest[1:])
    with pytest.raises(InvalidReceiptError, match="receipt signature"):
        check_receipt_response(ct, tampered, packed, trust=trust, at=REFERENCE_TIME)
    bad = pki.credential(RECEIVER, "sign", variant="untrusted")
    ct, body = receipt_for(got, sign_key=bad.key, sign_cert=bad.cert)
    with pytest.raises(InvalidReceiptError, match="untrusted"):
        check_receipt_response(ct, body, packed, trust=trust, at=REFERENCE_TIME)
    ct, body = receipt_for(got, sign_key=me.key, sign_cert=me.cert)
    with pytest.raises(InvalidReceiptError, match="unexpected-certificate"):
        check_receipt_response(ct, body, packed, trust=trust, at=REFERENCE_TIME,
                               expected_sender_cert=pki.credential(SENDER, "sign").cert)
    other = _pack(pki, um=make_user_message(parts=[], message_info=replace(
        make_user_message().message_info, message_id="other@oots.eu")))
    with pytest.raises(InvalidReceiptError, match="RefToMessageId"):
        check_receipt_response(ct, body, other, trust=trust, at=REFERENCE_TIME)
    for ct_, body_ in (("application/soap+xml", b""), ("text/html", b"<html>busy</html>"),
                       ("application/soap+xml", b"<not-xml")):
        with pytest.raises(InvalidReceiptError):
            check_receipt_response(ct_, body_, packed, trust=trust, at=REFERENCE_TIME)
    ct, body = packed.content_type, packed.body  # a user message is no receipt
    with pytest.raises(InvalidReceiptError, match="not a signal"):
        check_receipt_response(ct, body, packed, trust=trust, at=REFERENCE_TIME)


@pytest.mark.case("AS4-ERR-001")
@pytest.mark.parametrize("signed", [True, False])
def test_error_response_is_raised_as_the_peers_error(pki, trust, signed):
    packed = _pack(pki)
    me = pki.credential(RECEIVER, "sign")
    keys = dict(sign_key=me.key, sign_cert=me.cert) if signed else {}
    ct, body = error_response(EbmsError("EBMS:0303", "cid:x: corrupt gzip", packed.message_id), **keys)
    env = parse_xml(body)
    err = env.find(f".//{EB}SignalMessage/{EB}Error")
    assert {k: err.get(k) for k in ("errorCode", "severity", "category", "shortDescription", "origin",
                                     "refToMessageInError")} == {
        "errorCode": "EBMS:0303", "severity": "failure", "category": "Communication",
        "shortDescription": "DecompressionFailure", "origin": "ebMS", "refToMessageInError": packed.message_id}
    assert env.findtext(f".//{EB}SignalMessage/{EB}MessageInfo/{EB}RefToMessageId") == packed.message_id
    assert env.find(f"{S12}Body/{S12}Fault/{S12}Reason/{S12}Text").text == "EBMS:0303 DecompressionFailure"
    assert (env.find(f".//{DS}Signature") is not None) is signed
    with _raises("EBMS:0303") as info:
        check_receipt_response(ct, body, packed, trust=trust, at=REFERENCE_TIME)
    assert info.value.ref_to_message_id == packed.message_id and info.value.detail == "cid:x: corrupt gzip"
    if signed:
        assert unpack(ct, body, trust=trust, at=REFERENCE_TIME).signal.errors[0].error_code == "EBMS:0303"
    else:  # an unsigned signal is not accepted as a message
        with _raises("EBMS:0103"):
            unpack(ct, body, trust=trust, at=REFERENCE_TIME)


def test_error_response_without_message_id_and_without_fault():
    ct, body = error_response([EbmsError("EBMS:0007", "truncated"), EbmsError("EBMS:0004", "x")], soap_fault=False)
    env = parse_xml(body)
    assert [e.get("errorCode") for e in env.iter(f"{EB}Error")] == ["EBMS:0007", "EBMS:0004"]
    assert env.find(f"{S12}Body/{S12}Fault") is None and len(env.find(f"{S12}Body")) == 0
    assert env.find(f".//{EB}RefToMessageId") is None


# --- tampering and bad input ------------------------------------------------------------------------------
def _part_span(packed: Packed, cid: str) -> tuple[int, int]:
    start = packed.body.index(f"Content-ID: <{cid}>".encode())
    start = packed.body.index(b"\r\n\r\n", start) + 4
    return start, packed.body.index(b"\r\n--", start)


def _flip(data: bytes, i: int) -> bytes:
    return data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1:]


@pytest.mark.case("AS4-SIG-007")
@pytest.mark.parametrize("where", ["header", "body", "attachment", "signature", "partinfo"])
@pytest.mark.parametrize("suite", SUITES)
def test_tampering_is_detected(pki, trust, suite, where):
    packed = _pack(pki, suite)
    body = packed.body
    if where == "header":
        body = body.replace(b">e0a6a5b7-", b">e0a6a5b8-")  # ConversationId
        want = {"EBMS:0101"}
    elif where == "body":
        body = re.sub(rb"(<env:Body [^>]*)/>", rb"\1><x/></env:Body>", body)
        want = {"EBMS:0101"}
    elif where == "attachment":
        s, e = _part_span(packed, "evidence@oots.eu")
        body = _flip(body, (s + e) // 2)
        want = {"EBMS:0102"}  # the GCM tag fails before any digest is computed
    elif where == "signature":
        m = re.search(rb"<ds:SignatureValue>(.)", body)
        body = body[:m.start(1)] + (b"A" if m.group(1) != b"A" else b"B") + body[m.end(1):]
        want = {"EBMS:0101"}
    else:  # a PartInfo property, still well-formed
        body = body.replace(b">application/pdf<", b">application/pdx<", 1)
        want = {"EBMS:0101"}
    assert body != packed.body
    with pytest.raises(EbmsError) as info:
        _unpack(pki, trust, packed.content_type, body, suite=suite)
    assert info.value.code in want, str(info.value)
    assert info.value.ref_to_message_id == packed.message_id


@pytest.mark.case("AS4-SIG-007")
def test_random_byte_flips_never_crash(pki, trust):
    packed = _pack(pki)
    rnd = random.Random(11)
    codes = set()
    for _ in range(40):
        body = _flip(packed.body, rnd.randrange(len(packed.body)))
        try:
            _unpack(pki, trust, packed.content_type, body)
        except EbmsError as e:
            codes.add(e.code)
    assert codes and codes <= {"EBMS:0007", "EBMS:0009", "EBMS:0011", "EBMS:0101", "EBMS:0102", "EBMS:0103",
                               "EBMS:0303", "EBMS:0004"}


@pytest.mark.case("AS4-MIME-001")
def test_garbage_and_truncated_mime(pki, trust):
    packed = _pack(pki)
    for ct, body in [
        (packed.content_type, packed.body[: len(packed.body) // 2]),  # truncated
        (packed.content_type, packed.body[:-20]),  # close delimiter cut
        (packed.content_type, random.Random(3).randbytes(5000)),  # garbage
        (packed.content_type, b""),
        ("text/plain", packed.body),
        ('multipart/related; type="application/soap+xml"', packed.body),  # no boundary
    ]:
        with _raises("EBMS:0007") as info:
            _unpack(pki, trust, ct, body)
        assert info.value.ref_to_message_id is None


@pytest.mark.case("AS4-MIME-002")
@pytest.mark.case("AS4-MIME-004")
def test_structural_errors_carry_their_codes(pki, trust):
    packed = _pack(pki)
    swa = parse_swa(packed.content_type, packed.body)
    # root part not SOAP 1.2: MIME inconsistency
    ct, body = build_swa(swa.root, swa.attachments, start=False)
    with _raises("EBMS:0007"):
        _unpack(pki, trust, ct, body.replace(b"Content-Type: application/soap+xml; charset=UTF-8",
                                              b"Content-Type: text/xml; charset=UTF-8", 1))
    # a PartInfo without its MIME part: external payload error, the message id is known
    ct, body = build_swa(swa.root, swa.attachments[:2])
    with _raises("EBMS:0011") as info:
        _unpack(pki, trust, ct, body)
    assert info.value.ref_to_message_id == packed.message_id
    # an extra MIME part no PartInfo names
    ct, body = build_swa(swa.root, [*swa.attachments, Attachment("extra@x", "text/plain", b"hi")])
    with _raises("EBMS:0007"):
        _unpack(pki, trust, ct, body)
    # a root that is not XML, or XML without an ebMS header
    for root in (b"\x00\x01not xml", b"<env:Envelope xmlns:env='%s'><env:Header/><env:Body/></env:Envelope>"
                 % NS_S12.encode()):
        ct, body = build_swa(root, [])
        with _raises("EBMS:0009"):
            _unpack(pki, trust, ct, body)
    # a header missing a required element: InvalidHeader with the MessageId it did have
    env = parse_xml(swa.root)
    env.find(f".//{EB}ConversationId").getparent().remove(env.find(f".//{EB}ConversationId"))
    ct, body = build_swa(to_bytes(env), swa.attachments)
    with _raises("EBMS:0009") as info:
        _unpack(pki, trust, ct, body)
    assert info.value.ref_to_message_id == packed.message_id


def _bomb_message(pki, data: bytes, props=None) -> Packed:
    """A part that is already gzip (as a hostile sender would make it), signed and encrypted for real."""
    props = props or [Property("MimeType", "application/pdf"), Property("CompressionType", "application/gzip")]
    um = make_user_message(parts=[PartInfo("cid:evidence@oots.eu", props)])
    return _pack(pki, um=um, payloads=[Attachment("evidence@oots.eu", "application/gzip", data)], compress=False)


@pytest.mark.case("AS4-CMP-003")
def test_gzip_bomb_is_refused(pki, trust):
    packed = _bomb_message(pki, gzip_compress(b"\0" * (8 * 1024 * 1024)))
    assert len(packed.body) < 30_000
    limits = UnpackLimits(decompression=DecompressionLimits(max_size=1024 * 1024))
    with _raises("EBMS:0303") as info:
        _unpack(pki, trust, packed, limits=limits)
    assert info.value.ref_to_message_id == packed.message_id and "limit" in info.value.detail
    # the default ratio bound stops it too, whatever the absolute size limit
    limits = UnpackLimits(decompression=DecompressionLimits(max_ratio=100, ratio_floor=64 * 1024))
    with _raises("EBMS:0303"):
        _unpack(pki, trust, packed, limits=limits)


@pytest.mark.case("AS4-CMP-003")
def test_corrupt_gzip_and_missing_mime_type(pki, trust):
    corrupt = bytearray(gzip_compress(PDF))
    corrupt[len(corrupt) // 2] ^= 0xFF
    with _raises("EBMS:0303"):
        _unpack(pki, trust, _bomb_message(pki, bytes(corrupt)))
    # pack always writes MimeType, so the hostile header is built by hand (signed and encrypted for real)
    um = make_user_message(parts=[PartInfo("cid:evidence@oots.eu", [Property("CompressionType", "application/gzip")])])
    env = parse_xml(to_bytes(build_envelope(um)))
    parts = [Attachment("evidence@oots.eu", "application/gzip", gzip_compress(PDF))]
    cred = pki.credential(SENDER, "sign")
    wssec.sign(env, parts, cred.key, cred.cert)
    ct, body = build_swa(env, wssec.encrypt(env, parts, pki.credential(RECEIVER, "encrypt").cert))
    with _raises("EBMS:0303") as info:
        _unpack(pki, trust, ct, body)
    assert "MimeType" in info.value.detail


@pytest.mark.case("AS4-ENC-006")
@pytest.mark.parametrize("suite", SUITES)
def test_wrong_recipient_key(pki, trust, suite):
    packed = _pack(pki, suite)
    with _raises("EBMS:0102") as info:
        _unpack(pki, trust, packed, suite=suite, decrypt_key=pki.credential("intruder", "encrypt", suite).key)
    assert info.value.ref_to_message_id == packed.message_id
    with _raises("EBMS:0102"):
        _unpack(pki, trust, packed, suite=suite, decrypt_key=None)


@pytest.mark.case("AS4-SIG-009")
@pytest.mark.case("AS4-SIG-006")
@pytest.mark.parametrize("suite", SUITES)
def test_untrusted_or_unexpected_sender(pki, trust, suite):
    packed = _pack(pki, suite, sign=pki.credential(SENDER, "sign", suite, "untrusted"))
    with _raises("EBMS:0101") as info:
        _unpack(pki, trust, packed, suite=suite)
    assert "untrusted" in str(info.value) and info.value.ref_to_message_id == packed.message_id
    packed = _pack(pki, suite)
    with _raises("EBMS:0101"):
        _unpack(pki, trust, packed, suite=suite,
                expected_sender_cert=pki.credential("someone-else", "sign", "rsa").cert)


@pytest.mark.case("AS4-SIG-008")
def test_unsigned_or_unencrypted_message_is_policy_noncompliant(pki, trust):
    env = parse_xml(to_bytes(build_envelope(make_user_message(parts=[PartInfo(
        "cid:regrep@oots.eu", [Property("MimeType", OOTS.MIME_REGREP)])]))))
    ct, body = build_swa(env, [Attachment("regrep@oots.eu", OOTS.MIME_REGREP, XML_PAYLOAD)])
    with _raises("EBMS:0103"):  # plaintext part
        _unpack(pki, trust, ct, body)
    with _raises("EBMS:0103"):  # accepted plaintext, but not signed
        _unpack(pki, trust, ct, body, require_encryption=False)


def test_parse_reads_the_header_without_security(pki):
    packed = _pack(pki)
    parsed = parse(packed.content_type, packed.body)
    assert parsed.message_id == packed.message_id and parsed.message.action == OOTS.ACTION_REQUEST
    assert [a.content_type for a in parsed.attachments] == ["application/octet-stream"] * 3
