"""EDM QueryRequest (ExecuteQueryRequest, TDD 4.5.1): the single-message assertions EDM-REQ-* of spec/edm.md.

Two-message parts (EDM-REQ-013 vs the DSD, EDM-REQ-020/021/022 vs the exchange history) live in ``pairs.py``
or in scenarios. Also here: EDM-VER-002 (declared version), shared by the three EDM message kinds.
"""
from __future__ import annotations

import re

from ..findings import Severity, Violation
from ..ns import XML_LANG, local_type, locate, slots
from ..registry import MessageContext, check
from ._edm import (ALL_EDM, BOOLEANS, COMMON, LEGACY, LOA, check_agent_id_name, check_any_of,
                   check_collection_of, check_spec_identifier, classifications, collection, elements,
                   is_date, is_datetime, is_https, is_urn_uuid, items_of, kid, kids, one_slot, qname, sdg,
                   short, slot_value, txt, type_is, value_text)

_REQ = {"request"}


def _query(ctx: MessageContext):
    return kid(ctx.root, "query", "Query")


def _evidence_request(ctx: MessageContext):
    """The sdg:DataServiceEvidenceType of the request, or None."""
    query = _query(ctx)
    if query is None:
        return None
    for s in slots(query, "EvidenceRequest"):
        for d in items_of(s, "DataServiceEvidenceType"):
            return d
    return None


@check("EDM-VER-002", kinds=ALL_EDM, versions=None, severity=Severity.CAUTION,
       ref="R-EDM-ebMS-038; TDD 4.7 §2.6.2 (OF-VT)",
       title="Declared EDM version is a supported one (v1.2, v2.0); v1.0/v1.1 are legacy")
def version_supported(ctx: MessageContext):
    """Informational: a legacy version (v1.0/v1.1) is recognised but served by no current rule set.

    Missing or unknown versions are FATAL in EDM-REQ-002 / EDM-RESP-002 / EDM-ERR-001; this check only tells
    the reader that the v1.2/v2.0 rules were not applied to a legacy message.
    """
    if ctx.version in LEGACY:
        yield Violation(f"EDM version {ctx.version} is legacy: only the version checks were applied",
                        locate(ctx.root), expected="oots-edm:v2.0 or oots-edm:v1.2",
                        actual=ctx.detection.declared)


@check("EDM-REQ-001", kinds=_REQ, versions=COMMON, ref="R-EDM-REQ-S001, R-EDM-REQ-S002, R-EDM-REQ-S004",
       title="Root is query:QueryRequest with @id urn:uuid:<UUID>")
def request_root(ctx: MessageContext):
    """Root element and namespace; ``@id`` = ``urn:uuid:`` + RFC 4122 UUID."""
    root = ctx.root
    if qname(root) != "query:QueryRequest":
        yield Violation("root element is not query:QueryRequest", locate(root),
                        expected="{urn:oasis:names:tc:ebxml-regrep:xsd:query:4.0}QueryRequest", actual=str(root.tag))
    rid = root.get("id")
    if not is_urn_uuid(rid):
        yield Violation("QueryRequest/@id is not urn:uuid:<UUID>", locate(root),
                        expected="urn:uuid:xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", actual=short(rid) or "none")


@check("EDM-REQ-002", kinds=_REQ, versions=None, ref="R-EDM-REQ-S005, R-EDM-REQ-S020, R-EDM-REQ-C001",
       title="Exactly one SpecificationIdentifier (StringValueType) naming a known EDM version")
def request_spec_identifier(ctx: MessageContext):
    """Runs for every declared version: a missing or unknown identifier is what makes the version unknown."""
    yield from check_spec_identifier(ctx.root)


@check("EDM-REQ-003", kinds=_REQ, versions=COMMON, ref="R-EDM-REQ-S006, R-EDM-REQ-S021",
       title="Exactly one IssueDateTime, DateTimeValueType, xsd:dateTime")
def request_issue_datetime(ctx: MessageContext):
    slot, problems = one_slot(ctx.root, "IssueDateTime")
    yield from problems
    if slot is None:
        return
    yield from type_is(slot, "DateTimeValueType")
    v = value_text(slot)
    if not is_datetime(v):
        yield Violation("IssueDateTime is not an xsd:dateTime", locate(slot),
                        expected="xsd:dateTime (e.g. 2026-08-06T10:00:00Z)", actual=short(v) or "none")


