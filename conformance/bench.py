"""Validator benchmark (``oots-harness bench validate``): a benchmark, not a test.

Prints the median time per message through all layers for a v2.0 QueryRequest after warm-up (target under
5 ms), the same for XSD alone, for the v1.0 request whose Schematron rule set is loaded, the parse-only floor
measured in the same run, and resident memory after 1,000 / 5,000 / 10,000 validations (v2.0 and v1.0 requests alternating) in one process (it
must not grow with the count).
"""
from __future__ import annotations

import gc
import os
import statistics
import time

from lxml import etree

from conformance.rules import tdd
from conformance.rules.validator import Validator
from conformance.rules.xmlsafe import make_parser

V20_REQUEST = "edm-v2.0-oots-france/xml/reference/messages/requete.xml"
V10_REQUEST = "edm-v0.99-governikus/xml/Request-Response Samples/Birth Certificate/oots_request.xml"


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def _median_ms(fn, n: int, warmup: int = 50) -> float:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1000


def _find(repo, rel: str) -> bytes | None:
    for root in repo.roots:
        p = root / rel
        if p.exists():
            return p.read_bytes()
    return None


def run(n: int = 500, memory_count: int = 10_000) -> int:
    repo = tdd.get_repository()
    data = _find(repo, V20_REQUEST)
    if data is None:
        print(f"bench: {V20_REQUEST} not found in the TDD artefacts")
        return 1
    full, xsd_only = Validator(repo), Validator(repo, layers=("xsd",))
    parser = make_parser()
    res = full.validate_bytes(data)
    if res.tool_error:
        print(f"bench: validation failed: {res.tool_error}")
        return 1
    print(f"v2.0 QueryRequest ({len(data)} bytes): {len(res.checks_run)} harness checks, layers {res.layers_run}")
    floor = _median_ms(lambda: etree.fromstring(data, parser), n)
    t_full = _median_ms(lambda: full.validate_bytes(data), n)
    t_xsd = _median_ms(lambda: xsd_only.validate_bytes(data), n)
    print(f"  parse-only floor        {floor:8.3f} ms")
    print(f"  XSD alone (with parse)  {t_xsd:8.3f} ms   ratio to floor {t_xsd / floor:6.1f}")
    print(f"  all layers              {t_full:8.3f} ms   ratio to floor {t_full / floor:6.1f}   "
          f"target < 5 ms: {'MET' if t_full < 5 else 'NOT MET'}")
    v10 = _find(repo, V10_REQUEST)
    if v10 is not None and repo.ruleset("v1.0") is not None:
        r10 = full.validate_bytes(v10)
        if r10.tool_error:
            print(f"v1.0 QueryRequest: not measured, validation failed: {r10.tool_error}")
            return 1
        t10 = _median_ms(lambda: full.validate_bytes(v10), max(50, n // 5), warmup=10)
        print(f"v1.0 QueryRequest with its Schematron rule set (layers {r10.layers_run}): {t10:.3f} ms")
    gc.collect()
    marks = {}
    start = _rss_mb()
    mixed = [data] if v10 is None else [data, v10]  # include the Saxon (Schematron) path
    for i in range(1, memory_count + 1):
        full.validate_bytes(mixed[i % len(mixed)])
        if i in (1000, memory_count // 2, memory_count):
            gc.collect()
            marks[i] = _rss_mb()
    print(f"resident memory: start {start:.1f} MB; " + "; ".join(f"after {k:,} {v:.1f} MB" for k, v in marks.items()))
    growth = marks[memory_count] - marks[1000]
    print(f"  growth from 1,000 to {memory_count:,} messages: {growth:+.1f} MB "
          f"({'flat' if growth < 5 else 'GROWING'})")
    return 0
