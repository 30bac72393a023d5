"""SOAP-with-Attachments packaging: ``multipart/related; type="application/soap+xml"`` bodies.

Building writes CRLF, ``Content-Transfer-Encoding: binary`` and ``Content-ID: <id>`` on every part, with
or without the ``start``/``start-info`` parameters (CXF sends them, phase4 does not). Parsing splits on
the boundary at the bytes level (no ``email`` package), enforces :class:`MimeLimits`, takes the root from
``start`` or else the first part (RFC 2387), accepts Content-IDs with or without ``<>``, base64 or
quoted-printable transfer encodings, bare-LF line ends and a UTF-8 BOM before the root envelope. A plain
``application/soap+xml`` body (e.g. a synchronous receipt) parses as a root without attachments.
Every failure raises :class:`MimeError` (an ``EbmsError``; see ``errors.EBMS_CODE_FOR_KIND``).
"""
from __future__ import annotations

import binascii
import re
import uuid
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from lxml import etree

from .errors import ErrorKind, PackagingError
from .parts import Attachment

SOAP12_CONTENT_TYPE = "application/soap+xml"
ROOT_CONTENT_TYPE = "application/soap+xml; charset=UTF-8"
_BOM = b"\xef\xbb\xbf"
_TSPECIALS_FREE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_PARAM = re.compile(
    r"""\s*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;"\s]*))\s*(?:;|\Z)""",
    re.S,
)
_UNESCAPE = re.compile(r"\\(.)", re.S)
# headers we render ourselves on attachments; everything else of Attachment.headers is appended
_OWN_HEADERS = frozenset({"content-type", "content-id", "content-transfer-encoding"})


class MimeError(PackagingError):
    """The HTTP body is not a usable SwA message (or payload references do not match its parts)."""


@dataclass(frozen=True)
class MimeLimits:
    """Hard limits applied before and while parsing."""

    max_total_size: int = 64 * 1024 * 1024
    max_parts: int = 64
    max_header_size: int = 16 * 1024  # per part header block, and the HTTP Content-Type value


DEFAULT_LIMITS = MimeLimits()


@dataclass
class SwaMessage:
    """A parsed (or about to be built) SwA message."""

    root: bytes  # the SOAP envelope octets, BOM removed
    attachments: list[Attachment] = field(default_factory=list)
    content_type: str = ""  # the HTTP Content-Type it came with
    params: dict[str, str] = field(default_factory=dict)  # its parameters (lower-case names)
    root_content_type: str = ROOT_CONTENT_TYPE
    root_content_id: str | None = None

    def attachment(self, content_id: str) -> Attachment | None:
        for a in self.attachments:
            if a.content_id == content_id:
                return a
        return None


# --- helpers -------------------------------------------------------------------------------------------
def parse_content_type(value: str) -> tuple[str, dict[str, str]]:
    """Split a Content-Type value into a lower-case media type and its parameters.

    Parameter names are lower-cased, quoted values unescaped; the first occurrence of a name wins.
    Unparseable parameter text is skipped.
    """
    media, _, rest = value.partition(";")
    params: dict[str, str] = {}
    pos = 0
    while pos < len(rest):
        m = _PARAM.match(rest, pos)
        if m is None:  # junk: skip to the next ';'
            nxt = rest.find(";", pos)
            if nxt == -1:
                break
            pos = nxt + 1
            continue
        name = m.group(1).lower()
        val = m.group(3) if m.group(2) is None else m.group(2)
        if m.group(2) is not None and "\\" in val:
            val = _UNESCAPE.sub(r"\1", val)
        params.setdefault(name, val)
        pos = m.end()
    return media.strip().lower(), params


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def normalize_content_id(value: str) -> str:
    """Bare id from a Content-ID header or ``start`` parameter (``<x>``, `` x ``, ``cid:x`` -> ``x``)."""
    v = value.strip()
    if v.startswith("<") and v.endswith(">"):
        v = v[1:-1].strip()
    if v[:4].lower() == "cid:":
        v = v[4:]
    return v


def _header_name(lower: str) -> str:
    return "-".join(w.capitalize() for w in lower.split("-"))


