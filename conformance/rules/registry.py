"""Registry of the harness's own checks, single-message and cross-message.

A check is a small function that yields :class:`Violation` s (Expected / Actual, location). It does not pick
its severity: the registration does (from the assertion's tier in the spec digest), and callers may
override it. Ids are the assertion ids of ``shared/spec/*.md`` (``EDM-REQ-012``, ``CS-028``, ``AS4-HDR-004``)
or, for pair checks with no digest id, ``PAIR-…``.

    @check("EDM-REQ-015", kinds={"request"}, versions={"v2.0"}, ref="R-EDM-REQ-S059",
           title="v2.0: no @xml:lang on QueryRequest")
    def no_root_lang(ctx):
        if ctx.root.get(XML_LANG) is not None:
            yield Violation("xml:lang is forbidden on the v2.0 QueryRequest", locate(ctx.root),
                            expected="no @xml:lang", actual=ctx.root.get(XML_LANG))
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

from lxml import etree

from .detect import Detection
from .findings import Finding, Severity, Source, Violation


@dataclass
class MessageContext:
    """What a check sees of one message."""

    root: etree._Element
    detection: Detection
    name: str = "<message>"
    #: the ebMS header travelling with this payload, when known (WS-plugin envelope, AS4 message, --pair)
    header: etree._Element | None = None
    #: extra facts (HTTP headers of a Common Services answer, attachment content ids...)
    extra: dict = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.detection.kind

    @property
    def version(self) -> str | None:
        return self.detection.version


CheckFunc = Callable[..., Iterable[Violation]]


@dataclass(frozen=True)
class CheckSpec:
    id: str
    func: CheckFunc
    kinds: frozenset[str]  # single checks: message kinds; pair checks: the two kinds as "a>b" strings
    versions: frozenset[str] | None
    severity: Severity
    ref: str
    title: str
    arity: int = 1

    def applies(self, kind: str, version: str | None) -> bool:
        return kind in self.kinds and (self.versions is None or version in self.versions)


SINGLE: dict[str, CheckSpec] = {}
PAIRS: dict[str, CheckSpec] = {}


def _register(table: dict[str, CheckSpec], spec: CheckSpec) -> None:
    if spec.id in table and table[spec.id].func.__qualname__ != spec.func.__qualname__:
        raise ValueError(f"check id {spec.id} registered twice ({table[spec.id].func.__qualname__}, "
                         f"{spec.func.__qualname__})")
    table[spec.id] = spec


def check(id: str, *, kinds: Iterable[str], versions: Iterable[str] | None = None,
          severity: Severity = Severity.FATAL, ref: str = "", title: str = ""):
    """Register a single-message check ``func(ctx: MessageContext) -> Iterable[Violation]``."""
    def deco(func: CheckFunc) -> CheckFunc:
        _register(SINGLE, CheckSpec(id, func, frozenset(kinds), frozenset(versions) if versions else None,
                                    severity, ref, title or (func.__doc__ or "").strip().split("\n")[0]))
        return func
    return deco


def pair_check(id: str, *, pairs: Iterable[tuple[str, str]], versions: Iterable[str] | None = None,
               severity: Severity = Severity.FATAL, ref: str = "", title: str = ""):
    """Register a cross-message check ``func(a: MessageContext, b: MessageContext)``.

    ``pairs`` lists (kind of a, kind of b): e.g. ``("response", "request")`` checks a response against the
    request it answers. ``versions`` filters on the version of ``a``.
    """
    def deco(func: CheckFunc) -> CheckFunc:
        _register(PAIRS, CheckSpec(id, func, frozenset(f"{a}>{b}" for a, b in pairs),
                                   frozenset(versions) if versions else None, severity, ref,
                                   title or (func.__doc__ or "").strip().split("\n")[0], arity=2))
        return func
    return deco


def _as_findings(spec: CheckSpec, violations: Iterable[Violation], source: Source,
                 severity: Severity | None) -> list[Finding]:
    sev = severity or spec.severity
    return [Finding(spec.id, sev, v.message, source, v.location, v.expected, v.actual, spec.ref or None)
            for v in violations]


def run_single(ctx: MessageContext, *, severities: dict[str, Severity] | None = None
               ) -> tuple[list[str], list[Finding]]:
    """Run every applicable single-message check. Returns (ids run, findings)."""
    _load_builtin_checks()
    ran, out = [], []
    for spec in SINGLE.values():
        if not spec.applies(ctx.kind, ctx.version):
            continue
        ran.append(spec.id)
        out.extend(_guarded(spec, (ctx,), Source.HARNESS, (severities or {}).get(spec.id)))
    return ran, out


def run_pair(a: MessageContext, b: MessageContext, *, severities: dict[str, Severity] | None = None
             ) -> tuple[list[str], list[Finding]]:
    """Run every cross-message check for (a, b). Returns (ids run, findings)."""
    _load_builtin_checks()
    ran, out = [], []
    for spec in PAIRS.values():
        if not spec.applies(f"{a.kind}>{b.kind}", a.version):
            continue
        ran.append(spec.id)
        out.extend(_guarded(spec, (a, b), Source.PAIR, (severities or {}).get(spec.id)))
    return ran, out


def _guarded(spec: CheckSpec, args: tuple, source: Source, severity: Severity | None) -> list[Finding]:
    try:
        return _as_findings(spec, list(spec.func(*args)), source, severity)
    except Exception as exc:  # a check crashing must not hide the others: report it as a tool problem
        return [Finding("HARNESS-CRASH", Severity.FATAL, f"check {spec.id} raised {type(exc).__name__}: {exc}",
                        source, "/", ref=spec.ref or None)]


_loaded = False


def _load_builtin_checks() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        from . import checks  # noqa: F401  (registers on import)
        from . import pairs  # noqa: F401
