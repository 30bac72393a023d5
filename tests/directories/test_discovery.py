"""NAPTR discovery without DNS (CS-010/011), and the client following it to the mock."""
from __future__ import annotations

import asyncio

import pytest

from simulators.directories.client import AsyncDirectoryClient
from simulators.directories.discovery import DiscoveryError, NaptrRecord, Resolver, naptr_name
from simulators.directories.service import DirectoryService

from .conftest import FI_DIPLOMA

REF = "common-services.md §3 (TDD 3.4)"


@pytest.mark.case("CS-010", ref=REF)
def test_resolution_order_preference_flag():
    r = Resolver()
    name = naptr_name("FR", "dsd", 1, "acc")
    assert name == "fr.dsd.v1.cs.acc.oots.tech.ec.europa.eu"
    r.add(name, NaptrRecord(100, 20, "U", "x-oots:cs", "!.*!https://second.example/dsd/!"))
    r.add(name, NaptrRecord(100, 10, "U", "x-oots:cs", "!.*!https://first.example/dsd/!"))
    r.add(name, NaptrRecord(50, 1, "S", "x-oots:cs", "!.*!https://not-terminal.example/!"))
    r.add(name, NaptrRecord(200, 1, "U", "x-oots:cs", "!.*!https://later.example/!"))
    assert r.resolve(name) == "https://first.example/dsd/"
    assert r.resolve(name.upper() + ".") == "https://first.example/dsd/"


@pytest.mark.case("CS-011", ref=REF)
def test_unknown_names_are_clear_errors():
    r = Resolver()
    r.publish("http://127.0.0.1:1/", countries=("fr",), majors=(1, 2))
    assert r.base_url("fr", "eb", 2) == "http://127.0.0.1:1/eb/"
    for cc, role, major in (("de", "eb", 1), ("fr", "dsd", 9)):
        with pytest.raises(DiscoveryError, match="no NAPTR record") as e:
            r.base_url(cc, role, major)
        assert e.value.ids == ("CS-011",)
    r.add("fr.eb.v3.cs.acc.oots.tech.ec.europa.eu", NaptrRecord(1, 1, "U", "", "!.*!ftp://x/!"))
    with pytest.raises(DiscoveryError, match="not an http"):
        r.base_url("fr", "eb", 3)
    with pytest.raises(ValueError):
        naptr_name("fra", "eb")


@pytest.mark.case("CS-010", ref=REF)
def test_client_follows_discovery_to_the_mock(catalogue, pki):
    async def run():
        async with DirectoryService(catalogue, pki) as svc:
            r = Resolver()
            r.publish(svc.base_url)
            c = AsyncDirectoryClient(r.base_url("fr", "dsd"), svc.trust_anchor_pem())
            assert (await c.data_services(FI_DIPLOMA, "FI")).ok
            assert svc.journal[0].path == "/dsd/rest/search"
            eb = AsyncDirectoryClient(r.base_url("fr", "eb"), svc.trust_anchor_pem())
            assert (await eb.query("urn:fdc:oots:dsd:ebxml-regrep:queries:"
                                   "dataservices-by-evidencetype-and-jurisdiction", {})).code == "EB:ERR:0006"
    asyncio.run(run())
