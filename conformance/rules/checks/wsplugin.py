"""Single-message checks of Domibus WS-plugin SOAP envelopes, and payload extraction.

Shapes come from ``shared/spec/domibus-ws-plugin.md``: the operation element sits in the plugin namespace
``http://eu.domibus.wsplugin/`` and its children are unqualified; ``submitRequest`` and
``retrieveMessageResponse`` carry an ``eb:Messaging`` in the SOAP header and one ``payload`` per ``eb:PartInfo``
(``@payloadId`` = the ``cid:`` of the PartInfo, optional ``@contentType``, child ``value`` in base64).

The interface has no rule ids of its own, so these ids are the harness's (``WSP-0xx``):

=======  ========  ==========================================================================================
WSP-001  FATAL     the SOAP Body holds exactly one element, the operation element in the plugin namespace
WSP-002  WARNING   the operation element is one the harness knows (the WSDL has more than the digest lists)
WSP-003  FATAL     the operation element's children are unqualified
WSP-004  FATAL     the operation's content model (allowed children, cardinalities, non-empty messageID)
WSP-005  FATAL     submitRequest / retrieveMessageResponse carry exactly one eb:Messaging with a UserMessage
WSP-006  FATAL     each payload has a @payloadId and one base64 ``value`` that decodes to 1..max bytes
WSP-007  CAUTION   a base64 value holds characters outside the alphabet (Domibus/JAXB skips them, others fail)
WSP-008  FATAL     payloads and PartInfos match one to one (``@payloadId`` = PartInfo ``href``, ``cid:``)
WSP-009  WARNING   a payload's @contentType agrees with its PartInfo MimeType
WSP-010  WARNING   a payload's bytes look like its declared type (XML parses, PDF starts with ``%PDF-``)
=======  ========  ==========================================================================================

``ctx.extra['max_payload_bytes']`` lowers the per-payload size bound (default: the parser's 20 MiB).

:func:`extract_payloads` gives the decoded payloads to the validator, which validates the embedded EDM
documents and pairs them with the header.
"""
from __future__ import annotations

import base64
import json
import re
import zlib
from typing import Iterator, NamedTuple

from lxml import etree

from ..findings import Severity, Violation
from ..ns import NS, q, locate, text
from ..registry import MessageContext, check
from ..xmlsafe import DEFAULT_MAX_BYTES, parse_bytes
from .ebms_header import (all_messaging, find_messaging, find_user_message, media_type, part_infos,  # noqa: F401
                          part_property)

__all__ = ["Payload", "extract_payloads", "payload_bytes", "regrep_payload", "decode_base64_lenient",
           "gunzip_bounded", "operation_element", "find_messaging", "find_user_message"]

WSPLUGIN = NS["wsplugin"]
_ENVELOPES = (q("S12", "Envelope"), q("S11", "Envelope"))
_B64_ALPHABET = re.compile(rb"[^A-Za-z0-9+/=]")
_B64_NOISE = re.compile(r"[^A-Za-z0-9+/=\s]")
_GZIP_MAGIC = b"\x1f\x8b"
_FILTERS = ("messageId", "conversationId", "refToMessageId", "fromPartyId", "originalSender", "finalRecipient",
            "receivedFrom", "receivedTo")
#: content model of the operations the harness plays: child name -> (min, max or None)
CONTENT = {
    "submitRequest": {"bodyload": (0, 1), "payload": (0, None)},
    "retrieveMessageResponse": {"bodyload": (0, 1), "payload": (0, None)},
    "submitResponse": {"messageID": (1, None), "messageEntityID": (0, None)},
    "listPendingMessagesRequest": {f: (0, 1) for f in _FILTERS},
    "listPendingMessagesResponse": {"messageID": (0, None)},
    "retrieveMessageRequest": {"messageID": (1, 1), "markAsDownloaded": (0, 1)},
}
#: further operation / notification elements of the Domibus 5 WS plugin (content not checked)
OTHER_OPERATIONS = frozenset({
    "getStatusRequest", "statusRequest", "getStatusResponse", "getMessageErrorsRequest", "getMessageErrorsResponse",
    "markMessageAsDownloadedRequest", "markMessageAsDownloadedResponse", "retrieveMessageFault",
    "submitMessage", "receiveSuccess", "receiveFailure", "sendSuccess", "sendFailure", "messageStatusChange",
    "delete", "deleteBatch",
})
_WITH_MESSAGING = ("submitRequest", "retrieveMessageResponse")