def _err(kind: ErrorKind, msg: str) -> MimeError:
    return MimeError(kind, msg)


# --- building ------------------------------------------------------------------------------------------
def build_swa(
    root: bytes | etree._Element,
    attachments: Sequence[Attachment] = (),
    *,
    start: bool = True,
    boundary: str | None = None,
    root_content_id: str | None = None,
) -> tuple[str, bytes]:
    """Pack a SOAP 1.2 envelope and its payload parts; returns ``(content_type_header, body)``.

    With ``start`` the root gets a Content-ID and the header names it in ``start``/``start-info``
    (CXF/Domibus style); without, the root is simply the first part (phase4 style) and carries a
    Content-ID only if ``root_content_id`` is given. The boundary is re-drawn if it occurs in a part.
    """
    if isinstance(root, etree._Element):
        root = etree.tostring(root, encoding="UTF-8", xml_declaration=True)
    if start and root_content_id is None:
        root_content_id = f"root.{uuid.uuid4()}@oots.eu"
    seen: set[str] = set()
    for a in attachments:
        if not a.content_id or a.content_id in seen or a.content_id == root_content_id:
            raise ValueError(f"empty or duplicate Content-ID: {a.content_id!r}")
        seen.add(a.content_id)

    heads = [_part_head(ROOT_CONTENT_TYPE, root_content_id, {})]
    heads += [_part_head(a.content_type, a.content_id, a.headers) for a in attachments]
    datas = [root, *(a.data for a in attachments)]

    if boundary is None:
        while True:
            boundary = f"MIMEBoundary_{uuid.uuid4().hex}"
            if not any(boundary.encode("ascii") in d for d in datas):
                break
    elif any(boundary.encode("ascii") in d for d in datas):
        raise ValueError("the boundary occurs inside a part")
    delim = b"--" + boundary.encode("ascii")

    chunks: list[bytes] = []
    for head, data in zip(heads, datas):
        chunks += (delim, b"\r\n", head, b"\r\n", data, b"\r\n")
    chunks += (delim, b"--\r\n")

    ctype = f'multipart/related; type="{SOAP12_CONTENT_TYPE}"; boundary={_quote(boundary)}'
    if start:
        ctype += f'; start={_quote("<" + root_content_id + ">")}; start-info="{SOAP12_CONTENT_TYPE}"'
    return ctype, b"".join(chunks)


