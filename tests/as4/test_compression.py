"""AS4 GZIP compression of payload parts, and bounded decompression."""
from __future__ import annotations

import gzip
import os
import tracemalloc

import pytest

from simulators.as4.compression import (
    CompressionError, DecompressionLimits, compress_part, decompress_part, gzip_compress, gzip_decompress,
    is_compressed,
)
from simulators.as4.errors import ErrorKind
from simulators.as4.mime import build_swa, parse_swa
from simulators.as4.model import GZIP, OOTS, PartInfo, Property
from simulators.as4.parts import Attachment

XML = (b'<?xml version="1.0" encoding="UTF-8"?><query:QueryResponse xmlns:query="urn:q">'
       + b"<rim:Slot name='x'>evidence</rim:Slot>" * 500 + b"</query:QueryResponse>")
MB = 1024 * 1024


def regrep() -> tuple[Attachment, PartInfo]:
    return (Attachment("regrep@oots.eu", "application/x-ebrs+xml", XML),
            PartInfo("cid:regrep@oots.eu", [Property("MimeType", OOTS.MIME_REGREP)]))


@pytest.mark.case("AS4-CMP-001", ref="E115 §3.1")
def test_compress_sets_part_properties_and_round_trips():
    att, part = regrep()
    c_att, c_part = compress_part(att, part)
    assert c_att.content_type == GZIP and c_att.content_id == att.content_id
    assert c_att.data[:2] == b"\x1f\x8b" and len(c_att.data) < len(XML) // 10
    assert c_part.get("CompressionType") == GZIP
    assert c_part.mime_type == OOTS.MIME_REGREP
    assert is_compressed(c_part) and not is_compressed(part)
    assert part.get("CompressionType") is None and att.data == XML  # inputs untouched
    d_att, d_part = decompress_part(c_att, c_part)
    assert d_att.data == XML and d_att.content_type == OOTS.MIME_REGREP
    assert d_part.get("CompressionType") is None  # stripped before delivery
    assert d_part.mime_type == OOTS.MIME_REGREP


@pytest.mark.case("AS4-CMP-004", ref="E115 §3.1 (CharacterSet recommended for XML)", tier="non-strict")
def test_character_set_for_xml_only():
    _, c_part = compress_part(*regrep())
    assert c_part.get("CharacterSet") == "UTF-8"
    pdf = Attachment("p@oots.eu", "application/pdf", os.urandom(2000))
    _, p_part = compress_part(pdf, PartInfo("cid:p@oots.eu"))
    assert p_part.mime_type == "application/pdf" and p_part.get("CharacterSet") is None
    latin = Attachment("t@oots.eu", 'text/plain; charset="ISO-8859-1"', "é".encode("latin-1"))
    _, t_part = compress_part(latin, PartInfo("cid:t@oots.eu"))
    assert t_part.mime_type == "text/plain" and t_part.get("CharacterSet") == "ISO-8859-1"
    _, e_part = compress_part(*regrep(), charset="utf-16")
    assert e_part.get("CharacterSet") == "utf-16"


def test_compression_is_deterministic_and_standard():
    assert gzip_compress(XML) == gzip_compress(XML)  # mtime=0: stable signature digests
    assert gzip.decompress(gzip_compress(XML)) == XML
    assert gzip_decompress(gzip.compress(XML)) == XML


def test_compressing_twice_is_refused():
    c_att, c_part = compress_part(*regrep())
    with pytest.raises(ValueError):
        compress_part(c_att, c_part)


@pytest.mark.case("AS4-CMP-002", ref="E115 §3.1")
def test_uncompressed_part_passes_through():
    att, part = regrep()
    assert decompress_part(att, part) == (att, part)