@check("EDM-REQ-004", kinds=_REQ, versions=COMMON,
       ref="R-EDM-REQ-S009, R-EDM-REQ-S010, R-EDM-REQ-S024, R-EDM-REQ-S025",
       title="PossibilityForPreview and ExplicitRequestGiven once each, BooleanValueType")
def request_booleans(ctx: MessageContext):
    for name in ("PossibilityForPreview", "ExplicitRequestGiven"):
        slot, problems = one_slot(ctx.root, name)
        yield from problems
        if slot is None:
            continue
        yield from type_is(slot, "BooleanValueType")
        v = value_text(slot)
        if v not in BOOLEANS:
            yield Violation(f"{name} is not an xsd:boolean", locate(slot), expected="true or false",
                            actual=short(v) or "none")


@check("EDM-REQ-005", kinds=_REQ, versions=COMMON,
       ref="R-EDM-REQ-S012, R-EDM-REQ-S028, R-EDM-REQ-S029, R-EDM-REQ-S039",
       title="EvidenceRequester: one Set collection of AnyValueType elements, each holding one sdg:Agent")
def request_requester_shape(ctx: MessageContext):
    slot, problems = one_slot(ctx.root, "EvidenceRequester")
    yield from problems
    if slot is not None:
        yield from check_collection_of(slot, "Agent")


_REQUESTER_AGENT_CHILDREN = {"sdg:Identifier", "sdg:Name", "sdg:Address", "sdg:Classification"}
_COUNTRY_RE = re.compile(r"^[A-Z]{2}$")


@check("EDM-REQ-006", kinds=_REQ, versions=COMMON, ref="R-EDM-REQ-S040, R-EDM-REQ-C073",
       title="Requester agent ER: Identifier@schemeID, Name@lang, Address/AdminUnitLevel1; no other element")
def request_er_agent(ctx: MessageContext):
    """An ``ER`` agent must exist and be complete; no requester agent carries e.g. ``sdg:Jurisdiction``.

    AdminUnitLevel1 is checked for shape (two capital letters) only: the OOTS_Country list is not available.
    """
    found = slots(ctx.root, "EvidenceRequester")
    if not found:
        return  # EDM-REQ-005
    agents = [a for s in found for a in items_of(s, "Agent")]
    for a in agents:
        extra = [qname(c) for c in elements(a) if qname(c) not in _REQUESTER_AGENT_CHILDREN]
        if extra:
            yield Violation("requester agent holds elements outside Identifier, Name, Address, Classification",
                            locate(a), expected="sdg:Identifier, sdg:Name, sdg:Address, sdg:Classification",
                            actual=", ".join(extra))
    er = [a for a in agents if "ER" in classifications(a)]
    if not er:
        yield Violation("no EvidenceRequester agent is classified ER", locate(found[0]),
                        expected="one sdg:Agent with sdg:Classification=ER",
                        actual=", ".join(c for a in agents for c in classifications(a)) or "no classification")
    for a in er:
        yield from check_agent_id_name(a, "ER", name_lang=True)
        units = [u for addr in sdg(a, "Address") for u in sdg(addr, "AdminUnitLevel1")]
        if not units:
            yield Violation("ER agent has no Address/AdminUnitLevel1", locate(a),
                            expected="sdg:Address/sdg:AdminUnitLevel1 (country code)", actual="none")
        elif not _COUNTRY_RE.match(txt(units[0])):
            yield Violation("ER agent AdminUnitLevel1 is not a country code", locate(units[0]),
                            expected="two-letter country code (OOTS_Country)", actual=short(txt(units[0])))


@check("EDM-REQ-007", kinds=_REQ, versions=COMMON, severity=Severity.WARNING, ref="OF template (4.5.1 §3.3)",
       title="Intermediary platform, if any, is a separate rim:Element classified IP")
