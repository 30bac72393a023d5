"""EDM exception response (ExceptionResponse, TDD 4.5.3): single-message EDM-ERR-* and EDM-PRV-001/002 checks.

Node behaviour (EDM-ERR-004..008, EDM-PRV-003..007) is tested by scenarios; the PossibilityForPreview part of
EDM-PRV-001 needs the request (pairs).
"""
from __future__ import annotations

from ..findings import Violation
from ..ns import XSI_TYPE, local_type, locate, slots
from ..registry import MessageContext, check
from ._edm import (COMMON, EDM_ERRORS, SEV_ERROR, SEV_PREVIEW, STATUS_PREFIX, check_agent_id_name, check_any_of,
                   check_spec_identifier, classifications, is_datetime, is_https, is_urn_uuid, is_uuid, items_of,
                   kids, one_slot, qname, sdg, short, txt, type_is, value_text)

_ERR = {"exception"}


def _exception(ctx: MessageContext):
    found = kids(ctx.root, "rs", "Exception")
    return found[0] if found else None


def _code(exc) -> str | None:
    """The exception's code, or the code its xsi:type stands for when @code is missing (C026 readers' rule)."""
    code = (exc.get("code") or "").strip()
    if code:
        return code
    t = local_type(exc)
    return next((c for c, (typ, _) in EDM_ERRORS.items() if typ == t), None)


def _error_provider(ctx: MessageContext):
    slot, problems = one_slot(ctx.root, "ErrorProvider")
    yield from problems
    if slot is None:
        return
    yield from check_any_of(slot, "Agent")
    for a in items_of(slot, "Agent")[:1]:
        yield from check_agent_id_name(a, "ErrorProvider")
        if classifications(a) != ["ERRP"]:
            yield Violation("ErrorProvider agent is not classified ERRP", locate(a), expected="sdg:Classification=ERRP",
                            actual=", ".join(classifications(a)) or "none")
        units = [u for addr in sdg(a, "Address") for u in sdg(addr, "AdminUnitLevel1")]
        if len(sdg(a, "Address")) != 1 or len(units) != 1 or not txt(units[0]):
            yield Violation("ErrorProvider agent needs one Address with exactly one AdminUnitLevel1", locate(a),
                            expected="sdg:Address/sdg:AdminUnitLevel1 (once)",
                            actual=f"{len(sdg(a, 'Address'))} Address, {len(units)} AdminUnitLevel1")


@check("EDM-ERR-001", kinds=_ERR, versions=None,
       ref="R-EDM-ERR-S06, R-EDM-ERR-C001, R-EDM-ERR-S09/S10/S11, R-EDM-ERR-C024",
       title="Exception envelope: status Failure, SpecificationIdentifier, EvidenceResponseIdentifier, "
             "ErrorProvider ERRP with one AdminUnitLevel1")
def exception_envelope(ctx: MessageContext):
    """Runs for every version (the SpecificationIdentifier part decides it); the rest only for v1.2/v2.0."""
    root = ctx.root
    if qname(root) != "query:QueryResponse":
        yield Violation("root element is not query:QueryResponse", locate(root),
                        expected="{urn:oasis:names:tc:ebxml-regrep:xsd:query:4.0}QueryResponse", actual=str(root.tag))
    yield from check_spec_identifier(root)
    if ctx.version not in COMMON:
        return  # legacy (EDM-VER-002) or unknown (just reported)
    st = (root.get("status") or "").strip()
    if st != STATUS_PREFIX + "Failure":
        yield Violation("exception response status is not Failure", locate(root), expected=STATUS_PREFIX + "Failure",
                        actual=st or "none")
    slot, problems = one_slot(root, "EvidenceResponseIdentifier")
    yield from problems
    if slot is not None:
        yield from type_is(slot, "StringValueType")
        if not is_uuid(value_text(slot)):
            yield Violation("EvidenceResponseIdentifier is not a UUID", locate(slot),
                            expected="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", actual=short(value_text(slot)) or "none")
    yield from _error_provider(ctx)
    for s in slots(root, "EvidenceRequester")[:1]:
        yield from check_any_of(s, "Agent")


@check("EDM-ERR-002", kinds=_ERR, versions=COMMON, ref="R-EDM-ERR-S08, R-EDM-ERR-C026, EDMErrorCodes",
       title="One rs:Exception whose code, xsi:type and message match the EDMErrorCodes list")
def exception_code(ctx: MessageContext):
    found = kids(ctx.root, "rs", "Exception")
    if len(found) != 1:
        yield Violation("exception response must hold exactly one rs:Exception", locate(ctx.root),
                        expected="one rs:Exception", actual=str(len(found)))
    if not found:
        return
    exc = found[0]
    code = (exc.get("code") or "").strip()
    if not code:
        yield Violation("rs:Exception has no code", locate(exc), expected="@code EDM:ERR:000x", actual="none")
        return
    if code not in EDM_ERRORS:
        yield Violation("rs:Exception code is not an EDM error code", locate(exc),
                        expected="EDM:ERR:0001 … EDM:ERR:0008", actual=code)
        return
    typ, message = EDM_ERRORS[code]
    if local_type(exc) != typ:
        prefix = "query" if typ == "QueryExceptionType" else "rs"
        yield Violation(f"xsi:type does not match {code}", locate(exc), expected=f"{prefix}:{typ}",
                        actual=exc.get(XSI_TYPE) or "none")
    actual = " ".join((exc.get("message") or "").split())
    if actual != message:
        yield Violation(f"message does not match the code list wording for {code}", locate(exc), expected=message,
                        actual=actual or "none")