class Payload(NamedTuple):
    """One decoded WS-plugin payload."""

    content_id: str  # the payloadId without its ``cid:`` prefix (as in a MIME Content-ID)
    content_type: str | None  # @contentType, else the MimeType of the matching PartInfo
    data: bytes


# --------------------------------------------------------------------------- helpers

def operation_element(root: etree._Element) -> etree._Element | None:
    """The operation element (first plugin-namespace child of the SOAP Body), if any."""
    if root.tag not in _ENVELOPES:
        return None
    body = root.find(f"{{{etree.QName(root).namespace}}}Body")
    if body is None:
        return None
    for c in body:
        if isinstance(c.tag, str) and etree.QName(c).namespace == WSPLUGIN:
            return c
    return None


def _children(op: etree._Element, local: str) -> list[etree._Element]:
    """Children of ``op`` with this local name, qualified or not (WSP-003 reports qualified ones)."""
    return [c for c in op if isinstance(c.tag, str) and etree.QName(c).localname == local]


def strip_cid(value: str | None) -> str:
    v = (value or "").strip()
    return v[4:] if v.lower().startswith("cid:") else v


def decode_base64_lenient(value: str | bytes | None, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes | None:
    """Decode as ``xs:base64Binary`` is decoded by JAXB: characters outside the alphabet are skipped.

    Returns None when the remaining text is not valid base64 or would exceed ``max_bytes``.
    """
    raw = value.encode("ascii", "ignore") if isinstance(value, str) else (value or b"")
    clean = _B64_ALPHABET.sub(b"", raw)
    body = clean.rstrip(b"=")
    if b"=" in body or len(body) % 4 == 1 or len(clean) - len(body) > 2:
        return None
    if len(body) * 3 // 4 > max_bytes:
        return None
    try:
        return base64.b64decode(body + b"=" * (-len(body) % 4), validate=True)
    except ValueError:
        return None


def gunzip_bounded(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes | None:
    """Gunzip at most ``max_bytes`` of output; None when corrupt or larger (zip bomb)."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(data, max_bytes + 1)
    except zlib.error:
        return None
    if len(out) > max_bytes or d.unconsumed_tail:
        return None
    return out


def _mime_by_cid(root: etree._Element) -> dict[str, str]:
    um = find_user_message(root)
    out = {}
    if um is not None:
        for part in part_infos(um):
            mimes = part_property(part, "MimeType")
            if mimes:
                out[strip_cid(part.get("href"))] = mimes[0]
    return out


def _iter_payloads(root: etree._Element, max_bytes: int) -> Iterator[tuple[etree._Element, Payload | None]]:
    """(payload element, decoded payload or None when it has no id, no single value or bad base64)."""
    op = operation_element(root)
    if op is None:
        return
    mimes = _mime_by_cid(root)
    for p in _children(op, "payload"):
        cid = strip_cid(p.get("payloadId"))
        values = _children(p, "value")
        data = decode_base64_lenient(values[0].text, max_bytes=max_bytes) if len(values) == 1 else None
        if not cid or data is None:
            yield p, None
            continue
        yield p, Payload(cid, (p.get("contentType") or "").strip() or mimes.get(cid), data)


def extract_payloads(envelope_root: etree._Element, *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[Payload]:
    """The base64-decoded ``payload`` s of a WS-plugin envelope, in document order.

    ``content_type`` is the payload's ``@contentType``, else the ``MimeType`` of the PartInfo with the same cid.
    Payloads are returned as carried (Domibus hands them over decompressed; see :func:`payload_bytes`). A payload
    without id, with undecodable base64 or larger than ``max_bytes`` is left out: WSP-006 reports it.
    """
    return [p for _, p in _iter_payloads(envelope_root, max_bytes) if p is not None]


def _compressed(root: etree._Element, cid: str) -> bool:
    um = find_user_message(root)
    if um is None:
        return False
    for part in part_infos(um):
        if strip_cid(part.get("href")) == cid:
            return any(media_type(v) == "application/gzip" for v in part_property(part, "CompressionType"))
    return False


def payload_bytes(root: etree._Element, payload: Payload, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes | None:
    """The payload's content, gunzipped when it is gzip and its PartInfo says CompressionType=application/gzip."""
    if payload.data.startswith(_GZIP_MAGIC) and _compressed(root, payload.content_id):
        return gunzip_bounded(payload.data, max_bytes)
    return payload.data


def regrep_payload(root: etree._Element, um: etree._Element | None = None) -> etree._Element | None:
    """The parsed RegRep document carried as the first PartInfo's payload (None if absent or unreadable)."""
    um = um if um is not None else find_user_message(root)
    if um is None:
        return None
    parts = part_infos(um)
    if not parts:
        return None
    cid = strip_cid(parts[0].get("href"))
    for p in extract_payloads(root):
        if p.content_id == cid:
            data = payload_bytes(root, p)
            if data is None:
                return None
            doc = parse_bytes(data)
            if doc.root is not None and doc.root.tag in (q("query", "QueryRequest"), q("query", "QueryResponse")):
                return doc.root
            return None
    return None


# --------------------------------------------------------------------------- checks

_KIND = {"wsplugin-soap"}


@check("WSP-001", kinds=_KIND, ref="domibus-ws-plugin.md (Transport)",
       title="the SOAP Body holds exactly one element, the WS-plugin operation")
def wsp_001(ctx: MessageContext) -> Iterator[Violation]:
    if ctx.root.tag not in _ENVELOPES:
        return
    body = ctx.root.find(f"{{{etree.QName(ctx.root).namespace}}}Body")
    kids = [c for c in body if isinstance(c.tag, str)] if body is not None else []
    if len(kids) != 1 or etree.QName(kids[0]).namespace != WSPLUGIN:
        yield Violation("the SOAP Body must hold exactly one element in the WS-plugin namespace",
                        locate(body if body is not None else ctx.root), expected=f"one {{{WSPLUGIN}}}* element",
                        actual=", ".join(etree.QName(k).text for k in kids) or "empty Body")


@check("WSP-002", kinds=_KIND, severity=Severity.WARNING, ref="domibus-ws-plugin.md (Operations)",
       title="the operation element is a known WS-plugin operation")
def wsp_002(ctx: MessageContext) -> Iterator[Violation]:
    op = operation_element(ctx.root)
    if op is None:
        return
    name = etree.QName(op).localname
    if name not in CONTENT and name not in OTHER_OPERATIONS:
        yield Violation("unknown WS-plugin operation element", locate(op),
                        expected=" | ".join(sorted(CONTENT)), actual=name)


@check("WSP-003", kinds=_KIND, ref="domibus-ws-plugin.md (Transport: children are unqualified)",
       title="the operation element's children are unqualified")
def wsp_003(ctx: MessageContext) -> Iterator[Violation]:
    op = operation_element(ctx.root)
    if op is None:
        return
    for c in op.iter():
        if c is op or not isinstance(c.tag, str):
            continue
        if etree.QName(c).namespace is not None:
            yield Violation("WS-plugin message content must be unqualified", locate(c),
                            expected=etree.QName(c).localname, actual=etree.QName(c).text)


@check("WSP-004", kinds=_KIND, ref="domibus-ws-plugin.md (Operations); Domibus WS-plugin WSDL",
       title="the operation element has the children its operation allows")
def wsp_004(ctx: MessageContext) -> Iterator[Violation]:
    op = operation_element(ctx.root)
    if op is None:
        return
    name = etree.QName(op).localname
    model = CONTENT.get(name)
    if model is None:
        return
    kids = [c for c in op if isinstance(c.tag, str)]
    for c in kids:
        local = etree.QName(c).localname
        if local not in model:
            yield Violation(f"{local} is not allowed in {name}", locate(c), expected=", ".join(model), actual=local)
    for child, (lo, hi) in model.items():
        n = sum(1 for c in kids if etree.QName(c).localname == child)
        if n < lo or (hi is not None and n > hi):
            yield Violation(f"{name} must hold {lo}..{hi if hi is not None else 'n'} {child}", locate(op),
                            expected=f"{lo}..{hi if hi is not None else 'n'}", actual=str(n))
    for c in kids:
        if etree.QName(c).localname == "messageID" and not text(c):
            yield Violation("messageID is empty", locate(c), expected="an ebMS MessageId", actual="empty")
    if "bodyload" in model:
        names = [etree.QName(c).localname for c in kids]
        if "bodyload" in names and "payload" in names[: names.index("bodyload")]:
            yield Violation("bodyload must precede the payload elements", locate(op), expected="bodyload, payload*",
                            actual=", ".join(names))


@check("WSP-005", kinds=_KIND, ref="domibus-ws-plugin.md (submitMessage, retrieveMessage)",
       title="submitRequest / retrieveMessageResponse carry one eb:Messaging with a UserMessage")
def wsp_005(ctx: MessageContext) -> Iterator[Violation]:
    op = operation_element(ctx.root)
    if op is None or etree.QName(op).localname not in _WITH_MESSAGING:
        return
    msgs = all_messaging(ctx.root)
    if len(msgs) != 1 or msgs[0].find(q("eb", "UserMessage")) is None:
        yield Violation(f"{etree.QName(op).localname} needs exactly one eb:Messaging/eb:UserMessage in the "
                        "SOAP header", locate(ctx.root), expected="1 eb:Messaging with eb:UserMessage",
                        actual=f"{len(msgs)} eb:Messaging" + ("" if not msgs else
                               (" without UserMessage" if msgs[0].find(q("eb", "UserMessage")) is None else "")))


@check("WSP-006", kinds=_KIND, ref="domibus-ws-plugin.md (submitMessage: payload/@payloadId, value)",
       title="each payload has a payloadId and one base64 value that decodes to a bounded, non-empty part")
def wsp_006(ctx: MessageContext) -> Iterator[Violation]:
    op = operation_element(ctx.root)
    if op is None:
        return
    max_bytes = int(ctx.extra.get("max_payload_bytes", DEFAULT_MAX_BYTES))
    for p in _children(op, "payload"):
        if not strip_cid(p.get("payloadId")):
            yield Violation("payload without payloadId", locate(p), expected="payloadId=\"cid:…\"",
                            actual=p.get("payloadId", "absent"))
        values = _children(p, "value")
        if len(values) != 1:
            yield Violation("payload must hold exactly one value", locate(p), expected="1", actual=str(len(values)))
            continue
        data = decode_base64_lenient(values[0].text, max_bytes=max_bytes)
        if data is None:
            size = len(values[0].text or "")
            yield Violation("payload value is not valid base64 or exceeds the size limit", locate(values[0]),
                            expected=f"base64 of at most {max_bytes} bytes", actual=f"{size} characters")
        elif not data:
            yield Violation("payload value is empty", locate(values[0]), expected="non-empty content",
                            actual="0 bytes")


@check("WSP-007", kinds=_KIND, severity=Severity.CAUTION, ref="domibus-ws-plugin.md (base64 decoded as JAXB does)",
       title="base64 values hold only base64 characters and whitespace")
def wsp_007(ctx: MessageContext) -> Iterator[Violation]:
    op = operation_element(ctx.root)
    if op is None:
        return
    for p in _children(op, "payload"):
        for v in _children(p, "value"):
            bad = sorted(set(_B64_NOISE.findall(v.text or "")))
            if bad:
                yield Violation("base64 value holds characters outside the alphabet (Domibus skips them; strict "
                                "decoders refuse them)", locate(v), expected="[A-Za-z0-9+/=] and whitespace",
                                actual=" ".join(repr(c) for c in bad[:10]))


@check("WSP-008", kinds=_KIND, ref="domibus-ws-plugin.md (payloadId = the cid: of its PartInfo)",
       title="payloads and PartInfos match one to one by cid")
def wsp_008(ctx: MessageContext) -> Iterator[Violation]:
    op = operation_element(ctx.root)
    if op is None or etree.QName(op).localname not in _WITH_MESSAGING:
        return
    um = find_user_message(ctx.root)
    if um is None:
        return  # WSP-005
    payloads = _children(op, "payload")
    ids = [strip_cid(p.get("payloadId")) for p in payloads]
    hrefs = {}
    for part in part_infos(um):
        href = (part.get("href") or "").strip()
        if not href.lower().startswith("cid:"):
            if not href and _children(op, "bodyload"):
                continue  # a PartInfo without href designates the body payload (bodyload)
            yield Violation("PartInfo href must be a cid: reference", locate(part), expected="cid:…",
                            actual=href or "absent")
            continue
        hrefs[strip_cid(href)] = part
    for i, (p, cid) in enumerate(zip(payloads, ids)):
        if cid and cid not in hrefs:
            yield Violation("payload has no matching PartInfo", locate(p),
                            expected=("one of " + ", ".join(f"cid:{h}" for h in hrefs)) if hrefs else "a PartInfo",
                            actual=p.get("payloadId"))
        if cid and cid in ids[:i]:
            yield Violation("two payloads share a payloadId", locate(p), expected="unique payloadId",
                            actual=p.get("payloadId"))
    for cid, part in hrefs.items():
        if cid not in ids:
            yield Violation("PartInfo has no payload in the body", locate(part),
                            expected=f"payload payloadId=\"cid:{cid}\"", actual="absent")


@check("WSP-009", kinds=_KIND, severity=Severity.WARNING, ref="domibus-ws-plugin.md (payload/@contentType)",
       title="a payload's contentType agrees with its PartInfo MimeType")
def wsp_009(ctx: MessageContext) -> Iterator[Violation]:
    op = operation_element(ctx.root)
    if op is None:
        return
    mimes = _mime_by_cid(ctx.root)
    for p in _children(op, "payload"):
        ct = (p.get("contentType") or "").strip()
        mime = mimes.get(strip_cid(p.get("payloadId")))
        if ct and mime and media_type(ct) != media_type(mime):
            yield Violation("payload contentType differs from its PartInfo MimeType", locate(p), expected=mime,
                            actual=ct)


def _looks_like(data: bytes, mtype: str) -> str | None:
    """Why ``data`` does not look like ``mtype`` (None when it does, or when the type is not sniffed)."""
    if mtype in ("application/xml", "text/xml") or mtype.endswith("+xml"):
        doc = parse_bytes(data)
        return None if doc.root is not None else "not well-formed XML"
    if mtype == "application/pdf":
        return None if data.lstrip()[:5] == b"%PDF-" else "no %PDF- header"
    if mtype == "application/json" or mtype.endswith("+json"):
        try:
            json.loads(data)
            return None
        except ValueError:
            return "not JSON"
    if mtype == "image/png":
        return None if data.startswith(b"\x89PNG\r\n\x1a\n") else "no PNG signature"
    if mtype == "image/jpeg":
        return None if data.startswith(b"\xff\xd8\xff") else "no JPEG signature"
    return None


@check("WSP-010", kinds=_KIND, severity=Severity.WARNING, ref="domibus-ws-plugin.md; AS4-HDR-013",
       title="a payload's content looks like its declared media type")
def wsp_010(ctx: MessageContext) -> Iterator[Violation]:
    for el, p in _iter_payloads(ctx.root, int(ctx.extra.get("max_payload_bytes", DEFAULT_MAX_BYTES))):
        if p is None or not p.content_type:
            continue
        data = payload_bytes(ctx.root, p)
        mtype = media_type(p.content_type)
        why = "corrupt or oversized gzip" if data is None else _looks_like(data, mtype)
        if why:
            yield Violation(f"payload content does not look like {mtype}: {why}", locate(el), expected=mtype,
                            actual=repr(p.data[:16]))
