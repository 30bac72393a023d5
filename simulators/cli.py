"""``oots-harness`` command line.

Exit codes: 0 success / conformant, 2 not conformant, 1 tool error (bad arguments, unreadable input).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from conformance.rules import tdd
from conformance.rules.cs_signature import captured_headers

EXIT_OK, EXIT_TOOL, EXIT_NONCONFORMANT = 0, 1, 2
TDD_GIT_URL = "https://code.europa.eu/oots/tdd/tdd_chapters.git"


def _expand(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        out.extend(sorted(p.rglob("*.xml")) if p.is_dir() else [p])
    return out


def _write(text: str, output: str | None) -> None:
    if output:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def cmd_validate(args) -> int:
    from conformance.report.events import EventStream
    from conformance.report.writers import WRITERS
    from conformance.rules.validator import Validator

    files = _expand(args.files)
    if not files and not args.pair:
        print("oots-harness validate: no input files", file=sys.stderr)
        return EXIT_TOOL
    v = Validator()
    stream = EventStream()
    stream.start("oots-harness validate", kind=args.kind, edm=args.edm,
                 tdd=[str(r) for r in v.repo.roots] if v.repo else [])
    for f in files:
        extra = {}
        headers = captured_headers(f) if f.exists() else None
        if headers is not None:
            extra["http_headers"] = headers
        stream.result(v.validate_file(f, kind=args.kind, edm=args.edm, extra=extra))
    for a, b in args.pair or []:
        try:
            da, db = Path(a).read_bytes(), Path(b).read_bytes()
        except OSError as exc:
            print(f"oots-harness validate: cannot read pair: {exc}", file=sys.stderr)
            return EXIT_TOOL
        stream.result(v.validate_pair(da, db, a_name=a, b_name=b))
    s = stream.finish()
    _write(WRITERS[args.format](stream), args.output)
    if s["tool_errors"]:
        return EXIT_TOOL
    return EXIT_OK if s["not_conformant"] == 0 else EXIT_NONCONFORMANT


def cmd_tdd_info(args) -> int:
    try:
        print(tdd.get_repository().describe())
    except tdd.TddNotFound as exc:
        print(f"oots-harness: {exc}", file=sys.stderr)
        return EXIT_TOOL
    return EXIT_OK


def cmd_fetch_tdd(args) -> int:
    dest = Path(args.dest or tdd.CACHE_DIR / "tdd" / args.version)
    if (dest / "OOTS-EDM").is_dir():
        print(f"TDD {args.version} already present in {dest}")
        return EXIT_OK
    dest.parent.mkdir(parents=True, exist_ok=True)
    cmd = ["git", "clone", "--quiet", "--depth", "1", "--branch", args.version, args.url, str(dest)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout,
                              env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
    except subprocess.TimeoutExpired:
        print(f"oots-harness fetch-tdd: no answer from {args.url} within {args.timeout} s; the official TDD "
              "cannot be fetched from this machine (no network?). Point OOTS_TDD_DIR at a local tdd_chapters "
              "checkout or the shared/tdd corpus instead.", file=sys.stderr)
        return EXIT_TOOL
    except FileNotFoundError:
        print("oots-harness fetch-tdd: git is not installed", file=sys.stderr)
        return EXIT_TOOL
    if proc.returncode != 0:
        print(f"oots-harness fetch-tdd: could not clone {args.url} at tag {args.version}: "
              f"{proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else 'git failed'}.\n"
              "The official TDD is not reachable from here (network or tag). Point OOTS_TDD_DIR at a local "
              "tdd_chapters checkout or the shared/tdd corpus instead.", file=sys.stderr)
        return EXIT_TOOL
    (dest / ".tdd-version").write_text(args.version + "\n")
    print(f"TDD {args.version} fetched into {dest}")
    return EXIT_OK


def cmd_run(args) -> int:
    """Main job: for now, the validator over the whole TDD corpus, with reports in ``reports/``."""
    from conformance.runner import run_corpus
    return run_corpus(Path(args.report_dir), quiet=args.quiet)


def cmd_bench(args) -> int:
    if args.what in ("validate", "all"):
        from conformance.bench import run
        rc = run(n=args.n, memory_count=args.memory_count)
        if rc:
            return rc
    if args.what in ("edm", "all"):
        from simulators.edm.bench import run as run_edm
        rc = run_edm()
        if rc:
            return rc
    if args.what in ("as4", "all"):
        try:
            from simulators.as4.bench import run as run_as4
        except ImportError:
            print("bench as4: the AS4 benchmark is not available yet")
            return EXIT_OK if args.what == "all" else EXIT_TOOL
        return run_as4()
    return EXIT_OK


def cmd_schematron_compile(args) -> int:
    from conformance.rules.schematron import compile_to_file
    try:
        compile_to_file(Path(args.sch), Path(args.out))
    except FileNotFoundError as exc:
        print(f"oots-harness schematron compile: {exc}", file=sys.stderr)
        return EXIT_TOOL
    except Exception as exc:  # noqa: BLE001 - a bad .sch is a user error with a message
        print(f"oots-harness schematron compile: {args.sch} does not compile: {exc}", file=sys.stderr)
        return EXIT_TOOL
    print(f"{args.sch} -> {args.out}")
    return EXIT_OK


def cmd_as4_inspect(args) -> int:
    """Show, verify, decrypt and validate one raw AS4 message captured on the wire."""
    from simulators.as4.inspect import main as inspect_main
    return inspect_main(args.file, content_type=args.content_type, trust=args.trust, key=args.key,
                        fmt=args.format)


def cmd_as4_export_domibus(args) -> int:
    from simulators.as4.domibus_export import main as export_main
    argv = ["--world", args.world, "--out", args.out, "--password", args.password, "--seed", str(args.seed)]
    if args.own_party:
        argv += ["--own-party", args.own_party]
    return export_main(argv)


def build_parser() -> argparse.ArgumentParser:
    from conformance.rules.detect import KINDS

    p = argparse.ArgumentParser(prog="oots-harness", description="OOTS conformance harness")
    sub = p.add_subparsers(dest="command", required=True)

    v = sub.add_parser("validate", help="validate OOTS messages rule by rule",
                       description="Validate OOTS messages (files or folders of *.xml): well-formedness, XSD, "
                                   "Schematron, code lists and the harness's own checks. Exit 0 conformant, "
                                   "2 not conformant, 1 tool error.")
    v.add_argument("files", nargs="*", help="message files or folders")
    v.add_argument("--kind", default="auto", choices=("auto",) + tuple(k for k in KINDS))
    v.add_argument("--edm", default="auto", choices=("auto", "v1.0", "v1.2", "v2.0"))
    v.add_argument("--format", default="text", choices=("text", "json", "junit"))
    v.add_argument("--pair", nargs=2, action="append", metavar=("A", "B"),
                   help="cross-validate A against B (response vs request, payload vs ebMS header, "
                        "second request vs exception, request vs DSD answer...); repeatable")
    v.add_argument("-o", "--output", help="write the report to this file instead of stdout")
    v.set_defaults(func=cmd_validate)

    t = sub.add_parser("tdd-info", help="show which TDD artefacts and rule sets are loaded")
    t.set_defaults(func=cmd_tdd_info)

    f = sub.add_parser("fetch-tdd", help="clone the official OOTS TDD release (needs network)")
    f.add_argument("--version", default="2.0.1")
    f.add_argument("--url", default=TDD_GIT_URL)
    f.add_argument("--dest")
    f.add_argument("--timeout", type=int, default=120)
    f.set_defaults(func=cmd_fetch_tdd)

    r = sub.add_parser("run", help="the main job: validate the TDD corpus and write reports")
    r.add_argument("--report-dir", default="reports")
    r.add_argument("-q", "--quiet", action="store_true")
    r.set_defaults(func=cmd_run)

    sc = sub.add_parser("schematron", help="Schematron tools")
    scs = sc.add_subparsers(dest="schematron_command", required=True)
    scc = scs.add_parser("compile", help="compile an ISO Schematron file to XSLT 3 (as the validator does)")
    scc.add_argument("sch")
    scc.add_argument("out")
    scc.set_defaults(func=cmd_schematron_compile)

    b = sub.add_parser("bench", help="benchmarks (ratios against floors measured in the same run)")
    b.add_argument("what", choices=("validate", "edm", "as4", "all"))
    b.add_argument("-n", type=int, default=500, help="timed iterations per measurement")
    b.add_argument("--memory-count", type=int, default=10_000, help="messages for the memory measurement")
    b.set_defaults(func=cmd_bench)

    a = sub.add_parser("as4", help="AS4 message tools")
    a_sub = a.add_subparsers(dest="as4_command", required=True)
    ai = a_sub.add_parser(
        "inspect", help="show, verify, decrypt and validate a raw AS4 message",
        description="Read a raw AS4 message as captured on the wire (the MIME body; the HTTP Content-Type "
                    "given with --content-type or stored as a 'Content-Type: ...' first line followed by a "
                    "blank line), print its ebMS header and parts, verify its signature (against --trust "
                    "anchors, else only internally), decrypt with --key and validate the payloads. Exit 0 "
                    "valid, 2 invalid, 1 unreadable.")
    ai.add_argument("file", help="the captured message")
    ai.add_argument("--content-type", help="the HTTP Content-Type header value (else read from the file)")
    ai.add_argument("--trust", metavar="PEM_OR_DIR", help="trust anchor certificate(s): a PEM/DER file or a folder")
    ai.add_argument("--key", metavar="PEM", help="our private decryption key (unencrypted PEM or DER)")
    ai.add_argument("--format", default="text", choices=("text", "json"))
    ai.set_defaults(func=cmd_as4_inspect)
    ae = a_sub.add_parser("export-domibus", help="write a Domibus 5.2 PMode and PKCS12 key/trust stores for "
                                                 "the simulated parties, so a real Domibus can talk to them")
    ae.add_argument("--world", default="fixtures/worlds/as4-parties.toml", help="TOML with [[parties]]")
    ae.add_argument("--out", default="reports/domibus")
    ae.add_argument("--password", default="test123")
    ae.add_argument("--seed", default="0", help="PKI seed (same seed, same keys)")
    ae.add_argument("--own-party", help="the party the exported Domibus plays (default: the file's own_party)")
    ae.set_defaults(func=cmd_as4_export_domibus)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