@check("EDM-ERR-003", kinds=_ERR, versions=COMMON, ref="R-EDM-ERR-S12, R-EDM-ERR-S22, TDD 4.5.3",
       title="rs:Exception has one Timestamp slot, DateTimeValueType, xsd:dateTime")
def exception_timestamp(ctx: MessageContext):
    exc = _exception(ctx)
    if exc is None:
        return  # EDM-ERR-002
    slot, problems = one_slot(exc, "Timestamp", "rs:Exception")
    yield from problems
    if slot is None:
        return
    yield from type_is(slot, "DateTimeValueType")
    if not is_datetime(value_text(slot)):
        yield Violation("Timestamp is not an xsd:dateTime", locate(slot), expected="xsd:dateTime",
                        actual=short(value_text(slot)) or "none")


@check("EDM-ERR-009", kinds=_ERR, versions=COMMON, ref="R-EDM-ERR-C025, R-EDM-ERR-S004",
       title="requestId omitted only with InvalidRequestExceptionType; otherwise urn:uuid:<UUID>")
def exception_request_id(ctx: MessageContext):
    rid = ctx.root.get("requestId")
    exc = _exception(ctx)
    if rid is None or not rid.strip():
        if exc is not None and local_type(exc) != "InvalidRequestExceptionType":
            yield Violation("requestId omitted on an exception other than InvalidRequest", locate(ctx.root),
                            expected="@requestId (or rs:InvalidRequestExceptionType)", actual=exc.get(XSI_TYPE))
    elif not is_urn_uuid(rid):
        yield Violation("requestId is not urn:uuid:<UUID>", locate(ctx.root), expected="urn:uuid:<UUID>",
                        actual=short(rid))


@check("EDM-ERR-010", kinds=_ERR, versions=COMMON, ref="R-EDM-ERR-C022, ErrorSeverity code list",
       title="Severity ErrorSeverityType:Error for every code except 0002 (PreviewRequired allowed)")
def exception_severity(ctx: MessageContext):
    """``…DSDErrorResponse:AdditionalInput`` exists in the list but is forbidden here."""
    exc = _exception(ctx)
    if exc is None:
        return
    sev = (exc.get("severity") or "").strip()
    code = _code(exc)
    allowed = (SEV_ERROR, SEV_PREVIEW) if code == "EDM:ERR:0002" else (SEV_ERROR,)
    if sev not in allowed:
        yield Violation(f"severity not allowed for {code or 'this exception'}", locate(exc),
                        expected=" | ".join(allowed), actual=sev or "none")


@check("EDM-PRV-001", kinds=_ERR, versions=COMMON,
       ref="R-EDM-ERR-C022, R-EDM-ERR-S23, TDD 4.9",
       title="PreviewLocation <=> 0002 AuthorizationExceptionType with severity PreviewRequired; https:// String")
def exception_preview_required(ctx: MessageContext):
    """Single-message part; whether the request allowed a preview (PossibilityForPreview) is a pair check."""
    exc = _exception(ctx)
    if exc is None:
        return
    locs = slots(exc, "PreviewLocation")
    sev = (exc.get("severity") or "").strip()
    if sev == SEV_PREVIEW and not locs:
        yield Violation("PreviewRequired without PreviewLocation", locate(exc),
                        expected="rim:Slot[@name='PreviewLocation']", actual="none")
    if not locs:
        return
    if len(locs) > 1:
        yield Violation("PreviewLocation appears more than once", locate(locs[1]), expected="one",
                        actual=str(len(locs)))
    code, typ = _code(exc), local_type(exc)  # a missing @code is EDM-ERR-002's finding
    if code != "EDM:ERR:0002" or typ != "AuthorizationExceptionType" or sev != SEV_PREVIEW:
        yield Violation("PreviewLocation on an exception that is not a preview request", locate(exc),
                        expected=f"EDM:ERR:0002, rs:AuthorizationExceptionType, {SEV_PREVIEW}",
                        actual=f"{code or 'no code'}, {exc.get(XSI_TYPE)}, {sev or 'no severity'}")
    yield from type_is(locs[0], "StringValueType")
    if not is_https(value_text(locs[0])):
        yield Violation("PreviewLocation is not an https:// URL", locate(locs[0]), expected="https://…",
                        actual=short(value_text(locs[0])) or "none")


@check("EDM-PRV-002", kinds=_ERR, versions=("v1.2", "v2.0"), ref="R-EDM-ERR-S027 (v2.0), R-EDM-ERR-S031 (v1.2.5)",
       title="PreviewMethod: never in v2.0; in v1.2 required with PreviewLocation (GET/POST/PUT)")
def exception_preview_method(ctx: MessageContext):
    exc = _exception(ctx)
    if exc is None:
        return
    methods = slots(exc, "PreviewMethod")
    if ctx.version == "v2.0":
        for m in methods[:1]:
            yield Violation("v2.0 exceptions carry no PreviewMethod (GET only)", locate(m), expected="no PreviewMethod",
                            actual=short(value_text(m)))
        return
    if not slots(exc, "PreviewLocation"):
        return
    if len(methods) != 1:
        yield Violation("v1.2 PreviewLocation needs exactly one PreviewMethod", locate(exc),
                        expected="one rim:Slot[@name='PreviewMethod']", actual=str(len(methods)))
        return
    yield from type_is(methods[0], "StringValueType")
    v = value_text(methods[0])
    if v not in ("GET", "POST", "PUT"):
        yield Violation("PreviewMethod is not an HTTP method", locate(methods[0]), expected="GET | POST | PUT",
                        actual=short(v) or "none")
