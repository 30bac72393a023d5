"""``oots-harness as4 inspect``: a raw AS4 message file in, header / parts / signature / findings out."""
from __future__ import annotations

import json
import re

import pytest

from simulators.as4.inspect import read_capture
from simulators.as4.message import pack
from simulators.as4.model import OOTS, Property
from simulators.as4.parts import Attachment
from simulators.cli import main
from simulators.pki import cert_pem, key_pem
from tests.as4.test_model import make_user_message

SENDER, RECEIVER = "de-ap", "fr-node"
REQUEST = "edm-v2.0-oots-france/xml/reference/messages/requete.xml"
# the header values that agree with the reference v2.0 request (ER agent -> EvidenceProvider)
PROPERTIES = [
    Property(OOTS.ORIGINAL_SENDER, "00000000000002", "urn:cef.eu:names:identifier:EAS:0009"),
    Property(OOTS.FINAL_RECIPIENT, "DE73524311", "urn:cef.eu:names:identifier:EAS:9930"),
    Property(OOTS.EXCHANGE_ID, "1a2b3c4d-0000-4000-8000-000000000002"),
    Property(OOTS.SPECIFICATION_ID, OOTS.SPECIFICATION_ID_V2),
]


def _packed(pki, corpus, *, properties=PROPERTIES, sign=None, suite="rsa"):
    sign = sign or pki.credential(SENDER, "sign", suite)
    um = make_user_message(parts=[], properties=properties)
    return pack(um, [Attachment("regrep@oots.eu", OOTS.MIME_REGREP, corpus(REQUEST))], sign_key=sign.key,
                sign_cert=sign.cert, recipient_cert=pki.credential(RECEIVER, "encrypt", suite).cert, suite=suite)


def _write(tmp_path, packed, *, header=True, body=None, name="msg.bin"):
    path = tmp_path / name
    body = packed.body if body is None else body
    path.write_bytes((b"Content-Type: " + packed.content_type.encode() + b"\r\n\r\n" if header else b"") + body)
    return path


@pytest.fixture
def files(tmp_path, pki):
    key = tmp_path / "fr-node.key.pem"
    key.write_bytes(key_pem(pki.credential(RECEIVER, "encrypt").key))
    anchors = tmp_path / "anchors"
    anchors.mkdir()
    (anchors / "root.pem").write_bytes(cert_pem(pki.root.cert))
    (anchors / "README.txt").write_text("not a certificate")
    return {"key": str(key), "trust": str(anchors), "root": str(anchors / "root.pem")}


