"""Faults produced on demand by the mock, each rejected by our client with a clear reason (CS-004..006)."""
from __future__ import annotations

import asyncio
import time

import pytest

from simulators.directories.client import AsyncDirectoryClient, CsSignatureError, CsTransportError
from simulators.directories.queries import DSD_DATA_SERVICES, EB_REQUIREMENTS
from simulators.directories.service import FAULTS, DirectoryService

from .conftest import FI_DIPLOMA

REF = "common-services.md §2; issue 4 (faults on demand)"
SIGNATURE_FAULTS = {  # fault -> (id the client must name, words of the reason)
    "tampered-body": ("CS-004", "does not match the body"),
    "wrong-digest": ("CS-004", "does not match the body"),
    "untrusted-cert": ("CS-006", "trust anchor"),
    "expired-cert": ("CS-005", "is not valid at"),
    "missing-signature": ("CS-005", "oots-response-sig header is missing"),
}


@pytest.mark.case("CS-004", ref=REF)
@pytest.mark.case("CS-005", ref=REF)
@pytest.mark.case("CS-006", ref=REF)
def test_each_signature_fault_is_rejected(catalogue, pki):
    async def run():
        async with DirectoryService(catalogue, pki) as svc:
            c = AsyncDirectoryClient(svc.base_url, svc.trust_anchor_pem())
            for kind, (fid, words) in SIGNATURE_FAULTS.items():
                for query in (lambda: c.requirements("T1", "FR"), lambda: c.requirements("ZZ9", "FR"),
                              lambda: c.data_services(FI_DIPLOMA, "FI")):
                    svc.inject(kind)
                    with pytest.raises(CsSignatureError) as e:
                        await query()
                    assert fid in e.value.ids and words in str(e.value), (kind, str(e.value))
                    assert (await query()).signature.trusted  # one call only: the next is clean
            assert [e.faults for e in svc.journal[:2]] == [["tampered-body"], []]
    asyncio.run(run())


@pytest.mark.case("CS-003", ref=REF)
def test_transport_and_result_faults(catalogue, pki):
    async def run():
        async with DirectoryService(catalogue, pki) as svc:
            c = AsyncDirectoryClient(svc.base_url, svc.trust_anchor_pem(), timeout=0.3)
            svc.inject("http-5xx", status=502)
            with pytest.raises(CsTransportError, match="HTTP 502") as e:
                await c.requirements()
            assert e.value.status == 502
            svc.inject("slow", delay=1.0)
            t0 = time.monotonic()
            with pytest.raises(CsTransportError, match="no answer"):
                await c.requirements()
            assert time.monotonic() - t0 < 1.0
            # empty result, only for the DSD query, twice
            svc.inject("empty-result", query_id=DSD_DATA_SERVICES, count=2)
            assert (await c.requirements("T1", "FR")).ok
            assert (await c.data_services(FI_DIPLOMA, "FI")).code == "DSD:ERR:0001"
            assert (await c.data_services(FI_DIPLOMA, "FI")).code == "DSD:ERR:0001"
            assert (await c.data_services(FI_DIPLOMA, "FI")).ok
            svc.inject("empty-result", query_id=EB_REQUIREMENTS, count=None)
            for _ in range(3):
                assert (await c.requirements()).code == "EB:ERR:0001"
            svc.clear_faults()
            assert (await c.requirements()).ok
            await asyncio.sleep(0.8)  # let the slow handler finish before the server stops
            assert [e.http_status for e in svc.journal[:2]] == [502, 200]
    asyncio.run(run())


def test_fault_kinds_are_validated(catalogue, pki):
    svc = DirectoryService(catalogue, pki)
    with pytest.raises(ValueError, match="unknown fault"):
        svc.inject("gremlins")
    with pytest.raises(ValueError):
        svc.inject("http-5xx", status=404)
    assert svc.inject("slow", delay=999).delay == 10.0
    assert set(SIGNATURE_FAULTS) | {"slow", "http-5xx", "empty-result"} == set(FAULTS)
