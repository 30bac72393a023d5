"""EDM-ERR-* and EDM-PRV-001/002 single-message checks: one breaking and one passing message per check id."""
from __future__ import annotations

import pytest

from conformance.rules.ns import q

from .test_checks_edm_request import (ERR12, ERR20, V20, Case, X, _crashes, ablations, assert_breaks,
                                      assert_covered, assert_holds, drop, edm_ids, frag, params, parse, run,
                                      set_attr, set_spec, set_text, string_slot)

ERR_INVALID = V20 + "erreurRequeteInvalide.xml"
EXC = "/*/rs:Exception"
PROVIDER_AGENT = "/*/rim:Slot[@name='ErrorProvider']//sdg:Agent"
SEV_PREVIEW = "urn:sr.oots.tech.ec.europa.eu:codes:ErrorSeverity:EDMErrorResponse:PreviewRequired"
SEV_ERROR = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"
STATUS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:"
XSI_TYPE = q("xsi", "type")


def preview_required(location: str | None = "https://preview.example.de/space?session=abc",
                     severity: str = SEV_PREVIEW, method: str | None = None):
    """Turn the v2.0 0004 reference error into an EDM:ERR:0002 preview request."""
    def m(root):
        exc = X(root, EXC)
        exc.set(XSI_TYPE, "rs:AuthorizationExceptionType")
        exc.set("code", "EDM:ERR:0002")
        exc.set("message", "Missing Authorization")
        exc.set("severity", severity)
        if location is not None:
            exc.append(string_slot("PreviewLocation", location))
        if method is not None:
            exc.append(string_slot("PreviewMethod", method))
    return m


NEGATIVE = [
    Case("EDM-ERR-001", ERR20, lambda r: set_text(r, PROVIDER_AGENT + "/sdg:Classification", "EP"), "not-errp"),
    Case("EDM-ERR-001", ERR20, lambda r: X(r, PROVIDER_AGENT + "/sdg:Address").append(
        frag("<sdg:AdminUnitLevel1>DE</sdg:AdminUnitLevel1>")), "two-admin-units"),
    Case("EDM-ERR-001", ERR12, lambda r: drop(r, PROVIDER_AGENT + "/sdg:Address"), "no-address"),
    Case("EDM-ERR-001", ERR20, lambda r: r.set("status", STATUS + "Success"), "status-success"),
    Case("EDM-ERR-001", ERR20, lambda r: drop(r, "/*/rim:Slot[@name='SpecificationIdentifier']"), "no-spec"),
    Case("EDM-ERR-001", ERR20, lambda r: set_spec(r, "oots-edm:v7.0"), "unknown-version"),
    Case("EDM-ERR-001", ERR12, lambda r: drop(r, "/*/rim:Slot[@name='EvidenceResponseIdentifier']"), "no-eri"),
    Case("EDM-ERR-001", ERR20, lambda r: drop(r, "/*/rim:Slot[@name='ErrorProvider']"), "no-provider"),
    Case("EDM-ERR-002", ERR20, lambda r: set_attr(r, EXC, "message", "Not found"), "message"),
    Case("EDM-ERR-002", ERR20, lambda r: set_attr(r, EXC, "code", "EDM:ERR:0009"), "unknown-code"),
    Case("EDM-ERR-002", ERR20, lambda r: set_attr(r, EXC, XSI_TYPE, "rs:TimeoutExceptionType"), "type"),
    Case("EDM-ERR-002", ERR12, lambda r: set_attr(r, EXC, "code", None), "no-code"),
    Case("EDM-ERR-002", ERR20, lambda r: drop(r, EXC), "no-exception"),
    Case("EDM-ERR-003", ERR20, lambda r: drop(r, EXC + "/rim:Slot[@name='Timestamp']"), "missing"),
    Case("EDM-ERR-003", ERR12, lambda r: set_text(r, EXC + "/rim:Slot[@name='Timestamp']//rim:Value", "yesterday"),
         "not-datetime"),
    Case("EDM-ERR-009", ERR20, lambda r: r.attrib.pop("requestId"), "omitted-on-0004"),
    Case("EDM-ERR-009", ERR20, lambda r: r.set("requestId", "4ffb5281-179d-4578-adf2-39fd13ccc797"), "bare-uuid"),
    Case("EDM-ERR-010", ERR20, lambda r: set_attr(r, EXC, "severity", SEV_PREVIEW), "preview-on-0004"),
    Case("EDM-ERR-010", ERR20, lambda r: set_attr(
        r, EXC, "severity", "urn:sr.oots.tech.ec.europa.eu:codes:ErrorSeverity:DSDErrorResponse:AdditionalInput"),
        "additional-input"),
    Case("EDM-ERR-010", ERR12, lambda r: set_attr(r, EXC, "severity", None), "missing"),
    Case("EDM-PRV-001", ERR20, preview_required("http://preview.example.de/space"), "http"),
    Case("EDM-PRV-001", ERR20, preview_required(location=None), "no-location"),
    Case("EDM-PRV-001", ERR20, lambda r: X(r, EXC).append(string_slot("PreviewLocation", "https://p.example/")),
         "location-on-0004"),
    Case("EDM-PRV-001", ERR12, lambda r: set_attr(r, EXC, "severity", SEV_ERROR), "location-without-preview-severity"),
    Case("EDM-PRV-002", ERR20, preview_required(method="GET"), "v20-method"),
    Case("EDM-PRV-002", ERR12, lambda r: drop(r, EXC + "/rim:Slot[@name='PreviewMethod']"), "v12-no-method"),
    Case("EDM-PRV-002", ERR12, lambda r: set_text(r, EXC + "/rim:Slot[@name='PreviewMethod']//rim:Value", "PATCH"),
         "v12-bad-method"),
]

