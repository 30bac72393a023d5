"""SwA MIME packaging: build/parse round trips, tolerated variants, hard limits and bad input."""
from __future__ import annotations

import base64
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulators.as4.errors import ErrorKind
from simulators.as4.mime import (
    MimeError, MimeLimits, build_swa, check_payload_references, normalize_content_id, parse_content_type,
    parse_swa,
)
from simulators.as4.parts import Attachment

ENVELOPE = (b'<?xml version="1.0" encoding="UTF-8"?>'
            b'<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Header/>'
            b'<env:Body/></env:Envelope>')
PDF = b"%PDF-1.7\r\n" + os.urandom(100 * 1024) + b"\r\n--\r\n%%EOF\r\n"
REGREP = b'<?xml version="1.0" encoding="UTF-8"?><query:QueryRequest xmlns:query="urn:q"/>'


def attachments() -> list[Attachment]:
    return [
        Attachment("regrep@oots.eu", "application/x-ebrs+xml", REGREP),
        Attachment("1a2b-3c4d@pdf.oots.fr", "application/pdf", PDF,
                   {"content-description": "Evidence", "content-disposition": "attachment"}),
    ]


def raw_multipart(parts: list[tuple[list[str], bytes]], boundary: str = "BOUND", nl: bytes = b"\r\n",
                  close: bool = True, preamble: bytes = b"") -> bytes:
    """Hand-written multipart body, to feed the parser what other stacks send."""
    out = preamble
    for headers, data in parts:
        head = b"".join(h.encode() + nl for h in headers)
        out += b"--" + boundary.encode() + nl + head + nl + data + nl
    return out + (b"--" + boundary.encode() + b"--" + nl if close else b"")


CT = 'multipart/related; type="application/soap+xml"; boundary="BOUND"'
ROOT_HEADERS = ["Content-Type: application/soap+xml; charset=UTF-8", "Content-Transfer-Encoding: binary"]


def kind_of(excinfo) -> ErrorKind:
    return excinfo.value.kind


# --- building and round trips ------------------------------------------------------------------------------


@pytest.mark.case("AS4-MIME-001", ref="E115; phase4 AS4SoapMimeMultipart")
def test_built_content_type_header():
    ctype, body = build_swa(ENVELOPE, attachments())
    media, params = parse_content_type(ctype)
    assert media == "multipart/related"
    assert params["type"] == "application/soap+xml"
    assert params["boundary"] and body.startswith(b"--" + params["boundary"].encode() + b"\r\n")
    assert params["start"].startswith("<") and params["start-info"] == "application/soap+xml"
    assert body.endswith(b"--" + params["boundary"].encode() + b"--\r\n")
    assert b"Content-Transfer-Encoding: binary\r\n" in body
    assert b"Content-ID: <regrep@oots.eu>\r\n" in body
    assert b"Content-Description: Evidence\r\n" in body


@pytest.mark.case("AS4-MIME-006", ref="RFC 2387; CXF vs phase4")
@pytest.mark.parametrize("start", [True, False])
def test_round_trip_with_and_without_start(start):
    ctype, body = build_swa(ENVELOPE, attachments(), start=start)
    assert ("start=" in ctype) is start
    msg = parse_swa(ctype, body)
    assert msg.root == ENVELOPE
    assert msg.root_content_type.startswith("application/soap+xml")
    assert (msg.root_content_id is not None) is start
    assert [(a.content_id, a.content_type, a.data) for a in msg.attachments] == \
        [(a.content_id, a.content_type, a.data) for a in attachments()]
    assert msg.attachments[1].headers == {"content-description": "Evidence", "content-disposition": "attachment"}
    assert msg.attachment("regrep@oots.eu").data == REGREP and msg.attachment("nope") is None


def test_build_accepts_an_element_and_no_attachments():
    from lxml import etree

    ctype, body = build_swa(etree.fromstring(ENVELOPE), start=False)
    msg = parse_swa(ctype, body)
    assert etree.fromstring(msg.root).tag.endswith("Envelope") and msg.attachments == []


def test_root_is_the_start_part_even_when_not_first():
    body = raw_multipart([
        (["Content-Type: application/pdf", "Content-ID: <p@x>"], PDF),
        (ROOT_HEADERS + ["Content-ID: <root@x>"], ENVELOPE),
    ])
    msg = parse_swa(CT + '; start="<root@x>"', body)
    assert msg.root == ENVELOPE and msg.root_content_id == "root@x"
    assert [a.content_id for a in msg.attachments] == ["p@x"]