@pytest.mark.case("AS4-CMP-003", ref="E115; HAP CompressionService")
@pytest.mark.parametrize("data", [
    b"not gzip at all",
    gzip_compress(XML)[:-10],  # truncated
    gzip_compress(XML)[:10] + b"\x00" * 20 + gzip_compress(XML)[30:],  # corrupt deflate data
    gzip_compress(XML) + b"trailing garbage",
    b"",
])
def test_corrupt_gzip_is_a_decompression_failure(data):
    att, part = regrep()
    c_att, c_part = compress_part(att, part)
    c_att.data = data
    with pytest.raises(CompressionError) as ei:
        decompress_part(c_att, c_part)
    assert ei.value.kind is ErrorKind.COMPRESSION_CORRUPT
    assert ei.value.code == "EBMS:0303" and ei.value.short_description == "DecompressionFailure"
    assert "cid:regrep@oots.eu" in str(ei.value)


@pytest.mark.case("AS4-CMP-001", ref="HAP CompressionService: no MimeType -> EBMS:0303")
def test_compressed_part_without_mime_type():
    c_att, c_part = compress_part(*regrep())
    with pytest.raises(CompressionError) as ei:
        decompress_part(c_att, c_part.without_property("MimeType"))
    assert ei.value.kind is ErrorKind.COMPRESSION_MISSING_MIME_TYPE and ei.value.code == "EBMS:0303"


@pytest.mark.case("AS4-CMP-001")
def test_unsupported_compression_type():
    c_att, c_part = compress_part(*regrep())
    with pytest.raises(CompressionError) as ei:
        decompress_part(c_att, c_part.with_property("CompressionType", "application/x-bzip2"))
    assert ei.value.kind is ErrorKind.COMPRESSION_UNSUPPORTED and ei.value.code == "EBMS:0303"
    # the value is compared case-insensitively
    assert decompress_part(c_att, c_part.with_property("CompressionType", "Application/GZIP"))[0].data == XML


def test_multi_member_and_zero_padding_are_accepted():
    data = gzip_compress(b"abc") + gzip_compress(b"def") + b"\x00" * 16
    assert gzip_decompress(data) == b"abcdef"
    big = os.urandom(300 * 1024)  # spans several input chunks
    assert gzip_decompress(gzip_compress(big) + gzip_compress(b"!"), DecompressionLimits(chunk_size=4096)) \
        == big + b"!"


@pytest.mark.case("AS4-CMP-003", ref="decompression bomb")
def test_gzip_bomb_is_bounded_in_memory():
    bomb = gzip_compress(b"\x00" * (10 * MB), level=9)
    assert len(bomb) < 20 * 1024
    limits = DecompressionLimits(max_size=1 * MB)
    tracemalloc.start()
    try:
        with pytest.raises(CompressionError) as ei:
            gzip_decompress(bomb, limits)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert ei.value.kind is ErrorKind.COMPRESSION_LIMIT and ei.value.code == "EBMS:0303"
    # Kept output never exceeds the limit. On top: one decompress() step in flight (CPython builds the
    # chunk in blocks then copies it: ~2 chunks) and zlib's ~40 KB of state. Unbounded: over 10 MB.
    assert peak < limits.max_size + 4 * limits.chunk_size, f"peak {peak} bytes"


def test_ratio_limit_applies_above_the_floor_only():
    bomb = gzip_compress(b"\x00" * (4 * MB), level=9)
    limits = DecompressionLimits(max_size=64 * MB, max_ratio=100, ratio_floor=1 * MB)
    with pytest.raises(CompressionError, match="ratio"):
        gzip_decompress(bomb, limits)
    # small but very repetitive XML stays acceptable
    small = b"<a/>" * 100_000  # 400 KB, ratio ~ 400:1
    assert gzip_decompress(gzip_compress(small), limits) == small


def test_size_limit_is_exact():
    data = os.urandom(1000)
    assert gzip_decompress(gzip_compress(data), DecompressionLimits(max_size=1000)) == data
    with pytest.raises(CompressionError):
        gzip_decompress(gzip_compress(data), DecompressionLimits(max_size=999))


@pytest.mark.case("AS4-CMP-001")
def test_compressed_part_through_mime():
    c_att, c_part = compress_part(*regrep())
    ctype, body = build_swa(b"<env/>", [c_att])
    received = parse_swa(ctype, body).attachments[0]
    assert received.content_type == GZIP
    assert decompress_part(received, c_part)[0].data == XML
