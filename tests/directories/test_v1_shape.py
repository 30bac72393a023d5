"""v1.0-shaped answers (no ``Accept-Version``, CS-028) against the pre-1.0 rule set the validator applies to them.

The validator treats an answer without ``SpecificationIdentifier`` as v1.0 and checks it against the pre-1.0
Governikus SDG profile XSD + Schematron (``tdd/edm-v0.99-governikus``) and the harness checks. Our v1.0 shape
(``simulators/directories/answers.py`` docstring) leaves no FATAL / WARNING finding. What remains is pinned here,
id by id, each being a property of the old rules rather than of our output:

* ``R-DSD-RESP-S011`` / ``S012`` / ``S013`` (Schematron ``role="info"`` -> CAUTION): ``dsd_query_error.sch``
  asserts the three DSD:ERR:0005 slots on *every* ``rs:Exception``; its context is not restricted to
  DSD:ERR:0005, so every other DSD refusal (which must carry no slot, R-DSD-RESP-S009) trips them. The corpus's
  own ``xml/DSD/DSDQueryErrorResponse.xml`` gets exactly the same three.
* ``TDD-002`` (CAUTION): the pre-1.0 rule set ships no Genericode code lists, so code-list bindings are skipped.
* ``CS-SIG-NOTE`` (CAUTION): the signature layer's note that the chain was not checked against a trust anchor
  (none is passed to the validator here; the client tests pin the anchor).
* ``R-EDM-REQ-S021`` (FATAL) only for a DSD:ERR:0005 entry *without* ``Description``: the rule's message says the
  copy "MUST not contain any other elements than Identifier, EvidenceTypeClassification, Title and
  Description", but its test requires all four to be present, while the v1.0 XSD has ``Description``
  optional and ``DistributedAs`` mandatory (the corpus sample ``DSD-exception-2.xml`` has DistributedAs too).
  The world file gives every entry that can answer DSD:ERR:0005 a Description; the quirk is pinned below.
"""
from __future__ import annotations

import asyncio

import pytest

from conformance.rules.findings import Severity
from conformance.rules.validator import Validator
from simulators.directories import answers
from simulators.directories.answers import CsError
from simulators.directories.client import parse_answer
from simulators.directories.queries import DSD_DATA_SERVICES, EB_EVIDENCE_TYPES, EB_REQUIREMENTS
from simulators.directories.service import DirectoryService

from .conftest import DE_ABITUR, REQ_SECONDARY
from .test_service import BAD, GOOD, _get

REF = "common-services.md §1 (Accept-Version), §4, §5; tdd/edm-v0.99-governikus xsd/sdg + sch"
V1 = {"Accept": "application/x-ebrs+xml"}
ALWAYS = {"TDD-002", "CS-SIG-NOTE"}
DSD_ERR_INFO = {"R-DSD-RESP-S011", "R-DSD-RESP-S012", "R-DSD-RESP-S013"}
REQ_IDENTITY = REQ_SECONDARY.replace("0002", "0001")


def _expected_ids(query_id: str | None, outcome: str) -> set[str]:
    dsd = "dsd" in (query_id or "eb")
    return ALWAYS | (DSD_ERR_INFO if dsd and outcome not in ("Success", "DSD:ERR:0005") else set())


