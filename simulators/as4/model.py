"""ebMS 3 header model: ``UserMessage`` / ``SignalMessage`` dataclasses, ``eb:Messaging`` to and from XML,
the SOAP 1.2 envelope, and the OOTS header constants (spec/as4-profile.md §3, §5).

Parsing binds namespace URIs, never prefixes (Domibus renames them from one message to the next),
ignores property order and unknown extra elements/PartProperties, and raises
``EbmsError("EBMS:0009")`` (InvalidHeader) when a schema-required element is missing.
"""
from __future__ import annotations

import copy
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterable, NamedTuple, Union

from lxml import etree

from conformance.rules.xmlsafe import shared_parser

from .errors import EbmsError, SignalError

# --- namespaces -------------------------------------------------------------------------------------
NS_EB = "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/"
NS_S12 = "http://www.w3.org/2003/05/soap-envelope"
NS_WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
NS_WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
NS_DS = "http://www.w3.org/2000/09/xmldsig#"
NS_EBBP = "http://docs.oasis-open.org/ebxml-bp/ebbp-signals-2.0"
NS_XML = "http://www.w3.org/XML/1998/namespace"

DEFAULT_MPC = NS_EB + "defaultMPC"

#: Prefixes we write (Domibus uses ``env`` for SOAP 1.2). Readers must not rely on them.
NSMAP = {"env": NS_S12, "eb": NS_EB, "wsu": NS_WSU}

_EB = "{%s}" % NS_EB
_PARTY_ID, _ROLE = _EB + "PartyId", _EB + "Role"
_S12 = "{%s}" % NS_S12
WSU_ID = "{%s}Id" % NS_WSU
_MUST_UNDERSTAND = _S12 + "mustUnderstand"
_EBBP = "{%s}" % NS_EBBP
_DS_REFERENCE = "{%s}Reference" % NS_DS


class OOTS:
    """OOTS values of the ebMS header (as4-profile.md §3 and §6.3)."""

    ROLE = "http://sdg.europa.eu/edelivery/gateway"
    SERVICE = "QueryManager"
    SERVICE_TYPE = "urn:oasis:names:tc:ebcore:ebrs:ebms:binding:1.0"
    ACTION_REQUEST = "ExecuteQueryRequest"
    ACTION_RESPONSE = "ExecuteQueryResponse"
    ACTION_EXCEPTION = "ExceptionResponse"
    ACTIONS = frozenset({ACTION_REQUEST, ACTION_RESPONSE, ACTION_EXCEPTION})
    #: ebMS test service / action (never delivered to the business application)
    TEST_SERVICE = NS_EB + "service"
    TEST_ACTION = NS_EB + "test"
    #: PartyId/@type of the OOTS test platform; the 2023 Projectathon used the ``-simulator`` variant
    PARTY_TYPE = "urn:oasis:names:tc:ebcore:partyid-type:unregistered:oots"
    PARTY_TYPE_PROJECTATHON = "urn:oasis:names:tc:ebcore:partyid-type:unregistered:oots-simulator"
    # MessageProperties
    ORIGINAL_SENDER = "originalSender"
    FINAL_RECIPIENT = "finalRecipient"
    EXCHANGE_ID = "ExchangeId"  # TDD v2.0
    SPECIFICATION_ID = "SpecificationId"  # TDD v2.0
    SPECIFICATION_ID_V2 = "oots-edm:v2.0"
    #: MimeType of the leading RegRep payload (first PartInfo)
    MIME_REGREP = "application/x-ebrs+xml"


# PartProperties names and the only compression type (eDelivery AS4 1.15 §3.1)
PROP_MIME_TYPE = "MimeType"
PROP_CHARACTER_SET = "CharacterSet"
PROP_COMPRESSION_TYPE = "CompressionType"
GZIP = "application/gzip"


# --- ids, time, XML parsing ----------------------------------------------------------------------------
def new_message_id(domain: str = "oots.eu") -> str:
    """A fresh RFC 2822 msg-id without brackets: ``<uuid>@domain``."""
    return f"{uuid.uuid4()}@{domain}"


