"""The synchronous AS4 message pipeline: one user message to wire bytes and back, receipts and errors.

Outgoing, in the order the profile fixes (as4-profile.md §2.1, §4): compress every payload (PartInfo
gains ``MimeType`` / ``CharacterSet`` / ``CompressionType``) -> SOAP envelope -> sign Body,
``eb:Messaging`` and every part -> encrypt the parts -> SwA MIME::

    packed = pack(um, [Attachment("regrep@oots.eu", OOTS.MIME_REGREP, xml)],
                  sign_key=me.sign.key, sign_cert=me.sign.cert, recipient_cert=peer.encrypt.cert)
    http_post(url, body=packed.body, headers={"Content-Type": packed.content_type})

Incoming: MIME -> ``eb:Messaging`` -> decrypt -> verify -> decompress. Every failure is an
:class:`~.errors.EbmsError` carrying the code the receiver answers with (MIME 0007/0011/0004, header
0009, security 0101/0102/0103, decompression 0303) and ``ref_to_message_id`` once the MessageId could
be read; :func:`error_response` turns it into the synchronous error answer, :func:`receipt_for` turns a
:class:`Received` user message into the signed non-repudiation receipt, and
:func:`check_receipt_response` is the sender's check of that answer (EBMS:0302 when it does not hold,
the peer's own error when it sent one).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Sequence

from cryptography import x509
from lxml import etree

from . import wssec
from .compression import DEFAULT_LIMITS as DEFAULT_DECOMPRESSION_LIMITS
from .compression import DecompressionLimits, compress_part, decompress_part, is_compressed
from .errors import EbmsError, ErrorKind, error_signal
from .mime import DEFAULT_LIMITS as DEFAULT_MIME_LIMITS
from .mime import (ROOT_CONTENT_TYPE, SOAP12_CONTENT_TYPE, MimeError, MimeLimits, build_swa,
                   check_payload_references, parse_content_type, parse_swa)
from .model import (NS_EB, NS_S12, NS_XML, PROP_MIME_TYPE, PartInfo, SignalMessage, UserMessage,
                    build_envelope, parse_messaging, parse_xml, to_bytes)
from .parts import Attachment
from .receipts import InvalidReceiptError, build_receipt, check_receipt
from .wssec import Algorithms, SignedReference, Suite

_EB = "{%s}" % NS_EB
_S12 = "{%s}" % NS_S12
_S12_HEADER, _S12_BODY, _EB_MESSAGING = _S12 + "Header", _S12 + "Body", _EB + "Messaging"
_EB_UNITS, _EB_MESSAGE_INFO, _EB_MESSAGE_ID = (_EB + "UserMessage", _EB + "SignalMessage"), _EB + "MessageInfo", _EB + "MessageId"


# --- results -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Packed:
    """A message ready for the wire. ``references`` are the signature's References (kept to check the
    receipt's NonRepudiationInformation, AS4-RCP-003)."""

    content_type: str
    body: bytes
    message_id: str
    references: tuple[SignedReference, ...]


@dataclass
class Received:
    """A message that passed MIME, header, decryption, signature and decompression checks.

    Exactly one of ``user_message`` / ``signal`` is set. ``payloads`` are decrypted and decompressed,
    with their original MIME types, in PartInfo order; ``parts`` are the matching PartInfos as
    delivered (``CompressionType`` removed). ``user_message`` keeps the header as it was on the wire.
    """

    user_message: UserMessage | None
    signal: SignalMessage | None
    payloads: list[Attachment]
    parts: list[PartInfo]
    references: tuple[SignedReference, ...]
    sender_cert: x509.Certificate
    envelope: etree._Element = field(repr=False)

    @property
    def message(self) -> UserMessage | SignalMessage:
        return self.user_message if self.user_message is not None else self.signal  # type: ignore[return-value]

    @property
    def message_id(self) -> str:
        return self.message.message_id

    def payload(self, content_id: str) -> Attachment | None:
        for p in self.payloads:
            if p.content_id == content_id:
                return p
        return None


@dataclass(frozen=True)
class UnpackLimits:
    """Size bounds applied while unpacking (MIME parsing, then gunzip of each part)."""

    mime: MimeLimits = DEFAULT_MIME_LIMITS
    decompression: DecompressionLimits = DEFAULT_DECOMPRESSION_LIMITS


DEFAULT_LIMITS = UnpackLimits()


