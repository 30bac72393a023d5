"""EDM QueryResponse, success or deferred (ExecuteQueryResponse, TDD 4.5.2): single-message EDM-RESP-* checks.

Cross-message parts (EDM-RESP-001 requestId vs request, the echo parts of EDM-RESP-004/013) live in
``pairs.py``. EDM-RESP-011/016 use the ebMS header when the context carries it (``ctx.header``) and say nothing
otherwise.
"""
from __future__ import annotations

import re

from ..findings import Violation
from ..ns import XSI_TYPE, local_type, locate, slots
from ..registry import MessageContext, check
from ._edm import (CLASSIFICATION_NODES, COMMON, EDM_SCHEME, STATUS_PREFIX, check_agent_id_name,
                   check_any_of, check_collection_of, check_spec_identifier, classifications, document_objects,
                   edm_classifications, edm_node, elements, evidence_of, header_parts, is_association, is_date,
                   is_datetime, is_main, is_package, is_urn_uuid, is_uuid, items_of, kids, one_slot, qname,
                   sdg, short, status, top_list, txt, type_is, value_text)

_RESP = {"response"}
_ALLOWED_SLOTS = ("SpecificationIdentifier", "EvidenceResponseIdentifier", "IssueDateTime", "EvidenceProvider",
                  "EvidenceRequester", "ResponseAvailableDateTime")


@check("EDM-RESP-002", kinds=_RESP, versions=None,
       ref="R-EDM-RESP-S004/S006/S009..S013/S016..S019/S031, R-EDM-RESP-C002, R-EDM-RESP-C003",
       title="Response envelope: status, requestId urn:uuid, the five header slots once each, no other slot")
def response_envelope(ctx: MessageContext):
    """Runs for every version (the SpecificationIdentifier part decides it); the rest only for v1.2/v2.0."""
    root = ctx.root
    if qname(root) != "query:QueryResponse":
        yield Violation("root element is not query:QueryResponse", locate(root),
                        expected="{urn:oasis:names:tc:ebxml-regrep:xsd:query:4.0}QueryResponse", actual=str(root.tag))
    yield from check_spec_identifier(root)
    if ctx.version not in COMMON:
        return  # legacy (EDM-VER-002) or unknown (just reported): no rule set to apply
    st = (root.get("status") or "").strip()
    if st not in (STATUS_PREFIX + "Success", STATUS_PREFIX + "Unavailable"):
        yield Violation("QueryResponse/@status is not Success or Unavailable", locate(root),
                        expected=f"{STATUS_PREFIX}Success | …:Unavailable", actual=st or "none")
    rid = root.get("requestId")
    if not is_urn_uuid(rid):
        yield Violation("QueryResponse/@requestId is missing or not urn:uuid:<UUID>", locate(root),
                        expected="urn:uuid:<UUID> of the request", actual=short(rid) or "none")
    for name, vtype in (("EvidenceResponseIdentifier", "StringValueType"), ("IssueDateTime", "DateTimeValueType"),
                        ("EvidenceProvider", None), ("EvidenceRequester", None)):
        slot, problems = one_slot(root, name)
        yield from problems
        if slot is None or vtype is None:
            continue
        yield from type_is(slot, vtype)
        v = value_text(slot)
        if name == "EvidenceResponseIdentifier" and not is_uuid(v):
            yield Violation("EvidenceResponseIdentifier is not a UUID", locate(slot),
                            expected="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (no prefix)", actual=short(v) or "none")
        if name == "IssueDateTime" and not is_datetime(v):
            yield Violation("IssueDateTime is not an xsd:dateTime", locate(slot), expected="xsd:dateTime",
                            actual=short(v) or "none")
    for s in slots(root):
        if s.get("name") not in _ALLOWED_SLOTS:
            yield Violation(f"slot {s.get('name')!r} is not allowed on QueryResponse", locate(s),
                            expected=", ".join(_ALLOWED_SLOTS), actual=s.get("name"))


@check("EDM-RESP-003", kinds=_RESP, versions=COMMON,
       ref="R-EDM-RESP-S020, R-EDM-RESP-S025, R-EDM-RESP-C006, R-EDM-RESP-C010",
       title="EvidenceProvider: Set of AnyValueType sdg:Agent, each with Identifier@schemeID, Name, Classification EP")
