"""Cross-message checks: one OOTS message judged against another it is tied to.

Each check is registered with :func:`registry.pair_check` and called as ``f(a, b)``: ``a`` is the message
judged, ``b`` the reference it must agree with. The pairs understood (kind of a, kind of b):

==================================  ==========================================================================
``("response", "request")``          an ExecuteQueryResponse against the request it answers
``("exception", "request")``         an ExceptionResponse against the request it answers
``(kind, "ebms-header")``            a request / response / exception payload against its own ebMS header
``("ebms-header", "ebms-header")``   the answer's header (a) against the request's header (b); when both are
                                     ExecuteQueryRequest: preview request #2's header (a) against #1's (b)
``("request", "exception")``         preview request #2 against the ``EDM:ERR:0002`` that preceded it
``("request", "request")``           preview request #2 (a, the later) against request #1 (b, the earlier)
``("request", "dsd-response")``      a request against the Data Service Directory answer it was built from
``("request", "eb-response")``       a request against the Evidence Broker answer it was built from
``("ebms-header", "dsd-response")``  a request's ebMS header against the DSD answer naming the access point
==================================  ==========================================================================

Ids are the digests' assertion ids; where the digests have none, ``PAIR-0xx``:

* ``PAIR-001`` (WARNING) response MainEvidence ``IsConformantTo/EvidenceTypeClassification`` = the request's
  ``DataServiceEvidenceType/EvidenceTypeClassification``.
* ``PAIR-002`` (FATAL) response ``EvidenceProvider`` includes the request's ``EvidenceProvider``.
* ``PAIR-003`` (FATAL) response / exception ``SpecificationIdentifier`` = the request's.
* ``PAIR-004`` (WARNING) request ``Requirements`` are among the Evidence Broker's for its procedure.
* ``PAIR-005`` (WARNING) request evidence type is among the Evidence Broker's evidence types for them.
* ``PAIR-006`` (WARNING) no ``EDM:ERR:0002`` in answer to a request that already carries ``PreviewLocation``.
* ``PAIR-007`` (FATAL) no attachment part that the payload does not reference (one part per document).
* ``PAIR-008`` (WARNING) response Distribution format is one of the requested ``DistributedAs`` formats.
* ``PAIR-000`` is not a check: :func:`validate_pair` reports it (CAUTION) when nothing applies to a pair.

Conventions: a value missing on one side is left to the single-message checks and skipped here, unless
the relation itself requires it (an echo, a preview location). Values are compared after trimming and
collapsing whitespace (the v1.2 samples wrap identifiers over several lines). Locations read
``<message name>!<path>``. No check raises on odd input: absent structure yields no finding.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Iterator

from lxml import etree

from . import registry
from .detect import detect
from .findings import Finding, Severity, Source, Violation
from .ns import NS, XSI_TYPE, local_type, locate, q, slot_text, slots, xp
from .registry import MessageContext, pair_check

EDM_KINDS = ("request", "response", "exception")
ACTIONS = {"request": "ExecuteQueryRequest", "response": "ExecuteQueryResponse", "exception": "ExceptionResponse"}
ANSWER_ACTIONS = {"ExecuteQueryResponse", "ExceptionResponse"}
EBRS_MIME = "application/x-ebrs+xml"
EDM_SCHEME = "urn:fdc:oots:classification:edm"
XLINK_HREF = f"{{{NS['xlink']}}}href"
#: request slots that legitimately change between preview request #1 and #2
_PREVIEW_ONLY = {"IssueDateTime", "PreviewLocation", "ReturnLocation"}

_WS = re.compile(r"\s+")


# ---------------------------------------------------------------------------------------------- helpers
def _n(s: str | None) -> str | None:
    """Trim and collapse whitespace; empty -> None."""
    if s is None:
        return None
    s = _WS.sub(" ", s).strip()
    return s or None


def _txt(el: etree._Element | None) -> str | None:
    """Normalised text content of ``el`` (comments and processing instructions ignored)."""
    if el is None:
        return None
    try:
        return _n(el.xpath("string()"))
    except Exception:  # noqa: BLE001 - odd nodes read as absent
        return None


def _fold(s: str | None) -> str | None:
    """Name comparison key: NFC, case-folded, whitespace-collapsed."""
    s = _n(s)
    return unicodedata.normalize("NFC", s).casefold() if s else None


def _art(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _mt(s: str | None) -> str | None:
    """Media type without parameters, lower case."""
    s = _n(s)
    return s.split(";")[0].strip().lower() if s else None


def _loc(ctx: MessageContext, el: etree._Element | None, suffix: str = "") -> str:
    if el is None:
        return f"{ctx.name}!/"
    try:
        return f"{ctx.name}!{locate(el)}{suffix}"
    except Exception:  # noqa: BLE001
        return f"{ctx.name}!/"


def _first(*els: etree._Element | None) -> etree._Element | None:
    """First element that is not None (an lxml element without children is falsy: never use ``or``)."""
    return next((e for e in els if e is not None), None)


def _sdg(el: etree._Element | None, local: str) -> etree._Element | None:
    return el.find(q("sdg", local)) if el is not None else None


def _sdg_all(el: etree._Element | None, local: str) -> list[etree._Element]:
    return el.findall(q("sdg", local)) if el is not None else []


def _slot(el: etree._Element | None, name: str) -> etree._Element | None:
    if el is None:
        return None
    found = slots(el, name)
    return found[0] if found else None


def _query(root: etree._Element) -> etree._Element | None:
    return root.find(q("query", "Query"))


def _any_slot(root: etree._Element, name: str) -> etree._Element | None:
    """A request slot, at request level or under ``query:Query``."""
    s = _slot(root, name)
    return s if s is not None else _slot(_query(root), name)


def _slot_str(el: etree._Element | None, name: str) -> str | None:
    if el is None:
        return None
    try:
        return _n(slot_text(el, name))
    except Exception:  # noqa: BLE001
        return None


def _agents(slot: etree._Element | None) -> list[etree._Element]:
    return xp(slot, "./rim:SlotValue//sdg:Agent") if slot is not None else []


def _ident(el: etree._Element | None, local: str = "Identifier") -> tuple[str | None, str | None]:
    """(value, schemeID) of the ``sdg:<local>`` child of ``el``."""
    i = _sdg(el, local)
    if i is None:
        return None, None
    return _txt(i), _n(i.get("schemeID"))


def _show(key: tuple[str | None, str | None] | None) -> str:
    if not key or key[0] is None:
        return "(none)"
    return f"{key[0]} [{key[1]}]" if key[1] else str(key[0])


def _classif(agent: etree._Element) -> str | None:
    return _txt(_sdg(agent, "Classification"))


def _er_agent(req: etree._Element) -> etree._Element | None:
    """The request's ``ER`` agent (else the first agent that is not an ``IP``)."""
    ags = _agents(_slot(req, "EvidenceRequester"))
    er = [a for a in ags if _classif(a) == "ER"]
    if er:
        return er[0]
    others = [a for a in ags if _classif(a) != "IP"]
    return others[0] if others else None


def _ip_agents(req: etree._Element) -> list[etree._Element]:
    return [a for a in _agents(_slot(req, "EvidenceRequester")) if _classif(a) == "IP"]


def _provider(req: etree._Element) -> etree._Element | None:
    ags = _agents(_slot(req, "EvidenceProvider"))
    return ags[0] if ags else None


def _dset(req: etree._Element) -> etree._Element | None:
    s = _any_slot(req, "EvidenceRequest")
    found = xp(s, "./rim:SlotValue/sdg:DataServiceEvidenceType") if s is not None else []
    return found[0] if found else None


def _exception(root: etree._Element) -> etree._Element | None:
    return root.find(q("rs", "Exception"))


def _is_preview_error(exc: etree._Element | None) -> bool:
    if exc is None:
        return False
    return (exc.get("code") or "").strip() == "EDM:ERR:0002" \
        or (exc.get("severity") or "").strip().endswith(":PreviewRequired") \
        or _slot(exc, "PreviewLocation") is not None