# --- outgoing ------------------------------------------------------------------------------------------
def pack(
    user_message: UserMessage,
    payloads: Sequence[Attachment],
    *,
    sign_key,
    sign_cert: x509.Certificate,
    recipient_cert: x509.Certificate,
    suite: Suite = "rsa",
    compress: bool = True,
    start: bool = True,
) -> Packed:
    """Compress, sign, encrypt and MIME-pack ``user_message`` with ``payloads``.

    ``user_message.parts`` may be empty (one PartInfo per payload is made, ``MimeType`` from its
    Content-Type) or must name exactly the payloads (``cid:<content_id>``); MIME parts follow PartInfo
    order. The caller's objects are not modified. ``start`` adds the ``start``/``start-info``
    parameters (CXF style) or leaves them out (phase4 style). Raises ValueError on inconsistent input.
    """
    parts, atts = _parts_for(user_message, payloads)
    if compress:
        for i, (att, part) in enumerate(zip(atts, parts)):
            if not is_compressed(part):  # a part the caller gzipped already is left as it is
                atts[i], parts[i] = compress_part(att, part)
    um = replace(user_message, parts=parts)
    envelope = _envelope(um)
    refs = wssec.sign(envelope, atts, sign_key, sign_cert, suite)
    wire = wssec.encrypt(envelope, atts, recipient_cert, suite)
    content_type, body = build_swa(envelope, wire, start=start)
    return Packed(content_type, body, um.message_id, refs)


def _parts_for(um: UserMessage, payloads: Sequence[Attachment]) -> tuple[list[PartInfo], list[Attachment]]:
    """PartInfos (each with a MimeType) and the attachments in the same order."""
    if not um.parts:
        return ([_with_mime_type(PartInfo(a.href), a) for a in payloads], list(payloads))
    by_href = {}
    for a in payloads:
        if a.href in by_href:
            raise ValueError(f"two payloads with Content-ID {a.content_id!r}")
        by_href[a.href] = a
    parts, atts = [], []
    for p in um.parts:
        att = by_href.pop(p.href, None) if p.href is not None else None
        if att is None:
            raise ValueError(f"PartInfo {p.href!r} names no payload (AS4 carries every part as cid: MIME part)")
        parts.append(_with_mime_type(p, att))
        atts.append(att)
    if by_href:
        raise ValueError(f"payload(s) without a PartInfo: {sorted(by_href)}")
    return parts, atts


def _with_mime_type(part: PartInfo, att: Attachment) -> PartInfo:
    if part.mime_type:
        return part
    return part.with_property(PROP_MIME_TYPE, att.content_type.split(";", 1)[0].strip())


def _envelope(message: UserMessage | SignalMessage) -> etree._Element:
    return build_envelope(message)


# --- incoming ------------------------------------------------------------------------------------------
@dataclass
class Parsed:
    """A message read up to its ebMS header: nothing decrypted or verified yet. ``attachments`` are
    the MIME parts as on the wire; ``message_id`` is None when even the MessageId was unreadable."""

    attachments: list[Attachment]
    envelope: etree._Element
    message: UserMessage | SignalMessage
    message_id: str | None


def _with_ref(err: EbmsError, message_id: str | None) -> EbmsError:
    if err.ref_to_message_id is None and message_id:
        err.ref_to_message_id = message_id
        err.args = (str(err),)
    return err


def _peek_message_id(messaging: etree._Element) -> str | None:
    """The MessageId of the (first) message unit, read before the header is fully parsed."""
    # find("a/b") by plain loops stopping at the first match (MessageInfo and MessageId come first):
    # cheaper than ElementPath or tag-filtered iterchildren
    for unit in messaging:
        if unit.tag in _EB_UNITS:
            for info in unit:
                if info.tag == _EB_MESSAGE_INFO:
                    for mid in info:
                        if mid.tag == _EB_MESSAGE_ID:
                            return (mid.text or "").strip()[:512] or None
                    return None
            return None
    return None


def parse(content_type: str, body: bytes, limits: UnpackLimits = DEFAULT_LIMITS) -> Parsed:
    """MIME and ebMS header only (no security): the one message unit and its still encrypted parts;
    PartInfo hrefs are matched to MIME parts. Raises :class:`EbmsError` (0007/0004/0011/0009) only."""
    try:
        return _parse(content_type, body, limits)
    except EbmsError:
        raise
    except Exception as e:  # hardening: an unforeseen parser failure is still an ebMS answer
        raise EbmsError("EBMS:0004", f"unexpected {type(e).__name__}: {e}") from e