POSITIVE = [
    *[Case(i, ERR20) for i in ("EDM-ERR-001", "EDM-ERR-002", "EDM-ERR-003", "EDM-ERR-009", "EDM-ERR-010",
                               "EDM-PRV-001", "EDM-PRV-002")],
    *[Case(i, ERR12) for i in ("EDM-ERR-001", "EDM-ERR-002", "EDM-ERR-003", "EDM-ERR-009", "EDM-ERR-010",
                               "EDM-PRV-001", "EDM-PRV-002")],
    Case("EDM-ERR-009", ERR_INVALID, lambda r: r.attrib.pop("requestId"), "invalid-request-without-id"),
    *[Case(i, ERR20, preview_required(), "v20-preview") for i in
      ("EDM-ERR-001", "EDM-ERR-002", "EDM-ERR-010", "EDM-PRV-001", "EDM-PRV-002")],
    Case("EDM-ERR-010", ERR20, preview_required(location=None, severity=SEV_ERROR), "0002-plain-error"),
]


@pytest.mark.parametrize("case", params(NEGATIVE))
def test_breaking_message_is_reported(case, corpus):
    assert_breaks(case, corpus)


@pytest.mark.parametrize("case", params(POSITIVE))
def test_conformant_message_passes(case, corpus):
    assert_holds(case, corpus)


def test_every_exception_check_has_both_cases():
    assert_covered("edm_exception", NEGATIVE, POSITIVE)


def test_v20_preview_variant_is_fully_clean(corpus):
    root, _ = Case("x", ERR20, preview_required()).build(corpus)
    _, findings = run(root)
    assert [f.line() for f in findings if f.id in edm_ids()] == []


def test_every_edm_id_is_tested_somewhere():
    """All EDM single-message ids (the three modules together) have both cases; a new check without tests fails."""
    from . import test_checks_edm_request as req, test_checks_edm_response as resp
    neg = {c.id for m in (req, resp) for c in m.NEGATIVE} | {c.id for c in NEGATIVE}
    pos = {c.id for m in (req, resp) for c in m.POSITIVE} | {c.id for c in POSITIVE}
    assert edm_ids() - neg == set() and edm_ids() - pos == set()


@pytest.mark.parametrize("rel", [ERR20, ERR12])
def test_no_crash_on_ablated_exceptions(rel, corpus):
    for r in ablations(parse(corpus(rel))):
        assert _crashes(r) == []


def test_no_crash_on_bare_failure():
    from lxml import etree
    root = etree.fromstring(
        '<q:QueryResponse xmlns:q="urn:oasis:names:tc:ebxml-regrep:xsd:query:4.0" '
        'xmlns:rs="urn:oasis:names:tc:ebxml-regrep:xsd:rs:4.0" status="x:Failure"><rs:Exception/>'
        '<rs:Exception code="EDM:ERR:0002"><!-- c --></rs:Exception></q:QueryResponse>')
    assert _crashes(root) == []
    ran, findings = run(root)
    assert {"EDM-ERR-001", "EDM-ERR-002"} <= {f.id for f in findings}
