"""EDM benchmark: build+serialize and parse of a typical request and a typical response (a benchmark, not a test).

Medians over many runs, each shown beside its *floor* measured in the same run on the same bytes: lxml's bare
``fromstring`` (for parse) and bare ``tostring`` of the already built tree (for build). Target: each median
under 1 ms.

``typical_request()`` / ``typical_response()`` are also handy, fully conformant v2.0 (or v1.2) examples.
"""
from __future__ import annotations

import statistics
import time
from datetime import date, datetime, timezone
from typing import Callable

from lxml import etree

from .build import to_bytes, to_element
from .model import (V2_0, Address, Agent, AgentRole, DataServiceEvidenceType, DistributedAs, Distribution,
                    DocumentKind, Evidence, EvidenceDocument, EvidencePackage, EvidenceTypeRef, Identifier,
                    LocalizedText, Person, QueryRequest, QueryResponse, Requirement, is_v2)
from .parse import parse_message

TARGET_MS = 1.0
EAS_FR = "urn:cef.eu:names:identifier:EAS:0009"
EAS_DE = "urn:cef.eu:names:identifier:EAS:9930"
_T0 = datetime(2026, 8, 6, 10, 0, 0, tzinfo=timezone.utc)
_ETC = "https://sr.oots.tech.ec.europa.eu/evidencetypeclassifications/DE/ca8afed6-2dc0-422a-a931-d21c3d8d370e"


def _requester() -> Agent:
    return Agent(Identifier("00000000000002", EAS_FR), LocalizedText("Ministère de l'enseignement supérieur", "FR"),
                 Address(admin_unit_level1="FR"), AgentRole.REQUESTER)


def _provider() -> Agent:
    return Agent(Identifier("DE73524311", EAS_DE), LocalizedText("Civil Registration Office Berlin I", "EN"))


def _person() -> Person:
    return Person("Dupont", "Jean", date(1992, 10, 22), level_of_assurance="High",
                  identifier=Identifier("FR/DE/123123123", "eidas"))


def typical_request(version: str = V2_0) -> QueryRequest:
    """A first request (no preview) for a birth certificate, ER + IP agents, one requirement."""
    dist = (DistributedAs("application/pdf", languages=["EN"], associated_document_requests=["Translation"])
            if is_v2(version) else DistributedAs("application/pdf"))
    return QueryRequest(
        id="urn:uuid:1a2b3c4d-0000-4000-8000-000000000000", issue_datetime=_T0,
        evidence_requester=[_requester(), Agent(
            Identifier("OOTSFRANCE", "urn:oasis:names:tc:ebcore:partyid-type:unregistered:FR"),
            LocalizedText("OOTS-France Intermediary Platform", "EN"), classification=AgentRole.INTERMEDIARY)],
        evidence_provider=_provider(),
        evidence_request=DataServiceEvidenceType(
            "41170824-15d9-4c16-984e-63b75b937b8c", _ETC, [LocalizedText("Certificate of Birth", "EN")],
            [LocalizedText("Birth certificate issued by the civil registration office.", "EN")], [dist]),
        natural_person=_person(), possibility_for_preview=True, explicit_request_given=True, procedure="T3",
        requirements=[Requirement(
            "https://sr.oots.tech.ec.europa.eu/requirements/f8a6a284-34e9-42c7-9733-63b5c4f4aa42",
            [LocalizedText("Proof of birth", "EN")])],
        version=version)


def main_evidence(n: int = 1) -> Evidence:
    return Evidence(
        identifier=f"1a2b3c4d-0000-4000-8000-{n:012d}", is_about=_person().minimum_data_set(),
        issuing_authority=_provider(),
        is_conformant_to=EvidenceTypeRef(_ETC, [LocalizedText("Certificate of Birth", "EN")]),
        issuing_date=date(2026, 8, 1), distribution=Distribution("application/pdf"))


def supplementary(kind: DocumentKind, n: int, fmt: str = "application/pdf") -> EvidenceDocument:
    """An annex / translation / human-readable version: only Identifier and Distribution/Format (S063)."""
    ev = Evidence(f"1a2b3c4d-0000-4000-8000-{n:012d}", distribution=Distribution(fmt))
    return EvidenceDocument(ev, f"{kind.value.lower()}-{n}@pdf.oots.example", kind)


def typical_response(version: str = V2_0, kinds: tuple[DocumentKind, ...] = (
        DocumentKind.TRANSLATION, DocumentKind.ANNEX)) -> QueryResponse:
    """A success answering ``typical_request``: one package, MainEvidence + the supplementary ``kinds``
    (default: a 3-part package with a translation and an annex). v1.x: as many flat main documents."""
    docs = [EvidenceDocument(main_evidence(10), "main-10@pdf.oots.example")]
    if is_v2(version):
        packages = [EvidencePackage(docs + [supplementary(k, 11 + i) for i, k in enumerate(kinds)])]
    else:  # v1.x: no packaging, every document is a main evidence of its own
        packages = [EvidencePackage([EvidenceDocument(main_evidence(10 + i), f"main-{10 + i}@pdf.oots.example")])
                    for i in range(1 + len(kinds))]
    return QueryResponse(
        request_id="urn:uuid:1a2b3c4d-0000-4000-8000-000000000000",
        response_id="1a2b3c4d-0000-4000-8000-000000000004", issue_datetime=_T0,
        evidence_provider=[Agent(_provider().identifier, _provider().name, Address(admin_unit_level1="DE"),
                                 AgentRole.PROVIDER)],
        evidence_requester=Agent(_requester().identifier, _requester().name),
        packages=packages, version=version)


def _median_ms(fn: Callable[[], object], n: int, warmup: int = 50) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - t0)
    return statistics.median(times) / 1e6


def run(n: int = 2000) -> int:
    """Print the table; 0 when every median meets the target, 1 otherwise."""
    cases = [("request v2.0", typical_request()), ("response v2.0 (3 parts)", typical_response()),
             ("request v1.2", typical_request("v1.2")), ("response v1.2 (3 docs)", typical_response("v1.2"))]
    print(f"EDM build+serialize and parse, median of {n} runs (target < {TARGET_MS:.1f} ms each)")
    print(f"{'message':26} {'bytes':>6} {'build ms':>9} {'floor':>7} {'ratio':>6} "
          f"{'parse ms':>9} {'floor':>7} {'ratio':>6}  verdict")
    ok = True
    for label, msg in cases:
        data = to_bytes(msg)
        tree = to_element(msg)
        t_build = _median_ms(lambda: to_bytes(msg), n)
        f_build = _median_ms(lambda: etree.tostring(tree, xml_declaration=True, encoding="UTF-8"), n)
        t_parse = _median_ms(lambda: parse_message(data), n)
        f_parse = _median_ms(lambda: etree.fromstring(data), n)
        met = t_build < TARGET_MS and t_parse < TARGET_MS
        ok &= met
        print(f"{label:26} {len(data):6d} {t_build:9.3f} {f_build:7.3f} {t_build / f_build:6.1f} "
              f"{t_parse:9.3f} {f_parse:7.3f} {t_parse / f_parse:6.1f}  {'MET' if met else 'NOT MET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(run())