def response_provider(ctx: MessageContext):
    for slot in slots(ctx.root, "EvidenceProvider")[:1]:
        yield from check_collection_of(slot, "Agent")
        for a in items_of(slot, "Agent"):
            yield from check_agent_id_name(a, "EvidenceProvider")
            cls = classifications(a)
            if cls != ["EP"]:
                yield Violation("EvidenceProvider agent is not classified EP", locate(a),
                                expected="sdg:Classification=EP", actual=", ".join(cls) or "none")


@check("EDM-RESP-004", kinds=_RESP, versions=COMMON,
       ref="R-EDM-RESP-S022, R-EDM-RESP-S027, R-EDM-RESP-C012; OF",
       title="EvidenceRequester: AnyValueType with one sdg:Agent (Identifier@schemeID, Name), not the IP agent")
def response_requester(ctx: MessageContext):
    """Single-message part: the echoed agent is complete and is not an intermediary platform (``IP``).
    Equality with the request's ``ER`` agent is a pair check."""
    for slot in slots(ctx.root, "EvidenceRequester")[:1]:
        yield from check_any_of(slot, "Agent")
        for a in items_of(slot, "Agent")[:1]:
            yield from check_agent_id_name(a, "EvidenceRequester")
            if "IP" in classifications(a):
                yield Violation("the response echoes the intermediary platform, not the requester", locate(a),
                                expected="the ER agent of the request", actual="agent classified IP")


@check("EDM-RESP-005", kinds=_RESP, versions=COMMON, ref="R-EDM-RESP-S007, R-EDM-RESP-S046, R-EDM-RESP-S066",
       title="RegistryObjectList: v2.0 packages each with one nested list; v1.2 flat ExtrinsicObjects")
def response_packaging(ctx: MessageContext):
    """v2.0 requires the list for every status (2.0.1 S007); v1.2 for Success."""
    root = ctx.root
    lists = kids(root, "rim", "RegistryObjectList")
    if len(lists) != 1:
        if len(lists) > 1 or ctx.version == "v2.0" or status(root) == "Success":
            yield Violation("QueryResponse must hold exactly one rim:RegistryObjectList", locate(root),
                            expected="one rim:RegistryObjectList", actual=str(len(lists)))
        return
    top = kids(lists[0], "rim", "RegistryObject")
    for obj in top:
        if ctx.version == "v2.0":
            if not is_package(obj):
                yield Violation("v2.0 top-level objects must be RegistryPackages", locate(obj),
                                expected="xsi:type=rim:RegistryPackageType", actual=obj.get(XSI_TYPE) or "none")
                continue
            nested = kids(obj, "rim", "RegistryObjectList")
            if len(nested) != 1:
                yield Violation("a RegistryPackage must hold exactly one rim:RegistryObjectList", locate(obj),
                                expected="one nested rim:RegistryObjectList", actual=str(len(nested)))
        elif ctx.version == "v1.2" and local_type(obj) != "ExtrinsicObjectType":
            yield Violation("v1.2 top-level objects must be ExtrinsicObjects (flat list)", locate(obj),
                            expected="xsi:type=rim:ExtrinsicObjectType", actual=obj.get(XSI_TYPE) or "none")


def _nested_lists(root):
    lst = top_list(root)
    packages = [p for p in kids(lst, "rim", "RegistryObject") if is_package(p)]
    return [n for p in packages for n in kids(p, "rim", "RegistryObjectList")]


@check("EDM-RESP-006", kinds=_RESP, versions=("v2.0",), ref="R-EDM-RESP-S047, R-EDM-RESP-S048",
       title="v2.0: each package holds a MainEvidence; each document has exactly one EDM classification")
def response_main_evidence(ctx: MessageContext):
    for nested in _nested_lists(ctx.root):
        objs = kids(nested, "rim", "RegistryObject")
        if not any(edm_node(o) == "MainEvidence" for o in objs if not is_association(o)):
            yield Violation("package holds no MainEvidence", locate(nested),
                            expected=f"a RegistryObject classified MainEvidence under {EDM_SCHEME}", actual="none")
    for obj in document_objects(ctx.root):
        n = len(edm_classifications(obj))
        if n != 1:
            yield Violation("document object must carry exactly one EDM classification", locate(obj),
                            expected=f"one rim:Classification classificationScheme={EDM_SCHEME}", actual=str(n))


@check("EDM-RESP-007", kinds=_RESP, versions=("v2.0",), ref="R-EDM-RESP-S049, R-EDM-RESP-S065",
       title="v2.0: classificationNode in {MainEvidence, Annex, HumanReadableVersion, Translation}; @id urn:uuid")
