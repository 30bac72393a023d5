"""The main job (``oots-harness run``): today, the validator over the TDD corpus, with reports.

It grows into the full suite against the embedded French node as the simulators land.
"""
from __future__ import annotations

import sys
from pathlib import Path

from conformance.report.events import EventStream
from conformance.report.writers import render_json, render_junit, render_text
from conformance.rules import tdd
from conformance.rules.cs_signature import captured_headers
from conformance.rules.validator import Validator


def corpus_pairs(repo: tdd.TddRepository) -> list[tuple[Path, Path]]:
    """Message pairs the corpus is known to hold, by its naming conventions.

    ``X.xml`` + ``X.entete.xml`` / ``X_header.xml`` (payload vs ebMS header); in a folder of a request/response
    set, every response or error against the request; the v1.2 preview flow.
    """
    pairs: list[tuple[Path, Path]] = []
    by_dir: dict[Path, list[Path]] = {}
    for p in repo.samples:
        by_dir.setdefault(p.parent, []).append(p)
    for folder, files in by_dir.items():
        names = {p.name: p for p in files}
        for p in files:
            if p.name.endswith(".entete.xml"):
                payload = names.get(p.name.replace(".entete.xml", ".xml"))
                if payload:
                    pairs.append((payload, p))
        if "requete.xml" in names and "requete.entete.xml" in names:
            for p in files:
                stem = p.name.removesuffix(".entete.xml").removesuffix(".xml")
                if stem != "requete" and (stem.startswith("reponse") or stem.startswith("erreur")):
                    pairs.append((p, names["requete.entete.xml" if p.name.endswith(".entete.xml") else "requete.xml"]))
        req = names.get("oots_request.xml")
        if req:
            for p in files:
                if p.name in ("oots_response.xml",):
                    pairs.append((p, req))
        if "EDM_Ferst_Request.xml" in names:
            n = names
            pairs += [(n["EDM_Ferst_Response.xml"], n["EDM_Ferst_Request.xml"]),
                      (n["EDM_Second_Request.xml"], n["EDM_Ferst_Response.xml"]),
                      (n["EDM_Second_Request.xml"], n["EDM_Ferst_Request.xml"]),
                      (n["EDM_Second_Response.xml"], n["EDM_Second_Request.xml"])]
    return pairs


def _progress(total: int):
    count = {"n": 0}

    def listener(ev):
        if ev.type == "result":
            count["n"] += 1
            r = ev.data["result"]
            mark = "." if r.conformant else ("E" if r.tool_error else "F")
            sys.stderr.write(mark + ("\n" if count["n"] % 60 == 0 else ""))
            sys.stderr.flush()
        elif ev.type == "run-finished":
            sys.stderr.write("\n")
    return listener


def run_corpus(report_dir: Path, *, quiet: bool = False) -> int:
    try:
        repo = tdd.get_repository()
    except tdd.TddNotFound as exc:
        print(f"oots-harness run: {exc}", file=sys.stderr)
        return 1
    v = Validator(repo)
    stream = EventStream()
    pairs = corpus_pairs(repo)
    if not quiet:
        print(repo.describe())
        print(f"validating {len(repo.samples)} corpus files and {len(pairs)} corpus pairs", file=sys.stderr)
        stream.listeners.append(_progress(len(repo.samples) + len(pairs)))
    stream.start("oots-harness run", tdd=[str(r) for r in repo.roots])
    for p in repo.samples:
        headers = captured_headers(p)
        stream.result(v.validate_file(p, extra={"http_headers": headers} if headers else None))
    for a, b in pairs:
        stream.result(v.validate_pair(a.read_bytes(), b.read_bytes(), a_name=str(a), b_name=str(b)))
    s = stream.finish()
    report_dir.mkdir(parents=True, exist_ok=True)
    text = render_text(stream)
    (report_dir / "validation.txt").write_text(text, encoding="utf-8")
    (report_dir / "validation.json").write_text(render_json(stream), encoding="utf-8")
    (report_dir / "validation.junit.xml").write_text(render_junit(stream), encoding="utf-8")
    if not quiet:
        sys.stdout.write(text)
    print(f"reports: {report_dir}/validation.txt, validation.json, validation.junit.xml "
          f"({s['duration_s']:.2f} s of validation)")
    return 1 if s["tool_errors"] else 0
