"""Every file of the TDD corpus, classified and validated, with the outcome PROVENANCE.md leads one to expect.

Each corpus file must match exactly one rule below: a new file without an expectation fails the suite.
"""
from __future__ import annotations

import fnmatch
from functools import lru_cache

import pytest

from conformance.rules.findings import Severity, Source
from conformance.rules.validator import Validator
from conformance.runner import corpus_pairs
from conformance.rules.cs_signature import captured_headers

FR = "edm-v2.0-oots-france/xml/"
GK = "edm-v0.99-governikus/xml/"

# (glob on the path relative to the corpus root, expected kind, conformant?, ids that must be reported, why)
RULES: list[tuple[str, str, bool, set[str], str]] = [
    # v2.0 reference messages, validated upstream against the official v2.0.1 Schematron
    (FR + "reference/messages/*.entete.xml", "ebms-header", True, set(), "v2.0 reference ebMS headers"),
    (FR + "reference/messages/requete.xml", "request", True, {"TDD-001"}, "v2.0 reference request"),
    (FR + "reference/messages/reponse.xml", "response", True, {"TDD-001"}, "v2.0 reference response"),
    (FR + "reference/messages/erreur*.xml", "exception", True, {"TDD-001"}, "v2.0 reference errors"),
    (FR + "reference/soap/*.xml", "wsplugin-soap", True, set(), "WS-plugin envelopes around the references"),
    # real captures
    (FR + "incoming/reel/*.xml", "wsplugin-soap", True, set(), "real Domibus WS-plugin captures"),
    (FR + "common_services/dsd_*.xml", "dsd-response", True, {"CS-SIG-NOTE"}, "real signed DSD answers"),
    (FR + "common_services/eb_*.xml", "eb-response", True, {"CS-SIG-NOTE"}, "real signed EB answers"),
    (FR + "domibus/*.xml", "pmode", True, {"DETECT-001"}, "a Domibus PMode, not a message"),
    # hand-derived negative variants (upstream's own negative fixtures)
    (FR + "incoming/erreurSansCode.xml", "wsplugin-soap", False, {"EDM-ERR-002"}, "error without code"),
    (FR + "incoming/erreurObjetIntrouvable.xml", "wsplugin-soap", False, {"EDM-PRV-001"},
     "0004 carrying PreviewLocation 'undefined'"),
    (FR + "incoming/erreurAutorisationRequise.xml", "wsplugin-soap", False, {"EDM-ERR-001"},
     "placeholder error provider"),
    (FR + "incoming/requete.sansRequeteur.xml", "wsplugin-soap", False, {"EDM-REQ-005"}, "no requester"),
    (FR + "incoming/requete.sansProcedure.xml", "wsplugin-soap", False, {"EDM-REQ-023"}, "no procedure"),
    (FR + "incoming/requete*.xml", "wsplugin-soap", False, {"EDM-REQ-002"}, "placeholder request slots"),
    (FR + "incoming/reponseAvecPieceJointe.xml", "wsplugin-soap", False, {"WSP-010"},
     "the 'PDF' attachment is text"),
    # v1.2 pyRegRep samples: xsi:lang where xml:lang is expected (PROVENANCE known defect)
    ("edm-v1.2-pyregrep/xml/EDM_*_Request.xml", "request", False, {"XSD", "EDM-REQ-015"}, "xsi:lang defect"),
    ("edm-v1.2-pyregrep/xml/EDM_Ferst_Response.xml", "exception", False, {"XSD"}, "xsi:lang defect"),
    ("edm-v1.2-pyregrep/xml/EDM_Second_Response.xml", "response", True, {"TDD-001"}, "clean v1.2 response"),
    # pre-1.0 Governikus samples: the only Schematron set the corpus has (keyed v1.0)
    (GK + "Request-Response Samples/*/*_header.xml", "ebms-header", False, {"AS4-HDR-002", "XSD"},
     "headers without MessageInfo"),
    (GK + "Request-Response Samples/*/oots_request*.xml", "request", True, {"EDM-VER-002"}, "v1.0 request"),
    (GK + "Request-Response Samples/*/oots_response.xml", "response", True, {"EDM-VER-002"}, "v1.0 response"),
    (GK + "Request-Response Samples/*/oots_exception_preview.xml", "exception", True, {"EDM-VER-002"},
     "v1.0 preview error"),
    (GK + "Request-Response Samples/*/Evidence Samples/*.xml", "document", True, {"DETECT-001"},
     "evidence documents"),
    (GK + "Request-Response Samples/*/secondaryEducationEvidenceSample.xml", "document", True,
     {"DETECT-001"}, "evidence document"),
    (GK + "*/*-example*.xml", "fragment", True, {"DETECT-001"}, "SDG fragments"),
    (GK + "EB/Registry_Object_*.xml", "fragment", True, {"DETECT-001"}, "RIM fragments"),
    (GK + "DSD/*.xml", "dsd-response", None, set(), "pre-1.0 DSD answers: drift from the v2.0 digest"),
    (GK + "EB/*.xml", "eb-response", None, set(), "pre-1.0 EB answers: drift from the v2.0 digest"),
    (GK + "LCM/*.xml", "lcm", None, set(), "pre-1.0 LCM messages"),
]


