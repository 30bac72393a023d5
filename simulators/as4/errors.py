"""ebMS 3 / AS4 error catalogue, the ``EbmsError`` exception and the ``eb:Error`` signal element.

Codes, short descriptions, severities and categories follow ebMS 3.0 Core §6.7 (0001-0011, 0101-0103,
0201-0202) and the AS4 profile §5 (0301-0303). The ebMS spec has no "Security" category: security
errors (0101-0103) are category ``Processing``; only their optional ``origin`` may say ``security``.
We always emit ``origin="ebMS"`` (as Domibus does, and as AS4-ERR-001 expects) unless told otherwise.

Packaging failures found by :mod:`.mime` and :mod:`.compression` raise a :class:`PackagingError`
carrying an :class:`ErrorKind`; :data:`EBMS_CODE_FOR_KIND` maps each kind to the ebMS code a receiving
MSH answers with:

=====================================  ==========  ==================================================
kind                                   code        why
=====================================  ==========  ==================================================
MIME_* structural (no boundary,        EBMS:0007   MimeInconsistency: "the use of MIME is not
truncated, malformed, bad encoding,                consistent with the required usage"
missing root, duplicate/missing CID)
MIME_TOO_LARGE / _TOO_MANY_PARTS /     EBMS:0004   Other: a local resource limit, not a fault of the
_HEADER_TOO_LARGE                                  MIME structure (the message may be conformant)
PAYLOAD_NOT_CID, PAYLOAD_MISSING_PART  EBMS:0011   ExternalPayloadError: a PartInfo/@href that does not
                                                   resolve to a MIME part of this message
PAYLOAD_ORPHAN_PART                    EBMS:0007   a MIME part that no PartInfo references
COMPRESSION_* (corrupt, limit,         EBMS:0303   DecompressionFailure (E115 §3.1; Domibus also uses
missing MimeType, unsupported type)                it for a compressed part without MimeType)
=====================================  ==========  ==================================================
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Iterable

from lxml import etree

if TYPE_CHECKING:  # model imports this module; avoid the cycle at run time
    from .model import SignalMessage

NS_EB = "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/"
_EB = "{%s}" % NS_EB
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


class Severity(StrEnum):
    FAILURE = "failure"
    WARNING = "warning"


class Category(StrEnum):
    CONTENT = "Content"
    COMMUNICATION = "Communication"
    UNPACKAGING = "Unpackaging"
    PROCESSING = "Processing"


@dataclass(frozen=True)
class ErrorSpec:
    """One catalogue entry: what the spec says about an error code."""

    code: str
    short_description: str
    severity: Severity
    category: Category
    description: str


def _spec(code: str, short: str, sev: Severity, cat: Category, text: str) -> ErrorSpec:
    return ErrorSpec(code, short, sev, cat, text)


_F, _W = Severity.FAILURE, Severity.WARNING
_CO, _CM, _UN, _PR = Category.CONTENT, Category.COMMUNICATION, Category.UNPACKAGING, Category.PROCESSING

#: ebMS 3.0 Core §6.7.1-6.7.3 and AS4 profile additional-feature errors, keyed by code.
CATALOGUE: dict[str, ErrorSpec] = {
    s.code: s
    for s in (
        _spec("EBMS:0001", "ValueNotRecognized", _F, _CO,
              "Although the message document is well formed and schema valid, some element/attribute "
              "contains a value that could not be recognized and therefore could not be used by the MSH."),
        _spec("EBMS:0002", "FeatureNotSupported", _W, _CO,
              "Although the message document is well formed and schema valid, some element/attribute "
              "value cannot be processed as expected because the related feature is not supported by the MSH."),
        _spec("EBMS:0003", "ValueInconsistent", _F, _CO,
              "Although the message document is well formed and schema valid, some element/attribute "
              "value is inconsistent either with the content of other element/attribute, or with the "
              "processing mode of the MSH, or with the normative requirements of the ebMS specification."),
        _spec("EBMS:0004", "Other", _F, _CO, ""),
        _spec("EBMS:0005", "ConnectionFailure", _F, _CM,
              "The MSH is experiencing temporary or permanent failure in trying to open a transport "
              "connection with a remote MSH."),
        _spec("EBMS:0006", "EmptyMessagePartitionChannel", _W, _CM,
              "There is no message available for pulling from this MPC at this moment."),
        _spec("EBMS:0007", "MimeInconsistency", _F, _UN,
              "The use of MIME is not consistent with the required usage in this specification."),
        _spec("EBMS:0008", "FeatureNotSupported", _F, _UN,
              "Although the message document is well formed and schema valid, the presence or absence "
              "of some element/attribute is not consistent with the capability of the MSH, with respect "
              "to supported features."),
        _spec("EBMS:0009", "InvalidHeader", _F, _UN,
              "The ebMS header is either not well formed as an XML document, or does not conform to the "
              "ebMS packaging rules."),
        _spec("EBMS:0010", "ProcessingModeMismatch", _F, _PR,
              "The ebMS header or another header (e.g. reliability, security) expected by the MSH is not "
              "compatible with the expected content, based on the associated P-Mode."),
        _spec("EBMS:0011", "ExternalPayloadError", _F, _CO,
              "The MSH is unable to resolve an external payload reference (i.e. a Part that is not "
              "contained within the ebMS Message, as identified by a PartInfo/href URI)."),
        _spec("EBMS:0101", "FailedAuthentication", _F, _PR,
              "The signature in the Security header intended for the \"ebms\" SOAP actor, could not be "
              "validated by the Security module."),
        _spec("EBMS:0102", "FailedDecryption", _F, _PR,
              "The encrypted data reference the Security header intended for the \"ebms\" SOAP actor "
              "could not be decrypted by the Security Module."),
        _spec("EBMS:0103", "PolicyNoncompliance", _F, _PR,
              "The processor determined that the message's security methods, parameters, scope or other "
              "security policy-level requirements or agreements were not satisfied."),
        _spec("EBMS:0201", "DysfunctionalReliability", _F, _PR,
              "Some reliability function as implemented by the Reliability module, is not operational, "
              "or the reliability state associated with this message sequence is not valid."),
        _spec("EBMS:0202", "DeliveryFailure", _F, _CM,
              "Although the message was sent under Guaranteed delivery requirement, the Reliability "
              "module could not get assurance that the message was properly delivered, in spite of "
              "resending efforts."),
        _spec("EBMS:0301", "MissingReceipt", _F, _CM,
              "A Receipt has not been received for a message that was previously sent by the MSH "
              "generating this error."),
        _spec("EBMS:0302", "InvalidReceipt", _F, _CM,
              "A Receipt has been received for a message that was previously sent by the MSH generating "
              "this error, but the content does not match the message content (e.g. some part has not "
              "been acknowledged, or the digest associated does not match the signature digest, for NRR)."),
        _spec("EBMS:0303", "DecompressionFailure", _F, _CM,
              "An error occurred during the decompression."),
    )
}


class ErrorKind(Enum):
    """Why unpacking a message failed (finer than the ebMS code; see the module docstring)."""

    MIME_NOT_MULTIPART = "mime-not-multipart"
    MIME_NO_BOUNDARY = "mime-no-boundary"
    MIME_MALFORMED = "mime-malformed"
    MIME_TRUNCATED = "mime-truncated"
    MIME_BAD_TRANSFER_ENCODING = "mime-bad-transfer-encoding"
    MIME_MISSING_ROOT = "mime-missing-root"
    MIME_MISSING_CONTENT_ID = "mime-missing-content-id"
    MIME_DUPLICATE_CONTENT_ID = "mime-duplicate-content-id"
    MIME_TOO_LARGE = "mime-too-large"
    MIME_TOO_MANY_PARTS = "mime-too-many-parts"
    MIME_HEADER_TOO_LARGE = "mime-header-too-large"
    PAYLOAD_NOT_CID = "payload-not-cid"
    PAYLOAD_MISSING_PART = "payload-missing-part"
    PAYLOAD_ORPHAN_PART = "payload-orphan-part"
    COMPRESSION_CORRUPT = "compression-corrupt"
    COMPRESSION_LIMIT = "compression-limit"
    COMPRESSION_MISSING_MIME_TYPE = "compression-missing-mime-type"
    COMPRESSION_UNSUPPORTED = "compression-unsupported"


EBMS_CODE_FOR_KIND: dict[ErrorKind, str] = {
    ErrorKind.MIME_NOT_MULTIPART: "EBMS:0007",
    ErrorKind.MIME_NO_BOUNDARY: "EBMS:0007",
    ErrorKind.MIME_MALFORMED: "EBMS:0007",
    ErrorKind.MIME_TRUNCATED: "EBMS:0007",
    ErrorKind.MIME_BAD_TRANSFER_ENCODING: "EBMS:0007",
    ErrorKind.MIME_MISSING_ROOT: "EBMS:0007",
    ErrorKind.MIME_MISSING_CONTENT_ID: "EBMS:0007",
    ErrorKind.MIME_DUPLICATE_CONTENT_ID: "EBMS:0007",
    ErrorKind.MIME_TOO_LARGE: "EBMS:0004",
    ErrorKind.MIME_TOO_MANY_PARTS: "EBMS:0004",
    ErrorKind.MIME_HEADER_TOO_LARGE: "EBMS:0004",
    ErrorKind.PAYLOAD_NOT_CID: "EBMS:0011",
    ErrorKind.PAYLOAD_MISSING_PART: "EBMS:0011",
    ErrorKind.PAYLOAD_ORPHAN_PART: "EBMS:0007",
    ErrorKind.COMPRESSION_CORRUPT: "EBMS:0303",
    ErrorKind.COMPRESSION_LIMIT: "EBMS:0303",
    ErrorKind.COMPRESSION_MISSING_MIME_TYPE: "EBMS:0303",
    ErrorKind.COMPRESSION_UNSUPPORTED: "EBMS:0303",
}


class EbmsError(Exception):
    """An ebMS error, raised where it is detected and turned into an ``eb:Error`` by the MSH.

    ``code`` may be outside :data:`CATALOGUE` (e.g. a peer's vendor code read from a signal); then
    severity defaults to ``failure`` and category/short description are unknown unless given.
    """

    def __init__(
        self,
        code: str,
        detail: str | None = None,
        ref_to_message_id: str | None = None,
        *,
        description: str | None = None,
        severity: str | None = None,
        category: str | None = None,
        short_description: str | None = None,
        origin: str = "ebMS",
    ) -> None:
        self.code = code
        self.detail = detail
        self.ref_to_message_id = ref_to_message_id
        spec = CATALOGUE.get(code)
        self.spec = spec
        self.severity = severity or (spec.severity.value if spec else Severity.FAILURE.value)
        self.category = category or (spec.category.value if spec else None)
        self.short_description = short_description or (spec.short_description if spec else None)
        self.description = description if description is not None else (spec.description if spec else None)
        self.origin = origin
        super().__init__(str(self))

    def __reduce__(self):  # picklable despite the custom __init__ signatures (subclasses too)
        return _restore_error, (type(self), dict(self.__dict__))

    def __str__(self) -> str:
        s = f"{self.code} {self.short_description or ''}".rstrip()
        if self.detail:
            s += f": {self.detail}"
        if self.ref_to_message_id:
            s += f" (message {self.ref_to_message_id})"
        return s

    def to_signal_error(self) -> SignalError:
        return SignalError(
            error_code=self.code,
            severity=self.severity,
            category=self.category,
            short_description=self.short_description,
            origin=self.origin,
            ref_to_message_in_error=self.ref_to_message_id,
            description=self.description or None,
            error_detail=self.detail,
        )

    @classmethod
    def from_signal_error(cls, err: SignalError) -> EbmsError:
        """The exception a sender raises for an ``eb:Error`` it received."""
        return cls(
            err.error_code,
            err.error_detail,
            err.ref_to_message_in_error,
            description=err.description,
            severity=err.severity,
            category=err.category,
            short_description=err.short_description,
            origin=err.origin or "ebMS",
        )


def _restore_error(cls: type[EbmsError], state: dict) -> EbmsError:
    err = cls.__new__(cls)
    err.__dict__.update(state)
    Exception.__init__(err, str(err))
    return err


class PackagingError(EbmsError):
    """A MIME, payload-reference or compression failure; ``kind`` says which, ``code`` follows from it."""

    def __init__(self, kind: ErrorKind, detail: str, ref_to_message_id: str | None = None) -> None:
        self.kind = kind
        super().__init__(EBMS_CODE_FOR_KIND[kind], detail, ref_to_message_id)


@dataclass
class SignalError:
    """One ``eb:Error`` of a SignalMessage, as on the wire (all values are strings)."""

    error_code: str
    severity: str = Severity.FAILURE.value
    category: str | None = None
    short_description: str | None = None
    origin: str | None = "ebMS"
    ref_to_message_in_error: str | None = None
    description: str | None = None
    description_lang: str = "en"
    error_detail: str | None = None

    def to_element(self, parent: etree._Element) -> etree._Element:
        el = etree.SubElement(parent, _EB + "Error")
        # attribute order as Domibus writes it; values as given
        for name, value in (
            ("category", self.category),
            ("errorCode", self.error_code),
            ("origin", self.origin),
            ("refToMessageInError", self.ref_to_message_in_error),
            ("severity", self.severity),
            ("shortDescription", self.short_description),
        ):
            if value is not None:
                el.set(name, value)
        if self.description:
            d = etree.SubElement(el, _EB + "Description")
            d.set(_XML_LANG, self.description_lang)
            d.text = self.description
        if self.error_detail:
            etree.SubElement(el, _EB + "ErrorDetail").text = self.error_detail
        return el

    @classmethod
    def from_element(cls, el: etree._Element) -> SignalError:
        desc = el.find(_EB + "Description")
        detail = el.find(_EB + "ErrorDetail")
        return cls(
            error_code=el.get("errorCode", ""),
            severity=el.get("severity", ""),
            category=el.get("category"),
            short_description=el.get("shortDescription"),
            origin=el.get("origin"),
            ref_to_message_in_error=el.get("refToMessageInError"),
            description=(desc.text or "").strip() if desc is not None else None,
            description_lang=desc.get(_XML_LANG, "en") if desc is not None else "en",
            error_detail=(detail.text or "").strip() if detail is not None else None,
        )


def error_signal(
    errors: EbmsError | SignalError | Iterable[EbmsError | SignalError],
    *,
    ref_to_message_id: str | None = None,
    message_id: str | None = None,
    timestamp: datetime | None = None,
) -> SignalMessage:
    """Build an error SignalMessage (one ``eb:Error`` per error).

    ``ref_to_message_id`` (the message in error) goes into ``MessageInfo/RefToMessageId`` and fills
    ``refToMessageInError`` of errors that have none. It may be None when the message id is unknown
    (e.g. the MIME could not be parsed).
    """
    from .model import MessageInfo, SignalMessage  # deferred: model imports this module

    if isinstance(errors, (EbmsError, SignalError)):
        errors = [errors]
    items: list[SignalError] = []
    for e in errors:
        se = e.to_signal_error() if isinstance(e, EbmsError) else e
        if se.ref_to_message_in_error is None and ref_to_message_id is not None:
            se.ref_to_message_in_error = ref_to_message_id
        items.append(se)
    if not items:
        raise ValueError("an error signal needs at least one error")
    info = MessageInfo(ref_to_message_id=ref_to_message_id)
    if message_id is not None:
        info.message_id = message_id
    if timestamp is not None:
        info.timestamp = timestamp
    return SignalMessage(info, errors=items)
