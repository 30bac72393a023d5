"""Single-message checks of the ebMS3 header (``eb:Messaging``) as OOTS uses it.

Ids are those of ``shared/spec/as4-profile.md`` §8 (``AS4-HDR-0xx``) and ``shared/spec/edm.md`` (``EDM-COR-0xx``).
The same checks run on a bare captured header (kind ``ebms-header`` rooted at ``eb:Messaging``), on a full AS4
SOAP envelope (kind ``ebms-header`` rooted at the envelope) and on a Domibus WS-plugin envelope
(kind ``wsplugin-soap``: the header is ``S12:Header/eb:Messaging``); :func:`find_messaging` finds it in all three.

Decisions worth knowing:

* Version comes from the header's ``SpecificationId`` property (``detection.version``). No ``SpecificationId``
  means a pre-2.0 header (v1.x: only ``originalSender``/``finalRecipient`` are required).
* AS4-HDR-001 (``mustUnderstand`` + ``wsu:Id``) concerns a real, signed AS4 envelope only: it runs when the
  ``eb:Messaging`` sits in a SOAP header that also holds ``wsse:Security``. A bare header or a WS-plugin view
  (no WS-Security by design) is not judged on it.
* A ``Messaging`` that carries only ``SignalMessage`` s (receipt, error) is not a user message: the UserMessage
  rules do not apply to it.
* In a WS-plugin ``submitRequest`` Domibus fills ``MessageInfo`` (MessageId, Timestamp) when the application
  leaves it out, so its absence there is not a finding; when present it is checked like any other.
* Only in the WS-plugin view is the RegRep payload at hand: there AS4-HDR-010 also compares ``SpecificationId``
  with the payload's ``SpecificationIdentifier``, AS4-HDR-013 compares attachment ``MimeType`` s with the
  evidence ``Format`` s, and EDM-COR-004 compares the ``Action`` with the payload's kind.
* EDM-COR-004's Service and Role parts are reported under AS4-HDR-005 / AS4-HDR-004 (same rule, one finding);
  EDM-COR-004 itself is the "Action matches the message kind" part.
* The messages ebMS test service/action (``…/200704/service`` + ``…/200704/test``) are accepted by AS4-HDR-005/006;
  OOTS-specific rules (payload, properties of the EDM exchange) are skipped for them.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Iterator

from lxml import etree

from ..detect import detect
from ..findings import Severity, Violation
from ..ns import NS, q, locate, slot_text, text, xp
from ..registry import MessageContext, check

EB = NS["eb"]
GATEWAY_ROLE = "http://sdg.europa.eu/edelivery/gateway"
QUERY_MANAGER = "QueryManager"
BINDING_TYPE = "urn:oasis:names:tc:ebcore:ebrs:ebms:binding:1.0"
ACTIONS = ("ExecuteQueryRequest", "ExecuteQueryResponse", "ExceptionResponse")
TEST_SERVICE = "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/service"
TEST_ACTION = "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/test"
REGREP_MIME = "application/x-ebrs+xml"
SPEC_ID_V2 = "oots-edm:v2.0"
V2_PROPERTIES = ("originalSender", "finalRecipient", "ExchangeId", "SpecificationId")
V1_PROPERTIES = ("originalSender", "finalRecipient")
#: the EDM message kind each ebMS Action carries
ACTION_KIND = {"ExecuteQueryRequest": "request", "ExecuteQueryResponse": "response",
               "ExceptionResponse": "exception"}

_HEADER_KINDS = {"ebms-header", "wsplugin-soap"}
_ENVELOPES = (q("S12", "Envelope"), q("S11", "Envelope"))
_UTC_DATETIME = re.compile(r"^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]00:00)$")
_UUID = re.compile(r"^(urn:uuid:)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_MSG_ID = re.compile(r"^[^\s<>@]+@[^\s<>@]+$")
_MEDIA_TYPE = re.compile(r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+$")
_SCHEME = re.compile(r"^(urn:cef\.eu:names:identifier:EAS:\d{4}"
                     r"|urn:oasis:names:tc:ebcore:partyid-type:(unregistered(:\S+)?|iso6523:\d{4}))$")


# --------------------------------------------------------------------------- locating the header

def _soap_header(envelope: etree._Element) -> etree._Element | None:
    ns = etree.QName(envelope).namespace
    return envelope.find(f"{{{ns}}}Header")


def all_messaging(root: etree._Element) -> list[etree._Element]:
    """Every ``eb:Messaging`` of a bare header (the root itself) or of a SOAP envelope's header."""
    if root.tag == q("eb", "Messaging"):
        return [root]
    if root.tag in _ENVELOPES:
        header = _soap_header(root)
        if header is not None:
            return [c for c in header if c.tag == q("eb", "Messaging")]
    return []


