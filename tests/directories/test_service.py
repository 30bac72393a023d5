"""The mock EB/DSD service: signed answers that pass our validator, the error matrix, Accept-Version, journal."""
from __future__ import annotations

import asyncio

import aiohttp
import pytest

from conformance.rules.findings import Severity
from conformance.rules.validator import Validator
from simulators.directories.client import AsyncDirectoryClient, DirectoryClient, parse_answer, search_url
from simulators.directories.queries import DSD_DATA_SERVICES, EB_EVIDENCE_TYPES, EB_REQUIREMENTS
from simulators.directories.service import DirectoryService

from .conftest import DE_ABITUR, FI_DIPLOMA, REQ_SECONDARY

REF = "common-services.md §1, §4, §5"
V2 = {"Accept": "application/x-ebrs+xml", "Accept-Version": "oots-cs:v2.0"}


async def _get(base: str, query_id: str | None, params: dict, headers: dict = V2):
    url = search_url(base, query_id, params) if query_id else base + "rest/search"
    async with aiohttp.ClientSession() as s:
        async with s.get(url, headers=headers) as r:
            return r.status, dict(r.headers.items()), await r.read()


def _serious(res):
    return [f.line() if hasattr(f, "line") else f for f in res.findings
            if f.severity in (Severity.FATAL, Severity.WARNING)]


GOOD = [
    (EB_REQUIREMENTS, {"procedure-id": "T1", "country-code": "FR"}, "Success"),
    (EB_REQUIREMENTS, {}, "Success"),
    (EB_REQUIREMENTS, {"procedure-id": "T1", "country-code": "FR", "return-incomplete": "true"}, "Success"),
    (EB_EVIDENCE_TYPES, {"requirement-id": REQ_SECONDARY, "country-code": "FI"}, "Success"),
    (DSD_DATA_SERVICES, {"evidence-type-classification": FI_DIPLOMA, "country-code": "FI"}, "Success"),
    (DSD_DATA_SERVICES, {"evidence-type-classification": FI_DIPLOMA, "country-code": "FI",
                         "specification": "oots-edm:v1.2"}, "Success"),
    (DSD_DATA_SERVICES, {"evidence-type-classification": DE_ABITUR, "country-code": "DE"}, "DSD:ERR:0005"),
    (DSD_DATA_SERVICES, {"evidence-type-classification": DE_ABITUR, "country-code": "DE", "de-land": "DE3"},
     "Success"),
]
BAD = [  # (query, params, expected code): missing, bad and unknown parameters, empty results (CS-026)
    ("urn:fdc:oots:eb:ebxml-regrep:queries:nope", {}, "EB:ERR:0006"),
    ("urn:fdc:oots:dsd:ebxml-regrep:queries:nope", {}, "DSD:ERR:0004"),
    (None, {}, "EB:ERR:0006"),
    (EB_REQUIREMENTS, {"procedure-id": "ZZ9", "country-code": "FR"}, "EB:ERR:0001"),
    (EB_REQUIREMENTS, {"country-code": "france"}, "EB:ERR:0005"),
    (EB_REQUIREMENTS, {"procedure-id": "not a code"}, "EB:ERR:0005"),
    (EB_REQUIREMENTS, {"return-incomplete": "maybe"}, "EB:ERR:0003"),
    (EB_REQUIREMENTS, {"jurisdiction-admin-l2": "FR1"}, "EB:ERR:0004"),
    (EB_REQUIREMENTS, {"colour": "blue"}, "EB:ERR:0003"),
    (EB_EVIDENCE_TYPES, {"country-code": "FI"}, "EB:ERR:0003"),
    (EB_EVIDENCE_TYPES, {"requirement-id": "not-a-uri"}, "EB:ERR:0003"),
    (EB_EVIDENCE_TYPES, {"requirement-id": REQ_SECONDARY.replace("0002", "0999")}, "EB:ERR:0002"),
    (EB_EVIDENCE_TYPES, {"requirement-id": REQ_SECONDARY, "country-code": "ES"}, "EB:ERR:0001"),
    (DSD_DATA_SERVICES, {"country-code": "FI"}, "DSD:ERR:0003"),
    (DSD_DATA_SERVICES, {"evidence-type-classification": FI_DIPLOMA}, "DSD:ERR:0003"),
    (DSD_DATA_SERVICES, {"evidence-type-classification": FI_DIPLOMA, "country-code": "Finland"}, "DSD:ERR:0006"),
    (DSD_DATA_SERVICES, {"evidence-type-classification": FI_DIPLOMA, "country-code": "FI",
                         "specification": "edm2"}, "DSD:ERR:0006"),
    (DSD_DATA_SERVICES, {"evidence-type-classification": FI_DIPLOMA + "0", "country-code": "FI"}, "DSD:ERR:0002"),
    (DSD_DATA_SERVICES, {"evidence-type-classification": FI_DIPLOMA, "country-code": "ES"}, "DSD:ERR:0001"),
    (DSD_DATA_SERVICES, {"evidence-type-classification": FI_DIPLOMA, "country-code": "FI",
                         "specification": "oots-edm:v1.0"}, "DSD:ERR:0001"),
    (DSD_DATA_SERVICES, {"evidence-type-classification": DE_ABITUR, "country-code": "DE", "de-land": "DE9"},
     "DSD:ERR:0006"),
    (DSD_DATA_SERVICES, {"evidence-type-classification": FI_DIPLOMA, "country-code": "FI", "x": "1"},
     "DSD:ERR:0003"),
]


