"""Non-repudiation receipts (as4-profile.md §5.1; AS4-RCP-002/003).

A receipt is a SignalMessage whose ``eb:Receipt/ebbp:NonRepudiationInformation`` holds one
``ebbp:MessagePartNRInformation`` per ``ds:Reference`` of the received message's ``ds:SignedInfo``,
each a verbatim copy. Signing the receipt is the job of ``wssec``.
"""
from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Sequence

from lxml import etree

from .errors import EbmsError
from .model import NS_DS, NS_WSSE, MessageInfo, Receipt, SignalMessage, new_message_id, parse_xml, utc_now

_DS = "{%s}" % NS_DS


class InvalidReceiptError(EbmsError):
    """The receipt does not acknowledge what was sent: EBMS:0302 InvalidReceipt."""

    def __init__(self, detail: str, ref_to_message_id: str | None = None) -> None:
        super().__init__("EBMS:0302", detail, ref_to_message_id)


def signed_references(envelope: etree._Element) -> list[etree._Element]:
    """The ``ds:Reference`` elements of the message signature (``wsse:Security/ds:Signature/ds:SignedInfo``)."""
    refs: list[etree._Element] = []
    for sec in envelope.iter("{%s}Security" % NS_WSSE):
        for sig in sec.iterchildren(_DS + "Signature"):
            si = sig.find(_DS + "SignedInfo")
            if si is not None:
                refs.extend(si.iterchildren(_DS + "Reference"))
    return refs


def build_receipt(
    user_message_id: str,
    references: Sequence[etree._Element],
    *,
    message_id: str | None = None,
    timestamp: datetime | None = None,
) -> SignalMessage:
    """An NRR receipt for ``user_message_id`` copying ``references`` (a new MessageId by default)."""
    if not references:
        raise ValueError("a non-repudiation receipt needs the signed message's ds:Reference elements")
    for ref in references:
        if ref.tag != _DS + "Reference":
            raise ValueError(f"not a ds:Reference: {ref.tag}")
    info = MessageInfo(
        message_id=message_id or new_message_id(),
        timestamp=timestamp or utc_now(),
        ref_to_message_id=user_message_id,
    )
    return SignalMessage(info, receipt=Receipt(references=list(references)))


def _digest(ref: etree._Element) -> tuple[str | None, str | None, bytes | None]:
    """(URI, DigestMethod algorithm, digest octets) of a ds:Reference; digest None if unreadable."""
    method = ref.find(_DS + "DigestMethod")
    value = ref.find(_DS + "DigestValue")
    raw = None
    if value is not None and value.text:
        try:
            raw = base64.b64decode("".join(value.text.split()), validate=True)
        except (binascii.Error, ValueError):
            raw = None
    return ref.get("URI"), None if method is None else method.get("Algorithm"), raw


def check_receipt(
    receipt: SignalMessage | etree._Element | bytes,
    sent_message_id: str,
    sent_references: Sequence[etree._Element],
) -> SignalMessage:
    """Verify a received receipt against what we sent; returns the parsed signal.

    Checks: it is a Receipt (not an Error signal), RefToMessageId equals ``sent_message_id``, its own
    MessageId is new, and each sent reference appears with the same URI, DigestMethod and digest
    octets (and no others). Raises :class:`InvalidReceiptError` (EBMS:0302) listing every mismatch;
    an Error signal is re-raised as the peer's first ``EbmsError``.
    """
    signal = receipt if isinstance(receipt, SignalMessage) else SignalMessage.from_xml(
        receipt if isinstance(receipt, etree._Element) else parse_xml(receipt))
    if signal.errors:
        first = signal.errors[0]
        raise EbmsError.from_signal_error(first)
    if signal.receipt is None:
        raise InvalidReceiptError("signal has no eb:Receipt", sent_message_id)

    problems: list[str] = []
    if signal.ref_to_message_id != sent_message_id:
        problems.append(f"RefToMessageId is {signal.ref_to_message_id!r}, expected {sent_message_id!r}")
    if signal.message_id == sent_message_id:
        problems.append("receipt reuses the user message's MessageId")

    got = [_digest(r) for r in signal.receipt.references]
    unmatched = list(range(len(got)))
    for ref in sent_references:
        uri, alg, digest = _digest(ref)
        match = next((i for i in unmatched if got[i][0] == uri), None)
        if match is None:
            problems.append(f"reference {uri!r} is not acknowledged")
            continue
        unmatched.remove(match)
        _, r_alg, r_digest = got[match]
        if r_alg != alg:
            problems.append(f"reference {uri!r}: DigestMethod {r_alg!r}, sent {alg!r}")
        if r_digest is None or r_digest != digest:
            problems.append(f"reference {uri!r}: digest differs from the one sent")
    for i in unmatched:
        problems.append(f"receipt acknowledges unknown reference {got[i][0]!r}")
    if problems:
        raise InvalidReceiptError("; ".join(problems), sent_message_id)
    return signal