def _rel(tdd, path) -> str:
    for root in tdd.roots:
        try:
            return str(path.relative_to(root))
        except ValueError:
            continue
    return str(path)


def _rule_for(rel: str):
    return next((r for r in RULES if fnmatch.fnmatch(rel, r[0])), None)


@lru_cache(maxsize=1)
def _validator() -> Validator:
    return Validator()


def _validate(path):
    headers = captured_headers(path)
    return _validator().validate_file(path, extra={"http_headers": headers} if headers else None)


def test_every_corpus_file_has_an_expectation(tdd):
    missing = [_rel(tdd, p) for p in tdd.samples if _rule_for(_rel(tdd, p)) is None]
    assert not missing, f"corpus files without an expectation: {missing}"
    assert len(tdd.samples) >= 90


def _samples():
    from conformance.rules import tdd as tdd_mod
    try:
        repo = tdd_mod.get_repository()
    except tdd_mod.TddNotFound:
        return []
    return [pytest.param(p, id=_rel(repo, p)) for p in repo.samples]


@pytest.mark.parametrize("path", _samples())
def test_corpus_file(tdd, path):
    rel = _rel(tdd, path)
    pattern, kind, conformant, must, why = _rule_for(rel)
    res = _validate(path)
    assert res.tool_error is None, res.tool_error
    assert not any(f.id == "HARNESS-CRASH" for f in res.findings), res.findings
    assert res.kind == kind, f"{rel}: {why}"
    if conformant is not None:
        fatal = [f.line() for f in res.findings if f.severity is Severity.FATAL]
        assert res.conformant is conformant, f"{rel} ({why}): {fatal}"
    assert must <= res.ids(), f"{rel} ({why}): expected {must}, got {sorted(res.ids())}"
    if pattern.startswith(FR + "reference/messages/") and kind != "ebms-header":
        # validated upstream against the official v2.0.1 Schematron: our own checks must agree
        assert not [f.line() for f in res.findings if f.source in (Source.HARNESS, Source.XSD)]
    if kind in ("dsd-response", "eb-response") and pattern.startswith(FR):
        assert {"CS-004", "CS-005", "CS-009"} <= set(res.checks_run), "signature not checked"
    if pattern.startswith(GK) and kind in ("request", "response", "exception", "dsd-response", "eb-response"):
        assert "schematron" in res.layers_run
        # the Governikus Schematron accepts its own samples
        assert not [f.line() for f in res.findings if f.source is Source.SCHEMATRON
                    and f.severity is Severity.FATAL], rel


def test_corpus_pairs(tdd):
    """Each payload agrees with its header; the v2.0 answers do not answer requete.xml (see test_pairs)."""
    v = _validator()
    outcomes = {}
    for a, b in corpus_pairs(tdd):
        res = v.validate_pair(a.read_bytes(), b.read_bytes(), a_name=_rel(tdd, a), b_name=_rel(tdd, b))
        assert res.tool_error is None
        outcomes[(a.name, b.name)] = res
    for (a, b), res in outcomes.items():
        if b.endswith(".entete.xml") and not a.endswith(".entete.xml"):
            assert res.conformant, (a, b, [f.line() for f in res.findings])
    assert "EDM-RESP-001" in outcomes[("reponse.xml", "requete.xml")].ids()
    assert outcomes[("EDM_Second_Request.xml", "EDM_Ferst_Response.xml")].conformant
    assert outcomes[("EDM_Second_Request.xml", "EDM_Ferst_Request.xml")].conformant
