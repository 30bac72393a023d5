"""Single-message checks of Common Services answers (Evidence Broker and Data Service Directory).

Sources: ``shared/spec/common-services.md`` §1, §4, §5 and the real acceptance captures
(``tdd/edm-v2.0-oots-france/xml/common_services``). Elements are bound by namespace URI, never by prefix
(CS-029/CS-030: answers use ``sdg:``, ``oots:`` or a default namespace, and declare extra namespaces).

Digest id: CS-028 (the ``SpecificationIdentifier`` slot of the v2.0 shape). The structural rules have no digest
id; these ids are the harness's own (where a pre-1.0 Schematron rule of ``tdd/edm-v0.99-governikus/sch`` says
the same, the check's ``ref`` names it):

===========  ========  =====================================================================================
CS-RESP-001  FATAL     root ``query:QueryResponse`` with ``@status`` Success or Failure
CS-RESP-002  FATAL     Success has one non-empty RegistryObjectList and no exception; Failure has no
                       RegistryObjectList and ``rs:Exception`` s: exactly one for the EB, one or more for the DSD
CS-RESP-003  FATAL     ``rs:Exception`` has ``@code``, ``@severity``, ``@message`` and an ``…ExceptionType`` xsi:type
CS-EB-001    FATAL     EB success: each RegistryObject has a ``urn:uuid:`` id and a single slot, ``Requirement``
                       (AnyValueType), holding one ``sdg:Requirement``
CS-EB-002    FATAL     ``sdg:Requirement`` has one non-empty Identifier and at least one Name with @lang
CS-EB-003    FATAL     ``sdg:ReferenceFramework`` has Identifier, Title@lang, RelatedTo with exactly one Identifier
                       (the procedure) and Jurisdiction/AdminUnitLevel1
CS-EB-004    FATAL     ``sdg:EvidenceTypeList`` has an Identifier; each EvidenceType has EvidenceTypeClassification
                       and Title@lang (an empty list is allowed: it declares "no match")
CS-EB-005    WARNING   EB error: code in EB:ERR:0001..0007, exception type per the digest table, severity Error.
                       WARNING because the EB:ERR numbering (0003/0004) differs between sources.
CS-EB-006    FATAL     an EB error's exception carries no slots (R-EB-ERR-017)
CS-DSD-001   FATAL     DSD success: each RegistryObject has a ``urn:uuid:`` id and a single slot,
                       ``DataServiceEvidenceType`` (AnyValueType), holding one ``sdg:DataServiceEvidenceType``
CS-DSD-002   FATAL     DataServiceEvidenceType: Identifier, EvidenceTypeClassification, Title@lang,
                       DistributedAs (each with Format), AccessService
CS-DSD-003   FATAL     AccessService: Identifier@schemeID (the eDelivery party), ConformsTo, Publisher with
                       Identifier@schemeID and Name
CS-DSD-004   WARNING   AccessService/ConformsTo names an EDM version (``oots-edm:vX.Y``)
CS-DSD-005   FATAL     DSD error: code in DSD:ERR:0001..0006, exception type per the table, severity Error
                       (AdditionalInput for DSD:ERR:0005)
CS-DSD-006   FATAL     DSD:ERR:0005 carries a DataServiceEvidenceType slot (AnyValueType) and the question:
                       UserRequestedClassificationConcepts (CollectionValueType of
                       sdg:EvidenceProviderClassification; v1.x: or JurisdictionDetermination), no other slot
                       (R-DSD-RESP-S010; JurisdictionDetermination is v1.x only), no sdg:SupportedValue
                       (R-DSD-ERR-S023)
CS-DSD-007   FATAL     a DSD exception other than DSD:ERR:0005 carries no slots (R-DSD-RESP-S009)
===========  ========  =====================================================================================

CS-028 uses ``ctx.extra['request_headers']`` (the query's HTTP headers) when the caller knows them: with
``Accept-Version: oots-cs:v2.0`` the slot is required, without it the v1.0 shape (no slot) is expected. LCM
messages get no checks here: the digest describes no LCM shape to check.
"""
from __future__ import annotations

import re
from typing import Iterator

from lxml import etree

from ..findings import Severity, Violation
from ..ns import XML_LANG, locate, local_type, q, slot_value, slots, text, xp
from ..registry import MessageContext, check