def _part_head(content_type: str, content_id: str | None, extra: dict[str, str]) -> bytes:
    lines = [f"Content-Type: {content_type}", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        lines.append(f"Content-ID: <{content_id}>")
    for name, value in extra.items():
        if name.lower() not in _OWN_HEADERS:
            lines.append(f"{_header_name(name.lower())}: {value}")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


# --- parsing -------------------------------------------------------------------------------------------
def parse_swa(content_type: str, body: bytes, limits: MimeLimits = DEFAULT_LIMITS) -> SwaMessage:
    """Unpack an HTTP body given its Content-Type header value. Raises :class:`MimeError`."""
    if len(body) > limits.max_total_size:
        raise _err(ErrorKind.MIME_TOO_LARGE, f"body of {len(body)} bytes exceeds {limits.max_total_size}")
    if content_type is None or len(content_type) > limits.max_header_size:
        raise _err(ErrorKind.MIME_HEADER_TOO_LARGE if content_type else ErrorKind.MIME_NOT_MULTIPART,
                   "missing or oversized Content-Type header")
    media, params = parse_content_type(content_type)

    if media == SOAP12_CONTENT_TYPE:  # a bare SOAP message (no attachments)
        return SwaMessage(_strip_bom(body), [], content_type, params, content_type, None)
    if media != "multipart/related":
        raise _err(ErrorKind.MIME_NOT_MULTIPART, f"Content-Type {media!r} is not multipart/related")
    boundary = params.get("boundary")
    if not boundary:
        raise _err(ErrorKind.MIME_NO_BOUNDARY, "multipart/related without a boundary parameter")
    if len(boundary) > 200:
        raise _err(ErrorKind.MIME_NO_BOUNDARY, "boundary longer than 200 characters")

    parts = [_parse_part(body, s, e, limits) for s, e in _split(body, boundary.encode("latin-1"), limits)]
    if not parts:
        raise _err(ErrorKind.MIME_MISSING_ROOT, "multipart body without any part")

    # Content-IDs must be unique; the root is the `start` part, else the first one
    index: dict[str, int] = {}
    for i, (headers, _) in enumerate(parts):
        cid = headers.get("content-id")
        if cid is None:
            continue
        cid = normalize_content_id(cid)
        if cid in index:
            raise _err(ErrorKind.MIME_DUPLICATE_CONTENT_ID, f"Content-ID <{cid}> appears twice")
        index[cid] = i
    start = params.get("start")
    if start:
        root_i = index.get(normalize_content_id(start))
        if root_i is None:
            raise _err(ErrorKind.MIME_MISSING_ROOT, f"no part has the start Content-ID {start}")
    else:
        root_i = 0

    attachments: list[Attachment] = []
    root_headers, root_data = parts[root_i]
    for i, (headers, data) in enumerate(parts):
        if i == root_i:
            continue
        cid = headers.pop("content-id", None)
        if cid is None:
            raise _err(ErrorKind.MIME_MISSING_CONTENT_ID, f"MIME part {i + 1} has no Content-ID")
        ctype = headers.pop("content-type", "text/plain")
        headers.pop("content-transfer-encoding", None)
        attachments.append(Attachment(normalize_content_id(cid), ctype, data, headers))
    root_cid = root_headers.get("content-id")
    return SwaMessage(
        root=_strip_bom(root_data),
        attachments=attachments,
        content_type=content_type,
        params=params,
        root_content_type=root_headers.get("content-type", ""),
        root_content_id=normalize_content_id(root_cid) if root_cid is not None else None,
    )


def _strip_bom(data: bytes) -> bytes:
    return data[3:] if data.startswith(_BOM) else data


def _split(body: bytes, boundary: bytes, limits: MimeLimits) -> list[tuple[int, int]]:
    """(start, end) offsets of each body part between the delimiters (RFC 2046 §5.1.1)."""
    dash = b"--" + boundary
    search = b"\n" + dash
    if body.startswith(dash):
        pos = len(dash)
    else:
        i = body.find(search)
        if i == -1:
            raise _err(ErrorKind.MIME_TRUNCATED, "boundary delimiter not found in the body")
        pos = i + len(search)
    spans: list[tuple[int, int]] = []
    while True:
        # `pos` is just after a delimiter: either the close delimiter or padding + line end
        if body.startswith(b"--", pos):
            return spans
        eol = body.find(b"\n", pos)
        if eol == -1:
            raise _err(ErrorKind.MIME_TRUNCATED, "body ends right after a boundary delimiter")
        if body[pos:eol].strip(b" \t\r"):
            raise _err(ErrorKind.MIME_MALFORMED, "text after a boundary delimiter (wrong boundary?)")
        start = eol + 1
        nxt = body.find(search, start - 1)  # `start - 1` allows an empty part (no headers, no content)
        if nxt == -1:
            raise _err(ErrorKind.MIME_TRUNCATED, "missing close delimiter: the body is truncated")
        if nxt == start - 1:
            raise _err(ErrorKind.MIME_MALFORMED, "empty body part")
        end = nxt - 1 if body[nxt - 1] == 0x0D else nxt
        spans.append((start, end))
        if len(spans) > limits.max_parts:
            raise _err(ErrorKind.MIME_TOO_MANY_PARTS, f"more than {limits.max_parts} MIME parts")
        pos = nxt + len(search)


def _parse_part(body: bytes, start: int, end: int, limits: MimeLimits) -> tuple[dict[str, str], bytes]:
    """Header dict (lower-case names, first wins) and decoded content of one body part."""
    if body.startswith(b"\r\n", start) or body.startswith(b"\n", start):  # no headers at all
        head, content_start = b"", start + (2 if body[start] == 0x0D else 1)
    else:
        window = min(end, start + limits.max_header_size + 4)
        # the first blank line, CRLF or bare LF: the LF-LF search stops where the CRLF one matched, so
        # neither scans the (binary) content beyond the header block
        crlf = body.find(b"\n\r\n", start, window)
        lflf = body.find(b"\n\n", start, window if crlf == -1 else crlf + 1)
        ends = [(i, n) for i, n in ((crlf, 3), (lflf, 2)) if i != -1]
        if not ends:
            if end - start > limits.max_header_size:
                raise _err(ErrorKind.MIME_HEADER_TOO_LARGE,
                           f"part headers exceed {limits.max_header_size} bytes")
            raise _err(ErrorKind.MIME_MALFORMED, "part headers are not followed by an empty line")
        i, n = min(ends)
        if i - start > limits.max_header_size:
            raise _err(ErrorKind.MIME_HEADER_TOO_LARGE, f"part headers exceed {limits.max_header_size} bytes")
        head, content_start = body[start:i], i + n
    headers = _parse_headers(head)
    content = body[content_start:end] if content_start <= end else b""
    return headers, _decode(content, headers.get("content-transfer-encoding"))


def _parse_headers(head: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    current: str | None = None  # header that a folded line continues ("" = a skipped duplicate)
    for raw in head.decode("latin-1").split("\n"):
        line = raw.rstrip("\r")
        if not line:
            continue
        if line[0] in " \t":  # folded continuation
            if current is None:
                raise _err(ErrorKind.MIME_MALFORMED, "part header starts with a continuation line")
            if current:
                headers[current] += " " + line.strip()
            continue
        key, sep, value = line.partition(":")
        key = key.strip().lower()
        if not sep or not key or not _TSPECIALS_FREE.match(key):
            raise _err(ErrorKind.MIME_MALFORMED, f"bad part header line {line[:80]!r}")
        if key in headers:  # first occurrence wins
            current = ""
            continue
        current = key
        headers[key] = value.strip()
    return headers


def _decode(content: bytes, cte: str | None) -> bytes:
    enc = (cte or "binary").strip().lower()
    if enc in ("binary", "8bit", "7bit"):
        return content
    try:
        if enc == "base64":
            return binascii.a2b_base64(content.translate(None, b" \t\r\n"), strict_mode=True)
        if enc == "quoted-printable":
            return binascii.a2b_qp(content)
    except (binascii.Error, ValueError) as e:
        raise _err(ErrorKind.MIME_BAD_TRANSFER_ENCODING, f"bad {enc} content: {e}") from None
    raise _err(ErrorKind.MIME_BAD_TRANSFER_ENCODING, f"unsupported Content-Transfer-Encoding {cte!r}")


# --- payload references ---------------------------------------------------------------------------------
def check_payload_references(hrefs: Iterable[str | None], attachments: Sequence[Attachment]) -> dict[str, Attachment]:
    """Match ``eb:PartInfo/@href`` values to MIME parts (AS4-MIME-004/005).

    Returns ``{href: attachment}``. Raises :class:`MimeError`: PAYLOAD_NOT_CID for a missing or
    non-``cid:`` href (body or external payload), PAYLOAD_MISSING_PART when no part has the id,
    PAYLOAD_ORPHAN_PART when a MIME part is referenced by no PartInfo.
    """
    by_cid = {a.content_id: a for a in attachments}
    used: set[str] = set()
    out: dict[str, Attachment] = {}
    for href in hrefs:
        if href is None or href[:4].lower() != "cid:":
            raise _err(ErrorKind.PAYLOAD_NOT_CID, f"PartInfo href {href!r} is not a cid: reference")
        cid = href[4:]
        att = by_cid.get(cid)
        if att is None:
            raise _err(ErrorKind.PAYLOAD_MISSING_PART, f"no MIME part with Content-ID <{cid}> for {href}")
        used.add(cid)
        out[href] = att
    orphans = [cid for cid in by_cid if cid not in used]
    if orphans:
        raise _err(ErrorKind.PAYLOAD_ORPHAN_PART, f"MIME part(s) referenced by no PartInfo: {orphans}")
    return out
