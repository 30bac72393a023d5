"""Shared fixtures for the harness's own tests."""
from __future__ import annotations

from pathlib import Path

import pytest

from conformance.rules import tdd as tdd_mod


def pytest_sessionstart(session):
    """Stop at once, with one clear line, when the TDD corpus the suite needs cannot be found."""
    try:
        tdd_mod.get_repository()
    except tdd_mod.TddNotFound as exc:
        pytest.exit(f"oots-harness tests need the TDD corpus: {exc}", returncode=1)


@pytest.fixture(scope="session")
def tdd():
    """The indexed TDD artefacts (``OOTS_TDD_DIR`` or ``../shared/tdd``)."""
    try:
        return tdd_mod.get_repository()
    except tdd_mod.TddNotFound as exc:  # the corpus is required: never pass by skipping everything
        pytest.fail(str(exc), pytrace=False)


def _corpus_file(repo, rel: str) -> Path:
    for root in repo.roots:
        p = root / rel
        if p.exists():
            return p
    pytest.fail(f"TDD corpus file not available: {rel} (roots: {repo.roots})", pytrace=False)


@pytest.fixture(scope="session")
def corpus(tdd):
    """``corpus('edm-v2.0-oots-france/xml/reference/messages/requete.xml')`` -> bytes of a corpus file."""
    return lambda rel: _corpus_file(tdd, rel).read_bytes()


@pytest.fixture(scope="session")
def corpus_path(tdd):
    """Like ``corpus`` but returns the path."""
    return lambda rel: _corpus_file(tdd, rel)