def find_messaging(root: etree._Element) -> etree._Element | None:
    """The ``eb:Messaging`` of a bare header, an AS4 envelope or a WS-plugin envelope (None when absent)."""
    found = all_messaging(root)
    return found[0] if found else None


def find_user_message(root: etree._Element) -> etree._Element | None:
    """The first ``eb:UserMessage`` of the message's ``eb:Messaging``."""
    m = find_messaging(root)
    return m.find(q("eb", "UserMessage")) if m is not None else None


def wsplugin_operation(root: etree._Element) -> str | None:
    """Local name of the WS-plugin operation element in the SOAP Body (``submitRequest``...), if any."""
    if root.tag not in _ENVELOPES:
        return None
    ns = etree.QName(root).namespace
    body = root.find(f"{{{ns}}}Body")
    if body is None:
        return None
    for c in body:
        if isinstance(c.tag, str) and etree.QName(c).namespace == NS["wsplugin"]:
            return etree.QName(c).localname
    return None


def properties(um: etree._Element) -> list[etree._Element]:
    """The ``eb:Property`` elements of ``MessageProperties``."""
    return xp(um, "./eb:MessageProperties/eb:Property")


def props_named(um: etree._Element, name: str) -> list[etree._Element]:
    return [p for p in properties(um) if p.get("name") == name]


def part_infos(um: etree._Element) -> list[etree._Element]:
    return xp(um, "./eb:PayloadInfo/eb:PartInfo")


def part_property(part: etree._Element, name: str) -> list[str]:
    return [(p.text or "").strip() for p in xp(part, "./eb:PartProperties/eb:Property") if p.get("name") == name]


def media_type(value: str | None) -> str:
    """``Application/PDF; charset=x`` -> ``application/pdf``."""
    return (value or "").split(";", 1)[0].strip().lower()


def _is_test_message(um: etree._Element) -> bool:
    return text(um.find(f"{q('eb', 'CollaborationInfo')}/{q('eb', 'Service')}")) == TEST_SERVICE


def _user_message(ctx: MessageContext) -> etree._Element | None:
    """The UserMessage a check should judge, or None (no header, signal-only header)."""
    return find_user_message(ctx.root)


def _payload_root(ctx: MessageContext, um: etree._Element) -> etree._Element | None:
    """The RegRep payload of a WS-plugin envelope (the part of the first PartInfo), parsed safely."""
    if ctx.kind != "wsplugin-soap":
        return None
    from .wsplugin import regrep_payload  # lazy: wsplugin imports this module
    return regrep_payload(ctx.root, um)


# --------------------------------------------------------------------------- AS4-HDR

@check("AS4-HDR-001", kinds=_HEADER_KINDS, ref="as4-profile.md §3; AS4-HDR-001",
       title="eb:Messaging of a signed AS4 envelope has mustUnderstand=true and a wsu:Id")
