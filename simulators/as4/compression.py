"""AS4 payload compression (eDelivery AS4 1.15 §3.1): GZIP parts flagged by PartProperties.

Sending: compress → sign → encrypt. The part becomes ``application/gzip`` and its PartInfo gains
``CompressionType=application/gzip``, ``MimeType`` (the type before compression) and, for XML,
``CharacterSet``. Receiving: parts without ``CompressionType`` pass through unchanged (AS4-CMP-002);
compressed parts are gunzipped within :class:`DecompressionLimits`, and ``CompressionType`` is
stripped before delivery. Every failure raises :class:`CompressionError` (EBMS:0303).
"""
from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass

from .errors import ErrorKind, PackagingError
from .model import GZIP, PROP_CHARACTER_SET, PROP_COMPRESSION_TYPE, PROP_MIME_TYPE, PartInfo
from .parts import Attachment


class CompressionError(PackagingError):
    """A compressed part could not be (safely) decompressed: EBMS:0303 DecompressionFailure."""


@dataclass(frozen=True)
class DecompressionLimits:
    """Bounds on gunzip output. ``max_ratio`` applies once the output exceeds ``ratio_floor``, so that
    small, highly repetitive XML is never refused."""

    max_size: int = 64 * 1024 * 1024
    max_ratio: int = 1000
    ratio_floor: int = 1024 * 1024
    chunk_size: int = 64 * 1024  # output (and input) granularity: the memory overshoot bound


DEFAULT_LIMITS = DecompressionLimits()


def gzip_compress(data: bytes, level: int = 6) -> bytes:
    """GZIP with ``mtime=0``, so the same input always gives the same octets (and signature digest)."""
    return gzip.compress(data, compresslevel=level, mtime=0)


def gzip_decompress(data: bytes, limits: DecompressionLimits = DEFAULT_LIMITS) -> bytes:
    """Gunzip (multi-member allowed, trailing zero padding tolerated). Output is produced
    ``chunk_size`` bytes at a time and checked before it is kept, so a bomb never costs more than
    the limit plus one chunk. Raises :class:`CompressionError`."""
    n = len(data)
    cap = limits.max_size
    ratio_cap = max(limits.ratio_floor, limits.max_ratio * n)
    step = limits.chunk_size
    view = memoryview(data)
    chunks: list[bytes] = []  # a list, not a bytearray: no over-allocation beyond the cap
    size = 0
    pos = 0
    members = 0
    while True:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip framing only
        pending: bytes | memoryview = b""
        while not d.eof:
            if not pending:
                if pos >= n:
                    raise CompressionError(ErrorKind.COMPRESSION_CORRUPT,
                                           "truncated gzip stream" if members or n else "empty gzip part")
                pending = view[pos:pos + step]
                pos += len(pending)
            try:
                chunk = d.decompress(pending, step)
            except zlib.error as e:
                raise CompressionError(ErrorKind.COMPRESSION_CORRUPT, f"corrupt gzip data: {e}") from None
            pending = d.unconsumed_tail
            size += len(chunk)
            if size > cap:
                raise CompressionError(ErrorKind.COMPRESSION_LIMIT,
                                       f"decompressed size exceeds the {cap}-byte limit")
            if size > ratio_cap:
                raise CompressionError(ErrorKind.COMPRESSION_LIMIT,
                                       f"compression ratio exceeds {limits.max_ratio}:1 ({n} compressed bytes)")
            chunks.append(chunk)
        members += 1
        pos -= len(d.unused_data)  # rewind to the first byte after this member
        if pos >= n:
            break
        if view[pos:pos + 2] != b"\x1f\x8b":
            if view[pos:].tobytes().strip(b"\x00"):
                raise CompressionError(ErrorKind.COMPRESSION_CORRUPT, "trailing garbage after the gzip stream")
            break
    return b"".join(chunks)


def is_compressed(part: PartInfo) -> bool:
    return part.get(PROP_COMPRESSION_TYPE) is not None


def _media_type(content_type: str) -> tuple[str, str | None]:
    media, *params = content_type.split(";")
    charset = None
    for p in params:
        k, _, v = p.partition("=")
        if k.strip().lower() == "charset":
            charset = v.strip().strip('"')
    return media.strip(), charset


def compress_part(
    attachment: Attachment, part: PartInfo, *, charset: str | None = None, level: int = 6
) -> tuple[Attachment, PartInfo]:
    """GZIP one payload part; returns the new attachment and PartInfo (inputs are not modified).

    ``MimeType`` is kept if the PartInfo has one, else taken from the attachment's Content-Type.
    ``CharacterSet`` is ``charset``, else the Content-Type charset, else ``UTF-8`` for XML types.
    """
    if is_compressed(part):
        raise ValueError(f"part {part.href} is already compressed")
    media, ct_charset = _media_type(attachment.content_type)
    mime_type = part.mime_type or media
    charset = charset or ct_charset or ("UTF-8" if mime_type.endswith(("/xml", "+xml")) else None)
    new_part = part.with_property(PROP_MIME_TYPE, mime_type)
    if charset and new_part.get(PROP_CHARACTER_SET) is None:
        new_part = new_part.with_property(PROP_CHARACTER_SET, charset)
    new_part = new_part.with_property(PROP_COMPRESSION_TYPE, GZIP)
    compressed = Attachment(attachment.content_id, GZIP, gzip_compress(attachment.data, level),
                            dict(attachment.headers))
    return compressed, new_part


def decompress_part(
    attachment: Attachment, part: PartInfo, limits: DecompressionLimits = DEFAULT_LIMITS
) -> tuple[Attachment, PartInfo]:
    """Undo :func:`compress_part` on a received (already decrypted) part.

    Uncompressed parts are returned as they are. The result's Content-Type is the ``MimeType``
    property and its PartInfo no longer has ``CompressionType``.
    """
    ctype = part.get(PROP_COMPRESSION_TYPE)
    if ctype is None:
        return attachment, part
    if ctype.strip().lower() != GZIP:
        raise CompressionError(ErrorKind.COMPRESSION_UNSUPPORTED,
                               f"{part.href}: CompressionType {ctype!r} is not {GZIP}")
    mime_type = part.mime_type
    if not mime_type:
        raise CompressionError(ErrorKind.COMPRESSION_MISSING_MIME_TYPE,
                               f"{part.href}: compressed part without a MimeType property")
    try:
        data = gzip_decompress(attachment.data, limits)
    except CompressionError as e:
        e.detail = f"{part.href}: {e.detail}"
        e.args = (str(e),)
        raise
    return (Attachment(attachment.content_id, mime_type, data, dict(attachment.headers)),
            part.without_property(PROP_COMPRESSION_TYPE))
