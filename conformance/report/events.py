"""One event stream per run; every writer (text, JSON, JUnit, later HTML) renders from it."""
from __future__ import annotations

import datetime as dt
import platform
from dataclasses import dataclass, field
from typing import Any, Callable

from conformance.rules.findings import Severity, ValidationResult


@dataclass
class Event:
    type: str  # "run-started" | "result" | "run-finished"
    data: dict[str, Any]


@dataclass
class EventStream:
    """Collects events; listeners (e.g. a console progress printer) see them as they come."""

    events: list[Event] = field(default_factory=list)
    listeners: list[Callable[[Event], None]] = field(default_factory=list)
    results: list[ValidationResult] = field(default_factory=list)

    def emit(self, type: str, **data) -> None:
        ev = Event(type, data)
        self.events.append(ev)
        for listener in self.listeners:
            listener(ev)

    def start(self, tool: str, **meta) -> None:
        self.emit("run-started", tool=tool, at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                  python=platform.python_version(), **meta)

    def result(self, res: ValidationResult) -> None:
        self.results.append(res)
        self.emit("result", result=res)

    def finish(self) -> dict:
        s = summary(self.results)
        self.emit("run-finished", summary=s)
        return s

    @property
    def meta(self) -> dict:
        return next((e.data for e in self.events if e.type == "run-started"), {})


def summary(results: list[ValidationResult]) -> dict:
    by_sev = {s.value: 0 for s in Severity}
    for r in results:
        for f in r.findings:
            by_sev[f.severity.value] += 1
    return {
        "messages": len(results),
        "conformant": sum(1 for r in results if r.conformant),
        "not_conformant": sum(1 for r in results if not r.conformant and r.tool_error is None),
        "tool_errors": sum(1 for r in results if r.tool_error is not None),
        "findings": by_sev,
        "duration_s": round(sum(r.duration_s for r in results), 3),
    }
