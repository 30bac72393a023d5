"""Hypothesis strategies: generated EDM messages pass the validator (no FATAL, no WARNING); each labelled
mutation is flagged with exactly its label."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from conformance.rules import registry
from conformance.rules.findings import Severity
from conformance.rules.validator import Validator
from simulators.edm import model as m
from simulators.edm import strategies as S
from simulators.edm.build import to_bytes

VERSIONS = (m.V2_0, m.V1_2)
_SETTINGS = dict(derandomize=True, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
VALID = settings(max_examples=60, **_SETTINGS)
MUTANTS = settings(max_examples=15, **_SETTINGS)

_validator = Validator()


def blocking(data: bytes, kind: str | None = None) -> set[str]:
    """Ids of the FATAL and WARNING findings (CAUTION notices ignored); a tool error counts as a finding."""
    res = _validator.validate_bytes(data)
    if kind is not None:
        assert res.kind == kind, res.kind
    ids = {f.id for f in res.findings if f.severity in (Severity.FATAL, Severity.WARNING)}
    return ids | ({f"TOOL: {res.tool_error}"} if res.tool_error else set())


def _report(data: bytes) -> str:
    res = _validator.validate_bytes(data)
    return "\n".join(f.line() for f in res.findings if f.severity is not Severity.CAUTION)


# --- valid messages -----------------------------------------------------------------------------------------

@pytest.mark.case("EDM-REQ-001")
@pytest.mark.parametrize("version", VERSIONS)
def test_generated_requests_are_valid(version):
    @VALID
    @given(S.requests(version))
    def check(req):
        data = to_bytes(req)
        assert not blocking(data, "request"), _report(data)
    check()


@pytest.mark.case("EDM-RESP-002")
@pytest.mark.parametrize("version", VERSIONS)
def test_generated_responses_are_valid(version):
    @VALID
    @given(S.responses(version))
    def check(resp):
        data = to_bytes(resp)
        assert not blocking(data, "response"), _report(data)
    check()


@pytest.mark.case("EDM-ERR-001")
@pytest.mark.parametrize("version", VERSIONS)
def test_generated_exceptions_are_valid(version):
    @VALID
    @given(S.exceptions(version))
    def check(exc):
        data = to_bytes(exc)
        assert not blocking(data, "exception"), _report(data)
    check()


@pytest.mark.parametrize("version", VERSIONS)
def test_xml_variants_and_forced_shapes(version):
    v2 = version == m.V2_0

    @settings(max_examples=10, **_SETTINGS)
    @given(S.requests_xml(version, subject="legal", preview=True, intermediary=True,
                          authorized_representative=True),
           S.responses(version, status="deferred"), S.responses(version, status="empty"),
           S.exceptions(version, preview=True), S.exceptions_xml(version, request_id=False))
    def check(req_xml, deferred, empty, preview, no_rid_xml):
        assert isinstance(req_xml, bytes) and not blocking(req_xml, "request"), _report(req_xml)
        assert b"LegalPerson" in req_xml and b"PreviewLocation" in req_xml and b"AuthorizedRepresentative" in req_xml
        assert (b"ReturnLocation" in req_xml) is v2 and b">IP<" in req_xml
        assert deferred.is_deferred and not deferred.packages and deferred.response_available_datetime
        assert empty.status is m.ResponseStatus.SUCCESS and not empty.documents
        assert preview.is_preview_required and preview.code == "EDM:ERR:0002" and preview.preview_location
        assert (preview.preview_method == "GET") is (not v2)
        assert b"requestId" not in no_rid_xml and b"InvalidRequestExceptionType" in no_rid_xml
        for msg in (deferred, empty, preview):
            assert not blocking(to_bytes(msg)), _report(to_bytes(msg))
        assert not blocking(no_rid_xml), _report(no_rid_xml)
    check()


def test_generated_response_documents_carry_their_content():
    @settings(max_examples=10, **_SETTINGS)
    @given(S.responses(m.V2_0, status="success", supplementary=True))
    def check(resp):
        assert resp.packages and all(len(p.documents) >= 2 for p in resp.packages)
        for d in resp.documents:
            assert d.content and d.content_id.endswith("@evidence.oots-harness.test")
            assert d.content.startswith(b"%PDF-1.4") == (d.media_type == "application/pdf")
    check()


# --- labelled mutations ----------------------------------------------------------------------------------

def test_mutation_labels_are_registered_edm_checks():
    registry._load_builtin_checks()
    labels = {v: S.mutation_labels(v) for v in VERSIONS}
    for version, ids in labels.items():
        assert len(ids) >= 15 and len(set(ids)) == len(ids)
        for label in ids:
            spec = registry.SINGLE[label]
            mu = next(x for x in S.MUTATIONS if x.label == label)
            assert spec.applies(mu.kind, version), (label, version)
    assert len(set(labels[m.V2_0]) | set(labels[m.V1_2])) >= 30


_CASES = [pytest.param(v, label, marks=pytest.mark.case(label), id=f"{v}-{label}")
          for v in VERSIONS for label in S.mutation_labels(v)]


@pytest.mark.parametrize("version,label", _CASES)
def test_mutation_is_flagged_with_exactly_its_label(version, label):
    @MUTANTS
    @given(S.mutations(version, labels=(label,)))
    def check(mutant):
        got_label, data = mutant
        assert got_label == label
        ids = blocking(data)
        assert ids == {label}, f"{label}: got {sorted(ids)}\n{_report(data)}"
    check()


@pytest.mark.parametrize("version", VERSIONS)
def test_mixed_mutations(version):
    """The default strategy (any label) over many examples."""
    @settings(max_examples=60, **_SETTINGS)
    @given(S.mutations(version))
    def check(mutant):
        label, data = mutant
        assert blocking(data) == {label}, _report(data)
    check()