CS_V2 = "oots-cs:v2.0"
STATUS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:"
SEV_ERROR = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"
SEV_ADDITIONAL_INPUT = "urn:sr.oots.tech.ec.europa.eu:codes:ErrorSeverity:DSDErrorResponse:AdditionalInput"
NOT_FOUND = "ObjectNotFoundExceptionType"
INVALID = "InvalidRequestExceptionType"
#: EB:ERR code -> exception type (None: meaning not found in any source)
EB_CODES = {"EB:ERR:0001": NOT_FOUND, "EB:ERR:0002": NOT_FOUND, "EB:ERR:0003": INVALID, "EB:ERR:0004": INVALID,
            "EB:ERR:0005": INVALID, "EB:ERR:0006": INVALID, "EB:ERR:0007": None}
DSD_CODES = {"DSD:ERR:0001": NOT_FOUND, "DSD:ERR:0002": NOT_FOUND, "DSD:ERR:0003": INVALID,
             "DSD:ERR:0004": INVALID, "DSD:ERR:0005": NOT_FOUND, "DSD:ERR:0006": INVALID}
DSD_0005_SLOTS = ("DataServiceEvidenceType", "UserRequestedClassificationConcepts", "JurisdictionDetermination")
_CS = {"eb-response", "dsd-response"}
_UUID_URN = re.compile(r"^urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_EDM_VERSION = re.compile(r"^oots-edm:v\d+\.\d+$")


def _sdg(el: etree._Element, path: str) -> list[etree._Element]:
    return xp(el, path)


def _has_lang(els: list[etree._Element]) -> bool:
    """At least one element, each non-empty with a ``@lang`` (the sdg attribute; ``xml:lang`` tolerated)."""
    return bool(els) and all(text(e) and (e.get("lang") or e.get(XML_LANG)) for e in els)


def _status(root: etree._Element) -> str | None:
    s = root.get("status") or ""
    return s[len(STATUS):] if s.startswith(STATUS) else None


def _request_headers(ctx: MessageContext) -> dict[str, str] | None:
    h = ctx.extra.get("request_headers")
    return {k.lower(): v for k, v in h.items()} if isinstance(h, dict) else None


def _one_slot_object(ro: etree._Element, name: str, element: str) -> Iterator[Violation]:
    rid = ro.get("id") or ""
    if not _UUID_URN.match(rid):
        yield Violation("RegistryObject @id must be a urn:uuid:", locate(ro), expected="urn:uuid:<uuid>",
                        actual=rid or "absent")
    found = slots(ro)
    if len(found) != 1 or found[0].get("name") != name:
        yield Violation(f"RegistryObject must hold a single slot, {name}", locate(ro), expected=name,
                        actual=", ".join(str(x.get("name")) for x in found) or "no slot")
        found = slots(ro, name)
        if len(found) != 1:
            return
    sv = slot_value(found[0])
    kids = [c for c in sv if isinstance(c.tag, str)] if sv is not None else []
    if sv is None or local_type(sv) != "AnyValueType" or len(kids) != 1 or kids[0].tag != q("sdg", element):
        yield Violation(f"slot {name} must hold one sdg:{element} in an AnyValueType SlotValue", locate(found[0]),
                        expected=f"rim:AnyValueType/sdg:{element}",
                         actual=f"{sv.get(q('xsi', 'type')) if sv is not None else 'no SlotValue'}/"
                                f"{', '.join(etree.QName(k).localname for k in kids) or 'empty'}")


def _registry_objects(root: etree._Element) -> list[etree._Element]:
    return xp(root, "./rim:RegistryObjectList/rim:RegistryObject")


# --------------------------------------------------------------------------- common envelope

@check("CS-028", kinds=_CS, ref="common-services.md §1; OF carte_des_tdd; CS-028",
       title="v2.0 shape: SpecificationIdentifier oots-cs:v2.0 is the first child (only with Accept-Version)")
def cs_028(ctx: MessageContext) -> Iterator[Violation]:
    root = ctx.root
    spec = slots(root, "SpecificationIdentifier")
    headers = _request_headers(ctx)
    wants_v2 = None if headers is None else (headers.get("accept-version", "").strip() == CS_V2)
    if not spec:
        if wants_v2:
            yield Violation("the query asked for oots-cs:v2.0 but the answer has no SpecificationIdentifier slot",
                            locate(root), expected=f"rim:Slot SpecificationIdentifier={CS_V2}", actual="absent")
        return
    if wants_v2 is False:
        yield Violation("without Accept-Version the answer must use the v1.0 shape (no SpecificationIdentifier)",
                        locate(spec[0]), expected="no SpecificationIdentifier slot", actual="present")
    first = next((c for c in root if isinstance(c.tag, str)), None)
    if first is not spec[0] or len(spec) > 1:
        yield Violation("SpecificationIdentifier must be the first and only such slot of QueryResponse",
                        locate(spec[0]), expected="first child", actual=f"{len(spec)} slot(s), first child "
                         f"{etree.QName(first).localname if first is not None else 'none'}")
    sv = slot_value(spec[0])
    val = text(sv.find(q("rim", "Value"))) if sv is not None else None
    if val != CS_V2 or sv is None or local_type(sv) != "StringValueType":
        yield Violation("SpecificationIdentifier must be the string oots-cs:v2.0", locate(spec[0]),
                        expected=f"rim:StringValueType {CS_V2}",
                         actual=f"{sv.get(q('xsi', 'type')) if sv is not None else 'no SlotValue'} {val}")


@check("CS-RESP-001", kinds=_CS, ref="common-services.md §1 (RegRep 4 QueryResponse)",
       title="answer is a query:QueryResponse with status Success or Failure")
def resp_001(ctx: MessageContext) -> Iterator[Violation]:
    if ctx.root.tag != q("query", "QueryResponse"):
        yield Violation("the answer root must be query:QueryResponse", locate(ctx.root),
                        expected="query:QueryResponse", actual=etree.QName(ctx.root).text)
        return
    if _status(ctx.root) not in ("Success", "Failure"):
        yield Violation("@status must be Success or Failure", locate(ctx.root),
                        expected=f"{STATUS}Success | Failure", actual=ctx.root.get("status", "absent"))


@check("CS-RESP-002", kinds=_CS, ref="common-services.md §1, §4, §5; R-EB-REQ-S007..S010; R-DSD-RESP-S007/S008",
       title="Success carries registry objects and no exception; Failure carries exceptions and no objects")
def resp_002(ctx: MessageContext) -> Iterator[Violation]:
    status = _status(ctx.root)
    excs = ctx.root.findall(q("rs", "Exception"))
    lists = ctx.root.findall(q("rim", "RegistryObjectList"))
    if status == "Success":
        if excs:
            yield Violation("a Success answer carries no rs:Exception", locate(excs[0]), expected="none",
                            actual=excs[0].get("code"))
        if len(lists) != 1 or not _registry_objects(ctx.root):
            yield Violation("a Success answer carries one non-empty RegistryObjectList (an empty result is an "
                            "error: EB:ERR:0001 / DSD:ERR:0001)", locate(ctx.root),
                             expected="1 rim:RegistryObjectList with rim:RegistryObject",
                             actual=f"{len(lists)} list(s), {len(_registry_objects(ctx.root))} object(s)")
    elif status == "Failure":
        if not excs or (ctx.kind == "eb-response" and len(excs) != 1):
            yield Violation("a Failure answer carries " + ("exactly one rs:Exception" if ctx.kind == "eb-response"
                            else "at least one rs:Exception"), locate(ctx.root),
                             expected="1" if ctx.kind == "eb-response" else ">= 1", actual=str(len(excs)))
        if lists:
            yield Violation("a Failure answer carries no RegistryObjectList", locate(lists[0]), expected="none",
                            actual="present")


@check("CS-RESP-003", kinds=_CS, ref="common-services.md §4, §5; R-EB-ERR-009/011/013/015",
       title="rs:Exception has a code, a severity, a message and an …ExceptionType xsi:type")
def resp_003(ctx: MessageContext) -> Iterator[Violation]:
    for exc in ctx.root.findall(q("rs", "Exception")):
        for attr in ("code", "severity", "message"):
            if not (exc.get(attr) or "").strip():
                yield Violation(f"rs:Exception has no @{attr}", locate(exc), expected=f"@{attr}", actual="absent")
        t = local_type(exc)
        if not t or not t.endswith("ExceptionType"):
            yield Violation("rs:Exception needs an xsi:type naming the exception", locate(exc),
                            expected="rs:ObjectNotFoundExceptionType | rs:InvalidRequestExceptionType | …",
                             actual=exc.get(q("xsi", "type"), "absent"))


# --------------------------------------------------------------------------- Evidence Broker

def _eb_requirements(ctx: MessageContext) -> list[etree._Element]:
    if _status(ctx.root) != "Success":
        return []
    return xp(ctx.root, "./rim:RegistryObjectList/rim:RegistryObject/rim:Slot/rim:SlotValue/sdg:Requirement")


@check("CS-EB-001", kinds={"eb-response"}, ref="common-services.md §4; R-EB-REQ-S011..S014",
       title="EB success: each RegistryObject has a urn:uuid id and one Requirement slot")
def eb_001(ctx: MessageContext) -> Iterator[Violation]:
    if _status(ctx.root) != "Success":
        return
    for ro in _registry_objects(ctx.root):
        yield from _one_slot_object(ro, "Requirement", "Requirement")


@check("CS-EB-002", kinds={"eb-response"}, ref="common-services.md §4",
       title="sdg:Requirement has an Identifier and a Name@lang")
def eb_002(ctx: MessageContext) -> Iterator[Violation]:
    for req in _eb_requirements(ctx):
        ids = _sdg(req, "./sdg:Identifier")
        if len(ids) != 1 or not text(ids[0]):
            yield Violation("Requirement needs exactly one non-empty Identifier (SR requirement URI)", locate(req),
                            expected="1 sdg:Identifier", actual=str(len(ids)))
        if not _has_lang(_sdg(req, "./sdg:Name")):
            yield Violation("Requirement needs at least one non-empty Name with @lang", locate(req),
                            expected="sdg:Name lang=…", actual="missing or without lang")


@check("CS-EB-003", kinds={"eb-response"}, ref="common-services.md §4 (query 1); R-EB-REQ-S015",
       title="sdg:ReferenceFramework has Identifier, Title@lang, RelatedTo/Identifier, Jurisdiction")
def eb_003(ctx: MessageContext) -> Iterator[Violation]:
    for req in _eb_requirements(ctx):
        for rf in _sdg(req, "./sdg:ReferenceFramework"):
            missing = []
            if not text(next(iter(_sdg(rf, "./sdg:Identifier")), None)):
                missing.append("Identifier")
            if not _has_lang(_sdg(rf, "./sdg:Title")):
                missing.append("Title@lang")
            rel = _sdg(rf, "./sdg:RelatedTo")
            if len(rel) != 1 or [bool(text(e)) for e in _sdg(rel[0], "./sdg:Identifier")] != [True]:
                missing.append("RelatedTo with exactly one Identifier")
            if not any(text(e) for e in _sdg(rf, "./sdg:Jurisdiction/sdg:AdminUnitLevel1")):
                missing.append("Jurisdiction/AdminUnitLevel1")
            if missing:
                yield Violation("ReferenceFramework is incomplete", locate(rf), expected=", ".join(missing),
                                actual="missing")


@check("CS-EB-004", kinds={"eb-response"}, ref="common-services.md §4 (query 2)",
       title="sdg:EvidenceTypeList has an Identifier; each EvidenceType a classification and Title@lang")
def eb_004(ctx: MessageContext) -> Iterator[Violation]:
    for req in _eb_requirements(ctx):
        for etl in _sdg(req, "./sdg:EvidenceTypeList"):
            if not text(next(iter(_sdg(etl, "./sdg:Identifier")), None)):
                yield Violation("EvidenceTypeList has no Identifier", locate(etl), expected="sdg:Identifier",
                                actual="absent")
            for et in _sdg(etl, "./sdg:EvidenceType"):
                missing = []
                if not text(next(iter(_sdg(et, "./sdg:EvidenceTypeClassification")), None)):
                    missing.append("EvidenceTypeClassification")
                if not _has_lang(_sdg(et, "./sdg:Title")):
                    missing.append("Title@lang")
                if missing:
                    yield Violation("EvidenceType is incomplete", locate(et), expected=", ".join(missing),
                                    actual="missing")


def _code_table(exc: etree._Element, table: dict[str, str | None], family: str) -> Iterator[Violation]:
    code = (exc.get("code") or "").strip()
    if not code:
        return  # CS-RESP-003
    if code not in table:
        yield Violation(f"unknown {family} error code", locate(exc), expected=", ".join(table), actual=code)
        return
    want = table[code]
    if want and local_type(exc) != want:
        yield Violation(f"{code} must be an {want}", locate(exc), expected=f"rs:{want}",
                        actual=exc.get(q("xsi", "type"), "absent"))
    sev = SEV_ADDITIONAL_INPUT if code == "DSD:ERR:0005" else SEV_ERROR
    if (exc.get("severity") or "").strip() != sev:
        yield Violation(f"{code} must have severity {sev.rsplit(':', 1)[-1]}", locate(exc), expected=sev,
                        actual=exc.get("severity", "absent"))


@check("CS-EB-005", kinds={"eb-response"}, severity=Severity.WARNING, ref="common-services.md §4 (EB error codes)",
       title="EB error: known EB:ERR code, exception type per table, severity Error")
def eb_005(ctx: MessageContext) -> Iterator[Violation]:
    # WARNING: the digest's EB:ERR table is uncertain (0003/0004 numbering differs between sources; 0007's meaning
    # is unknown); read EBErrorCodes-CodeList.gc at 2.0.1 before making this strict.
    for exc in ctx.root.findall(q("rs", "Exception")):
        yield from _code_table(exc, EB_CODES, "EB")


@check("CS-EB-006", kinds={"eb-response"}, ref="R-EB-ERR-017; common-services.md §4",
       title="an EB error's exception carries no slots")
def eb_006(ctx: MessageContext) -> Iterator[Violation]:
    for exc in ctx.root.findall(q("rs", "Exception")):
        for s in slots(exc):
            yield Violation("an Evidence Broker exception carries no rim:Slot", locate(s), expected="no rim:Slot",
                            actual=s.get("name"))


# --------------------------------------------------------------------------- Data Service Directory

def _dsd_entries(ctx: MessageContext) -> list[etree._Element]:
    if _status(ctx.root) != "Success":
        return []
    return xp(ctx.root, "./rim:RegistryObjectList/rim:RegistryObject/rim:Slot/rim:SlotValue/"
                        "sdg:DataServiceEvidenceType")


@check("CS-DSD-001", kinds={"dsd-response"}, ref="common-services.md §5; R-DSD-RESP-S009..S011",
       title="DSD success: each RegistryObject has a urn:uuid id and one DataServiceEvidenceType slot")
def dsd_001(ctx: MessageContext) -> Iterator[Violation]:
    if _status(ctx.root) != "Success":
        return
    for ro in _registry_objects(ctx.root):
        yield from _one_slot_object(ro, "DataServiceEvidenceType", "DataServiceEvidenceType")


@check("CS-DSD-002", kinds={"dsd-response"}, ref="common-services.md §5",
       title="DataServiceEvidenceType has Identifier, classification, Title@lang, DistributedAs, AccessService")
def dsd_002(ctx: MessageContext) -> Iterator[Violation]:
    for dset in _dsd_entries(ctx):
        missing = []
        if not text(next(iter(_sdg(dset, "./sdg:Identifier")), None)):
            missing.append("Identifier")
        if not text(next(iter(_sdg(dset, "./sdg:EvidenceTypeClassification")), None)):
            missing.append("EvidenceTypeClassification")
        if not _has_lang(_sdg(dset, "./sdg:Title")):
            missing.append("Title@lang")
        dist = _sdg(dset, "./sdg:DistributedAs")
        if not dist or not all(text(next(iter(_sdg(d, "./sdg:Format")), None)) for d in dist):
            missing.append("DistributedAs/Format")
        if not _sdg(dset, "./sdg:AccessService"):
            missing.append("AccessService")
        if missing:
            yield Violation("DataServiceEvidenceType is incomplete", locate(dset), expected=", ".join(missing),
                            actual="missing")


def _access_services(ctx: MessageContext) -> list[etree._Element]:
    return [a for d in _dsd_entries(ctx) for a in _sdg(d, "./sdg:AccessService")]


@check("CS-DSD-003", kinds={"dsd-response"}, ref="common-services.md §5; CS-022, CS-023",
       title="AccessService has Identifier@schemeID, ConformsTo and a Publisher with Identifier@schemeID, Name")
def dsd_003(ctx: MessageContext) -> Iterator[Violation]:
    for acc in _access_services(ctx):
        missing = []
        ident = _sdg(acc, "./sdg:Identifier")
        if len(ident) != 1 or not text(ident[0]) or not (ident[0].get("schemeID") or "").strip():
            missing.append("Identifier@schemeID (eDelivery PartyId and type)")
        if not any(text(c) for c in _sdg(acc, "./sdg:ConformsTo")):
            missing.append("ConformsTo")
        pub = _sdg(acc, "./sdg:Publisher")
        if len(pub) != 1:
            missing.append("Publisher")
        else:
            pid = _sdg(pub[0], "./sdg:Identifier")
            if len(pid) != 1 or not text(pid[0]) or not (pid[0].get("schemeID") or "").strip():
                missing.append("Publisher/Identifier@schemeID")
            if not any(text(n) for n in _sdg(pub[0], "./sdg:Name")):
                missing.append("Publisher/Name")
        if missing:
            yield Violation("AccessService is incomplete", locate(acc), expected=", ".join(missing), actual="missing")


@check("CS-DSD-004", kinds={"dsd-response"}, severity=Severity.WARNING, ref="common-services.md §5; CS-020",
       title="AccessService/ConformsTo names an EDM version (oots-edm:vX.Y)")
def dsd_004(ctx: MessageContext) -> Iterator[Violation]:
    # WARNING: the value form is attested by the digest and the captures, not by a TDD rule we could read.
    for acc in _access_services(ctx):
        for c in _sdg(acc, "./sdg:ConformsTo"):
            if not _EDM_VERSION.match(text(c) or ""):
                yield Violation("ConformsTo must name an EDM version", locate(c), expected="oots-edm:vX.Y",
                                actual=text(c))


@check("CS-DSD-005", kinds={"dsd-response"}, ref="common-services.md §5 (DSD error codes)",
       title="DSD error: known DSD:ERR code, exception type per table, severity per code")
def dsd_005(ctx: MessageContext) -> Iterator[Violation]:
    for exc in ctx.root.findall(q("rs", "Exception")):
        yield from _code_table(exc, DSD_CODES, "DSD")


def _value_of(slot: etree._Element, type_: str, child: str | None = None) -> str | None:
    """Why a slot's value is not ``type_`` (holding ``sdg:child`` when given); None when it is."""
    sv = slot_value(slot)
    if sv is None or local_type(sv) != type_:
        return f"SlotValue {sv.get(q('xsi', 'type')) if sv is not None else 'absent'}"
    if child and sv.find(q("sdg", child)) is None:
        return f"no sdg:{child}"
    return None


@check("CS-DSD-006", kinds={"dsd-response"},
       ref="R-DSD-RESP-S010; R-DSD-ERR-S023; dsd_query_response/dsd_query_error (v0.99); common-services.md §5",
       title="DSD:ERR:0005 carries the evidence type and the question slots only, no SupportedValue")
def dsd_006(ctx: MessageContext) -> Iterator[Violation]:
    allowed = DSD_0005_SLOTS if ctx.version != "v2.0" else DSD_0005_SLOTS[:2]
    for exc in ctx.root.findall(q("rs", "Exception")):
        if (exc.get("code") or "").strip() != "DSD:ERR:0005":
            continue
        found = slots(exc)
        names = [s.get("name") for s in found]
        for s in found:
            name = s.get("name")
            if name not in allowed:
                yield Violation("slot not allowed in DSD:ERR:0005", locate(s), expected=", ".join(allowed),
                                actual=name)
                continue
            why = None
            if name == "DataServiceEvidenceType":
                why = _value_of(s, "AnyValueType", "DataServiceEvidenceType")
            elif name == "JurisdictionDetermination":
                why = _value_of(s, "AnyValueType", "EvidenceProviderJurisdictionDetermination")
            else:
                why = _value_of(s, "CollectionValueType")
                if why is None and not xp(s, "./rim:SlotValue/rim:Element/sdg:EvidenceProviderClassification"):
                    why = "no rim:Element/sdg:EvidenceProviderClassification"
            if why:
                yield Violation(f"slot {name} has the wrong content", locate(s), expected="per DSD:ERR:0005",
                                actual=why)
        if "DataServiceEvidenceType" not in names:
            yield Violation("DSD:ERR:0005 must carry the matching DataServiceEvidenceType", locate(exc),
                            expected="rim:Slot DataServiceEvidenceType", actual="absent")
        questions = [n for n in allowed[1:] if n in names]
        if not questions:
            yield Violation("DSD:ERR:0005 must say what the user has to provide", locate(exc),
                            expected=" or ".join(allowed[1:]), actual="absent")
        for sv in xp(exc, ".//sdg:SupportedValue"):
            yield Violation("sdg:SupportedValue is forbidden in the DSD error", locate(sv), expected="none",
                            actual="present")


@check("CS-DSD-007", kinds={"dsd-response"}, ref="R-DSD-RESP-S009 (v1.0); common-services.md §5",
       title="a DSD exception other than DSD:ERR:0005 carries no slots")
def dsd_007(ctx: MessageContext) -> Iterator[Violation]:
    for exc in ctx.root.findall(q("rs", "Exception")):
        if (exc.get("code") or "").strip() == "DSD:ERR:0005":
            continue
        for s in slots(exc):
            yield Violation("only DSD:ERR:0005 may carry slots", locate(s), expected="no rim:Slot",
                            actual=s.get("name"))