@pytest.mark.case("AS4-MIME-004")
@pytest.mark.parametrize("cid", ["<p@oots.eu>", "p@oots.eu", " < p@oots.eu > "])
def test_content_id_with_or_without_brackets(cid):
    body = raw_multipart([(ROOT_HEADERS, ENVELOPE), ([f"Content-ID: {cid}", "Content-Type: text/xml"], REGREP)])
    msg = parse_swa(CT, body)
    assert msg.attachments[0].content_id == "p@oots.eu"
    assert normalize_content_id("<cid:p@oots.eu>") == "p@oots.eu"


def test_start_parameter_without_brackets_and_header_case():
    body = raw_multipart([(["content-type: application/pdf", "CONTENT-ID: <p@x>"], PDF),
                          (ROOT_HEADERS + ["Content-Id: root@x"], ENVELOPE)])
    msg = parse_swa('Multipart/Related; BOUNDARY=BOUND; start=root@x; type="application/soap+xml"', body)
    assert msg.root == ENVELOPE and msg.attachments[0].content_type == "application/pdf"


@pytest.mark.case("AS4-MIME-002", ref="E115 §2.2.2")
def test_root_bom_is_removed():
    body = raw_multipart([(ROOT_HEADERS, b"\xef\xbb\xbf" + ENVELOPE)])
    assert parse_swa(CT, body).root == ENVELOPE


def test_base64_and_quoted_printable_parts_are_decoded():
    b64 = base64.encodebytes(PDF)  # 76-column lines
    body = raw_multipart([
        (ROOT_HEADERS, ENVELOPE),
        (["Content-Type: application/pdf", "Content-Transfer-Encoding: BASE64", "Content-ID: <a>"], b64),
        (["Content-Type: text/plain", "Content-Transfer-Encoding: quoted-printable", "Content-ID: <b>"],
         b"caf=C3=A9 =\r\nau lait"),
    ])
    msg = parse_swa(CT, body)
    assert msg.attachment("a").data == PDF
    assert msg.attachment("b").data == "café au lait".encode()


def test_bare_lf_preamble_padding_epilogue_and_folded_headers():
    body = raw_multipart(
        [(["Content-Type: application/soap+xml;", "\tcharset=UTF-8"], ENVELOPE),
         (["Content-Type: application/pdf", "Content-ID: <p>"], PDF)],
        nl=b"\n", preamble=b"This is a MIME preamble.\n",
    ).replace(b"--BOUND\n", b"--BOUND  \t\n", 1) + b"epilogue, ignored\n"
    msg = parse_swa(CT, body)
    assert msg.root == ENVELOPE and msg.root_content_type == "application/soap+xml; charset=UTF-8"
    assert msg.attachment("p").data == PDF


def test_part_without_headers_and_duplicate_header_lines():
    body = raw_multipart([([], ENVELOPE),
                          (["Content-Type: a/b", "Content-Type: c/d", " folded-dup", "Content-ID: <p>"], b"")])
    msg = parse_swa(CT, body)
    assert msg.root == ENVELOPE and msg.root_content_type == ""
    assert msg.attachments[0].content_type == "a/b" and msg.attachments[0].data == b""


def test_plain_soap_body_without_attachments():
    msg = parse_swa("application/soap+xml; charset=UTF-8", b"\xef\xbb\xbf" + ENVELOPE)
    assert msg.root == ENVELOPE and msg.attachments == []


def test_boundary_is_redrawn_if_it_occurs_in_a_part(monkeypatch):
    import uuid

    hexes = iter(["a" * 32, "b" * 32])

    class FakeUUID:
        def __init__(self):
            self.hex = next(hexes)

    trap = Attachment("t", "application/octet-stream", b"\r\n--MIMEBoundary_" + b"a" * 32 + b"\r\n")
    with monkeypatch.context() as m:
        m.setattr(uuid, "uuid4", FakeUUID)
        ctype, body = build_swa(ENVELOPE, [trap], start=False)
    assert "b" * 32 in ctype
    assert parse_swa(ctype, body).attachments[0].data == trap.data
    with pytest.raises(ValueError):
        build_swa(ENVELOPE, [trap], boundary="MIMEBoundary_" + "a" * 32)


def test_build_rejects_duplicate_or_empty_content_ids():
    a = Attachment("x", "a/b", b"1")
    with pytest.raises(ValueError):
        build_swa(ENVELOPE, [a, Attachment("x", "a/b", b"2")])
    with pytest.raises(ValueError):
        build_swa(ENVELOPE, [Attachment("", "a/b", b"2")])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=300).map(lambda b: b.replace(b"MIMEBoundary", b"x")), max_size=5),
       st.booleans())
def test_round_trip_arbitrary_binary_parts(datas, start):
    # CR, LF, "--" and NULs at part edges must survive
    atts = [Attachment(f"p{i}@oots.eu", "application/octet-stream", b"\r\n--" + d + b"\r\n") for i, d in
            enumerate(datas)]
    ctype, body = build_swa(ENVELOPE, atts, start=start)
    msg = parse_swa(ctype, body)
    assert msg.root == ENVELOPE
    assert [a.data for a in msg.attachments] == [a.data for a in atts]