def hdr_001(ctx: MessageContext) -> Iterator[Violation]:
    if ctx.root.tag not in _ENVELOPES:
        return
    header = _soap_header(ctx.root)
    if header is None or header.find(q("wsse", "Security")) is None:
        return  # not a secured AS4 envelope (bare header, WS-plugin view): rule not applicable
    soap_ns = etree.QName(ctx.root).namespace
    accepted = ("true", "1") if soap_ns == NS["S12"] else ("1",)
    for m in all_messaging(ctx.root):
        mu = m.get(f"{{{soap_ns}}}mustUnderstand")
        if (mu or "").strip() not in accepted:
            yield Violation("eb:Messaging must carry SOAP mustUnderstand", locate(m),
                            expected=f"{etree.QName(ctx.root).localname}:mustUnderstand=\"{accepted[0]}\"",
                            actual=mu if mu is not None else "absent")
        wid = m.get(q("wsu", "Id"))
        if not (wid or "").strip():
            yield Violation("eb:Messaging must carry a wsu:Id (the signature references it)", locate(m),
                            expected="non-empty wsu:Id", actual=wid if wid is not None else "absent")


@check("AS4-HDR-002", kinds=_HEADER_KINDS, ref="as4-profile.md §3; ebMS3 core 5.2.2; AS4-HDR-002",
       title="one UserMessage; MessageInfo with UTC Timestamp and an RFC 2822 MessageId")
def hdr_002(ctx: MessageContext) -> Iterator[Violation]:
    msgs = all_messaging(ctx.root)
    if not msgs:
        return  # WS-plugin operations without a header (list, retrieve request...): WSP checks decide
    if len(msgs) > 1:
        yield Violation("the SOAP header holds more than one eb:Messaging", locate(msgs[1]),
                        expected="1 eb:Messaging", actual=str(len(msgs)))
    m = msgs[0]
    ums = m.findall(q("eb", "UserMessage"))
    if not ums:
        if m.find(q("eb", "SignalMessage")) is None:
            yield Violation("eb:Messaging holds neither a UserMessage nor a SignalMessage", locate(m),
                            expected="1 eb:UserMessage", actual="none")
        return
    if len(ums) > 1:
        yield Violation("more than one eb:UserMessage", locate(ums[1]), expected="1", actual=str(len(ums)))
    um = ums[0]
    submit = wsplugin_operation(ctx.root) == "submitRequest"
    info = um.find(q("eb", "MessageInfo"))
    if info is None:
        if not submit:
            yield Violation("eb:MessageInfo is missing", locate(um), expected="eb:MessageInfo", actual="absent")
        return
    ts = info.find(q("eb", "Timestamp"))
    if ts is None:
        if not submit:
            yield Violation("eb:Timestamp is missing", locate(info), expected="eb:Timestamp", actual="absent")
    else:
        v = text(ts) or ""
        ok = bool(_UTC_DATETIME.match(v))
        if ok:
            try:
                datetime.fromisoformat(v.replace("Z", "+00:00"))
            except ValueError:
                ok = False
        if not ok:
            yield Violation("Timestamp must be an xs:dateTime in UTC", locate(ts),
                            expected="e.g. 2026-08-11T09:22:22.000Z", actual=v)
    mid = info.find(q("eb", "MessageId"))
    if mid is None:
        if not submit:
            yield Violation("eb:MessageId is missing", locate(info), expected="eb:MessageId", actual="absent")
    else:
        v = mid.text or ""
        if not _MSG_ID.match(v.strip()) or v != v.strip():
            yield Violation("MessageId must be an RFC 2822 msg-id (left@right) without angle brackets or spaces",
                            locate(mid), expected="<uuid>@<domain>", actual=v)


@check("AS4-HDR-003", kinds=_HEADER_KINDS, ref="eDelivery AS4 1.15 §2.4.1; AS4-HDR-003",
       title="From and To each hold exactly one PartyId with a non-empty @type")