def response_classification_values(ctx: MessageContext):
    for obj in document_objects(ctx.root):
        for c in edm_classifications(obj):
            node = (c.get("classificationNode") or "").strip()
            if node not in CLASSIFICATION_NODES:
                yield Violation("unknown EDM classificationNode", locate(c), expected=" | ".join(CLASSIFICATION_NODES),
                                actual=node or "none")
            if not is_urn_uuid(c.get("id")):
                yield Violation("classification @id is not urn:uuid:<UUID>", locate(c), expected="urn:uuid:<UUID>",
                                actual=short(c.get("id")) or "none")


_MAIN_ELEMENTS = ("Identifier", "IssuingDate", "IsAbout", "IssuingAuthority", "IsConformantTo", "Distribution")


@check("EDM-RESP-008", kinds=_RESP, versions=COMMON,
       ref="R-EDM-RESP-S015, R-EDM-RESP-S024, R-EDM-RESP-S029, R-EDM-RESP-S062",
       title="EvidenceMetadata holds sdg:Evidence; MainEvidence has Identifier, IssuingDate, IsAbout, "
             "IssuingAuthority, IsConformantTo, Distribution")
def response_main_metadata(ctx: MessageContext):
    """In v2.0 these became optional in the XSD and are Schematron-enforced on MainEvidence (S062); v1.2 has
    no classification, so every document is main."""
    for obj in document_objects(ctx.root):
        slot, problems = one_slot(obj, "EvidenceMetadata", "RegistryObject")
        yield from problems
        if slot is None:
            continue
        yield from check_any_of(slot, "Evidence")
        ev = evidence_of(obj)
        if ev is None or not is_main(obj, ctx.version):
            continue
        missing = [e for e in _MAIN_ELEMENTS if not sdg(ev, e)]
        if missing:
            yield Violation("MainEvidence metadata is incomplete", locate(ev),
                            expected=", ".join(f"sdg:{e}" for e in _MAIN_ELEMENTS),
                            actual="missing " + ", ".join(f"sdg:{e}" for e in missing))


_FORBIDDEN_SUPPLEMENTARY = ("IsAbout", "IssuingAuthority", "IsConformantTo", "ValidityPeriod", "IssuingDate")


@check("EDM-RESP-009", kinds=_RESP, versions=("v2.0",), ref="R-EDM-RESP-S063",
       title="v2.0: supplementary documents carry no IsAbout/IssuingAuthority/IsConformantTo/ValidityPeriod/"
             "IssuingDate/Distribution-ConformsTo")
def response_supplementary_metadata(ctx: MessageContext):
    for obj in document_objects(ctx.root):
        node = edm_node(obj)
        ev = evidence_of(obj)
        if ev is None or node not in CLASSIFICATION_NODES[1:]:
            continue  # main, or unknown node (EDM-RESP-007)
        bad = [f"sdg:{e}" for e in _FORBIDDEN_SUPPLEMENTARY if sdg(ev, e)]
        bad += ["sdg:Distribution/sdg:ConformsTo" for d in sdg(ev, "Distribution") if sdg(d, "ConformsTo")][:1]
        if bad:
            yield Violation(f"{node} document carries main-evidence metadata", locate(ev),
                            expected="none of " + ", ".join(_FORBIDDEN_SUPPLEMENTARY) + ", Distribution/ConformsTo",
                            actual=", ".join(bad))


_CID_RE = re.compile(r"^cid:[^@\s]+@[^@\s]+$")


@check("EDM-RESP-010", kinds=_RESP, versions=COMMON,
       ref="R-EDM-RESP-S033, R-EDM-RESP-S034, R-EDM-RESP-S035, R-EDM-RESP-C042",
       title="Every document object has one RepositoryItemRef with xlink:href cid:… and xlink:title")
def response_repository_refs(ctx: MessageContext):
    """Success responses only (S033 does not apply to deferred answers)."""
    if status(ctx.root) != "Success":
        return
    for obj in document_objects(ctx.root):
        refs = kids(obj, "rim", "RepositoryItemRef")
        if len(refs) != 1:
            yield Violation("document object must have exactly one rim:RepositoryItemRef", locate(obj),
                            expected="one rim:RepositoryItemRef", actual=str(len(refs)))
            continue
        href = (refs[0].get("{http://www.w3.org/1999/xlink}href") or "").strip()
        title = (refs[0].get("{http://www.w3.org/1999/xlink}title") or "").strip()
        if not _CID_RE.match(href):
            yield Violation("RepositoryItemRef/@xlink:href is not a cid: reference", locate(refs[0]),
                            expected="cid:<id>@<domain>", actual=short(href) or "none")
        if not title:
            yield Violation("RepositoryItemRef has no xlink:title", locate(refs[0]), expected="@xlink:title",
                            actual="none")