def request_ip_agent(ctx: MessageContext):
    """Each requester agent has one classification, ER or IP; the IP is its own element.

    Non-strict: attested by one implementation (oots-france template), no Schematron rule id is known.
    """
    for s in slots(ctx.root, "EvidenceRequester"):
        ip_count = 0
        for item in collection(s) or [slot_value(s)]:
            agents = [c for c in elements(item) if qname(c) == "sdg:Agent"]
            cls = [classifications(a) for a in agents]
            if len(agents) > 1 and any("IP" in c for c in cls):
                yield Violation("the intermediary platform shares its rim:Element with another agent",
                                locate(item), expected="one rim:Element per agent", actual=f"{len(agents)} agents")
            for a, c in zip(agents, cls):
                if len(c) != 1 or c[0] not in ("ER", "IP"):
                    yield Violation("requester agent must carry exactly one classification, ER or IP",
                                    locate(a), expected="sdg:Classification ER or IP",
                                    actual=", ".join(c) or "none")
                ip_count += c.count("IP")
        if ip_count > 1:
            yield Violation("more than one intermediary platform declared", locate(s),
                            expected="at most one agent classified IP", actual=str(ip_count))


@check("EDM-REQ-008", kinds=_REQ, versions=COMMON,
       ref="R-EDM-REQ-S013, R-EDM-REQ-S030, R-EDM-REQ-S042, R-EDM-REQ-S043",
       title="EvidenceProvider: AnyValueType with one sdg:Agent (Identifier@schemeID, Name only)")
def request_provider(ctx: MessageContext):
    """Shape only; equality with the DSD Publisher is a pair check."""
    slot, problems = one_slot(ctx.root, "EvidenceProvider")
    yield from problems
    if slot is None:
        return
    yield from check_any_of(slot, "Agent")
    for a in items_of(slot, "Agent")[:1]:
        yield from check_agent_id_name(a, "EvidenceProvider")
        extra = [qname(c) for c in elements(a) if qname(c) not in ("sdg:Identifier", "sdg:Name")]
        if extra:
            yield Violation("EvidenceProvider agent holds elements other than Identifier and Name", locate(a),
                            expected="sdg:Identifier, sdg:Name", actual=", ".join(extra))


_ALLOWED_V12 = ("SpecificationIdentifier", "IssueDateTime", "Procedure", "PreviewLocation", "PossibilityForPreview",
                "ExplicitRequestGiven", "Requirements", "EvidenceRequester", "EvidenceProvider",
                "EvidenceProviderClassification")
_ALLOWED_V20 = _ALLOWED_V12 + ("ReturnLocation",)


@check("EDM-REQ-009", kinds=_REQ, versions=COMMON, ref="R-EDM-REQ-S019",
       title="No request-level slot outside the allowed list")
def request_allowed_slots(ctx: MessageContext):
    """v2.0 adds ReturnLocation; v1.2 does not know it."""
    allowed = _ALLOWED_V12 if ctx.version == "v1.2" else _ALLOWED_V20
    for s in slots(ctx.root):
        if s.get("name") not in allowed:
            yield Violation(f"slot {s.get('name')!r} is not allowed on QueryRequest ({ctx.version or 'any version'})",
                            locate(s), expected=", ".join(allowed), actual=s.get("name"))


@check("EDM-REQ-010", kinds=_REQ, versions=COMMON, ref="TDD 4.5.1 (ResponseOption, Query)",
       title="ResponseOption/@returnType=LeafClassWithRepositoryItem; Query/@queryDefinition=DocumentQuery")
def request_query_frame(ctx: MessageContext):
    for local, attr, value in (("ResponseOption", "returnType", "LeafClassWithRepositoryItem"),
                               ("Query", "queryDefinition", "DocumentQuery")):
        found = kids(ctx.root, "query", local)
        if len(found) != 1:
            yield Violation(f"query:{local} must appear once", locate(ctx.root),
                            expected=f"one query:{local}", actual=str(len(found)))
        elif (found[0].get(attr) or "").strip() != value:
            yield Violation(f"query:{local}/@{attr} has the wrong value", locate(found[0]),
                            expected=value, actual=found[0].get(attr) or "none")