def _leaf_objects(resp: etree._Element) -> list[etree._Element]:
    """Document objects of a response (packages and associations excluded)."""
    return [o for o in resp.iter(q("rim", "RegistryObject"))
            if local_type(o) not in ("RegistryPackageType", "AssociationType")
            and o.getparent() is not None and o.getparent().tag == q("rim", "RegistryObjectList")]


def _edm_node(obj: etree._Element) -> str | None:
    for c in obj.findall(q("rim", "Classification")):
        if (c.get("classificationScheme") or "").strip() == EDM_SCHEME:
            return (c.get("classificationNode") or "").strip() or None
    return None


def _evidence(obj: etree._Element) -> etree._Element | None:
    found = xp(obj, "./rim:Slot[@name='EvidenceMetadata']/rim:SlotValue/sdg:Evidence")
    return found[0] if found else None


def _main_evidences(resp: etree._Element) -> list[etree._Element]:
    """``sdg:Evidence`` of each MainEvidence (v1.2: of every object, there is no classification)."""
    out = []
    for o in _leaf_objects(resp):
        node = _edm_node(o)
        ev = _evidence(o)
        if ev is not None and node in (None, "MainEvidence"):
            out.append(ev)
    return out


def _repo_refs(root: etree._Element) -> list[tuple[etree._Element, etree._Element | None]]:
    """(RepositoryItemRef, owning RegistryObject) pairs of a payload."""
    out = []
    for ref in root.iter(q("rim", "RepositoryItemRef")):
        owner = ref.getparent()
        out.append((ref, owner if owner is not None and owner.tag == q("rim", "RegistryObject") else None))
    return out


def _bool(s: str | None) -> bool | None:
    if s is None:
        return None
    s = s.strip().lower()
    return True if s in ("true", "1") else False if s in ("false", "0") else None