def hdr_003(ctx: MessageContext) -> Iterator[Violation]:
    um = _user_message(ctx)
    if um is None:
        return
    pinfo = um.find(q("eb", "PartyInfo"))
    for side in ("From", "To"):
        el = pinfo.find(q("eb", side)) if pinfo is not None else None
        if el is None:
            yield Violation(f"eb:PartyInfo/eb:{side} is missing", locate(pinfo if pinfo is not None else um),
                            expected=f"eb:{side}", actual="absent")
            continue
        ids = el.findall(q("eb", "PartyId"))
        if len(ids) != 1:
            yield Violation(f"eb:{side} must hold exactly one PartyId", locate(el), expected="1",
                            actual=str(len(ids)))
        for pid in ids:
            if not text(pid):
                yield Violation(f"eb:{side}/PartyId is empty", locate(pid), expected="an access point id",
                                actual="empty")
            if not (pid.get("type") or "").strip():
                yield Violation(f"eb:{side}/PartyId has no @type", locate(pid),
                                expected="e.g. urn:oasis:names:tc:ebcore:partyid-type:unregistered:oots",
                                actual=pid.get("type", "absent"))


@check("AS4-HDR-004", kinds=_HEADER_KINDS, ref="as4-profile.md §3; TDD 4.7.1; AS4-HDR-004, EDM-COR-004",
       title="From and To Roles are the OOTS gateway role")
def hdr_004(ctx: MessageContext) -> Iterator[Violation]:
    um = _user_message(ctx)
    if um is None:
        return
    for side in ("From", "To"):
        el = um.find(f"{q('eb', 'PartyInfo')}/{q('eb', side)}")
        if el is None:
            continue  # AS4-HDR-003 reports it
        roles = el.findall(q("eb", "Role"))
        if len(roles) != 1 or text(roles[0]) != GATEWAY_ROLE:
            yield Violation(f"eb:{side}/Role must be the OOTS gateway role", locate(roles[0] if roles else el),
                            expected=GATEWAY_ROLE, actual=", ".join(text(r) or "" for r in roles) or "absent")


@check("AS4-HDR-005", kinds=_HEADER_KINDS, ref="as4-profile.md §3; TDD 4.7.1; AS4-HDR-005, EDM-COR-004",
       title="Service is QueryManager with the ebRS binding type")
def hdr_005(ctx: MessageContext) -> Iterator[Violation]:
    um = _user_message(ctx)
    if um is None:
        return
    svc = um.find(f"{q('eb', 'CollaborationInfo')}/{q('eb', 'Service')}")
    if svc is None:
        yield Violation("eb:CollaborationInfo/eb:Service is missing", locate(um), expected=QUERY_MANAGER,
                        actual="absent")
        return
    if text(svc) == TEST_SERVICE:
        return
    if text(svc) != QUERY_MANAGER or svc.get("type") != BINDING_TYPE:
        yield Violation("Service must be QueryManager with the ebRS binding type", locate(svc),
                        expected=f"{QUERY_MANAGER} (type={BINDING_TYPE})",
                        actual=f"{text(svc)} (type={svc.get('type')})")


@check("AS4-HDR-006", kinds=_HEADER_KINDS, ref="as4-profile.md §3; AS4-HDR-006",
       title="Action is ExecuteQueryRequest, ExecuteQueryResponse or ExceptionResponse")
def hdr_006(ctx: MessageContext) -> Iterator[Violation]:
    um = _user_message(ctx)
    if um is None:
        return
    act = um.find(f"{q('eb', 'CollaborationInfo')}/{q('eb', 'Action')}")
    if act is None:
        yield Violation("eb:CollaborationInfo/eb:Action is missing", locate(um), expected=" | ".join(ACTIONS),
                        actual="absent")
        return
    allowed = ACTIONS + ((TEST_ACTION,) if _is_test_message(um) else ())
    if text(act) not in allowed:
        yield Violation("unexpected Action", locate(act), expected=" | ".join(allowed), actual=text(act))


@check("AS4-HDR-007", kinds=_HEADER_KINDS, ref="eDelivery AS4 1.15 §2.4.2; AS4-HDR-007",
       title="ConversationId is present and non-empty")