@check("EDM-REQ-011", kinds=_REQ, versions=COMMON,
       ref="R-EDM-REQ-S016, R-EDM-REQ-S034/S035/S036, R-EDM-REQ-S046/S047/S048",
       title="Exactly one of NaturalPerson/LegalPerson in query:Query, holding sdg:Person/sdg:LegalPerson")
def request_subject(ctx: MessageContext):
    query = _query(ctx)
    if query is None:
        return  # EDM-REQ-010
    subjects = slots(query, "NaturalPerson") + slots(query, "LegalPerson")
    if len(subjects) != 1:
        yield Violation("query:Query must hold exactly one NaturalPerson or LegalPerson slot", locate(query),
                        expected="one of NaturalPerson, LegalPerson",
                        actual=", ".join(s.get("name") for s in subjects) or "none")
    holds = {"NaturalPerson": "Person", "LegalPerson": "LegalPerson", "AuthorizedRepresentative": "Person"}
    for s in slots(query):
        if s.get("name") in holds:
            yield from check_any_of(s, holds[s.get("name")])
    if len(slots(query, "AuthorizedRepresentative")) > 1:
        yield Violation("more than one AuthorizedRepresentative", locate(query), expected="at most one",
                        actual=str(len(slots(query, "AuthorizedRepresentative"))))


@check("EDM-REQ-012", kinds=_REQ, versions=COMMON,
       ref="R-EDM-REQ-S015, R-EDM-REQ-S033, R-EDM-REQ-S044, R-EDM-REQ-S045",
       title="Exactly one EvidenceRequest slot holding sdg:DataServiceEvidenceType (Identifier, Classification, Title)")
def request_evidence_request(ctx: MessageContext):
    query = _query(ctx)
    if query is None:
        return
    slot, problems = one_slot(query, "EvidenceRequest")
    yield from problems
    if slot is None:
        return
    yield from check_any_of(slot, "DataServiceEvidenceType")
    for dset in items_of(slot, "DataServiceEvidenceType")[:1]:
        for local in ("Identifier", "EvidenceTypeClassification", "Title"):
            if not any(txt(e) for e in sdg(dset, local)):
                yield Violation(f"DataServiceEvidenceType has no sdg:{local}", locate(dset),
                                expected=f"sdg:{local} with a value", actual="none")


@check("EDM-REQ-014", kinds=_REQ, versions=("v1.2", "v2.0"), ref="R-EDM-REQ-C032",
       title="DistributedAs: v2.0 at least one, v1.2 at most one; each with exactly one Format")
def request_distributed_as(ctx: MessageContext):
    """C032 was inverted between the lines: v2.0 ``count>0``, v1.2 ``count<=1``."""
    dset = _evidence_request(ctx)
    if dset is None:
        return  # EDM-REQ-012
    dist = sdg(dset, "DistributedAs")
    if ctx.version == "v2.0" and not dist:
        yield Violation("v2.0 DataServiceEvidenceType has no sdg:DistributedAs", locate(dset),
                        expected="at least one sdg:DistributedAs", actual="none")
    if ctx.version == "v1.2" and len(dist) > 1:
        yield Violation("v1.2 DataServiceEvidenceType has several sdg:DistributedAs", locate(dist[1]),
                        expected="at most one sdg:DistributedAs", actual=str(len(dist)))
    for d in dist:
        fmts = sdg(d, "Format")
        if len(fmts) != 1 or not txt(fmts[0]):
            yield Violation("sdg:DistributedAs must carry exactly one non-empty sdg:Format", locate(d),
                            expected="one sdg:Format (OOTSMediaTypes)",
                            actual=", ".join(txt(f) for f in fmts) or "none")


@check("EDM-REQ-015", kinds=_REQ, versions=("v1.2", "v2.0"), ref="R-EDM-REQ-S059 (v2.0), R-EDM-REQ-C069 (v1.x)",
       title="Root @xml:lang: forbidden on the v2.0 QueryRequest, required on v1.x")
