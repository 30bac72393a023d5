"""The catalogue comes from the world file, and an inconsistent world is refused."""
from __future__ import annotations

import pytest

from simulators.directories.catalogue import Catalogue, CatalogueError


def test_world_file_contents(catalogue):
    assert {"FR", "DE", "FI", "ES"} <= catalogue.countries
    assert len({p.code for p in catalogue.procedures}) >= 2 and len(catalogue.requirements) >= 3
    assert any(d.concepts for d in catalogue.data_services)  # a DSD:ERR:0005 evidence type
    versions = {v for d in catalogue.data_services for a in d.access_services for v in a.conforms_to}
    assert {"oots-edm:v1.2", "oots-edm:v2.0"} <= versions
    assert all(a.identifier.scheme_id for d in catalogue.data_services for a in d.access_services)


def test_inconsistent_world_is_refused():
    with pytest.raises(CatalogueError, match="unknown requirement"):
        Catalogue.from_dict({"procedures": [{"id": "x", "code": "T1", "jurisdiction": "FR",
                                             "requirements": ["nope"]}]})
    with pytest.raises(CatalogueError, match="duplicate key"):
        Catalogue.from_dict({"requirements": [{"key": "a", "uuid": "1"}, {"key": "a", "uuid": "2"}]})