def hdr_007(ctx: MessageContext) -> Iterator[Violation]:
    um = _user_message(ctx)
    if um is None:
        return
    info = um.find(q("eb", "CollaborationInfo"))
    cid = info.find(q("eb", "ConversationId")) if info is not None else None
    if cid is None or not text(cid):
        yield Violation("ConversationId must be present and non-empty",
                        locate(cid if cid is not None else (info if info is not None else um)),
                        expected="a UUID", actual="empty" if cid is not None else "absent")


@check("AS4-HDR-008", kinds=_HEADER_KINDS, ref="eDelivery AS4 1.15 §4.1; FR PMode; AS4-HDR-008",
       title="originalSender and finalRecipient are present once, each with a value and @type")
def hdr_008(ctx: MessageContext) -> Iterator[Violation]:
    um = _user_message(ctx)
    if um is None:
        return
    for name in V1_PROPERTIES:
        found = props_named(um, name)
        if len(found) != 1:
            yield Violation(f"message property {name} must occur exactly once",
                            locate(found[1] if len(found) > 1 else um), expected="1", actual=str(len(found)))
        for p in found:
            if not text(p):
                yield Violation(f"message property {name} is empty", locate(p), expected="an identifier",
                                actual="empty")
            if not (p.get("type") or "").strip():
                yield Violation(f"message property {name} has no @type", locate(p),
                                expected="the identifier scheme, e.g. urn:cef.eu:names:identifier:EAS:0009",
                                actual=p.get("type", "absent"))


@check("AS4-HDR-009", kinds=_HEADER_KINDS, versions={"v2.0"}, ref="TDD 4.4/4.7.1 v2.0; AS4-HDR-009",
       title="v2.0: ExchangeId is present once and is a UUID")
def hdr_009(ctx: MessageContext) -> Iterator[Violation]:
    um = _user_message(ctx)
    if um is None or _is_test_message(um):
        return
    found = props_named(um, "ExchangeId")
    if len(found) != 1:
        yield Violation("message property ExchangeId must occur exactly once in a v2.0 header",
                        locate(found[1] if len(found) > 1 else um), expected="1", actual=str(len(found)))
    for p in found:
        if not _UUID.match(text(p) or ""):
            yield Violation("ExchangeId must be a UUID", locate(p), expected="e.g. 8a18f812-70e0-433f-b51f-…",
                            actual=text(p))


@check("AS4-HDR-010", kinds=_HEADER_KINDS, ref="R-EDM-ebMS-019/038; AS4-HDR-010",
       title="SpecificationId is oots-edm:v2.0 and equals the payload's SpecificationIdentifier")
def hdr_010(ctx: MessageContext) -> Iterator[Violation]:
    um = _user_message(ctx)
    if um is None or _is_test_message(um):
        return
    found = props_named(um, "SpecificationId")
    if len(found) > 1:
        yield Violation("message property SpecificationId occurs more than once", locate(found[1]),
                        expected="1", actual=str(len(found)))
    for p in found[:1]:
        if text(p) != SPEC_ID_V2:
            yield Violation("SpecificationId must be the literal oots-edm:v2.0", locate(p), expected=SPEC_ID_V2,
                            actual=text(p))
    payload = _payload_root(ctx, um)
    if payload is None:
        return
    body_spec = slot_text(payload, "SpecificationIdentifier")
    header_spec = text(found[0]) if found else None
    if found and body_spec is not None and body_spec != header_spec:  # an elided slot is the EDM layer's finding
        yield Violation("header SpecificationId differs from the payload's SpecificationIdentifier",
                        locate(found[0]), expected=body_spec or "(payload declares none)", actual=header_spec)
    elif not found and body_spec and body_spec.startswith("oots-edm:v2"):
        yield Violation("the payload declares v2.0 but the header has no SpecificationId", locate(um),
                        expected=f"SpecificationId={body_spec}", actual="absent")


@check("AS4-HDR-011", kinds=_HEADER_KINDS, severity=Severity.WARNING, ref="FR PMode; AS4-HDR-011",
       title="no AgreementRef (unless a bilateral PMode defines one)")