def request_root_lang(ctx: MessageContext):
    """v2.0 moved the language to ``DistributedAs/sdg:Language`` (S059); v1.x required the root attribute (C069)."""
    lang = ctx.root.get(XML_LANG)
    if ctx.version == "v2.0" and lang is not None:
        yield Violation("xml:lang is forbidden on the v2.0 QueryRequest", locate(ctx.root),
                        expected="no @xml:lang", actual=lang)
    if ctx.version == "v1.2" and not (lang or "").strip():
        others = [f"{k}={v}" for k, v in ctx.root.attrib.items() if k.endswith("}lang")]
        yield Violation("v1.2 QueryRequest has no xml:lang", locate(ctx.root), expected="@xml:lang",
                        actual=", ".join(others) or "none")


def _persons(ctx: MessageContext):
    query = _query(ctx)
    if query is None:
        return [], []
    people = [p for n in ("NaturalPerson", "AuthorizedRepresentative") for s in slots(query, n)
              for p in items_of(s, "Person")]
    legal = [p for s in slots(query, "LegalPerson") for p in items_of(s, "LegalPerson")]
    return people, legal


def _loa(p) -> list[Violation]:
    loa = sdg(p, "LevelOfAssurance")
    if not loa or txt(loa[0]) not in LOA:
        return [Violation(f"{qname(p)} has no valid LevelOfAssurance", locate(loa[0] if loa else p),
                          expected=" | ".join(LOA), actual=short(txt(loa[0])) if loa else "none")]
    return []


@check("EDM-REQ-016", kinds=_REQ, versions=COMMON, ref="TDD chapter 2, 4.5.1 §3.6",
       title="Subject: LevelOfAssurance + eIDAS minimum data set (DateOfBirth YYYY-MM-DD)")
def request_subject_mds(ctx: MessageContext):
    """sdg:Person: LoA, FamilyName, GivenName, DateOfBirth. sdg:LegalPerson: LoA, LegalPersonIdentifier,
    LegalName (eIDAS legal-person minimum data set)."""
    people, legal = _persons(ctx)
    for p in people:
        yield from _loa(p)
        for local in ("FamilyName", "GivenName"):
            if not any(txt(e) for e in sdg(p, local)):
                yield Violation(f"sdg:Person has no sdg:{local}", locate(p), expected=f"sdg:{local}", actual="none")
        dob = sdg(p, "DateOfBirth")
        if not dob or not is_date(txt(dob[0])):
            yield Violation("sdg:Person DateOfBirth is missing or not YYYY-MM-DD", locate(dob[0] if dob else p),
                            expected="YYYY-MM-DD", actual=short(txt(dob[0])) if dob else "none")
    for p in legal:
        yield from _loa(p)
        for local in ("LegalPersonIdentifier", "LegalName"):
            if not any(txt(e) for e in sdg(p, local)):
                yield Violation(f"sdg:LegalPerson has no sdg:{local}", locate(p), expected=f"sdg:{local}",
                                actual="none")


_EIDAS_ID_RE = re.compile(r"^[A-Z]{2}/[A-Z]{2}/\S.*$")


@check("EDM-REQ-017", kinds=_REQ, versions=COMMON, severity=Severity.WARNING,
       ref="R-EDM-REQ-C038, R-EDM-REQ-C060 (WARNING)",
       title="Subject eIDAS identifier, if present: schemeID eidas, non-empty, XX/YY/<id>")
def request_eidas_identifier(ctx: MessageContext):
    """WARNING like the Schematron rules it mirrors; ``eidas2`` (test-only PID profile) accepted in v2.0."""
    schemes = ("eidas", "eidas2") if ctx.version != "v1.2" else ("eidas",)
    people, legal = _persons(ctx)
    idents = [i for p in people for i in sdg(p, "Identifier")] + \
             [i for p in legal for i in sdg(p, "LegalPersonIdentifier")]
    for i in idents:
        scheme = (i.get("schemeID") or "").strip()
        if scheme not in schemes:
            yield Violation("subject identifier has an unexpected schemeID", locate(i),
                            expected=" | ".join(schemes), actual=scheme or "none")
        if not _EIDAS_ID_RE.match(txt(i)):
            yield Violation("subject identifier is empty or not XX/YY/<id>", locate(i),
                            expected="<origin country>/<destination country>/<id>", actual=short(txt(i)) or "empty")


