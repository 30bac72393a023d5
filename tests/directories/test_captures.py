"""Our strict verifier and parser against the real acceptance captures (CS-004..009, CS-029/030)."""
from __future__ import annotations

import base64

import pytest
from cryptography import x509

from conformance.rules.cs_signature import parse_headers
from simulators.directories.client import CsSignatureError, parse_answer, verify_answer

REF = "common-services.md §2; tdd/edm-v2.0-oots-france/xml/common_services"


def _pinned_root(headers: dict) -> x509.Certificate:
    """The Commission acceptance root the capture chains to (the x5c's last certificate, pinned)."""
    import json

    from conformance.rules.cs_signature import b64url_decode
    protected = json.loads(b64url_decode(headers["oots-response-sig"].split(".")[0]))
    return x509.load_der_x509_certificate(base64.b64decode(protected["x5c"][-1]))


def _flip(s: str, i: int) -> str:
    c = s[i]
    return s[:i] + ("B" if c != "B" else "C") + s[i + 1:]


@pytest.mark.case("CS-004", ref=REF)
@pytest.mark.case("CS-005", ref=REF)
@pytest.mark.case("CS-029", ref=REF)
@pytest.mark.case("CS-030", ref=REF)
def test_real_captures_verify_and_parse(captures):
    for name, body, raw in captures:
        headers = parse_headers(raw)
        report = verify_answer(body, headers, [_pinned_root(headers)])
        assert report.trusted and report.alg == "ES256", name
        ans = parse_answer(body)
        assert ans.specification == "oots-cs:v2.0", name
        if ans.ok:
            assert ans.requirements or ans.data_services, name
        else:
            assert ans.code in ("EB:ERR:0001", "DSD:ERR:0001"), name
    fi = parse_answer(next(b for n, b, _ in captures if n == "dsd_data_services_fi"))
    acc = fi.data_services[0].access_services[0]
    assert (acc.identifier.value, acc.identifier.scheme_id) == (
        "AP_FI_03", "urn:oasis:names:tc:ebcore:partyid-type:unregistered:FI")
    assert acc.conforms_to == ["oots-edm:v2.0"] and acc.publisher.identifier.value == "FIKEHA02"


@pytest.mark.case("CS-004", ref=REF)
@pytest.mark.case("CS-005", ref=REF)
@pytest.mark.case("CS-006", ref=REF)
def test_real_captures_rejected_after_one_byte_change(captures, pki):
    for name, body, raw in captures:
        headers = parse_headers(raw)
        roots = [_pinned_root(headers)]
        # body: one byte in the middle
        i = len(body) // 2
        bad_body = body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1:]
        with pytest.raises(CsSignatureError) as e:
            verify_answer(bad_body, headers, roots)
        assert "CS-004" in e.value.ids, name
        # digest header: one character of the base64 value
        d = headers["digest"]
        with pytest.raises(CsSignatureError) as e:
            verify_answer(body, {**headers, "digest": _flip(d, len("SHA-256=") + 5)}, roots)
        assert "CS-004" in e.value.ids and "CS-005" in e.value.ids, name
        # signature: one character of the signature part
        prot, _, sig = headers["oots-response-sig"].split(".")
        with pytest.raises(CsSignatureError) as e:
            verify_answer(body, {**headers, "oots-response-sig": f"{prot}..{_flip(sig, 20)}"}, roots)
        assert e.value.ids == ("CS-005",), name
        assert "does not verify" in str(e.value)
        # an untouched answer with another trust anchor
        with pytest.raises(CsSignatureError) as e:
            verify_answer(body, headers, [pki.root.cert])
        assert e.value.ids == ("CS-006",), name