def hdr_011(ctx: MessageContext) -> Iterator[Violation]:
    um = _user_message(ctx)
    if um is None:
        return
    for ar in xp(um, "./eb:CollaborationInfo/eb:AgreementRef"):
        yield Violation("AgreementRef is not used by OOTS (the PMode agreement is empty)", locate(ar),
                        expected="no eb:AgreementRef", actual=text(ar) or "(empty)")


@check("AS4-HDR-012", kinds=_HEADER_KINDS, ref="eDelivery AS4 1.15 §2.4.6; AS4-HDR-012",
       title="the first PartInfo is the RegRep document (MimeType application/x-ebrs+xml)")
def hdr_012(ctx: MessageContext) -> Iterator[Violation]:
    um = _user_message(ctx)
    if um is None or _is_test_message(um):
        return
    parts = part_infos(um)
    if not parts:
        yield Violation("no eb:PartInfo: the RegRep payload is not declared", locate(um),
                        expected="eb:PayloadInfo/eb:PartInfo", actual="absent")
        return
    mimes = part_property(parts[0], "MimeType")
    if len(mimes) != 1 or media_type(mimes[0]) != REGREP_MIME:
        yield Violation("the first PartInfo must declare MimeType application/x-ebrs+xml", locate(parts[0]),
                        expected=REGREP_MIME, actual=", ".join(mimes) or "no MimeType")


def _evidence_formats(payload: etree._Element) -> dict[str, tuple[str, etree._Element]]:
    """cid (without ``cid:``) -> (declared evidence Format, RepositoryItemRef) of an EDM response."""
    out = {}
    for ro in xp(payload, ".//rim:RegistryObject[rim:RepositoryItemRef]"):
        ref = ro.find(q("rim", "RepositoryItemRef"))
        href = (ref.get(q("xlink", "href")) or "").strip()
        fmt = xp(ro, ".//sdg:Evidence/sdg:Distribution/sdg:Format")
        if href.startswith("cid:") and fmt:
            out[href[4:]] = (text(fmt[0]) or "", ref)
    return out


@check("AS4-HDR-013", kinds=_HEADER_KINDS, ref="as4-profile.md §3; AS4-HDR-013",
       title="each attachment PartInfo has a MimeType, matching the evidence format when known")
def hdr_013(ctx: MessageContext) -> Iterator[Violation]:
    um = _user_message(ctx)
    if um is None:
        return
    parts = part_infos(um)
    by_cid = {}
    for part in parts[1:]:
        mimes = part_property(part, "MimeType")
        if len(mimes) != 1 or not _MEDIA_TYPE.match(media_type(mimes[0])):
            yield Violation("an attachment PartInfo must declare exactly one MimeType (type/subtype)",
                            locate(part), expected="e.g. application/pdf", actual=", ".join(mimes) or "none")
        href = (part.get("href") or "").strip()
        if href.startswith("cid:"):
            by_cid[href[4:]] = (part, mimes[0] if len(mimes) == 1 else None)
    payload = _payload_root(ctx, um)
    if payload is None or detect(payload).kind != "response":
        return
    for cid, (fmt, ref) in _evidence_formats(payload).items():
        if cid not in by_cid:
            yield Violation("the response references an evidence part the header does not declare", locate(ref),
                            expected=f"eb:PartInfo href=cid:{cid}", actual="absent")
            continue
        part, mime = by_cid[cid]
        if mime is not None and media_type(mime) != media_type(fmt):
            yield Violation("attachment MimeType differs from the evidence Distribution/Format", locate(part),
                            expected=fmt, actual=mime)


@check("AS4-HDR-014", kinds=_HEADER_KINDS, severity=Severity.WARNING, ref="as4-profile.md §3 [?]; AS4-HDR-014",
       title="UserMessage has no RefToMessageId (One-Way exchange)")
