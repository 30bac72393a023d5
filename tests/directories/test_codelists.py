"""Harness-generated Genericode code lists served for the Semantic Repository role (issue 4)."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

import aiohttp
import pytest
from lxml import etree

from conformance.rules.checks.common_services import DSD_CODES, EB_CODES
from conformance.rules.codelists import CodelistLayer, load_codelist
from conformance.rules.detect import detect
from simulators.directories.codelists import GENERATED_NOTE, LIST_NAMES, URN
from simulators.directories.service import DirectoryService
from simulators.edm.model import ERROR_CODES

from .conftest import FI_DIPLOMA
from .test_service import BAD, GOOD, V2, _get

REF = "common-services.md §6, §7; issue 4 (code lists served for the Semantic Repository role)"


async def _fetch(base: str, path: str):
    async with aiohttp.ClientSession() as s:
        async with s.get(base + path) as r:
            return r.status, dict(r.headers.items()), await r.read()


@pytest.fixture(scope="module")
def served(catalogue, pki, tmp_path_factory):
    """{name: (path of the downloaded .gc, response headers)} plus the index text, fetched over HTTP."""
    d = tmp_path_factory.mktemp("codelists")

    async def run():
        async with DirectoryService(catalogue, pki) as svc:
            out = {}
            for name in LIST_NAMES:
                status, headers, body = await _fetch(svc.base_url, f"codelists/{name}.gc")
                assert status == 200, name
                (d / f"{name}.gc").write_bytes(body)
                out[name] = (d / f"{name}.gc", headers)
            index = await _fetch(svc.base_url, "codelists/")
            missing = await _fetch(svc.base_url, "codelists/Nope.gc")
            suffixed = await _fetch(svc.base_url, "codelists/Procedures-CodeList.gc")
            return out, index, missing, suffixed
    return asyncio.run(run())


def test_every_list_parses_and_is_marked_generated(served):
    lists, (st, _, index), (missing_status, _, missing_body), (suf_status, _, _) = served
    assert st == 200 and index.decode().split() == [f"{n}.gc" for n in LIST_NAMES]
    assert missing_status == 404 and b"Procedures" in missing_body and suf_status == 200
    for name, (path, headers) in lists.items():
        cl = load_codelist(path)
        assert cl.short_name == name and cl.key_column == "code" and cl.columns[0] == "code"
        assert cl.rows and all(r.get("code") for r in cl.rows), name
        assert cl.canonical_uri == URN + name and cl.version.startswith("harness-")
        assert GENERATED_NOTE.encode() in path.read_bytes()
        assert headers["X-Harness-Generated"] == "true" and headers["Content-Type"].startswith("application/xml")


def test_values_come_from_the_world_and_harness_tables(served, catalogue):
    cl = {n: load_codelist(p) for n, (p, _) in served[0].items()}
    assert cl["Procedures"].values() == {p.code for p in catalogue.procedures} == {"T1", "R1", "V5"}
    t1 = next(r for r in cl["Procedures"].rows if r["code"] == "T1")
    assert t1["name-EN"] == "Applying for tertiary education study financing" and "name-FI" in t1
    assert cl["OOTS_Country"].values() == {"FR", "DE", "FI", "ES"}
    assert FI_DIPLOMA in cl["EvidenceTypeClassifications"].values()
    assert cl["EvidenceTypeClassifications"].values("country") == {"FI", "DE", "ES", "FR"}
    assert cl["LevelsOfAssurance"].values() == {"Substantial", "High"}
    assert {"EN", "FR", "FI", "DE", "ES"} <= cl["LanguageCode"].values()
    assert cl["OOTSMediaTypes"].values() == {"application/pdf", "application/xml"}
    assert cl["EBErrorCodes"].values() == set(EB_CODES) and cl["DSDErrorCodes"].values() == set(DSD_CODES)
    assert cl["EDMErrorCodes"].values() == set(ERROR_CODES)
    assert {r["code"]: r["type"] for r in cl["DSDErrorCodes"].rows} == DSD_CODES


def test_our_answers_pass_the_codelist_layer_with_the_served_lists(served, catalogue, pki):
    """Load the served lists into the validator's code-list layer: every bound field of our answers is a code."""
    ruleset = SimpleNamespace(version="served", label="harness-generated lists",
                              codelists=[p for p, _ in served[0].values()])
    layer = CodelistLayer()

    async def run():
        async with DirectoryService(catalogue, pki) as svc:
            for query_id, params, _ in GOOD + BAD:
                _, _, body = await _get(svc.base_url, query_id, params, V2)
                root = etree.fromstring(body)
                findings = layer.validate(root, detect(root), ruleset)
                assert not [f for f in findings if f.id.startswith("CL-")], [f.message for f in findings]
                # country, LoA, language, format, error code and severity fields were all bound to a served list
                assert not [f for f in findings if f.id == "TDD-002" and "EAS" not in f.message
                            and "Procedure" not in f.message], [f.message for f in findings]
            # and the layer really looks: a country and a format outside the world are caught (NB: the
            # validator binds LevelsOfAssurance to sdg:LevelOfAssurance only, not the DSD's
            # AuthenticationLevelOfAssurance, so a LoA is not checked there)
            _, _, body = await _get(svc.base_url, *GOOD[4][:2], V2)
            bad = body.replace(b"AdminUnitLevel1>FI<", b"AdminUnitLevel1>XX<").replace(b">application/pdf<",
                                                                                     b">image/gif<")
            root = etree.fromstring(bad)
            assert {f.id for f in layer.validate(root, detect(root), ruleset) if f.id.startswith("CL-")} == \
                {"CL-OOTS_Country", "CL-OOTSMediaTypes"}
    asyncio.run(run())