def _mime(s: str | None) -> str:
    return (s or "").split(";")[0].strip().lower()


def _format(ev) -> str:
    """``sdg:Distribution/sdg:Format`` of an evidence ('' when absent)."""
    fmts = [f for d in sdg(ev, "Distribution") for f in sdg(d, "Format")]
    return txt(fmts[0]) if fmts else ""


@check("EDM-RESP-011", kinds=_RESP, versions=COMMON, ref="TDD 4.5.2 §4.3, 4.7 (PayloadInfo)",
       title="Every RepositoryItemRef cid: matches an ebMS PartInfo whose MimeType is the document's Format")
def response_parts_match(ctx: MessageContext):
    """Needs the ebMS header (``ctx.header``); silent without it. MimeType must equal the evidence's
    ``sdg:Distribution/sdg:Format`` when that is given."""
    parts = header_parts(ctx.header)
    if parts is None:
        return
    for obj in document_objects(ctx.root):
        for ref in kids(obj, "rim", "RepositoryItemRef"):
            href = (ref.get("{http://www.w3.org/1999/xlink}href") or "").strip()
            if not href:
                continue  # EDM-RESP-010
            if href not in parts:
                yield Violation("RepositoryItemRef points to no ebMS payload part", locate(ref),
                                expected="an eb:PartInfo with the same href", actual=href)
                continue
            mime = parts[href]
            if not mime:
                yield Violation("ebMS PartInfo has no MimeType property", locate(ref),
                                expected="eb:Property name=MimeType", actual="none")
                continue
            fmt = _format(evidence_of(obj))
            if fmt and _mime(fmt) != _mime(mime):
                yield Violation("ebMS part MimeType differs from the document's Distribution/Format", locate(ref),
                                expected=fmt, actual=mime)


@check("EDM-RESP-012", kinds=_RESP, versions=COMMON, ref="R-EDM-RESP-C015",
       title="sdg:Evidence/sdg:Identifier is a UUID")
def response_evidence_identifier(ctx: MessageContext):
    for obj in document_objects(ctx.root):
        ev = evidence_of(obj)
        for ident in sdg(ev, "Identifier")[:1]:
            if not is_uuid(txt(ident)):
                yield Violation("evidence identifier is not a UUID", locate(ident),
                                expected="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", actual=short(txt(ident)) or "empty")


@check("EDM-RESP-013", kinds=_RESP, versions=COMMON, ref="TDD 4.5.2 (IsAbout)",
       title="IsAbout holds one NaturalPerson (FamilyName, GivenName, DateOfBirth) or LegalPerson (LegalName)")
def response_is_about(ctx: MessageContext):
    """Single-message part: the minimum data set is there. Equality with the request is a pair check."""
    for obj in document_objects(ctx.root):
        ev = evidence_of(obj)
        for about in sdg(ev, "IsAbout")[:1]:
            subjects = [c for c in elements(about) if qname(c) in ("sdg:NaturalPerson", "sdg:LegalPerson")]
            if len(subjects) != 1:
                yield Violation("IsAbout must hold exactly one NaturalPerson or LegalPerson", locate(about),
                                expected="one sdg:NaturalPerson | sdg:LegalPerson", actual=str(len(subjects)))
                continue
            p = subjects[0]
            need = ("FamilyName", "GivenName", "DateOfBirth") if qname(p) == "sdg:NaturalPerson" else ("LegalName",)
            missing = [n for n in need if not any(txt(e) for e in sdg(p, n))]
            if missing:
                yield Violation(f"IsAbout/{qname(p)} lacks the minimum data set", locate(p),
                                expected=", ".join(f"sdg:{n}" for n in need),
                                actual="missing " + ", ".join(f"sdg:{n}" for n in missing))
            for dob in sdg(p, "DateOfBirth")[:1]:
                if txt(dob) and not is_date(txt(dob)):
                    yield Violation("IsAbout DateOfBirth is not YYYY-MM-DD", locate(dob), expected="YYYY-MM-DD",
                                    actual=short(txt(dob)))