def _parse(content_type: str, body: bytes, limits: UnpackLimits) -> Parsed:
    swa = parse_swa(content_type, body, limits.mime)
    root_media = parse_content_type(swa.root_content_type or "")[0]
    if root_media != SOAP12_CONTENT_TYPE:
        raise MimeError(ErrorKind.MIME_MALFORMED,
                        f"root part is {root_media or 'untyped'}, not {SOAP12_CONTENT_TYPE} (SOAP 1.2)")
    envelope = parse_xml(swa.root)
    if envelope.tag != _S12 + "Envelope":
        raise EbmsError("EBMS:0009", f"root element is {envelope.tag}, not a SOAP 1.2 env:Envelope")
    header, n_headers, n_bodies = None, 0, 0
    for c in envelope:  # one pass over the envelope's children
        tag = c.tag
        if tag == _S12_HEADER:
            header, n_headers = c, n_headers + 1
        elif tag == _S12_BODY:
            n_bodies += 1
    if n_headers != 1 or n_bodies != 1:
        raise EbmsError("EBMS:0009", "the envelope needs exactly one env:Header and one env:Body")
    messagings = [c for c in header if c.tag == _EB_MESSAGING]
    if len(messagings) != 1:
        raise EbmsError("EBMS:0009", f"env:Header holds {len(messagings)} eb:Messaging headers, expected 1")
    mid = _peek_message_id(messagings[0])
    try:
        units = parse_messaging(messagings[0])
        if len(units) != 1:
            raise EbmsError("EBMS:0009", f"eb:Messaging holds {len(units)} message units; AS4 sends one")
        message = units[0]
        if isinstance(message, UserMessage):
            check_payload_references([p.href for p in message.parts], swa.attachments)
        elif swa.attachments:
            raise MimeError(ErrorKind.PAYLOAD_ORPHAN_PART, "a signal message carries MIME attachments")
    except EbmsError as e:
        raise _with_ref(e, mid) from None
    return Parsed(swa.attachments, envelope, message, mid)


def unpack(
    content_type: str,
    body: bytes,
    *,
    decrypt_key=None,
    trust,
    expected_sender_cert: x509.Certificate | None = None,
    at: datetime | None = None,
    limits: UnpackLimits = DEFAULT_LIMITS,
    allowed: Algorithms = wssec.STRICT,
    require_encryption: bool = True,
) -> Received:
    """Parse, decrypt (with our ``decrypt_key``), verify (against ``trust`` at ``at``, optionally pinned
    to ``expected_sender_cert``) and decompress an AS4 message or signal.

    Signals (receipts, errors) carry no parts: they are verified, not decrypted. Raises
    :class:`~.errors.EbmsError` (with ``ref_to_message_id`` when known) and nothing else.
    """
    mid = None
    try:
        opened = parse(content_type, body, limits)
        mid = opened.message_id
        um = opened.message if isinstance(opened.message, UserMessage) else None
        atts, opened.attachments = opened.attachments, []  # ciphertexts die once decrypted
        if um is not None and atts:
            by_cid = {a.content_id: a for a in atts}
            atts = [by_cid[p.content_id] for p in um.parts]  # PartInfo order (references checked)
            del by_cid
            atts = wssec.decrypt(opened.envelope, atts, decrypt_key, allowed=allowed,
                                 require_encrypted=require_encryption)
        result = wssec.verify(opened.envelope, atts, trust, expected_cert=expected_sender_cert, at=at,
                              allowed=allowed)
        parts: list[PartInfo] = []
        if um is not None:
            for i, part in enumerate(um.parts):
                atts[i], part = decompress_part(atts[i], part, limits.decompression)
                parts.append(part)
    except EbmsError as e:
        raise _with_ref(e, mid) from None
    except Exception as e:  # hardening: whatever slipped through is still answered, never a crash
        raise EbmsError("EBMS:0004", f"unexpected {type(e).__name__}: {e}", mid) from e
    return Received(um, None if um is not None else opened.message, atts, parts, result.references,
                    result.cert, opened.envelope)