@check("EDM-REQ-018", kinds=_REQ, versions=COMMON,
       ref="R-EDM-REQ-S026, R-EDM-REQ-S027, R-EDM-REQ-S037, R-EDM-REQ-S038",
       title="Requirements, when present: Set of AnyValueType elements holding sdg:Requirement (Identifier, Name@lang)")
def request_requirements(ctx: MessageContext):
    """Shape when present; presence itself is a SHOULD (EDM-REQ-023)."""
    found = slots(ctx.root, "Requirements")
    for slot in found[:1]:
        yield from check_collection_of(slot, "Requirement")
        for r in items_of(slot, "Requirement"):
            if not any(txt(e) for e in sdg(r, "Identifier")):
                yield Violation("sdg:Requirement has no sdg:Identifier", locate(r),
                                expected="sdg:Identifier (SR requirement URI)", actual="none")
            names = sdg(r, "Name")
            if not names or not any(txt(n) and (n.get("lang") or "").strip() for n in names):
                yield Violation("sdg:Requirement has no sdg:Name with @lang", locate(r),
                                expected="sdg:Name lang=..", actual="none")


@check("EDM-REQ-019", kinds=_REQ, versions=COMMON,
       ref="R-EDM-REQ-S008, R-EDM-REQ-S023, R-EDM-REQ-C005, R-EDM-REQ-S062 (v2.0), R-EDM-REQ-C120 (v2.0)",
       title="PreviewLocation https:// String; v2.0: ReturnLocation iff PreviewLocation, https://")
def request_preview_locations(ctx: MessageContext):
    """Both lines: PreviewLocation at most once, StringValueType, ``https://``. v2.0 adds ReturnLocation (S062)."""
    names = ("PreviewLocation", "ReturnLocation") if ctx.version != "v1.2" else ("PreviewLocation",)
    present = {}
    for name in names:
        found = slots(ctx.root, name)
        present[name] = bool(found)
        if len(found) > 1:
            yield Violation(f"slot {name} appears {len(found)} times", locate(found[1]), expected="at most one",
                            actual=str(len(found)))
        for s in found[:1]:
            yield from type_is(s, "StringValueType")
            v = value_text(s)
            if not is_https(v):
                yield Violation(f"{name} is not an https:// URL", locate(s), expected="https://…",
                                actual=short(v) or "none")
    if ctx.version == "v2.0" and present.get("PreviewLocation") != present.get("ReturnLocation"):
        have = "PreviewLocation" if present.get("PreviewLocation") else "ReturnLocation"
        yield Violation(f"v2.0 request carries {have} without its pair", locate(ctx.root),
                        expected="PreviewLocation and ReturnLocation together (S062)", actual=f"only {have}")


@check("EDM-REQ-023", kinds=_REQ, versions=COMMON, severity=Severity.WARNING,
       ref="R-EDM-REQ-S007, R-EDM-REQ-S011, R-EDM-REQ-S022",
       title="SHOULD: Procedure and Requirements present; Procedure typed per version")
def request_should_slots(ctx: MessageContext):
    """Non-strict (SHOULD). Procedure: v2.0 StringValueType (as validated by oots-france against 2.0.1),
    v1.x InternationalStringValueType with a LocalizedString; the Procedures code list is not checked
    (not available)."""
    for name in ("Procedure", "Requirements"):
        if not slots(ctx.root, name):
            yield Violation(f"slot {name} SHOULD be present", locate(ctx.root),
                            expected=f"rim:Slot[@name='{name}']", actual="none")
    for s in slots(ctx.root, "Procedure")[:1]:
        expected = {"v2.0": "StringValueType", "v1.2": "InternationalStringValueType"}.get(ctx.version)
        actual_type = local_type(slot_value(s)) if slot_value(s) is not None else None
        if expected and actual_type != expected:
            yield Violation("Procedure has the wrong value type for this version", locate(s),
                            expected=f"rim:{expected}", actual=actual_type or "none")
        val = kid(slot_value(s), "rim", "Value")
        ls = kid(val, "rim", "LocalizedString")
        code = (ls.get("value") or "").strip() if ls is not None else txt(val)
        if not code:
            yield Violation("Procedure has no code", locate(s), expected="a Procedures code (e.g. T2)",
                            actual="empty")