@pytest.mark.case("CS-028", ref=REF)
def test_v1_answers_leave_only_the_pinned_old_rule_findings(catalogue, pki):
    validator = Validator()
    extra_good = [(EB_EVIDENCE_TYPES, {"requirement-id": REQ_IDENTITY}, "Success"),  # FR list + FI NoMatch
                  (DSD_DATA_SERVICES, {"evidence-type-classification": DE_ABITUR, "country-code": "DE",
                                       "de-land": "DE2"}, "Success")]  # AccessService with two ConformsTo

    async def run():
        async with DirectoryService(catalogue, pki) as svc:
            for query_id, params, expected in GOOD + extra_good + BAD:
                status, headers, body = await _get(svc.base_url, query_id, params, V1)
                ans = parse_answer(body)
                assert status == 200 and ans.specification is None
                assert ("Success" if ans.ok else ans.code) == expected, (query_id, params)
                res = validator.validate_bytes(body, extra={"http_headers": headers, "request_headers": V1})
                assert res.version == "v1.0" and {"xsd", "schematron"} <= set(res.layers_run)
                ids = {f.id for f in res.findings}
                assert ids == _expected_ids(query_id, expected), (query_id, params, sorted(ids))
                assert not [f for f in res.findings if f.severity in (Severity.FATAL, Severity.WARNING)]
    asyncio.run(run())


def test_v1_shape_details(catalogue):
    # Requirement: one Name, no Description; ReferenceFramework: one Title
    eb = parse_answer(answers.eb_answer(catalogue.requirements_for("T1", "FR"), v2=False))
    ident = next(r for r in eb.requirements if r.requirement.identifier == REQ_IDENTITY)
    assert len(ident.requirement.names) == 1 and not ident.requirement.descriptions
    assert all(len(f.titles) == 1 for f in ident.frameworks)
    # NoMatch (empty) lists are dropped in v1.0, the jurisdiction moves onto the evidence type
    entry = catalogue.evidence_types_for(REQ_IDENTITY)
    assert any(not lst.evidence_types for lst in entry.evidence_type_lists)
    body = answers.eb_answer([entry], v2=False)
    lists = parse_answer(body).requirements[0].evidence_type_lists
    assert [lst.jurisdiction for lst in lists] == [""] and lists[0].evidence_types
    assert b"<sdg:EvidenceType>" in body and body.count(b"<sdg:AdminUnitLevel1>FR<") == 1
    v2 = parse_answer(answers.eb_answer([entry])).requirements[0].evidence_type_lists
    assert sorted(lst.jurisdiction for lst in v2) == ["FI", "FR"]
    # one AccessService per ConformsTo in v1.0, no Name, no publisher Description
    ds = next(d for d in catalogue.data_services if d.evidence_type.evidence_type_classification == DE_ABITUR)
    bavaria = ds.access_services[0]
    assert len(bavaria.conforms_to) == 2
    v1 = parse_answer(answers.dsd_answer([(ds, [bavaria])], v2=False)).data_services[0]
    assert [(a.identifier.value, a.conforms_to, a.name) for a in v1.access_services] == \
        [("AP_DE_01", [c], None) for c in bavaria.conforms_to]


@pytest.mark.case("CS-028", ref=REF)
def test_v1_dsd_err_0005_without_description_trips_old_rule_s021(catalogue):
    """The pinned quirk of R-EDM-REQ-S021: it demands a Description the v1.0 XSD makes optional."""
    ds = next(d for d in catalogue.data_services if d.evidence_type.evidence_type_classification == DE_ABITUR)
    validator = Validator()
    for descriptions, expected in ((ds.evidence_type.descriptions, set()), ([], {"R-EDM-REQ-S021"})):
        dset = type(ds.evidence_type)(ds.evidence_type.identifier, ds.evidence_type.evidence_type_classification,
                                      ds.evidence_type.titles, descriptions, ds.evidence_type.distributed_as)
        err = CsError("DSD:ERR:0005", "Additional input is required", answers.NOT_FOUND, "ADDITIONAL_INPUT",
                      dset=type(ds)(dset, ds.access_services, ds.jurisdiction, ds.loa, ds.concepts),
                      concepts=ds.concepts)
        body = answers.error_answer(err, v2=False)
        res = validator.validate_bytes(body)
        serious = {f.id for f in res.findings if f.severity in (Severity.FATAL, Severity.WARNING)}
        assert serious == expected, sorted(serious)
        assert parse_answer(body).exception.data_service.evidence_type.distributed_as  # mandatory in v1.0