def test_parse_content_type_quoting():
    media, params = parse_content_type('Multipart/Related ; boundary="a;b\\"c" ; type=text/xml; junk; x=1')
    assert media == "multipart/related"
    assert params == {"boundary": 'a;b"c', "type": "text/xml", "x": "1"}


# --- bad input --------------------------------------------------------------------------------------------

GOOD = raw_multipart([(ROOT_HEADERS, ENVELOPE), (["Content-Type: application/pdf", "Content-ID: <p>"], PDF)])


@pytest.mark.case("AS4-MIME-001")
@pytest.mark.parametrize("ctype,kind", [
    ("text/plain", ErrorKind.MIME_NOT_MULTIPART),
    ("multipart/mixed; boundary=BOUND", ErrorKind.MIME_NOT_MULTIPART),
    ('multipart/related; type="application/soap+xml"', ErrorKind.MIME_NO_BOUNDARY),
    ('multipart/related; boundary=""', ErrorKind.MIME_NO_BOUNDARY),
    ("multipart/related; boundary=" + "x" * 201, ErrorKind.MIME_NO_BOUNDARY),
])
def test_bad_content_type(ctype, kind):
    with pytest.raises(MimeError) as ei:
        parse_swa(ctype, GOOD)
    assert kind_of(ei) is kind and ei.value.code == "EBMS:0007"