@pytest.mark.case("CS-026", ref=REF)
@pytest.mark.case("CS-027", ref=REF)
@pytest.mark.case("CS-003", ref=REF)
def test_every_query_good_missing_bad_parameters(catalogue, pki):
    validator = Validator()

    async def run():
        async with DirectoryService(catalogue, pki) as svc:
            for query_id, params, expected in GOOD + BAD:
                status, headers, body = await _get(svc.base_url, query_id, params)
                assert status == 200, (query_id, params)
                ans = parse_answer(body)
                got = "Success" if ans.ok else ans.code
                assert got == expected, (query_id, params, got)
                res = validator.validate_bytes(body, extra={"http_headers": headers, "request_headers": V2})
                assert res.kind == ("dsd-response" if "dsd" in (query_id or "eb") else "eb-response")
                assert "signature" in res.layers_run and not _serious(res), (query_id, params, _serious(res))
            assert len(svc.journal) == len(GOOD + BAD)
    asyncio.run(run())


@pytest.mark.case("CS-027", ref=REF)
def test_our_answers_parse_like_the_captures(catalogue, pki):
    async def run():
        async with DirectoryService(catalogue, pki) as svc:
            c = AsyncDirectoryClient(svc.base_url, svc.trust_anchor_pem())
            reqs = await c.requirements("T1", "FR")
            assert {r.requirement.identifier for r in reqs.requirements} >= {REQ_SECONDARY}
            assert all(f.code == "T1" and f.jurisdiction == "FR" for r in reqs.requirements for f in r.frameworks)
            ets = await c.evidence_types(REQ_SECONDARY, "FI")
            assert ets.requirements[0].evidence_type_lists[0].evidence_types[0].classification == FI_DIPLOMA
            ds = await c.data_services(FI_DIPLOMA, "FI", "oots-edm:v2.0")
            (entry,) = ds.data_services
            assert [a.identifier.value for a in entry.access_services] == ["AP_FI_01"]
            assert entry.access_services[0].identifier.scheme_id.endswith(":oots")
            assert entry.access_services[0].publisher.identifier.value == "FIKEHA02"
            assert ds.signature.trusted
            # DSD:ERR:0005 loop: the question, then the answer (CS-019)
            q = await c.data_services(DE_ABITUR, "DE")
            assert q.code == "DSD:ERR:0005"
            concept = q.exception.concepts[0]
            assert concept.value_expression and concept.descriptions
            assert q.exception.data_service.evidence_type.evidence_type_classification == DE_ABITUR
            param = catalogue.concepts["de-land"].param
            ok = await c.data_services(DE_ABITUR, "DE", answers={param: "DE2"})
            assert [a.identifier.value for a in ok.data_services[0].access_services] == ["AP_DE_01"]
            assert ok.data_services[0].access_services[0].publisher.identifier.value == "DE-BY-KM"
            # the same journal the scenarios assert on
            dsd = svc.calls(DSD_DATA_SERVICES)
            assert [e.outcome for e in dsd] == ["Success", "DSD:ERR:0005", "Success"]
            assert dsd[-1].param_dict["de-land"] == "DE2"
            assert dsd[0].headers["Accept-Version"] == "oots-cs:v2.0"
            anchor = await _anchor(svc.base_url)
            assert anchor == svc.trust_anchor_pem() and anchor.startswith(b"-----BEGIN CERTIFICATE-----")
    asyncio.run(run())


async def _anchor(base):
    async with aiohttp.ClientSession() as s:
        async with s.get(base + "trust-anchor.pem") as r:
            return await r.read()


@pytest.mark.case("CS-028", ref=REF)
def test_accept_version_negotiation(catalogue, pki):
    validator = Validator()

    async def run():
        async with DirectoryService(catalogue, pki) as svc:
            for headers, spec in ((V2, "oots-cs:v2.0"), ({"Accept": "application/x-ebrs+xml"}, None),
                                  ({"Accept": "application/x-ebrs+xml", "Accept-Version": "oots-cs:v1.0"}, None)):
                for query_id, params, _ in (GOOD[0], BAD[0], GOOD[4]):
                    status, rh, body = await _get(svc.base_url, query_id, params, headers)
                    assert status == 200
                    assert parse_answer(body).specification == spec, (headers, query_id)
                    res = validator.validate_bytes(body, extra={"http_headers": rh, "request_headers": headers})
                    assert not [f for f in res.findings if f.id == "CS-028"], (headers, query_id)
    asyncio.run(run())


@pytest.mark.case("CS-001", ref=REF)
@pytest.mark.case("CS-002", ref=REF)
def test_sync_client_against_threaded_service(catalogue, pki):
    svc = DirectoryService(catalogue, pki)
    with svc.running_in_thread() as base:
        c = DirectoryClient(base, svc.trust_anchor_pem())
        ans = c.data_services(FI_DIPLOMA, "FI")
        assert sorted(a.identifier.value for a in ans.data_services[0].access_services) == ["AP_FI_01", "AP_FI_02"]
        refused = c.requirements("ZZ9", "FR")
        assert refused.code == "EB:ERR:0001"
        with pytest.raises(Exception, match="EB:ERR:0001"):
            refused.raise_for_refusal()
    (first, second) = svc.journal
    assert first.path == "/rest/search" and first.query_id == DSD_DATA_SERVICES
    assert first.headers["Accept"] == "application/x-ebrs+xml"
    assert second.param_dict == {"queryId": EB_REQUIREMENTS, "procedure-id": "ZZ9", "country-code": "FR"}