def _parse_dt(s: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(_n(s).replace("Z", "+00:00")) if s else None
    except (ValueError, AttributeError):
        return None


# ------------------------------------------------------------------------------------------- ebMS header
@dataclass
class _Header:
    um: etree._Element
    action: str | None = None
    action_el: etree._Element | None = None
    conv: str | None = None
    conv_el: etree._Element | None = None
    msg_id: str | None = None
    timestamp: str | None = None
    from_party: tuple[str | None, str | None] = (None, None)
    from_el: etree._Element | None = None
    to_party: tuple[str | None, str | None] = (None, None)
    to_el: etree._Element | None = None
    props: dict[str, tuple[str | None, str | None, etree._Element]] = field(default_factory=dict)
    parts: list[tuple[str | None, str | None, etree._Element]] = field(default_factory=list)  # href, MimeType

    def prop(self, name: str) -> tuple[str | None, str | None] | None:
        p = self.props.get(name)
        return (p[0], p[1]) if p else None


def find_messaging(root: etree._Element) -> etree._Element | None:
    """The ``eb:Messaging`` element of a header, AS4 envelope or WS-plugin envelope."""
    if root.tag == q("eb", "Messaging"):
        return root
    found = xp(root, ".//eb:Messaging")
    return found[0] if found else None


def _header(ctx_or_root) -> _Header | None:
    root = ctx_or_root.root if isinstance(ctx_or_root, MessageContext) else ctx_or_root
    if root is None:
        return None
    m = find_messaging(root)
    um = m.find(q("eb", "UserMessage")) if m is not None else None
    if um is None:
        return None
    h = _Header(um)
    h.action_el = um.find(f"{q('eb', 'CollaborationInfo')}/{q('eb', 'Action')}")
    h.action = _txt(h.action_el)
    h.conv_el = um.find(f"{q('eb', 'CollaborationInfo')}/{q('eb', 'ConversationId')}")
    h.conv = _txt(h.conv_el)
    h.msg_id = _txt(um.find(f"{q('eb', 'MessageInfo')}/{q('eb', 'MessageId')}"))
    h.timestamp = _txt(um.find(f"{q('eb', 'MessageInfo')}/{q('eb', 'Timestamp')}"))
    for side in ("From", "To"):
        pid = um.find(f"{q('eb', 'PartyInfo')}/{q('eb', side)}/{q('eb', 'PartyId')}")
        key = (_txt(pid), _n(pid.get("type")) if pid is not None else None)
        if side == "From":
            h.from_party, h.from_el = key, pid
        else:
            h.to_party, h.to_el = key, pid
    for p in xp(um, "./eb:MessageProperties/eb:Property"):
        name = (p.get("name") or "").strip()
        if name and name not in h.props:
            h.props[name] = (_txt(p), _n(p.get("type")), p)
    for pi in xp(um, "./eb:PayloadInfo/eb:PartInfo"):
        mime = None
        for pp in xp(pi, "./eb:PartProperties/eb:Property[@name='MimeType']"):
            mime = _txt(pp)
        h.parts.append((_n(pi.get("href")), mime, pi))
    return h


def _answer_pair(ha: _Header, hb: _Header) -> bool:
    """True unless both headers are requests (then the pair is preview request #2 vs #1)."""
    return not (ha.action == ACTIONS["request"] and hb.action == ACTIONS["request"])


def _key_match(prop: tuple[str | None, str | None], agent_key: tuple[str | None, str | None]) -> bool:
    """An ebMS property (value, @type) designates an agent (Identifier, @schemeID); a missing type is not
    judged here (AS4-HDR-008)."""
    if prop[0] != agent_key[0]:
        return False
    return prop[1] is None or agent_key[1] is None or prop[1] == agent_key[1]


# ===================================================================== response / exception vs request
@pair_check("EDM-RESP-001", pairs=[("response", "request")], ref="TDD 4.5.2; EDM-RESP-001",
            title="Response @requestId equals the request @id")
def response_request_id(a: MessageContext, b: MessageContext) -> Iterator[Violation]:
    """The response's ``@requestId`` is the request ``@id``, ``urn:uuid:`` prefix included."""
    want = _n(b.root.get("id"))
    if want is None:
        return
    got = _n(a.root.get("requestId"))
    if got != want:
        yield Violation("response @requestId does not name the request it answers"
                        if got else "response has no @requestId", _loc(a, a.root, "/@requestId"),
                        expected=want, actual=got)


@pair_check("EDM-ERR-009", pairs=[("exception", "request")], ref="R-EDM-ERR-C025; TDD 4.5.3; EDM-ERR-009",
            title="Exception @requestId equals the request @id (omitted only for InvalidRequest)")
def exception_request_id(a: MessageContext, b: MessageContext) -> Iterator[Violation]:
    """``@requestId`` equals the request ``@id``; it may be omitted only with InvalidRequestExceptionType."""
    want = _n(b.root.get("id"))
    got = _n(a.root.get("requestId"))
    if got is None:
        exc = _exception(a.root)
        etype = local_type(exc) if exc is not None else None
        if etype != "InvalidRequestExceptionType":
            yield Violation("exception omits @requestId; only InvalidRequestExceptionType may",
                            _loc(a, a.root, "/@requestId"), expected=want or "@requestId",
                            actual=f"no @requestId ({etype or 'no rs:Exception'})")
    elif want is not None and got != want:
        yield Violation("exception @requestId does not name the request it answers",
                        _loc(a, a.root, "/@requestId"), expected=want, actual=got)


@pair_check("EDM-RESP-004", pairs=[("response", "request"), ("exception", "request")],
            ref="TDD 4.5.2 / 4.5.3 (OF evidence_request_parser); EDM-RESP-004",
            title="EvidenceRequester echoes the request's ER agent, not the IP")
def requester_echo(a: MessageContext, b: MessageContext) -> Iterator[Violation]:
    """The answer's ``EvidenceRequester`` is the request's ``ER`` agent (Identifier and schemeID).

    Applied to ExceptionResponse too: its ``EvidenceRequester`` slot has the same meaning.
    """
    er = _er_agent(b.root)
    if er is None:
        return
    want = _ident(er)
    if want[0] is None:
        return
    echo = _agents(_slot(a.root, "EvidenceRequester"))
    if not echo:
        return  # absence: EDM-RESP-002 / ERR single checks
    keys = [_ident(e) for e in echo]
    if any(k == want for k in keys):
        return
    got = keys[0]
    ip_keys = [_ident(i) for i in _ip_agents(b.root)]
    msg = ("EvidenceRequester echoes the intermediary platform (IP) agent, not the ER agent"
           if got in ip_keys else "EvidenceRequester is not the request's ER agent")
    yield Violation(msg, _loc(a, _first(_sdg(echo[0], "Identifier"), echo[0])), expected=_show(want), actual=_show(got))


_NAT_FIELDS = (("Identifier", True), ("FamilyName", False), ("GivenName", False), ("DateOfBirth", True))
_LEG_FIELDS = (("LegalPersonIdentifier", True), ("LegalName", False))


def _subject(req: etree._Element) -> tuple[str | None, etree._Element | None]:
    qe = _query(req)
    for slot_name, local, kind in (("NaturalPerson", "Person", "NaturalPerson"),
                                   ("LegalPerson", "LegalPerson", "LegalPerson")):
        s = _slot(qe, slot_name)
        if s is not None:
            found = xp(s, f"./rim:SlotValue/sdg:{local}")
            return kind, (found[0] if found else None)
    return None, None


@pair_check("EDM-RESP-013", pairs=[("response", "request")], ref="TDD 4.5.2 IsAbout; EDM-RESP-013",
            title="IsAbout echoes the request's minimum data set")
def is_about_echo(a: MessageContext, b: MessageContext) -> Iterator[Violation]:
    """Each MainEvidence ``IsAbout`` carries the request subject's minimum data set.

    Natural person: eIDAS Identifier (+schemeID), FamilyName, GivenName, DateOfBirth; legal person:
    LegalPersonIdentifier, LegalName. Identifiers and dates compare exactly, names without case and
    Unicode-composition differences. A field the request does not carry is not required.
    """
    kind, person = _subject(b.root)
    if person is None:
        return
    fields = _NAT_FIELDS if kind == "NaturalPerson" else _LEG_FIELDS
    for ev in _main_evidences(a.root):
        about = _sdg(ev, "IsAbout")
        if about is None:
            continue  # EDM-RESP-008
        subj = _sdg(about, kind)
        if subj is None:
            other = [etree.QName(c).localname for c in about if isinstance(c.tag, str)]
            yield Violation(f"IsAbout does not describe a {kind} as the request does", _loc(a, about),
                            expected=f"sdg:{kind}", actual=", ".join(f"sdg:{o}" for o in other) or "(empty)")
            continue
        for local, exact in fields:
            req_els = _sdg_all(person, local)
            if not req_els:
                continue
            resp_els = _sdg_all(subj, local)
            if exact:
                want = {(_txt(e), _n(e.get("schemeID"))) for e in req_els}
                got = {(_txt(e), _n(e.get("schemeID"))) for e in resp_els}
                ok = all(any(w[0] == g[0] and (w[1] is None or g[1] is None or w[1] == g[1]) for g in got)
                         for w in want)
                shown_w, shown_g = sorted(map(_show, want)), sorted(map(_show, got))
            else:
                want = {_fold(_txt(e)) for e in req_els}
                got = {_fold(_txt(e)) for e in resp_els}
                ok = want <= got
                shown_w = [_txt(e) for e in req_els]
                shown_g = [_txt(e) for e in resp_els]
            if not ok:
                yield Violation(f"IsAbout {local} does not echo the request subject",
                                _loc(a, resp_els[0] if resp_els else subj,
                                     "" if resp_els else f"/sdg:{local}"),
                                expected=", ".join(map(str, shown_w)),
                                actual=", ".join(map(str, shown_g)) or "(absent)")


@pair_check("PAIR-001", pairs=[("response", "request")], severity=Severity.WARNING,
            ref="TDD 4.5.2 IsConformantTo; 4.5.1 DataServiceEvidenceType",
            title="MainEvidence evidence type classification equals the requested one")
def evidence_type_echo(a: MessageContext, b: MessageContext) -> Iterator[Violation]:
    """MainEvidence ``IsConformantTo/EvidenceTypeClassification`` = the requested classification.

    WARNING, not FATAL: no normative text was seen that ties the two values, and the official v1.2
    education example (pyRegRep ``EDM_Second_*``) answers with a different DE classification.
    """
    want = _txt(_sdg(_dset(b.root), "EvidenceTypeClassification"))
    if want is None:
        return
    for ev in _main_evidences(a.root):
        el = _sdg(_sdg(ev, "IsConformantTo"), "EvidenceTypeClassification")
        got = _txt(el)
        if got is not None and got != want:
            yield Violation("evidence is not of the requested evidence type classification", _loc(a, el),
                            expected=want, actual=got)


@pair_check("PAIR-002", pairs=[("response", "request")], ref="TDD 4.5.2 EvidenceProvider; EDM-COR-003; AS4-HDR-015",
            title="Response EvidenceProvider includes the request's EvidenceProvider")
def provider_echo(a: MessageContext, b: MessageContext) -> Iterator[Violation]:
    """One agent of the response ``EvidenceProvider`` is the request's ``EvidenceProvider``.

    FATAL because it follows from MUST rules: request ``finalRecipient`` = request provider and response
    ``originalSender`` = response provider (EDM-COR-003), and the two properties swap (AS4-HDR-015).
    The response slot is a collection: any one agent matching is enough.
    """
    prov = _provider(b.root)
    want = _ident(prov)
    if want[0] is None:
        return
    agents = _agents(_slot(a.root, "EvidenceProvider"))
    if not agents:
        return
    keys = [_ident(x) for x in agents]
    if not any(k[0] == want[0] and (k[1] == want[1] or None in (k[1], want[1])) for k in keys):
        yield Violation("response EvidenceProvider is not the provider the request was addressed to",
                        _loc(a, _first(_sdg(agents[0], "Identifier"), agents[0])), expected=_show(want),
                        actual=", ".join(map(_show, keys)))


@pair_check("PAIR-003", pairs=[("response", "request"), ("exception", "request")],
            ref="TDD 4.5.2/4.5.3 SpecificationIdentifier; EDM-VER-001; EDM-VER-002",
            title="Answer SpecificationIdentifier equals the request's")
def version_echo(a: MessageContext, b: MessageContext) -> Iterator[Violation]:
    """An answer speaks the version of the request it answers.

    Exception: an ``EDM:ERR:0003`` / ``0007`` refusing a version the provider does not support is
    necessarily written in a version it does support (EDM-VER-002), so it is not judged.
    """
    want = _slot_str(b.root, "SpecificationIdentifier")
    got = _slot_str(a.root, "SpecificationIdentifier")
    if want is None or got is None or want == got:
        return
    exc = _exception(a.root)
    if exc is not None and (exc.get("code") or "").strip() in ("EDM:ERR:0003", "EDM:ERR:0007"):
        return
    yield Violation("answer is not in the EDM version of the request",
                    _loc(a, _slot(a.root, "SpecificationIdentifier")),
                    expected=want, actual=got)


def _distributed_as(dset: etree._Element | None) -> list[tuple[str | None, str | None, set[str], etree._Element]]:
    out = []
    for da in _sdg_all(dset, "DistributedAs"):
        langs = {(_txt(x) or "").upper() for x in _sdg_all(da, "Language") if _txt(x)}
        out.append((_mt(_txt(_sdg(da, "Format"))), _txt(_sdg(da, "ConformsTo")), langs, da))
    return out


@pair_check("PAIR-008", pairs=[("response", "request")], severity=Severity.WARNING,
            ref="TDD 4.5.1 §3.5 (format/language fallback); EDM-RESP-017 (related)",
            title="MainEvidence format is one of the requested DistributedAs formats")
def format_requested(a: MessageContext, b: MessageContext) -> Iterator[Violation]:
    """MainEvidence ``Distribution/Format`` (and ``ConformsTo`` for that format) is among those requested.

    WARNING: a provider may fall back to what it has (4.5.1 §3.5 allows another language rather than an
    error), so a different format is worth a look, not a refusal.
    """
    das = _distributed_as(_dset(b.root))
    if not das:
        return
    for ev in _main_evidences(a.root):
        dist = _sdg(ev, "Distribution")
        fmt_el = _sdg(dist, "Format")
        fmt = _mt(_txt(fmt_el))
        if fmt is None:
            continue
        same = [d for d in das if d[0] == fmt]
        if not same:
            yield Violation("evidence format was not requested", _loc(a, fmt_el),
                            expected=" | ".join(sorted({d[0] for d in das if d[0]})), actual=fmt)
            continue
        ct_el = _sdg(dist, "ConformsTo")
        ct = _txt(ct_el)
        wanted_ct = {d[1] for d in same if d[1]}
        if ct and wanted_ct and ct not in wanted_ct:
            yield Violation("evidence data model differs from the requested one for this format",
                            _loc(a, ct_el), expected=" | ".join(sorted(wanted_ct)), actual=ct)


@pair_check("EDM-PRV-001", pairs=[("exception", "request")], ref="TDD 4.9; R-EDM-ERR-C022; EDM-PRV-001",
            title="Preview required (0002) only if the request allowed preview")
def preview_allowed(a: MessageContext, b: MessageContext) -> Iterator[Violation]:
    """An ``EDM:ERR:0002`` / PreviewRequired answers only a request with ``PossibilityForPreview=true``."""
    exc = _exception(a.root)
    if not _is_preview_error(exc):
        return
    pfp = _bool(_slot_str(b.root, "PossibilityForPreview"))
    if pfp is False:
        yield Violation("preview required although the request said the requester cannot preview",
                        _loc(a, exc), expected="no EDM:ERR:0002 (request PossibilityForPreview=false)",
                        actual=f"{exc.get('code') or '(no code)'} {exc.get('severity') or ''}".strip())


@pair_check("PAIR-006", pairs=[("exception", "request")], severity=Severity.WARNING, ref="TDD 4.9 steps 3-5",
            title="No preview-required answer to a request that already carries PreviewLocation")
def no_preview_loop(a: MessageContext, b: MessageContext) -> Iterator[Violation]:
    """A second (preview) request is answered with the evidence or an empty Success, not another 0002.

    WARNING: the flow in 4.9 implies it, but no rule text forbids a new preview (e.g. after expiry).
    """
    exc = _exception(a.root)
    if _is_preview_error(exc) and _slot_str(b.root, "PreviewLocation") is not None:
        yield Violation("preview required again in answer to the preview request #2", _loc(a, exc),
                        expected="Success (evidence accepted) or empty Success (refused)",
                        actual=exc.get("code") or "EDM:ERR:0002")


# ============================================================================ payload vs its ebMS header
_PAYLOAD_HEADER = [(k, "ebms-header") for k in EDM_KINDS]


@pair_check("EDM-COR-002", pairs=_PAYLOAD_HEADER,
            ref="R-EDM-ebMS-019/038; TDD 4.7 §2.6.2; AS4-HDR-010; EDM-ERR-006; EDM-COR-002",
            title="ebMS SpecificationId equals the body SpecificationIdentifier")
def spec_id_matches(a: MessageContext, b: MessageContext) -> Iterator[Violation]:
    """Header ``SpecificationId`` = body ``SpecificationIdentifier``; a v2.0 body needs the property."""
    h = _header(b)
    body = _slot_str(a.root, "SpecificationIdentifier")
    if h is None or body is None:
        return
    p = h.props.get("SpecificationId")
    if p is None:
        if a.version not in (None, "v1.0", "v1.1", "v1.2"):
            yield Violation("v2.0 payload travels under a header without SpecificationId",
                            _loc(b, h.um, "/eb:MessageProperties"), expected=body, actual="(no property)")
        return
    if p[0] != body:
        yield Violation("header SpecificationId and body SpecificationIdentifier disagree", _loc(b, p[2]),
                        expected=body, actual=p[0])


@pair_check("EDM-COR-003", pairs=_PAYLOAD_HEADER, ref="TDD 4.7.1; AS4-HDR-008; CS-023; EDM-COR-003",
            title="originalSender / finalRecipient designate the payload's agents")
def corners_match_agents(a: MessageContext, b: MessageContext) -> Iterator[Violation]:
    """Request: originalSender = ER agent, finalRecipient = EvidenceProvider. Response: originalSender =
    an EvidenceProvider agent, finalRecipient = EvidenceRequester. Exception: originalSender =
    ErrorProvider, finalRecipient = EvidenceRequester. Value and ``@type`` = Identifier and schemeID."""
    h = _header(b)
    if h is None:
        return
    if a.kind == "request":
        er = _er_agent(a.root)
        senders = [er] if er is not None else []
        recipients = _agents(_slot(a.root, "EvidenceProvider"))
        roles = ("ER agent (EvidenceRequester)", "EvidenceProvider")
    elif a.kind == "response":
        senders = _agents(_slot(a.root, "EvidenceProvider"))
        recipients = _agents(_slot(a.root, "EvidenceRequester"))
        roles = ("EvidenceProvider", "EvidenceRequester")
    else:
        senders = _agents(_slot(a.root, "ErrorProvider"))
        recipients = _agents(_slot(a.root, "EvidenceRequester"))
        roles = ("ErrorProvider", "EvidenceRequester")
    for prop_name, agents, role in (("originalSender", senders, roles[0]), ("finalRecipient", recipients, roles[1])):
        p = h.props.get(prop_name)
        keys = [k for k in (_ident(x) for x in agents) if k[0] is not None]
        if p is None or not keys:
            continue
        if not any(_key_match((p[0], p[1]), k) for k in keys):
            yield Violation(f"{prop_name} is not the payload's {role}", _loc(b, p[2]),
                            expected=" | ".join(map(_show, keys)), actual=_show((p[0], p[1])))


@pair_check("EDM-COR-004", pairs=_PAYLOAD_HEADER, ref="TDD 4.7.1; AS4-HDR-006; EDM-COR-004",
            title="ebMS Action matches the payload kind")
def action_matches(a: MessageContext, b: MessageContext) -> Iterator[Violation]:
    """request -> ExecuteQueryRequest, response -> ExecuteQueryResponse, exception -> ExceptionResponse."""
    h = _header(b)
    if h is None or h.action is None:
        return
    want = ACTIONS.get(a.kind)
    if want and h.action != want:
        yield Violation(f"header Action does not fit {_art(a.kind)} {a.kind} payload", _loc(b, h.action_el),
                        expected=want, actual=h.action)


@pair_check("AS4-HDR-012", pairs=_PAYLOAD_HEADER, ref="E115 §2.4.6; TDD 4.7; AS4-HDR-012",
            title="First PartInfo is the RegRep body (application/x-ebrs+xml)")
def first_part_is_body(a: MessageContext, b: MessageContext) -> Iterator[Violation]:
    """The first ``PartInfo`` has ``MimeType=application/x-ebrs+xml`` and is not one of the evidence parts."""
    h = _header(b)
    if h is None or not h.parts:
        return
    href, mime, el = h.parts[0]
    if _mt(mime) != EBRS_MIME:
        yield Violation("first PartInfo is not the RegRep payload", _loc(b, el), expected=f"MimeType={EBRS_MIME}",
                        actual=f"MimeType={mime}" if mime else "no MimeType")
    refs = {_n(r.get(XLINK_HREF)) for r, _ in _repo_refs(a.root)}
    if href and href in refs:
        yield Violation("first PartInfo is referenced as an evidence document, not the RegRep body",
                        _loc(b, el), expected="the RegRep body part", actual=href)


@pair_check("EDM-RESP-011", pairs=[("response", "ebms-header")], ref="TDD 4.5.2 §4.3 / 4.7; AS4-HDR-013; EDM-RESP-011",
            title="Every RepositoryItemRef cid is a PartInfo with a consistent MimeType")
def refs_have_parts(a: MessageContext, b: MessageContext) -> Iterator[Violation]:
    """Each ``RepositoryItemRef/@xlink:href`` is a ``PartInfo/@href`` whose ``MimeType`` is present and,
    when the object declares ``Distribution/Format``, equal to it (parameters and case ignored)."""
    h = _header(b)
    if h is None:
        return
    parts = {href: (mime, el) for href, mime, el in h.parts if href}
    for ref, owner in _repo_refs(a.root):
        href = _n(ref.get(XLINK_HREF))
        if href is None:
            continue  # EDM-RESP-010
        if href not in parts:
            yield Violation("RepositoryItemRef names no PartInfo of the ebMS header", _loc(a, ref, "/@xlink:href"),
                            expected=" | ".join(sorted(parts)) or "a PartInfo", actual=href)
            continue
        mime, pel = parts[href]
        if not mime:
            yield Violation("attachment PartInfo has no MimeType", _loc(b, pel), expected="MimeType property",
                            actual="(absent)")
            continue
        ev = _evidence(owner) if owner is not None else None
        fmt = _mt(_txt(_sdg(_sdg(ev, "Distribution"), "Format")))
        if fmt and _mt(mime) != fmt:
            yield Violation("attachment MimeType differs from the evidence Distribution format", _loc(b, pel),
                            expected=fmt, actual=mime)


@pair_check("PAIR-007", pairs=_PAYLOAD_HEADER, ref="TDD 4.5.2 §4.3 (one part per document); EDM-RESP-016; EDM-ERR-008",
            title="No attachment part the payload does not reference")
def no_orphan_parts(a: MessageContext, b: MessageContext) -> Iterator[Violation]:
    """Every ``PartInfo`` after the first is referenced by a ``RepositoryItemRef`` of the payload; requests
    and exceptions (which reference nothing) therefore carry no attachment."""
    h = _header(b)
    if h is None or len(h.parts) < 2:
        return
    refs = {_n(r.get(XLINK_HREF)) for r, _ in _repo_refs(a.root)}
    for href, mime, el in h.parts[1:]:
        if href not in refs:
            yield Violation(f"attachment part not referenced by the {a.kind} payload", _loc(b, el),
                            expected="a RepositoryItemRef for each attachment" if a.kind == "response"
                            else f"no attachment with {_art(a.kind)} {a.kind}", actual=f"{href} ({mime})")


# ========================================================================= answer header vs request header
_HH = [("ebms-header", "ebms-header")]


@pair_check("AS4-HDR-007", pairs=_HH, ref="E115 §2.4.2; TDD 4.4; EDM-COR-001; AS4-HDR-007",
            title="Answer ConversationId equals the request's")
def same_conversation(a: MessageContext, b: MessageContext) -> Iterator[Violation]:
    """The response / exception header carries the request's ``ConversationId``."""
    ha, hb = _header(a), _header(b)
    if ha is None or hb is None or not _answer_pair(ha, hb) or hb.conv is None:
        return
    if ha.conv != hb.conv:
        yield Violation("answer is not in the request's conversation", _loc(a, _first(ha.conv_el, ha.um)),
                        expected=hb.conv, actual=ha.conv)


@pair_check("AS4-HDR-009", pairs=_HH, ref="TDD 4.4 (v2.0 ExchangeId); EDM-COR-001; AS4-HDR-009",
            title="Answer ExchangeId equals the request's")
def same_exchange(a: MessageContext, b: MessageContext) -> Iterator[Violation]:
    """The response / exception header echoes the request's ``ExchangeId`` (when the request has one)."""
    ha, hb = _header(a), _header(b)
    if ha is None or hb is None or not _answer_pair(ha, hb):
        return
    want, got = hb.prop("ExchangeId"), ha.prop("ExchangeId")
    if want is None or want[0] is None:
        return
    if got is None or got[0] != want[0]:
        p = ha.props.get("ExchangeId")
        yield Violation("answer ExchangeId is not the request's", _loc(a, p[2] if p else ha.um),
                        expected=want[0], actual=got[0] if got else "(no ExchangeId)")


@pair_check("AS4-HDR-015", pairs=_HH, ref="E115 §4.1; TDD 4.7.1; EDM-COR-003; AS4-HDR-015",
            title="Answer header swaps From/To and originalSender/finalRecipient")
def roles_swapped(a: MessageContext, b: MessageContext) -> Iterator[Violation]:
    """Answer From = request To, To = request From (PartyId and type); originalSender = request
    finalRecipient and finalRecipient = request originalSender (value and type)."""
    ha, hb = _header(a), _header(b)
    if ha is None or hb is None or not _answer_pair(ha, hb):
        return
    for label, got, el, want in (("From", ha.from_party, ha.from_el, hb.to_party),
                                 ("To", ha.to_party, ha.to_el, hb.from_party)):
        if got[0] is None or want[0] is None:
            continue
        if got != want:
            other = "To" if label == "From" else "From"
            yield Violation(f"answer {label} is not the request's {other}", _loc(a, el),
                            expected=_show(want), actual=_show(got))
    for name, other in (("originalSender", "finalRecipient"), ("finalRecipient", "originalSender")):
        got, want = ha.props.get(name), hb.prop(other)
        if got is None or want is None or want[0] is None:
            continue
        if (got[0], got[1]) != want:
            yield Violation(f"answer {name} is not the request's {other}", _loc(a, got[2]),
                            expected=_show(want), actual=_show((got[0], got[1])))


# ================================================================= preview: request #2 vs #1 / vs the 0002
@pair_check("EDM-REQ-019", pairs=[("request", "exception")], ref="TDD 4.9; R-EDM-REQ-S062; EDM-REQ-019",
            title="Request #2 echoes the 0002 PreviewLocation (and, v2.0, adds ReturnLocation)")
def preview_location_echo(a: MessageContext, b: MessageContext) -> Iterator[Violation]:
    """After an ``EDM:ERR:0002`` with ``PreviewLocation``, request #2 carries the same ``PreviewLocation``
    and, from v2.0, a ``ReturnLocation``."""
    exc = _exception(b.root)
    want = _slot_str(exc, "PreviewLocation")
    if want is None:
        return  # not a preview exchange
    got = _slot_str(a.root, "PreviewLocation")
    if got != want:
        s = _slot(a.root, "PreviewLocation")
        yield Violation("request #2 does not echo the provider's PreviewLocation",
                        _loc(a, s) if s is not None else _loc(a, a.root, "/rim:Slot[@name='PreviewLocation']"),
                        expected=want, actual=got or "(no PreviewLocation)")
    if a.version not in (None, "v1.0", "v1.1", "v1.2") and _slot_str(a.root, "ReturnLocation") is None:
        yield Violation("v2.0 request #2 has no ReturnLocation", _loc(a, a.root, "/rim:Slot[@name='ReturnLocation']"),
                        expected="ReturnLocation (https URL of the requester)", actual="(absent)")


def _canon(el: etree._Element):
    """Prefix-independent comparison key of an element tree (comments, PIs and whitespace ignored)."""
    attrs = []
    for k, v in el.attrib.items():
        attrs.append((k, v.split(":")[-1].strip() if k == XSI_TYPE else _n(v)))
    kids = tuple(_canon(c) for c in el if isinstance(c.tag, str))
    return el.tag, tuple(sorted(attrs)), _n(el.text) if not kids else None, kids


def _content_slots(req: etree._Element) -> dict[str, etree._Element]:
    out = {}
    for parent in (req, _query(req)):
        if parent is None:
            continue
        for s in slots(parent):
            name = s.get("name")
            if name and name not in _PREVIEW_ONLY and name not in out:
                out[name] = s
    return out


@pair_check("EDM-REQ-020", pairs=[("request", "request"), ("ebms-header", "ebms-header")],
            ref="TDD 4.4 / 4.9 step 3; EDM-REQ-020",
            title="Preview request #2: new @id, same content, same ConversationId and ExchangeId")
def second_request_same_content(a: MessageContext, b: MessageContext) -> Iterator[Violation]:
    """Request #2 (a) vs #1 (b). Bodies: judged when a carries ``PreviewLocation``; a new ``@id`` and every
    slot but IssueDateTime/PreviewLocation/ReturnLocation identical (procedure, requirements, requester,
    provider, evidence request, subject...). Headers (two ExecuteQueryRequest headers, or the requests'
    ``ctx.header``): same ``ConversationId`` and ``ExchangeId``."""
    if a.kind == "request":
        if _slot_str(a.root, "PreviewLocation") is None:
            return  # not a preview request #2
        ida, idb = _n(a.root.get("id")), _n(b.root.get("id"))
        if ida is not None and ida == idb:
            yield Violation("request #2 reuses the @id of request #1", _loc(a, a.root, "/@id"),
                            expected=f"a new id (not {idb})", actual=ida)
        sa, sb = _content_slots(a.root), _content_slots(b.root)
        for name in sorted(set(sa) | set(sb)):
            if name not in sa:
                yield Violation(f"request #2 drops the {name} slot of request #1", _loc(a, a.root),
                                expected=f"slot {name} as in request #1", actual="(absent)")
            elif name not in sb:
                yield Violation(f"request #2 adds a {name} slot request #1 did not have", _loc(a, sa[name]),
                                expected="(absent, as in request #1)", actual=f"slot {name}")
            else:
                diff = _first_diff(sa[name], sb[name])
                if diff is not None:
                    ea, eb = diff
                    yield Violation(f"request #2 changes {name}", _loc(a, ea), expected=_short(eb),
                                    actual=_short(ea))
        ha = _header(a.header) if a.header is not None else None
        hb = _header(b.header) if b.header is not None else None
    else:
        ha, hb = _header(a), _header(b)
        if ha is None or hb is None or _answer_pair(ha, hb):
            return
    if ha is None or hb is None:
        return
    if hb.conv is not None and ha.conv != hb.conv:
        yield Violation("request #2 is not in request #1's conversation", _loc(a, _first(ha.conv_el, ha.um)),
                        expected=hb.conv, actual=ha.conv)
    xa, xb = ha.prop("ExchangeId"), hb.prop("ExchangeId")
    if xb is not None and xb[0] is not None and (xa is None or xa[0] != xb[0]):
        p = ha.props.get("ExchangeId")
        yield Violation("request #2 does not reuse request #1's ExchangeId", _loc(a, p[2] if p else ha.um),
                        expected=xb[0], actual=xa[0] if xa else "(no ExchangeId)")


def _first_diff(ea: etree._Element, eb: etree._Element) -> tuple[etree._Element, etree._Element] | None:
    """The first pair of corresponding elements that differ (None when the trees are equal)."""
    if _canon(ea) == _canon(eb):
        return None
    ka = [c for c in ea if isinstance(c.tag, str)]
    kb = [c for c in eb if isinstance(c.tag, str)]
    same_node = ea.tag == eb.tag and _canon(ea)[1] == _canon(eb)[1] and len(ka) == len(kb)
    if same_node and ka:
        for ca, cb in zip(ka, kb):
            d = _first_diff(ca, cb)
            if d is not None:
                return d
    return ea, eb


def _short(el: etree._Element, limit: int = 120) -> str:
    """Readable summary of an element: its text, or its shape when it has none."""
    s = _txt(el)
    if not s:
        attrs = " ".join(f"{etree.QName(k).localname}={v}" for k, v in el.attrib.items())
        s = f"<{etree.QName(el).localname}{' ' + attrs if attrs else ''}>"
    return s if len(s) <= limit else s[: limit - 1] + "…"


@pair_check("EDM-REQ-021", pairs=[("request", "request")], ref="TDD 4.9 step 1; EDM-REQ-021",
            title="Request #1 carries no PreviewLocation / ReturnLocation")
def first_request_no_preview(a: MessageContext, b: MessageContext) -> Iterator[Violation]:
    """In (request #2, request #1), request #1 (b) carries neither ``PreviewLocation`` nor ``ReturnLocation``."""
    for name in ("PreviewLocation", "ReturnLocation"):
        s = _slot(b.root, name)
        if s is not None:
            yield Violation(f"request #1 already carries {name}", _loc(b, s), expected=f"no {name} in request #1",
                            actual=_slot_str(b.root, name) or "(empty)")


# ====================================================================== request vs Common Services answers
def _failure(root: etree._Element) -> tuple[bool, str | None]:
    status = (root.get("status") or "").rsplit(":", 1)[-1]
    exc = _exception(root)
    failed = status == "Failure" or (exc is not None and status != "Success")
    code = ((exc.get("code") or "").strip() or None) if exc is not None else None
    return failed, code


def _dsd_entries(dsd: etree._Element) -> list[etree._Element]:
    return list(dsd.iter(q("sdg", "DataServiceEvidenceType")))


def _chosen_entry(req: etree._Element, dsd: etree._Element) -> etree._Element | None:
    """The DSD entry the request was built from: same Identifier, else same classification, else the only one."""
    entries = _dsd_entries(dsd)
    if not entries:
        return None
    d = _dset(req)
    ident = _txt(_sdg(d, "Identifier"))
    cls = _txt(_sdg(d, "EvidenceTypeClassification"))
    for e in entries:
        if ident and _txt(_sdg(e, "Identifier")) == ident:
            return e
    for e in entries:
        if cls and _txt(_sdg(e, "EvidenceTypeClassification")) == cls:
            return e
    return entries[0]


def _access_services(entry: etree._Element | None) -> list[etree._Element]:
    return _sdg_all(entry, "AccessService")


def _publisher_key(asvc: etree._Element) -> tuple[str | None, str | None]:
    return _ident(_sdg(asvc, "Publisher"))


def _show_da(da: tuple) -> str:
    """``application/pdf <data model> [EN, FR]`` for a (format, ConformsTo, languages, ...) tuple."""
    return " ".join(x for x in (da[0] or "?", da[1], f"[{', '.join(sorted(da[2]))}]" if da[2] else None) if x)


def _titles(el: etree._Element | None) -> set[tuple[str, str | None]]:
    return {((t.get("lang") or "").upper(), _txt(t)) for t in _sdg_all(el, "Title")}


@pair_check("EDM-REQ-013", pairs=[("request", "dsd-response")], ref="TDD 4.5.1 §3.5; CS-024; EDM-REQ-013",
            title="DataServiceEvidenceType copied from the DSD entry")
def dset_copied(a: MessageContext, b: MessageContext) -> Iterator[Violation]:
    """Identifier and EvidenceTypeClassification equal the DSD entry's; every requested Title is one of
    its Titles; every requested DistributedAs is one it offers (same Format and ConformsTo, languages a
    subset). A subset, not equality: the requester may keep only the formats / languages it wants."""
    if _failure(b.root)[0] and not _dsd_entries(b.root):
        return  # a refusal: CS-018 / CS-019
    d = _dset(a.root)
    entry = _chosen_entry(a.root, b.root)
    if d is None or entry is None:
        return
    for local in ("Identifier", "EvidenceTypeClassification"):
        el = _sdg(d, local)
        got, want = _txt(el), _txt(_sdg(entry, local))
        if want is not None and got != want:
            yield Violation(f"requested {local} is not the DSD entry's", _loc(a, _first(el, d)),
                            expected=want, actual=got or "(absent)")
    want_titles = _titles(entry)
    for t in _sdg_all(d, "Title"):
        key = ((t.get("lang") or "").upper(), _txt(t))
        if want_titles and key not in want_titles:
            yield Violation("requested Title is not one of the DSD entry's", _loc(a, t),
                            expected=" | ".join(f"{l}:{v}" for l, v in sorted(want_titles, key=str)),
                            actual=f"{key[0]}:{key[1]}")
    offered = _distributed_as(entry)
    if not offered:
        return
    for fmt, ct, langs, el in _distributed_as(d):
        if not any(o[0] == fmt and o[1] == ct and (not o[2] or langs <= o[2]) for o in offered):
            yield Violation("requested DistributedAs is not offered by the DSD entry", _loc(a, el),
                            expected=" | ".join(_show_da(o) for o in offered),
                            actual=_show_da((fmt, ct, langs)))


@pair_check("EDM-REQ-008", pairs=[("request", "dsd-response")],
            ref="R-EDM-REQ-S043; TDD 3.1.4 / 4.5.1; CS-023; EDM-REQ-008",
            title="EvidenceProvider is the Publisher of one of the entry's AccessServices")
def provider_is_publisher(a: MessageContext, b: MessageContext) -> Iterator[Violation]:
    """The request ``EvidenceProvider`` Identifier (+schemeID) is an AccessService ``Publisher`` of the
    chosen DSD entry, and its Name one of that Publisher's Names."""
    prov = _provider(a.root)
    entry = _chosen_entry(a.root, b.root)
    services = _access_services(entry)
    if prov is None or not services:
        return
    want = _ident(prov)
    if want[0] is None:
        return
    pubs = [(_publisher_key(s), _sdg(s, "Publisher")) for s in services]
    match = [p for k, p in pubs if k == want]
    if not match:
        yield Violation("EvidenceProvider is not a Publisher of the DSD entry", _loc(a, _sdg(prov, "Identifier")),
                        expected=" | ".join(_show(k) for k, _ in pubs), actual=_show(want))
        return
    names = {_txt(n) for p in match for n in _sdg_all(p, "Name")}
    for n in _sdg_all(prov, "Name"):
        if names and _txt(n) not in names:
            yield Violation("EvidenceProvider Name is not the Publisher's", _loc(a, n),
                            expected=" | ".join(sorted(x for x in names if x)), actual=_txt(n))


@pair_check("CS-020", pairs=[("request", "dsd-response")], ref="TDD 3.1.4 §4.2.2; 4.5.1 §2.2; CS-020",
            title="SpecificationIdentifier is among the chosen AccessService's ConformsTo")
def version_supported(a: MessageContext, b: MessageContext) -> Iterator[Violation]:
    """The request's ``SpecificationIdentifier`` is a ``ConformsTo`` of the AccessService whose Publisher
    is the request's EvidenceProvider (of any AccessService of the entry when none is)."""
    spec = _slot_str(a.root, "SpecificationIdentifier")
    services = _access_services(_chosen_entry(a.root, b.root))
    if spec is None or not services:
        return
    want = _ident(_provider(a.root))
    chosen = [s for s in services if _publisher_key(s) == want] or services
    versions = {_txt(c) for s in chosen for c in _sdg_all(s, "ConformsTo")}
    versions.discard(None)
    if versions and spec not in versions:
        yield Violation("request speaks a version the chosen access service does not declare",
                        _loc(a, _slot(a.root, "SpecificationIdentifier")), expected=" | ".join(sorted(versions)),
                        actual=spec)


@pair_check("CS-018", pairs=[("request", "dsd-response")], ref="TDD 3.1.4 (DSD error codes); OF; CS-018",
            title="No EDM request built from a DSD refusal")
def no_request_after_dsd_error(a: MessageContext, b: MessageContext) -> Iterator[Violation]:
    """A DSD Failure (``DSD:ERR:0001`` no service, and the other codes but 0005) names no provider, so no
    request may be built from it. ``DSD:ERR:0005`` is CS-019's business."""
    failed, code = _failure(b.root)
    if failed and code != "DSD:ERR:0005":
        yield Violation("an EDM request was built from a DSD answer that names no data service",
                        _loc(a, a.root), expected="no request", actual=f"request after {code or 'DSD Failure'}")


@pair_check("CS-019", pairs=[("request", "dsd-response")],
            ref="TDD 3.1.4; 4.5.1 EvidenceProviderClassification; CS-019",
            title="After DSD:ERR:0005 the request carries EvidenceProviderClassification")
def classification_after_0005(a: MessageContext, b: MessageContext) -> Iterator[Violation]:
    """A request that follows a ``DSD:ERR:0005`` dialog carries the user's answers in
    ``EvidenceProviderClassification``."""
    failed, code = _failure(b.root)
    if failed and code == "DSD:ERR:0005" and _slot(a.root, "EvidenceProviderClassification") is None:
        yield Violation("request after DSD:ERR:0005 carries no EvidenceProviderClassification",
                        _loc(a, a.root, "/rim:Slot[@name='EvidenceProviderClassification']"),
                        expected="EvidenceProviderClassification slot", actual="(absent)")


def _header_is_request(h: _Header) -> bool:
    return h.action in (None, ACTIONS["request"])


@pair_check("CS-022", pairs=[("ebms-header", "dsd-response")], ref="OF wiring spec; TDD 3.1.4 AccessService; CS-022",
            title="eb:To PartyId / @type = the AccessService Identifier / @schemeID")
def to_is_access_service(a: MessageContext, b: MessageContext) -> Iterator[Violation]:
    """The request header's ``eb:To/eb:PartyId`` (and ``@type``) is the ``AccessService/Identifier`` (and
    ``@schemeID``) of the service whose Publisher is the header's ``finalRecipient`` (any service of the
    answer when no Publisher matches)."""
    h = _header(a)
    if h is None or not _header_is_request(h) or h.to_party[0] is None or _failure(b.root)[0]:
        return
    services = [s for e in _dsd_entries(b.root) for s in _access_services(e)]
    if not services:
        return
    fr = h.prop("finalRecipient")
    chosen = [s for s in services if fr and fr[0] is not None and _key_match(fr, _publisher_key(s))] or services
    keys = [_ident(s) for s in chosen]
    if h.to_party not in keys:
        yield Violation("eb:To is not the access point the DSD publishes for this provider", _loc(a, h.to_el),
                        expected=" | ".join(map(_show, keys)), actual=_show(h.to_party))


@pair_check("CS-023", pairs=[("ebms-header", "dsd-response")], ref="OF; TDD 3.1.4 Publisher; CS-023",
            title="finalRecipient is a Publisher of the DSD answer")
def final_recipient_is_publisher(a: MessageContext, b: MessageContext) -> Iterator[Violation]:
    """The request header's ``finalRecipient`` (value and ``@type``) is an AccessService ``Publisher``."""
    h = _header(a)
    if h is None or not _header_is_request(h) or _failure(b.root)[0]:
        return
    fr = h.props.get("finalRecipient")
    pubs = [_publisher_key(s) for e in _dsd_entries(b.root) for s in _access_services(e)]
    pubs = [p for p in pubs if p[0] is not None]
    if fr is None or fr[0] is None or not pubs:
        return
    if not any(_key_match((fr[0], fr[1]), p) for p in pubs):
        yield Violation("finalRecipient is not a Publisher named by the DSD", _loc(a, fr[2]),
                        expected=" | ".join(map(_show, pubs)), actual=_show((fr[0], fr[1])))


def _eb_requirements(eb: etree._Element) -> list[etree._Element]:
    return xp(eb, ".//rim:Slot[@name='Requirement']/rim:SlotValue/sdg:Requirement")


def _requester_country(req: etree._Element) -> str | None:
    er = _er_agent(req)
    c = _txt(_sdg(_sdg(er, "Address"), "AdminUnitLevel1")) if er is not None else None
    return c.upper() if c else None


def _relevant(requirement: etree._Element, procedure: str | None, country: str | None) -> bool:
    """Whether an EB requirement applies to (procedure, requester country)."""
    frames = _sdg_all(requirement, "ReferenceFramework")
    if procedure is None or not frames:
        return True
    for f in frames:
        rel = {_txt(i) for i in xp(f, "./sdg:RelatedTo/sdg:Identifier")}
        jur = {(_txt(j) or "").upper() for j in xp(f, "./sdg:Jurisdiction/sdg:AdminUnitLevel1")}
        if procedure in rel and (country is None or not jur or country in jur):
            return True
    return False


def _request_requirements(req: etree._Element) -> list[tuple[str | None, etree._Element]]:
    s = _slot(req, "Requirements")
    return [(_txt(i), i) for i in xp(s, "./rim:SlotValue//sdg:Requirement/sdg:Identifier")] if s is not None else []


@pair_check("CS-017", pairs=[("request", "eb-response")], ref="OF; TDD 3.2.4 (EB error codes); CS-017",
            title="No EDM request built from an Evidence Broker refusal")
def no_request_after_eb_error(a: MessageContext, b: MessageContext) -> Iterator[Violation]:
    """An EB Failure (``EB:ERR:0001`` empty result, or any other EB error) gives no requirement or
    evidence type to request, so no request may be built from it."""
    failed, code = _failure(b.root)
    if failed:
        yield Violation("an EDM request was built from an Evidence Broker refusal", _loc(a, a.root),
                        expected="no request", actual=f"request after {code or 'EB Failure'}")


@pair_check("PAIR-004", pairs=[("request", "eb-response")], severity=Severity.WARNING,
            ref="TDD 3.2.3 / 3.2.4; CS-013; CS-015 (related)",
            title="Requested requirements are the Evidence Broker's for the procedure")
def requirements_from_eb(a: MessageContext, b: MessageContext) -> Iterator[Violation]:
    """Each request ``Requirements`` identifier is a requirement the EB answer relates to the request's
    ``Procedure`` (and requester country, when the answer gives jurisdictions).

    WARNING: the EB answer may come from a narrower query than the one the portal used (one country,
    one requirement), so a miss says "check the wiring", not "non-conformant".
    """
    if _failure(b.root)[0]:
        return
    eb_reqs = _eb_requirements(b.root)
    wanted = _request_requirements(a.root)
    if not eb_reqs or not wanted:
        return
    procedure = _slot_str(a.root, "Procedure")
    country = _requester_country(a.root)
    known = {_txt(_sdg(r, "Identifier")) for r in eb_reqs if _relevant(r, procedure, country)}
    known.discard(None)
    for ident, el in wanted:
        if ident not in known:
            yield Violation(f"requirement is not one the Evidence Broker gives for procedure {procedure or '(none)'}",
                            _loc(a, el), expected=" | ".join(sorted(known)) or "(no requirement for this procedure)",
                            actual=ident)


@pair_check("PAIR-005", pairs=[("request", "eb-response")], severity=Severity.WARNING,
            ref="TDD 3.2.4 (query 2); 3.1.4; CS-014; CS-016",
            title="Requested evidence type is one the Evidence Broker lists for the requirements")
def evidence_type_from_eb(a: MessageContext, b: MessageContext) -> Iterator[Violation]:
    """When the EB answer lists evidence types (query 2), the request's ``EvidenceTypeClassification`` is
    one of those listed for the requested requirements.

    WARNING: EvidenceTypeLists are alternatives per country and the EB answer may be for another
    country than the provider's; a miss flags wiring, not a rule.
    """
    if _failure(b.root)[0]:
        return
    d = _dset(a.root)
    cls_el = _sdg(d, "EvidenceTypeClassification")
    cls = _txt(cls_el)
    if cls is None:
        return
    wanted = {i for i, _ in _request_requirements(a.root)}
    reqs = _eb_requirements(b.root)
    scoped = [r for r in reqs if _txt(_sdg(r, "Identifier")) in wanted] if wanted else reqs
    listed = {_txt(c) for r in (scoped or reqs)
              for c in xp(r, "./sdg:EvidenceTypeList/sdg:EvidenceType/sdg:EvidenceTypeClassification")}
    listed.discard(None)
    if listed and cls not in listed:
        yield Violation("requested evidence type is not listed by the Evidence Broker for the requirements",
                        _loc(a, cls_el), expected=" | ".join(sorted(listed)), actual=cls)


# ============================================================================================ Python API
def _has_preview(ctx: MessageContext) -> bool:
    return ctx.kind == "request" and _slot_str(ctx.root, "PreviewLocation") is not None


def context(root: etree._Element, name: str = "<message>", header: etree._Element | None = None
            ) -> MessageContext:
    """A :class:`MessageContext` for ``root``; a WS-plugin envelope counts as its ebMS header."""
    det = detect(root)
    if det.kind == "wsplugin-soap" and find_messaging(root) is not None:
        det = replace(det, kind="ebms-header")
    return MessageContext(root=root, detection=det, name=name, header=header)


def order_pair(a: MessageContext, b: MessageContext) -> tuple[MessageContext, MessageContext]:
    """Put a pair in the order the checks expect (judged message first).

    (request, response) -> (response, request); (ebms-header, payload) -> (payload, ebms-header);
    (CS answer, request/header) -> (request/header, CS answer); request vs exception -> (request #2,
    exception) when the request carries PreviewLocation and is not the one the exception answers, else
    (exception, request); two requests -> (the one with PreviewLocation, else the later IssueDateTime,
    first); two headers -> (answer header, request header), or for two request headers the later first.
    """
    ka, kb = a.kind, b.kind
    swap = False
    payload = set(EDM_KINDS)
    if (ka, kb) == ("request", "response"):
        swap = True
    elif ka == "ebms-header" and kb in payload:
        swap = True
    elif ka in ("dsd-response", "eb-response") and kb in ("request", "ebms-header"):
        swap = True
    elif {ka, kb} == {"request", "exception"}:
        req, exc = (a, b) if ka == "request" else (b, a)
        follow_up = _has_preview(req) and _n(exc.root.get("requestId")) != _n(req.root.get("id"))
        swap = (ka == "request") != follow_up
    elif ka == kb == "request":
        pa, pb = _has_preview(a), _has_preview(b)
        if pa != pb:
            swap = pb
        else:
            da = _parse_dt(_slot_str(a.root, "IssueDateTime"))
            db = _parse_dt(_slot_str(b.root, "IssueDateTime"))
            swap = bool(da and db and _cmp_dt(db, da) > 0)
    elif ka == kb == "ebms-header":
        ha, hb = _header(a), _header(b)
        if ha is not None and hb is not None:
            if ha.action == ACTIONS["request"] and hb.action in ANSWER_ACTIONS:
                swap = True
            elif ha.action == hb.action == ACTIONS["request"]:
                ta, tb = _parse_dt(ha.timestamp), _parse_dt(hb.timestamp)
                swap = bool(ta and tb and _cmp_dt(tb, ta) > 0)
    return (b, a) if swap else (a, b)


def _cmp_dt(x: datetime, y: datetime) -> int:
    try:
        return (x > y) - (x < y)
    except TypeError:  # naive vs aware
        x, y = x.replace(tzinfo=None), y.replace(tzinfo=None)
        return (x > y) - (x < y)


def _as_root(doc, name: str) -> tuple[etree._Element | None, list[Finding]]:
    if isinstance(doc, etree._ElementTree):
        doc = doc.getroot()
    if isinstance(doc, etree._Element):
        return doc, []
    from .xmlsafe import parse_bytes
    data = doc.encode("utf-8") if isinstance(doc, str) else bytes(doc or b"")
    parsed = parse_bytes(data)
    return parsed.root, [replace(f, location=f"{name}!{f.location}") for f in parsed.findings]


def validate_pair(a_root, b_root, *, a_name: str = "a", b_name: str = "b", a_header=None, b_header=None,
                  reorder: bool = True, severities: dict[str, Severity] | None = None
                  ) -> tuple[list[str], list[Finding]]:
    """Run every cross-message check on two messages; returns (ids run, findings).

    ``a_root`` / ``b_root``: parsed elements, or raw bytes / str (parsed with the hardened parser).
    Kinds are detected; with ``reorder`` the pair is put in check order first (:func:`order_pair`), and
    the reverse order is tried when no check applies as given. ``a_header`` / ``b_header`` attach each
    payload's ebMS header (used by EDM-REQ-020 on two requests). Never raises on odd input.
    """
    ra, fa = _as_root(a_root, a_name)
    rb, fb = _as_root(b_root, b_name)
    if ra is None or rb is None:
        return [], fa + fb
    ha = _as_root(a_header, a_name)[0] if a_header is not None else None
    hb = _as_root(b_header, b_name)[0] if b_header is not None else None
    try:
        ca, cb = context(ra, a_name, ha), context(rb, b_name, hb)
    except Exception as exc:  # noqa: BLE001 - detection on very odd input
        return [], [Finding("PAIR-000", Severity.CAUTION, f"pair not classified: {exc}", Source.PAIR, "/")]
    if reorder:
        try:
            ca, cb = order_pair(ca, cb)
        except Exception:  # noqa: BLE001 - keep the given order
            pass
    ran, found = registry.run_pair(ca, cb, severities=severities)
    if not ran and reorder:
        ran, found = registry.run_pair(cb, ca, severities=severities)
    if not ran:
        found = [Finding("PAIR-000", Severity.CAUTION, f"no cross-message check applies to ({ca.kind}, {cb.kind})",
                         Source.PAIR, "/")]
    return ran, list(fa) + list(fb) + found


__all__ = ["validate_pair", "order_pair", "context", "find_messaging"]