@pytest.mark.parametrize("cut", [len(GOOD) - 5, len(GOOD) // 2, 20, 7])
def test_truncated_body(cut):
    with pytest.raises(MimeError) as ei:
        parse_swa(CT, GOOD[:cut])
    assert kind_of(ei) is ErrorKind.MIME_TRUNCATED and ei.value.code == "EBMS:0007"


def test_wrong_boundary_or_garbage_after_delimiter():
    with pytest.raises(MimeError) as ei:
        parse_swa(CT.replace("BOUND", "OTHER"), GOOD)
    assert kind_of(ei) is ErrorKind.MIME_TRUNCATED
    with pytest.raises(MimeError) as ei:
        parse_swa(CT.replace("BOUND", "BOU"), GOOD)  # a prefix of the real boundary
    assert kind_of(ei) is ErrorKind.MIME_MALFORMED


@pytest.mark.case("AS4-MIME-002")
def test_missing_root():
    with pytest.raises(MimeError) as ei:
        parse_swa(CT + '; start="<nowhere@x>"', GOOD)
    assert kind_of(ei) is ErrorKind.MIME_MISSING_ROOT and ei.value.code == "EBMS:0007"
    with pytest.raises(MimeError) as ei:
        parse_swa(CT, b"--BOUND--\r\n")
    assert kind_of(ei) is ErrorKind.MIME_MISSING_ROOT


@pytest.mark.case("AS4-MIME-004")
def test_duplicate_content_id():
    body = raw_multipart([(ROOT_HEADERS, ENVELOPE), (["Content-ID: <p>"], b"1"), (["Content-ID: p"], b"2")])
    with pytest.raises(MimeError) as ei:
        parse_swa(CT, body)
    assert kind_of(ei) is ErrorKind.MIME_DUPLICATE_CONTENT_ID and ei.value.code == "EBMS:0007"
    assert "<p>" in str(ei.value)


def test_attachment_without_content_id():
    body = raw_multipart([(ROOT_HEADERS, ENVELOPE), (["Content-Type: application/pdf"], PDF)])
    with pytest.raises(MimeError) as ei:
        parse_swa(CT, body)
    assert kind_of(ei) is ErrorKind.MIME_MISSING_CONTENT_ID


@pytest.mark.parametrize("headers", [["no colon here"], [" continuation first"], ["Bad Name: x"]])
def test_malformed_part_headers(headers):
    body = raw_multipart([(ROOT_HEADERS, ENVELOPE), (headers, b"x")])
    with pytest.raises(MimeError) as ei:
        parse_swa(CT, body)
    assert kind_of(ei) is ErrorKind.MIME_MALFORMED


def test_headers_without_blank_line_and_empty_part():
    with pytest.raises(MimeError) as ei:
        parse_swa(CT, b"--BOUND\r\nContent-Type: a/b\r\n--BOUND--\r\n")
    assert kind_of(ei) is ErrorKind.MIME_MALFORMED
    with pytest.raises(MimeError) as ei:
        parse_swa(CT, b"--BOUND\r\n--BOUND--\r\n")
    assert kind_of(ei) is ErrorKind.MIME_MALFORMED


@pytest.mark.parametrize("cte,data", [("base64", b"not*base64!"), ("base64", b"QUJ"), ("x-uuencode", b"x")])
def test_bad_transfer_encoding(cte, data):
    body = raw_multipart([(ROOT_HEADERS, ENVELOPE),
                          (["Content-ID: <p>", f"Content-Transfer-Encoding: {cte}"], data)])
    with pytest.raises(MimeError) as ei:
        parse_swa(CT, body)
    assert kind_of(ei) is ErrorKind.MIME_BAD_TRANSFER_ENCODING and ei.value.code == "EBMS:0007"


def test_oversize_body_is_refused_before_parsing():
    with pytest.raises(MimeError) as ei:
        parse_swa(CT, GOOD, MimeLimits(max_total_size=len(GOOD) - 1))
    assert kind_of(ei) is ErrorKind.MIME_TOO_LARGE and ei.value.code == "EBMS:0004"
    assert parse_swa(CT, GOOD, MimeLimits(max_total_size=len(GOOD))).root == ENVELOPE


def test_too_many_parts():
    parts = [(ROOT_HEADERS, ENVELOPE)] + [([f"Content-ID: <p{i}>"], b"x") for i in range(10)]
    body = raw_multipart(parts)
    with pytest.raises(MimeError) as ei:
        parse_swa(CT, body, MimeLimits(max_parts=10))
    assert kind_of(ei) is ErrorKind.MIME_TOO_MANY_PARTS and ei.value.code == "EBMS:0004"
    assert len(parse_swa(CT, body, MimeLimits(max_parts=11)).attachments) == 10


def test_header_too_large():
    huge = ["Content-ID: <p>", "X-Padding: " + "a" * 5000]
    body = raw_multipart([(ROOT_HEADERS, ENVELOPE), (huge, b"x")])
    with pytest.raises(MimeError) as ei:
        parse_swa(CT, body, MimeLimits(max_header_size=4096))
    assert kind_of(ei) is ErrorKind.MIME_HEADER_TOO_LARGE and ei.value.code == "EBMS:0004"
    # the same limit also applies when no header terminator is found at all
    with pytest.raises(MimeError) as ei:
        parse_swa(CT, b"--BOUND\r\nX-A: " + b"a" * 5000 + b"\r\n--BOUND--\r\n", MimeLimits(max_header_size=4096))
    assert kind_of(ei) is ErrorKind.MIME_HEADER_TOO_LARGE
    with pytest.raises(MimeError) as ei:
        parse_swa(CT + "; x=" + "y" * 5000, GOOD, MimeLimits(max_header_size=4096))
    assert kind_of(ei) is ErrorKind.MIME_HEADER_TOO_LARGE


# --- PartInfo <-> MIME part consistency ------------------------------------------------------------------------


@pytest.mark.case("AS4-MIME-004", ref="ebMS3; HAP 0011/0007")
def test_payload_references_match():
    atts = attachments()
    got = check_payload_references(["cid:1a2b-3c4d@pdf.oots.fr", "cid:regrep@oots.eu"], atts)
    assert got["cid:regrep@oots.eu"] is atts[0]


@pytest.mark.case("AS4-MIME-004", ref="ebMS3; HAP 0011/0007")
def test_payload_reference_without_part_and_orphan_part():
    with pytest.raises(MimeError) as ei:
        check_payload_references(["cid:regrep@oots.eu", "cid:missing@oots.eu"], attachments())
    assert kind_of(ei) is ErrorKind.PAYLOAD_MISSING_PART and ei.value.code == "EBMS:0011"
    with pytest.raises(MimeError) as ei:
        check_payload_references(["cid:regrep@oots.eu"], attachments())
    assert kind_of(ei) is ErrorKind.PAYLOAD_ORPHAN_PART and ei.value.code == "EBMS:0007"
    assert "1a2b-3c4d@pdf.oots.fr" in ei.value.detail


@pytest.mark.case("AS4-MIME-005", ref="E115 (no external payloads)")
@pytest.mark.parametrize("href", ["http://example.org/evidence.pdf", None, "regrep@oots.eu"])
def test_external_or_body_payload_reference(href):
    with pytest.raises(MimeError) as ei:
        check_payload_references([href], attachments()[:1])
    assert kind_of(ei) is ErrorKind.PAYLOAD_NOT_CID and ei.value.code == "EBMS:0011"


# --- speed (benchmarks, not timed assertions) --------------------------------------------------------------


def test_benchmark_pack_100k_pdf(benchmark):
    atts = attachments()
    ctype, body = benchmark.pedantic(build_swa, args=(ENVELOPE, atts), rounds=200, iterations=5)
    assert len(body) > len(PDF)


def test_benchmark_unpack_100k_pdf(benchmark):
    ctype, body = build_swa(ENVELOPE, attachments())
    msg = benchmark.pedantic(parse_swa, args=(ctype, body), rounds=200, iterations=5)
    assert msg.attachments[1].data == PDF
