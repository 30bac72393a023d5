"""Findings: what a validation layer says about one message, rule by rule."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum


class Severity(str, Enum):
    """OOTS Schematron severities (flag values), ordered from blocking to informative."""

    FATAL = "FATAL"
    WARNING = "WARNING"
    CAUTION = "CAUTION"

    @property
    def tier(self) -> str:
        """The harness tier: strict (MUST), non-strict (SHOULD), informational."""
        return {"FATAL": "strict", "WARNING": "non-strict", "CAUTION": "informational"}[self.value]

    @classmethod
    def from_flag(cls, flag: str | None) -> "Severity":
        """Map a Schematron ``flag``/``role`` (fatal, error, warning, caution, info...) to a severity."""
        f = (flag or "").strip().lower()
        if f in ("warning", "warn"):
            return cls.WARNING
        if f in ("caution", "info", "information", "informational"):
            return cls.CAUTION
        return cls.FATAL


class Source(str, Enum):
    """The layer a finding comes from."""

    PARSER = "parser"
    DETECT = "detect"
    XSD = "xsd"
    SCHEMATRON = "schematron"
    CODELIST = "codelist"
    HARNESS = "harness"
    PAIR = "pair"
    SIGNATURE = "signature"


@dataclass(frozen=True)
class Finding:
    """One rule violated (or one notice) at one place of one message."""

    id: str
    severity: Severity
    message: str
    source: Source
    location: str = "/"
    expected: str | None = None
    actual: str | None = None
    ref: str | None = None  # specification reference (TDD rule id, spec section)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["severity"] = self.severity.value
        d["tier"] = self.severity.tier
        d["source"] = self.source.value
        return d

    def line(self) -> str:
        """One-line human form: ``FATAL EDM-REQ-001 [harness] /path: message (expected X, actual Y)``."""
        s = f"{self.severity.value:<7} {self.id} [{self.source.value}] {self.location}: {self.message}"
        if self.expected is not None or self.actual is not None:
            s += f" (expected {self.expected!s}, actual {self.actual!s})"
        return s


@dataclass
class Violation:
    """What a check yields: where and what is wrong. The caller binds id and severity."""

    message: str
    location: str = "/"
    expected: str | None = None
    actual: str | None = None


@dataclass
class ValidationResult:
    """The outcome for one message (or one pair of messages)."""

    name: str
    kind: str | None = None
    version: str | None = None
    findings: list[Finding] = field(default_factory=list)
    checks_run: list[str] = field(default_factory=list)
    layers_run: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    tool_error: str | None = None

    @property
    def conformant(self) -> bool:
        return self.tool_error is None and not any(f.severity is Severity.FATAL for f in self.findings)

    def ids(self, severity: Severity | None = None) -> set[str]:
        return {f.id for f in self.findings if severity is None or f.severity is severity}

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "version": self.version,
            "conformant": self.conformant,
            "tool_error": self.tool_error,
            "duration_s": round(self.duration_s, 6),
            "layers_run": self.layers_run,
            "checks_run": self.checks_run,
            "findings": [f.to_dict() for f in self.findings],
        }