def new_xml_id(prefix: str = "id-") -> str:
    """A fresh xs:ID (NCName) for ``wsu:Id`` attributes."""
    return prefix + str(uuid.uuid4())


def utc_now() -> datetime:
    """Now in UTC, truncated to the millisecond precision written on the wire."""
    now = datetime.now(timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def format_timestamp(ts: datetime) -> str:
    """xs:dateTime in UTC with milliseconds and ``Z`` (``2026-08-11T09:22:22.000Z``); naive means UTC."""
    if ts.tzinfo is not None:
        ts = ts.astimezone(timezone.utc)
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


_TS_RE = re.compile(r"\d{4,}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?")


def parse_timestamp(text: str) -> datetime:
    """Parse an xs:dateTime. Without a zone designator the result is naive (callers treat it as UTC)."""
    t = text.strip()
    if not _TS_RE.fullmatch(t):
        raise ValueError(f"not an xs:dateTime: {text!r}")
    return datetime.fromisoformat(t)


def parse_xml(data: bytes | str) -> etree._Element:
    """Hardened XML parse (no DTD, no entities, no network); raises ``EbmsError`` EBMS:0009 on bad input.

    A leading UTF-8 BOM is accepted.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        root = etree.fromstring(data, shared_parser())
    except etree.XMLSyntaxError as e:
        raise EbmsError("EBMS:0009", f"not well-formed XML: {e}") from None
    if root.getroottree().docinfo.doctype:
        raise EbmsError("EBMS:0009", "DOCTYPE declarations are not allowed")
    return root


def to_bytes(el: etree._Element) -> bytes:
    """Serialise an element (e.g. the envelope) as UTF-8 with an XML declaration."""
    return etree.tostring(el, encoding="UTF-8", xml_declaration=True)


def _invalid(msg: str) -> EbmsError:
    return EbmsError("EBMS:0009", msg)


def _text(el: etree._Element) -> str:
    if len(el):  # comments or stray children: concatenate the text nodes
        return "".join(el.itertext()).strip()
    return (el.text or "").strip()


def _first(parent: etree._Element, tag: str) -> etree._Element | None:
    """``parent.find(tag)`` for a plain (Clark) tag, without going through ElementPath: half the cost."""
    return next(parent.iterchildren(tag), None)


def _child(parent: etree._Element, name: str) -> etree._Element:
    el = _first(parent, _EB + name)
    if el is None:
        raise _invalid(f"eb:{etree.QName(parent).localname} has no eb:{name}")
    return el


def _kids(parent: etree._Element) -> dict[str, etree._Element]:
    """Clark tag -> first child element with that tag, read in one pass over the children (the same
    element ``_first`` would find for every tag at once)."""
    out: dict[str, etree._Element] = {}
    for c in parent:
        out.setdefault(c.tag, c)  # comments/PIs have a non-str tag no lookup uses
    return out


def _need(kids: dict[str, etree._Element], parent: etree._Element, name: str) -> etree._Element:
    el = kids.get(_EB + name)
    if el is None:
        raise _invalid(f"eb:{etree.QName(parent).localname} has no eb:{name}")
    return el


def _opt_text(parent: etree._Element, name: str) -> str | None:
    el = _first(parent, _EB + name)
    return None if el is None else _text(el)


# --- header parts --------------------------------------------------------------------------------------
class Property(NamedTuple):
    """``eb:Property`` of MessageProperties or PartProperties (``type`` per the errata-64179 schema)."""

    name: str
    value: str
    type: str | None = None


def _properties_to_xml(parent: etree._Element, props: Iterable[Property]) -> None:
    for p in props:
        el = etree.SubElement(parent, _EB + "Property", name=p.name)
        if p.type is not None:
            el.set("type", p.type)
        el.text = p.value


def _properties_from_xml(parent: etree._Element | None) -> list[Property]:
    if parent is None:
        return []
    out = []
    for el in parent.iterchildren(_EB + "Property"):
        name = el.get("name")
        if not name:
            raise _invalid("eb:Property without @name")
        out.append(Property(name, _text(el), el.get("type")))
    return out


def _get(props: Iterable[Property], name: str) -> str | None:
    for p in props:
        if p.name == name:
            return p.value
    return None


@dataclass
class MessageInfo:
    message_id: str = field(default_factory=new_message_id)
    timestamp: datetime = field(default_factory=utc_now)
    ref_to_message_id: str | None = None

    def to_element(self, parent: etree._Element) -> etree._Element:
        mi = etree.SubElement(parent, _EB + "MessageInfo")
        etree.SubElement(mi, _EB + "Timestamp").text = format_timestamp(self.timestamp)
        etree.SubElement(mi, _EB + "MessageId").text = self.message_id
        if self.ref_to_message_id is not None:
            etree.SubElement(mi, _EB + "RefToMessageId").text = self.ref_to_message_id
        return mi

    @classmethod
    def from_element(cls, el: etree._Element) -> MessageInfo:
        kids = _kids(el)
        ts_text = _text(_need(kids, el, "Timestamp"))
        try:
            ts = parse_timestamp(ts_text)
        except ValueError as e:
            raise _invalid(str(e)) from None
        mid = _text(_need(kids, el, "MessageId"))
        if not mid:
            raise _invalid("empty eb:MessageId")
        ref = kids.get(_EB + "RefToMessageId")
        return cls(message_id=mid, timestamp=ts, ref_to_message_id=None if ref is None else _text(ref))


@dataclass
class Party:
    """``eb:From`` / ``eb:To``: the first PartyId, its type and the role. ``extra_ids`` keeps any further
    PartyIds as ``(value, type)`` (E115 allows exactly one; conformance checks look here)."""

    party_id: str
    party_type: str | None = None
    role: str = OOTS.ROLE
    extra_ids: list[tuple[str, str | None]] = field(default_factory=list)

    def to_element(self, parent: etree._Element, tag: str) -> etree._Element:
        el = etree.SubElement(parent, _EB + tag)
        for value, ptype in [(self.party_id, self.party_type), *self.extra_ids]:
            pid = etree.SubElement(el, _EB + "PartyId")
            if ptype is not None:
                pid.set("type", ptype)
            pid.text = value
        etree.SubElement(el, _EB + "Role").text = self.role
        return el

    @classmethod
    def from_element(cls, el: etree._Element) -> Party:
        ids = []
        role_el = None
        for c in el:
            if c.tag == _PARTY_ID:
                ids.append((_text(c), c.get("type")))
            elif c.tag == _ROLE and role_el is None:
                role_el = c
        if not ids:
            raise _invalid(f"eb:{etree.QName(el).localname} has no eb:PartyId")
        if role_el is None:
            raise _invalid(f"eb:{etree.QName(el).localname} has no eb:Role")
        role = _text(role_el)
        return cls(party_id=ids[0][0], party_type=ids[0][1], role=role, extra_ids=ids[1:])


@dataclass
class Service:
    value: str
    type: str | None = None


@dataclass
class AgreementRef:
    value: str
    type: str | None = None
    pmode: str | None = None


@dataclass
class PartInfo:
    """``eb:PartInfo``: ``href`` (``cid:…`` for AS4; None means a SOAP Body payload) and PartProperties."""

    href: str | None
    properties: list[Property] = field(default_factory=list)

    @property
    def content_id(self) -> str | None:
        """The Content-ID this part references, or None when ``href`` is not a ``cid:`` URI."""
        if self.href is not None and self.href[:4].lower() == "cid:":
            return self.href[4:]
        return None

    def get(self, name: str) -> str | None:
        return _get(self.properties, name)

    @property
    def mime_type(self) -> str | None:
        return self.get(PROP_MIME_TYPE)

    def with_property(self, name: str, value: str, type: str | None = None) -> PartInfo:
        """A copy where ``name`` is set to ``value`` (replaced in place if present, else appended)."""
        props, done = [], False
        for p in self.properties:
            if p.name == name:
                if not done:
                    props.append(Property(name, value, type))
                    done = True
            else:
                props.append(p)
        if not done:
            props.append(Property(name, value, type))
        return PartInfo(self.href, props)

    def without_property(self, name: str) -> PartInfo:
        return PartInfo(self.href, [p for p in self.properties if p.name != name])

    def to_element(self, parent: etree._Element) -> etree._Element:
        el = etree.SubElement(parent, _EB + "PartInfo")
        if self.href is not None:
            el.set("href", self.href)
        if self.properties:
            _properties_to_xml(etree.SubElement(el, _EB + "PartProperties"), self.properties)
        return el

    @classmethod
    def from_element(cls, el: etree._Element) -> PartInfo:
        href = el.get("href")
        return cls(href.strip() if href is not None else None,
                   _properties_from_xml(_first(el, _EB + "PartProperties")))


def _messaging_element(messaging_id: str | None) -> etree._Element:
    el = etree.Element(_EB + "Messaging", nsmap=NSMAP)
    el.set(_MUST_UNDERSTAND, "true")
    el.set(WSU_ID, messaging_id or new_xml_id("_"))
    return el


def _find_messaging(root: etree._Element) -> etree._Element:
    """``root`` itself if it is ``eb:Messaging``, else the single ``eb:Messaging`` below it."""
    if root.tag == _EB + "Messaging":
        return root
    found = list(root.iter(_EB + "Messaging"))
    if len(found) != 1:
        raise _invalid("no eb:Messaging header" if not found else f"{len(found)} eb:Messaging headers")
    return found[0]


def _find_children(source: bytes | str | etree._Element, tag: str) -> list[etree._Element]:
    """All ``tag`` children of the ``eb:Messaging`` found in ``source``, or ``source`` itself."""
    root = source if isinstance(source, etree._Element) else parse_xml(source)
    if root.tag == tag:
        return [root]
    return list(_find_messaging(root).iterchildren(tag))


# --- UserMessage ---------------------------------------------------------------------------------------
@dataclass
class UserMessage:
    """``eb:UserMessage``. ``properties`` keep document order; look them up by name with ``get_property``."""

    message_info: MessageInfo
    from_party: Party
    to_party: Party
    service: Service
    action: str
    conversation_id: str
    agreement_ref: AgreementRef | None = None
    properties: list[Property] = field(default_factory=list)
    parts: list[PartInfo] = field(default_factory=list)
    mpc: str | None = DEFAULT_MPC

    @property
    def message_id(self) -> str:
        return self.message_info.message_id

    def get_property(self, name: str) -> str | None:
        """Value of the first MessageProperty called ``name``."""
        return _get(self.properties, name)

    def find_property(self, name: str) -> Property | None:
        for p in self.properties:
            if p.name == name:
                return p
        return None

    def part(self, href: str) -> PartInfo | None:
        for p in self.parts:
            if p.href == href:
                return p
        return None

    def to_element(self, parent: etree._Element) -> etree._Element:
        um = etree.SubElement(parent, _EB + "UserMessage")
        if self.mpc is not None:
            um.set("mpc", self.mpc)
        self.message_info.to_element(um)
        pi = etree.SubElement(um, _EB + "PartyInfo")
        self.from_party.to_element(pi, "From")
        self.to_party.to_element(pi, "To")
        ci = etree.SubElement(um, _EB + "CollaborationInfo")
        if self.agreement_ref is not None:
            ar = etree.SubElement(ci, _EB + "AgreementRef")
            for name in ("type", "pmode"):
                if getattr(self.agreement_ref, name) is not None:
                    ar.set(name, getattr(self.agreement_ref, name))
            ar.text = self.agreement_ref.value
        svc = etree.SubElement(ci, _EB + "Service")
        if self.service.type is not None:
            svc.set("type", self.service.type)
        svc.text = self.service.value
        etree.SubElement(ci, _EB + "Action").text = self.action
        etree.SubElement(ci, _EB + "ConversationId").text = self.conversation_id
        if self.properties:
            _properties_to_xml(etree.SubElement(um, _EB + "MessageProperties"), self.properties)
        if self.parts:
            payload = etree.SubElement(um, _EB + "PayloadInfo")
            for p in self.parts:
                p.to_element(payload)
        return um

    def to_xml(self, messaging_id: str | None = None) -> etree._Element:
        """``eb:Messaging`` (``env:mustUnderstand="true"``, ``wsu:Id``; a fresh id when not given)."""
        messaging = _messaging_element(messaging_id)
        self.to_element(messaging)
        return messaging

    @classmethod
    def from_element(cls, um: etree._Element) -> UserMessage:
        kids = _kids(um)
        pi = _need(kids, um, "PartyInfo")
        ci = _need(kids, um, "CollaborationInfo")
        pi_kids, ci_kids = _kids(pi), _kids(ci)
        svc = _need(ci_kids, ci, "Service")
        ar = ci_kids.get(_EB + "AgreementRef")
        payload = kids.get(_EB + "PayloadInfo")
        return cls(
            message_info=MessageInfo.from_element(_need(kids, um, "MessageInfo")),
            from_party=Party.from_element(_need(pi_kids, pi, "From")),
            to_party=Party.from_element(_need(pi_kids, pi, "To")),
            service=Service(_text(svc), svc.get("type")),
            action=_text(_need(ci_kids, ci, "Action")),
            conversation_id=_text(_need(ci_kids, ci, "ConversationId")),
            agreement_ref=None if ar is None else AgreementRef(_text(ar), ar.get("type"), ar.get("pmode")),
            properties=_properties_from_xml(kids.get(_EB + "MessageProperties")),
            parts=[] if payload is None else [PartInfo.from_element(p)
                                              for p in payload.iterchildren(_EB + "PartInfo")],
            mpc=um.get("mpc"),
        )

    @classmethod
    def from_xml(cls, source: bytes | str | etree._Element) -> UserMessage:
        """Parse from an envelope, an ``eb:Messaging`` or an ``eb:UserMessage`` (element or bytes)."""
        found = _find_children(source, _EB + "UserMessage")
        if len(found) != 1:
            raise _invalid(f"expected one eb:UserMessage, found {len(found)}")
        return cls.from_element(found[0])


# --- SignalMessage -------------------------------------------------------------------------------------
@dataclass(eq=False)
class Receipt:
    """``eb:Receipt``. ``references`` are the ``ds:Reference`` elements of its NonRepudiationInformation
    (copies when built by us; elements of the parsed tree when read). ``other`` keeps any other
    receipt content (e.g. a non-NRR receipt carrying a copy of the UserMessage). Two receipts are
    equal when their elements have the same exclusive canonical form."""

    references: list[etree._Element] = field(default_factory=list)
    other: list[etree._Element] = field(default_factory=list)

    def _canonical(self) -> tuple[list[bytes], list[bytes]]:
        c14n = lambda el: etree.tostring(el, method="c14n", exclusive=True)  # noqa: E731
        return [c14n(r) for r in self.references], [c14n(o) for o in self.other]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Receipt):
            return NotImplemented
        return self._canonical() == other._canonical()

    def to_element(self, parent: etree._Element) -> etree._Element:
        el = etree.SubElement(parent, _EB + "Receipt")
        if self.references:
            nri = etree.SubElement(el, _EBBP + "NonRepudiationInformation", nsmap={"ebbp": NS_EBBP})
            for ref in self.references:
                mp = etree.SubElement(nri, _EBBP + "MessagePartNRInformation")
                mp.append(copy.deepcopy(ref))
        for other in self.other:
            el.append(copy.deepcopy(other))
        return el

    @classmethod
    def from_element(cls, el: etree._Element) -> Receipt:
        refs: list[etree._Element] = []
        other: list[etree._Element] = []
        for child in el:
            if not isinstance(child.tag, str):
                continue  # comments, PIs
            if child.tag == _EBBP + "NonRepudiationInformation":
                for mp in child.iterchildren(_EBBP + "MessagePartNRInformation"):
                    refs.extend(mp.iterchildren(_DS_REFERENCE))
            else:
                other.append(child)
        return cls(refs, other)


@dataclass
class SignalMessage:
    """``eb:SignalMessage`` carrying a Receipt and/or Errors (PullRequest is not used by OOTS)."""

    message_info: MessageInfo
    receipt: Receipt | None = None
    errors: list[SignalError] = field(default_factory=list)

    @property
    def message_id(self) -> str:
        return self.message_info.message_id

    @property
    def ref_to_message_id(self) -> str | None:
        return self.message_info.ref_to_message_id

    def to_element(self, parent: etree._Element) -> etree._Element:
        sm = etree.SubElement(parent, _EB + "SignalMessage")
        self.message_info.to_element(sm)
        if self.receipt is not None:
            self.receipt.to_element(sm)
        for err in self.errors:
            err.to_element(sm)
        return sm

    def to_xml(self, messaging_id: str | None = None) -> etree._Element:
        """``eb:Messaging`` (``env:mustUnderstand="true"``, ``wsu:Id``) holding this signal."""
        messaging = _messaging_element(messaging_id)
        self.to_element(messaging)
        return messaging

    @classmethod
    def from_element(cls, sm: etree._Element) -> SignalMessage:
        receipt = _first(sm, _EB + "Receipt")
        return cls(
            message_info=MessageInfo.from_element(_child(sm, "MessageInfo")),
            receipt=None if receipt is None else Receipt.from_element(receipt),
            errors=[SignalError.from_element(e) for e in sm.iterchildren(_EB + "Error")],
        )

    @classmethod
    def from_xml(cls, source: bytes | str | etree._Element) -> SignalMessage:
        """Parse the (first) ``eb:SignalMessage`` of an envelope or ``eb:Messaging``."""
        found = _find_children(source, _EB + "SignalMessage")
        if not found:
            raise _invalid("no eb:SignalMessage")
        return cls.from_element(found[0])


Message = Union[UserMessage, SignalMessage]


def parse_messaging(source: bytes | str | etree._Element) -> list[Message]:
    """Every SignalMessage and UserMessage of the envelope's ``eb:Messaging``, in document order."""
    out: list[Message] = []
    root = source if isinstance(source, etree._Element) else parse_xml(source)
    for child in _find_messaging(root):
        if child.tag == _EB + "UserMessage":
            out.append(UserMessage.from_element(child))
        elif child.tag == _EB + "SignalMessage":
            out.append(SignalMessage.from_element(child))
    if not out:
        raise _invalid("eb:Messaging holds neither a UserMessage nor a SignalMessage")
    return out


def messaging_id(messaging: etree._Element) -> str | None:
    """The ``wsu:Id`` of an ``eb:Messaging`` element."""
    return messaging.get(WSU_ID)


# --- SOAP 1.2 envelope ---------------------------------------------------------------------------------
def build_envelope(
    messaging: etree._Element | UserMessage | SignalMessage,
    *,
    body_id: str | None = None,
    messaging_id: str | None = None,
) -> etree._Element:
    """A SOAP 1.2 envelope with ``eb:Messaging`` in the Header and an empty Body carrying a ``wsu:Id``.

    ``messaging`` may be a model (serialised with ``messaging_id``) or an ``eb:Messaging`` element,
    which is moved (not copied) into the new envelope.
    """
    if isinstance(messaging, (UserMessage, SignalMessage)):
        messaging = messaging.to_xml(messaging_id)
    elif messaging.tag != _EB + "Messaging":
        raise ValueError(f"expected eb:Messaging, got {messaging.tag}")
    env = etree.Element(_S12 + "Envelope", nsmap=NSMAP)
    header = etree.SubElement(env, _S12 + "Header")
    header.append(messaging)
    body = etree.SubElement(env, _S12 + "Body")
    body.set(WSU_ID, body_id or new_xml_id("_"))
    return env
