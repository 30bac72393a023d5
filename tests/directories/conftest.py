"""Fixtures of the mock Common Services tests."""
from __future__ import annotations

from pathlib import Path

import pytest

from simulators.directories.catalogue import Catalogue
from simulators.pki import PKI

CAPTURES = "edm-v2.0-oots-france/xml/common_services"
SR = "https://sr.acc.oots.tech.ec.europa.eu"
FI_DIPLOMA = f"{SR}/evidencetypeclassifications/FI/19f0783e-7cdc-4146-9ff9-e331514ffb74"
DE_ABITUR = f"{SR}/evidencetypeclassifications/DE/3c1a7d21-0b3d-4e2a-9f11-000000000001"
REQ_SECONDARY = f"{SR}/requirements/6d7b9c2a-1111-4c3e-8a51-000000000002"


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return Catalogue.load()


@pytest.fixture(scope="session")
def pki() -> PKI:
    return PKI("directories-tests")


@pytest.fixture(scope="session")
def captures(tdd) -> list[tuple[str, bytes, bytes]]:
    """(name, body, headers file bytes) of every real acceptance capture, loaded at run time."""
    for root in tdd.roots:
        d = Path(root) / CAPTURES
        if d.is_dir():
            out = [(p.stem, p.read_bytes(), p.with_suffix(".headers").read_bytes()) for p in sorted(d.glob("*.xml"))]
            if out:
                return out
    pytest.fail(f"captures not found under {CAPTURES}", pytrace=False)