_STRUCTURED = re.compile(r"^(application|text)/([a-z0-9.+-]+\+)?(xml|json)$")
_SR_MODEL = {
    "v2.0": re.compile(r"^https://sr(\.[a-z0-9-]+)?\.oots\.tech\.ec\.europa\.eu/datamodels/\S+$"),
    "v1.2": re.compile(r"^https://sr(\.[a-z0-9-]+)?\.oots\.tech\.ec\.europa\.eu/(datamodels|distributions)/\S+$"),
}


@check("EDM-RESP-014", kinds=_RESP, versions=COMMON, ref="R-EDM-RESP-C044",
       title="MainEvidence Distribution in xml/json carries ConformsTo (SR data model URI)")
def response_structured_conforms_to(ctx: MessageContext):
    """Main evidence only: v2.0 forbids ConformsTo on supplementary documents (S063). v1.x also used the SR
    ``distributions/`` prefix; the acceptance SR host (``sr.<env>.oots…``) is accepted."""
    pattern = _SR_MODEL.get(ctx.version or "", _SR_MODEL["v1.2"])
    for obj in document_objects(ctx.root):
        ev = evidence_of(obj)
        if ev is None or not is_main(obj, ctx.version):
            continue
        for d in sdg(ev, "Distribution"):
            fmt = _mime(txt(sdg(d, "Format")[0])) if sdg(d, "Format") else ""
            if not _STRUCTURED.match(fmt):
                continue
            conf = [txt(c) for c in sdg(d, "ConformsTo")]
            if not conf or not conf[0]:
                yield Violation(f"structured distribution ({fmt}) has no sdg:ConformsTo", locate(d),
                                expected="sdg:ConformsTo (SR data model URI)", actual="none")
            elif not pattern.match(conf[0]):
                yield Violation("sdg:ConformsTo is not a Semantic Repository data model URI", locate(d),
                                expected="https://sr.oots.tech.ec.europa.eu/datamodels/…", actual=short(conf[0]))


@check("EDM-RESP-015", kinds=_RESP, versions=COMMON,
       ref="R-EDM-RESP-S014, R-EDM-RESP-S023, R-EDM-RESP-S045, R-EDM-RESP-C005, R-EDM-RESP-S007",
       title="Deferred: Unavailable iff ResponseAvailableDateTime (once, xsd:dateTime); empty RegistryObjectList")
def response_deferred(ctx: MessageContext):
    root = ctx.root
    rad = slots(root, "ResponseAvailableDateTime")
    unavailable = status(root) == "Unavailable"
    if len(rad) > 1:
        yield Violation("ResponseAvailableDateTime appears more than once", locate(rad[1]), expected="at most one",
                        actual=str(len(rad)))
    if unavailable and not rad:
        yield Violation("deferred (Unavailable) response has no ResponseAvailableDateTime", locate(root),
                        expected="rim:Slot[@name='ResponseAvailableDateTime']", actual="none")
    if rad and not unavailable:
        yield Violation("ResponseAvailableDateTime on a response that is not deferred", locate(rad[0]),
                        expected=f"@status={STATUS_PREFIX}Unavailable", actual=root.get("status") or "none")
    for s in rad[:1]:
        yield from type_is(s, "DateTimeValueType")
        if not is_datetime(value_text(s)):
            yield Violation("ResponseAvailableDateTime is not an xsd:dateTime", locate(s), expected="xsd:dateTime",
                            actual=short(value_text(s)) or "none")
    if unavailable:
        objs = kids(top_list(root), "rim", "RegistryObject")
        if objs:
            yield Violation("deferred response carries registry objects", locate(objs[0]),
                            expected="empty rim:RegistryObjectList", actual=f"{len(objs)} object(s)")


_BODY_MIME = "application/x-ebrs+xml"


@check("EDM-RESP-016", kinds=_RESP, versions=COMMON, ref="TDD 4.9, 4.5.2 (empty success)",
       title="A response without documents (refused preview, deferred) carries no attachment part")
def response_empty_no_attachment(ctx: MessageContext):
    """Needs the ebMS header (``ctx.header``); silent without it. Parts other than the RegRep body
    (``application/x-ebrs+xml``) are attachments."""
    parts = header_parts(ctx.header)
    if parts is None or document_objects(ctx.root):
        return
    extra = [h for h, m in parts.items() if _mime(m) != _BODY_MIME]
    if extra:
        yield Violation("response without documents carries attachment parts", locate(ctx.root),
                        expected="only the RegRep body part", actual=", ".join(extra))