# --- answers -------------------------------------------------------------------------------------------
def _signed(envelope: etree._Element, sign_key, sign_cert, suite: Suite) -> tuple[str, bytes]:
    if sign_key is not None:
        if sign_cert is None:
            raise ValueError("sign_key needs sign_cert")
        wssec.sign(envelope, [], sign_key, sign_cert, suite)
    return ROOT_CONTENT_TYPE, to_bytes(envelope)


def receipt_for(received: Received, *, sign_key, sign_cert: x509.Certificate, suite: Suite = "rsa",
                message_id: str | None = None, timestamp: datetime | None = None) -> tuple[str, bytes]:
    """The signed NRR receipt (plain SOAP 1.2, not encrypted) for a received user message: one
    MessagePartNRInformation per Reference of its signature (AS4-RCP-002..004)."""
    if received.user_message is None:
        raise ValueError("signals are not acknowledged with a receipt")
    signal = build_receipt(received.user_message.message_id, [r.element for r in received.references],
                           message_id=message_id, timestamp=timestamp)
    return _signed(_envelope(signal), sign_key, sign_cert, suite)


def error_response(ebms_error: EbmsError | Sequence[EbmsError], *, sign_key=None,
                   sign_cert: x509.Certificate | None = None, suite: Suite = "rsa",
                   ref_to_message_id: str | None = None, soap_fault: bool = True) -> tuple[str, bytes]:
    """The synchronous error answer: an ``eb:SignalMessage`` with one ``eb:Error`` per error, a SOAP
    1.2 Fault in the Body as Domibus sends it (``soap_fault``), signed when keys are given."""
    errors = [ebms_error] if isinstance(ebms_error, EbmsError) else list(ebms_error)
    if not errors:
        raise ValueError("an error response needs at least one error")
    ref = ref_to_message_id or next((e.ref_to_message_id for e in errors if e.ref_to_message_id), None)
    envelope = _envelope(error_signal(errors, ref_to_message_id=ref))
    if soap_fault:
        _add_fault(envelope, errors[0])
    return _signed(envelope, sign_key, sign_cert, suite)


def _add_fault(envelope: etree._Element, err: EbmsError) -> None:
    body = envelope.find(_S12 + "Body")
    fault = etree.SubElement(body, _S12 + "Fault")
    code = etree.SubElement(fault, _S12 + "Code")
    # the peer's fault for what it sent; ours for transport and delivery (Communication category)
    etree.SubElement(code, _S12 + "Value").text = "env:Receiver" if err.category == "Communication" else "env:Sender"
    reason = etree.SubElement(fault, _S12 + "Reason")
    text = etree.SubElement(reason, _S12 + "Text")
    text.set("{%s}lang" % NS_XML, "en")
    text.text = f"{err.code} {err.short_description or ''}".rstrip()


def check_receipt_response(
    content_type: str,
    body: bytes,
    packed: Packed,
    *,
    trust,
    expected_sender_cert: x509.Certificate | None = None,
    at: datetime | None = None,
    limits: UnpackLimits = DEFAULT_LIMITS,
    allowed: Algorithms = wssec.STRICT,
) -> SignalMessage:
    """Check the synchronous answer to ``packed``; returns the receipt signal.

    An error signal is raised as the peer's :class:`EbmsError` (first error; signed or not). Anything
    else that is not a receipt signed by a trusted (``expected_sender_cert``) key and acknowledging
    exactly ``packed.references`` raises :class:`~.receipts.InvalidReceiptError` (EBMS:0302).
    """
    if not body:
        raise InvalidReceiptError("empty response: no receipt", packed.message_id)
    try:
        opened = parse(content_type, body, limits)
    except EbmsError as e:
        raise InvalidReceiptError(f"unreadable response: {e}", packed.message_id) from e
    signal = opened.message
    if not isinstance(signal, SignalMessage):
        raise InvalidReceiptError("the response is a UserMessage, not a signal", packed.message_id)
    if signal.errors:
        raise EbmsError.from_signal_error(signal.errors[0])
    try:
        wssec.verify(opened.envelope, [], trust, expected_cert=expected_sender_cert, at=at, allowed=allowed)
    except wssec.SecurityError as e:
        raise InvalidReceiptError(f"receipt signature: {e}", packed.message_id) from e
    return check_receipt(signal, packed.message_id, [r.element for r in packed.references])


__all__ = [
    "DEFAULT_LIMITS", "Packed", "Parsed", "Received", "UnpackLimits", "check_receipt_response", "error_response",
    "pack", "parse", "receipt_for", "unpack",
]
