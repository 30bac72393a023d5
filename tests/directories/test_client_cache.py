"""CS-012: the client's optional success cache, observed through the mock's journal."""
from __future__ import annotations

import asyncio

import pytest

from simulators.directories.client import AsyncDirectoryClient, CsSignatureError, DirectoryClient, SuccessCache
from simulators.directories.queries import DSD_DATA_SERVICES, EB_REQUIREMENTS
from simulators.directories.service import DirectoryService

from .conftest import DE_ABITUR, FI_DIPLOMA

REF = "common-services.md §1 (caching), CS-012"


@pytest.mark.case("CS-012", ref=REF)
def test_success_cached_refusals_reasked_async(catalogue, pki):
    async def run():
        async with DirectoryService(catalogue, pki) as svc:
            cache = SuccessCache()
            c = AsyncDirectoryClient(svc.base_url, svc.trust_anchor_pem(), cache=cache)
            first = await c.data_services(FI_DIPLOMA, "FI")
            second = await c.data_services(FI_DIPLOMA, "FI")
            assert first.ok and not first.cached and second.cached and second.body == first.body
            assert len(svc.calls(DSD_DATA_SERVICES)) == 1  # the second identical call was not sent
            # parameter order does not matter, extra parameters / values do
            await c.query(DSD_DATA_SERVICES, {"country-code": "FI", "evidence-type-classification": FI_DIPLOMA})
            assert len(svc.calls(DSD_DATA_SERVICES)) == 1
            await c.data_services(FI_DIPLOMA, "FI", "oots-edm:v2.0")
            assert len(svc.calls(DSD_DATA_SERVICES)) == 2
            # refusals are never cached: EB:ERR:0001 and DSD:ERR:0005 are asked again each time
            for _ in range(2):
                assert (await c.requirements("ZZ9", "FR")).code == "EB:ERR:0001"
                assert (await c.data_services(DE_ABITUR, "DE")).code == "DSD:ERR:0005"
            assert [e.outcome for e in svc.calls(EB_REQUIREMENTS)] == ["EB:ERR:0001"] * 2
            assert [e.outcome for e in svc.calls(DSD_DATA_SERVICES)][2:] == ["DSD:ERR:0005"] * 2
            # the spec version is part of the key: the v1.0 shape is a different answer, asked for again
            v1 = AsyncDirectoryClient(svc.base_url, svc.trust_anchor_pem(), accept_version=None, cache=cache)
            ans = await v1.data_services(FI_DIPLOMA, "FI")
            assert ans.specification is None and not ans.cached
            assert "Accept-Version" not in svc.journal[-1].headers
            assert (await v1.data_services(FI_DIPLOMA, "FI")).cached
            assert len(svc.calls(DSD_DATA_SERVICES)) == 5
            assert len(cache) == 3 and cache.hits == 3
    asyncio.run(run())


@pytest.mark.case("CS-012", ref=REF)
def test_bad_answers_not_cached_and_ttl_sync(catalogue, pki):
    now = [0.0]
    cache = SuccessCache(ttl=60, clock=lambda: now[0])
    svc = DirectoryService(catalogue, pki)
    with svc.running_in_thread() as base:
        c = DirectoryClient(base, svc.trust_anchor_pem(), cache=cache)
        svc.inject("tampered-body")  # a rejected answer is not stored either
        with pytest.raises(CsSignatureError):
            c.requirements("T1", "FR")
        assert len(cache) == 0
        assert c.requirements("T1", "FR").ok and c.requirements("T1", "FR").cached
        now[0] = 61  # expired: asked again
        assert not c.requirements("T1", "FR").cached
        # another base URL (another instance / environment) is another key
        other = DirectoryClient(base.rstrip("/").replace("127.0.0.1", "localhost") + "/", svc.trust_anchor_pem(),
                                cache=cache)
        assert not other.requirements("T1", "FR").cached
    assert [e.outcome for e in svc.calls(EB_REQUIREMENTS)] == ["Success"] * 4
    assert svc.journal[0].faults == ["tampered-body"]