def _run(capsys, *argv):
    code = main(["as4", "inspect", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


# --- reading and showing -------------------------------------------------------------------------------
@pytest.mark.case("AS4-HDR-003")
@pytest.mark.parametrize("style", ["first-line", "argument"])
def test_shows_header_and_parts(tmp_path, pki, corpus, capsys, style):
    packed = _packed(pki, corpus)
    if style == "first-line":
        code, out, err = _run(capsys, _write(tmp_path, packed))
    else:
        code, out, err = _run(capsys, _write(tmp_path, packed, header=False), "--content-type", packed.content_type)
    assert code == 0, out + err
    for text in (packed.message_id, "From            AP_DE_01", "To              AP_FR_01", "QueryManager",
                 "ExecuteQueryRequest", "e0a6a5b7-6b2e-4b9c-9a63-8f0c6d3a1b24", "originalSender = 00000000000002",
                 "SpecificationId = oots-edm:v2.0", "ExchangeId", "cid:regrep@oots.eu",
                 "MimeType application/x-ebrs+xml; encrypted (aes128-gcm), compressed (application/gzip)",
                 "rsa-sha256", "CN=de-ap_rsa_sign"):
        assert text in out, text
    assert "signer NOT checked against any trust anchor" in out
    assert "attachment digest(s) NOT checked (parts encrypted: give --key)" in out
    assert "Result: VALID" in out and not err


def test_content_type_is_inferred_when_absent(tmp_path, pki, corpus, capsys):
    packed = _packed(pki, corpus)
    code, out, _ = _run(capsys, _write(tmp_path, packed, header=False))
    assert code == 0 and "Content-Type inferred from the body" in out


def test_http_request_head_is_accepted(tmp_path, pki, corpus):
    packed = _packed(pki, corpus)
    path = tmp_path / "capture.http"
    path.write_bytes(b"POST /domibus/services/msh HTTP/1.1\r\nHost: fr\r\nContent-Type: "
                     + packed.content_type.encode() + b"\r\nContent-Length: 9\r\n\r\n" + packed.body)
    cap = read_capture(path)
    assert cap.content_type == packed.content_type and cap.body == packed.body
    assert cap.content_type_source == "file header"


# --- decrypting and validating ---------------------------------------------------------------------------
@pytest.mark.case("AS4-SIG-005")
@pytest.mark.case("EDM-COR-002")
def test_decrypts_verifies_and_validates_the_v2_request(tmp_path, pki, corpus, capsys, files):
    packed = _packed(pki, corpus)
    code, out, err = _run(capsys, _write(tmp_path, packed), "--key", files["key"], "--trust", files["trust"])
    assert code == 0, out + err
    assert "signature valid, signer trusted by the anchors of" in out
    assert "decryption ok" in out
    assert re.search(r"payload [\d,]+ B", out)  # decompressed size shown
    assert "cid:regrep@oots.eu  [request v2.0] conformant" in out
    assert "cid:regrep@oots.eu ~ eb:Messaging  [request~ebms-header v2.0] conformant" in out
    assert "ebMS header  [ebms-header v2.0] conformant" in out


@pytest.mark.case("EDM-COR-003")
def test_payload_and_header_disagreeing_is_invalid(tmp_path, pki, corpus, capsys, files):
    props = [Property(OOTS.ORIGINAL_SENDER, "99999999999999", "urn:cef.eu:names:identifier:EAS:0009"),
             *PROPERTIES[1:]]
    packed = _packed(pki, corpus, properties=props)
    code, out, _ = _run(capsys, _write(tmp_path, packed), "--key", files["key"])
    assert code == 2
    assert "FATAL   EDM-COR-003 [pair]" in out and "originalSender is not the payload's" in out
    assert "Result: INVALID" in out


def test_json_format(tmp_path, pki, corpus, capsys, files):
    packed = _packed(pki, corpus)
    code, out, _ = _run(capsys, _write(tmp_path, packed), "--key", files["key"], "--trust", files["root"],
                        "--format", "json")
    assert code == 0
    rep = json.loads(out)
    assert rep["verdict"] == "valid" and rep["problems"] == []
    assert rep["message"]["action"] == OOTS.ACTION_REQUEST
    assert rep["message"]["from"] == {"party_id": "AP_DE_01", "type": OOTS.PARTY_TYPE, "role": OOTS.ROLE,
                                      "extra_ids": []}
    part = rep["parts"][0]
    assert part["cid"] == "regrep@oots.eu" and part["encrypted"] and part["compression"] == "application/gzip"
    assert part["size"] == len(corpus(REQUEST)) and part["content_type"] == OOTS.MIME_REGREP
    assert rep["security"]["signature"].startswith("signature valid, signer trusted")
    assert [v["name"] for v in rep["validation"]] == ["ebMS header", "cid:regrep@oots.eu",
                                                      "cid:regrep@oots.eu ~ eb:Messaging"]


# --- invalid and unreadable ------------------------------------------------------------------------------
@pytest.mark.case("AS4-SIG-007")
def test_tampered_header_exits_2(tmp_path, pki, corpus, capsys, files):
    packed = _packed(pki, corpus)
    body = packed.body.replace(b">e0a6a5b7-", b">e0a6a5b8-")
    for extra in ((), ("--key", files["key"])):
        code, out, _ = _run(capsys, _write(tmp_path, packed, body=body), *extra)
        assert code == 2 and "digest-mismatch" in out and "Result: INVALID" in out


@pytest.mark.case("AS4-ENC-006")
def test_tampered_attachment_exits_2_once_decrypted(tmp_path, pki, corpus, capsys, files):
    packed = _packed(pki, corpus)
    i = packed.body.index(b"\r\n\r\n", packed.body.index(b"Content-ID: <regrep@oots.eu>")) + 40
    body = packed.body[:i] + bytes([packed.body[i] ^ 1]) + packed.body[i + 1:]
    code, out, _ = _run(capsys, _write(tmp_path, packed, body=body))
    assert code == 0  # without the key an encrypted part cannot be checked: said, not hidden
    assert "NOT checked" in out
    code, out, _ = _run(capsys, _write(tmp_path, packed, body=body), "--key", files["key"])
    assert code == 2 and "decryption failed: EBMS:0102" in out


@pytest.mark.case("AS4-SIG-009")
def test_untrusted_signer_exits_2_with_anchors_only(tmp_path, pki, corpus, capsys, files):
    packed = _packed(pki, corpus, sign=pki.credential(SENDER, "sign", variant="untrusted"))
    path = _write(tmp_path, packed)
    code, out, _ = _run(capsys, path)
    assert code == 0 and "signer NOT checked against any trust anchor" in out
    code, out, _ = _run(capsys, path, "--trust", files["root"], "--key", files["key"])
    assert code == 2 and "untrusted" in out


def test_wrong_key_exits_2(tmp_path, pki, corpus, capsys):
    packed = _packed(pki, corpus)
    key = tmp_path / "intruder.pem"
    key.write_bytes(key_pem(pki.credential("intruder", "encrypt").key))
    code, out, _ = _run(capsys, _write(tmp_path, packed), "--key", key)
    assert code == 2 and "EBMS:0102" in out


@pytest.mark.parametrize("content", [
    b"just some text, not a MIME message",
    b"Content-Type: multipart/related; boundary=abc\r\n\r\nno delimiter in here",
    b"Content-Type: text/plain\r\n\r\nhello",
    b"\x00\x01\x02" * 100,
    b"",
])
def test_unreadable_input_exits_1_without_traceback(tmp_path, capsys, content):
    path = tmp_path / "bad.bin"
    path.write_bytes(content)
    code, out, err = _run(capsys, path)
    assert code == 1 and "Traceback" not in out + err and err.startswith("oots-harness as4 inspect:")


def test_missing_file_and_bad_options_exit_1(tmp_path, pki, corpus, capsys):
    code, _, err = _run(capsys, tmp_path / "nope.bin")
    assert code == 1 and "cannot read" in err
    path = _write(tmp_path, _packed(pki, corpus))
    for opt, value in (("--trust", tmp_path / "nope.pem"), ("--key", tmp_path / "nope.pem"),
                       ("--trust", path), ("--key", path)):
        code, _, err = _run(capsys, path, opt, value)
        assert code == 1 and "Traceback" not in err, (opt, err)