def hdr_014(ctx: MessageContext) -> Iterator[Violation]:
    # WARNING: the digest marks this as unverified against TDD 4.7.1 v2 (responses correlate by ConversationId
    # and ExchangeId; whether RefToMessageId is forbidden or merely unused is not known).
    um = _user_message(ctx)
    if um is None:
        return
    for ref in xp(um, "./eb:MessageInfo/eb:RefToMessageId"):
        yield Violation("OOTS user messages do not carry RefToMessageId", locate(ref),
                        expected="no eb:RefToMessageId", actual=text(ref))


# --------------------------------------------------------------------------- EDM-COR (single-message parts)

@check("EDM-COR-002", kinds=_HEADER_KINDS, ref="R-EDM-ebMS-018; edm.md §2; EDM-COR-002",
       title="v2.0: exactly the 4 OOTS MessageProperties; v1.x: originalSender and finalRecipient")
def cor_002(ctx: MessageContext) -> Iterator[Violation]:
    um = _user_message(ctx)
    if um is None or _is_test_message(um):
        return
    props = properties(um)
    names = [p.get("name") or "" for p in props]
    where = um.find(q("eb", "MessageProperties"))
    loc = locate(where if where is not None else um)
    if ctx.version == "v2.0":
        if len(props) != 4 or sorted(names) != sorted(V2_PROPERTIES):
            yield Violation("a v2.0 header has exactly 4 MessageProperties: " + ", ".join(V2_PROPERTIES), loc,
                            expected=", ".join(V2_PROPERTIES),
                            actual=", ".join(n or "(no name)" for n in names) or "none")
        return
    missing = [n for n in V1_PROPERTIES if n not in names]
    if missing:
        yield Violation("a v1.x header requires originalSender and finalRecipient", loc,
                        expected=", ".join(V1_PROPERTIES), actual=", ".join(n or "(no name)" for n in names) or "none")
    if "ExchangeId" in names and "SpecificationId" not in names:
        yield Violation("ExchangeId (a v2.0 property) without SpecificationId: the header does not say it is v2.0",
                        loc, expected=f"SpecificationId={SPEC_ID_V2}", actual="absent")


@check("EDM-COR-003", kinds=_HEADER_KINDS, severity=Severity.WARNING, ref="TDD 4.7.1; edm.md §1-2; EDM-COR-003",
       title="originalSender/finalRecipient @type is an EAS or ebCore party-id-type scheme")
def cor_003(ctx: MessageContext) -> Iterator[Violation]:
    # WARNING: the scheme families come from secondary sources (edm.md §1: EAS or ebCore "unregistered");
    # peers may agree on others. Absence of @type is AS4-HDR-008's (FATAL) finding.
    um = _user_message(ctx)
    if um is None:
        return
    for name in V1_PROPERTIES:
        for p in props_named(um, name):
            t = (p.get("type") or "").strip()
            if t and not _SCHEME.match(t):
                yield Violation(f"{name} @type is not a known identifier scheme", locate(p),
                                expected="urn:cef.eu:names:identifier:EAS:<code> or "
                                         "urn:oasis:names:tc:ebcore:partyid-type:unregistered[:…]",
                                actual=t)


@check("EDM-COR-004", kinds={"wsplugin-soap"}, ref="TDD 4.7.1; EDM-COR-004",
       title="Action matches the kind of the RegRep payload it carries")
def cor_004(ctx: MessageContext) -> Iterator[Violation]:
    um = _user_message(ctx)
    if um is None or _is_test_message(um):
        return
    act = um.find(f"{q('eb', 'CollaborationInfo')}/{q('eb', 'Action')}")
    expected_kind = ACTION_KIND.get(text(act) or "")
    payload = _payload_root(ctx, um)
    if act is None or expected_kind is None or payload is None:
        return  # AS4-HDR-006 / WSP checks report those
    kind = detect(payload).kind
    if kind in ACTION_KIND.values() and kind != expected_kind:
        want = {v: k for k, v in ACTION_KIND.items()}[kind]
        yield Violation(f"Action {text(act)} carries an EDM {kind}", locate(act), expected=want, actual=text(act))
