"""Genericode code lists (OASIS CodeList 1.0) and the layer that checks code-list-bound fields of a message.

Lists are loaded from the rule set's ``.gc`` files and keyed by their ``Identification/ShortName`` (also by
the file stem without ``-CodeList``, so ``LevelsOfAssurance-CodeList.gc`` is ``LevelsOfAssurance``).
Which field takes its values from which list is the :data:`BINDINGS` table: adding a binding is one line.

    layer = CodelistLayer(repo)
    layer.validate(root, detection, ruleset)   # -> [Finding("CL-LevelsOfAssurance", FATAL, ...), ...]

The shared corpus has no ``.gc`` files (see PROVENANCE): with no code list loaded the layer says so once
(``TDD-002``, CAUTION) instead of inventing values.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from lxml import etree

from .detect import Detection
from .findings import Finding, Severity, Source
from .ns import NS, PREFIX, locate
from .tdd import RuleSet, TddRepository
from .xmlsafe import parse_bytes

GC_NS = "http://docs.oasis-open.org/codelist/ns/genericode/1.0/"


class CodelistError(ValueError):
    """A ``.gc`` file that is not a readable Genericode code list."""


@dataclass
class CodeList:
    """One Genericode list: its rows as {column id: value}."""

    short_name: str
    path: Path
    version: str | None = None
    canonical_uri: str | None = None
    columns: list[str] = field(default_factory=list)
    key_column: str | None = None
    rows: list[dict[str, str]] = field(default_factory=list)

    def values(self, column: str | None = None) -> set[str]:
        """The values of ``column`` (default: the key column, else ``code``, else the first column)."""
        col = column or self.key_column or ("code" if "code" in self.columns else
                                            (self.columns[0] if self.columns else None))
        return {r[col] for r in self.rows if col in r}

    @property
    def label(self) -> str:
        return self.short_name + (f" {self.version}" if self.version else "")


def _local(el) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _child(el, name: str):
    return next((c for c in el if _local(c) == name), None)


def _text(el) -> str | None:
    return " ".join("".join(el.itertext()).split()) if el is not None else None


def load_codelist(path: str | Path) -> CodeList:
    """Parse one ``.gc`` file (qualified or unqualified Genericode children are both accepted)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CodelistError(f"cannot read {path}: {exc.strerror or exc}") from exc
    doc = parse_bytes(data)
    if doc.root is None:
        raise CodelistError(f"{path.name}: " + "; ".join(f.message for f in doc.findings))
    root = doc.root
    if _local(root) != "CodeList" or etree.QName(root).namespace != GC_NS:
        raise CodelistError(f"{path.name}: root is not gc:CodeList ({GC_NS})")
    ident = _child(root, "Identification")
    short = _text(_child(ident, "ShortName")) if ident is not None else None
    stem = path.stem.removesuffix("-CodeList").removesuffix("_CodeList")
    cl = CodeList(short or stem, path,
                  version=_text(_child(ident, "Version")) if ident is not None else None,
                  canonical_uri=_text(_child(ident, "CanonicalUri")) if ident is not None else None)
    cset = _child(root, "ColumnSet")
    if cset is not None:
        cl.columns = [c.get("Id") for c in cset if _local(c) == "Column" and c.get("Id")]
        key = next((k for k in cset if _local(k) == "Key"), None)
        ref = _child(key, "ColumnRef") if key is not None else None
        cl.key_column = ref.get("Ref") if ref is not None else None
    scl = _child(root, "SimpleCodeList")
    if scl is None:
        raise CodelistError(f"{path.name}: no SimpleCodeList")
    for row in (r for r in scl if _local(r) == "Row"):
        vals: dict[str, str] = {}
        pos = 0
        for v in (v for v in row if _local(v) == "Value"):
            col = v.get("ColumnRef")
            if col is None:  # positional value: the next column of the ColumnSet
                col = cl.columns[pos] if pos < len(cl.columns) else str(pos)
            elif col in cl.columns:
                pos = cl.columns.index(col)
            pos += 1
            sv = _child(v, "SimpleValue")
            if sv is not None:
                vals[col] = (sv.text or "").strip()
        cl.rows.append(vals)
    return cl


def _aliases(cl: CodeList) -> set[str]:
    stem = cl.path.stem
    return {cl.short_name, stem, stem.removesuffix("-CodeList"), stem.removesuffix("_CodeList")}


_cache: dict[tuple[str, float], CodeList] = {}
_cache_lock = threading.Lock()


def load_codelists(paths: list[Path]) -> tuple[dict[str, CodeList], list[tuple[Path, str]]]:
    """Load lists keyed by short name and aliases (case-insensitive keys); also returns unreadable files."""
    out: dict[str, CodeList] = {}
    errors: list[tuple[Path, str]] = []
    for p in paths:
        try:
            k = (str(p), p.stat().st_mtime)
            with _cache_lock:
                cl = _cache.get(k)
            if cl is None:
                cl = load_codelist(p)
                with _cache_lock:
                    _cache[k] = cl
        except (OSError, CodelistError) as exc:
            errors.append((p, str(exc)))
            continue
        for a in _aliases(cl):
            out.setdefault(a.lower(), cl)
    return out, errors


# ---------------------------------------------------------------------------------------------------------
# Bindings: which field takes its values from which list
# ---------------------------------------------------------------------------------------------------------

EDM = frozenset({"request", "response", "exception"})
_EAS_URN = "urn:cef.eu:names:identifier:EAS:"


def _after_eas(v: str) -> str:
    return v[len(_EAS_URN):] if v.startswith(_EAS_URN) else v


@dataclass(frozen=True)
class Binding:
    """Values selected by ``xpath`` (elements: their text; attributes: their value) must be codes of the
    first loaded list among ``lists`` (column ``column``, default the list's key column)."""

    xpath: str
    lists: tuple[str, ...]
    what: str
    column: str | None = None
    kinds: frozenset[str] | None = None
    value: Callable[[str], str] | None = None  # turns the field into a code (e.g. strip a URN prefix)
    casefold: bool = False
    severity: Severity = Severity.FATAL


BINDINGS: tuple[Binding, ...] = (
    Binding(".//sdg:LevelOfAssurance", ("LevelsOfAssurance", "LevelOfAssurance"), "level of assurance"),
    Binding(".//sdg:AuthenticationLevelOfAssurance", ("LevelsOfAssurance", "LevelOfAssurance"),
            "DSD authentication level of assurance"),
    Binding(".//rs:Exception/@code", ("EDMErrorCodes",), "EDM error code", kinds=EDM),
    Binding(".//rs:Exception/@code", ("DSDErrorCodes",), "DSD error code", kinds=frozenset({"dsd-response"})),
    Binding(".//rs:Exception/@code", ("EBErrorCodes",), "EB error code", kinds=frozenset({"eb-response"})),
    Binding(".//rs:Exception/@code", ("LCMErrorCodes",), "LCM error code", kinds=frozenset({"lcm"})),
    Binding(".//rs:Exception/@severity", ("ErrorSeverity",), "error severity"),
    Binding("/query:QueryRequest/rim:Slot[@name='Procedure']/rim:SlotValue/rim:Value[not(*)]",
            ("Procedures", "Procedure"), "procedure (v2.0 string)", kinds=frozenset({"request"})),
    Binding("/query:QueryRequest/rim:Slot[@name='Procedure']/rim:SlotValue/rim:Value/rim:LocalizedString/@value",
            ("Procedures", "Procedure"), "procedure (v1.x localized string)", kinds=frozenset({"request"})),
    Binding(".//sdg:AdminUnitLevel1", ("OOTS_Country", "EEA_Country", "CountryIdentificationCode"), "country"),
    Binding(".//sdg:AdminUnitLevel2", ("NutsCodes", "NUTS"), "NUTS region"),
    Binding(".//@xml:lang", ("LanguageCode", "LanguageCodes"), "language (xml:lang)", casefold=True),
    Binding(".//sdg:*/@lang", ("LanguageCode", "LanguageCodes"), "language (@lang)", casefold=True),
    Binding(".//sdg:Language", ("LanguageCode", "LanguageCodes"), "language", casefold=True),
    Binding(".//sdg:Format", ("OOTSMediaTypes", "OOTSMediaType"), "distribution format (media type)"),
    Binding(".//@schemeID[starts-with(., 'urn:cef.eu:names:identifier:EAS:')]", ("EAS",),
            "identifier scheme (EAS)", value=_after_eas),
    Binding(".//sdg:Agent/sdg:Classification", ("AgentClassification",), "agent classification"),
    Binding(".//sdg:Gender", ("Gender", "Genders"), "gender"),
)


def _location(node) -> str:
    if isinstance(node, etree._Element):
        return locate(node)
    parent = node.getparent()
    qn = etree.QName(node.attrname)
    pfx = PREFIX.get(qn.namespace, qn.namespace) if qn.namespace else None
    return f"{locate(parent)}/@{pfx + ':' if pfx else ''}{qn.localname}"


_XP_NS = {k: v for k, v in NS.items() if k != "xml"}  # lxml binds the xml prefix itself


class CodelistLayer:
    """Checks code-list-bound fields of a message against the rule set's Genericode lists."""

    def __init__(self, repo: TddRepository | None = None, *, bindings: tuple[Binding, ...] = BINDINGS):
        self.repo = repo
        self.bindings = bindings
        self._xp: dict[str, etree.XPath] = {}

    def lists(self, ruleset: RuleSet) -> tuple[dict[str, CodeList], list[tuple[Path, str]]]:
        return load_codelists(list(ruleset.codelists))

    def _compiled(self, xpath: str) -> etree.XPath:
        xp = self._xp.get(xpath)
        if xp is None:
            xp = self._xp[xpath] = etree.XPath(xpath, namespaces=_XP_NS)
        return xp

    def validate(self, root: etree._Element, detection: Detection, ruleset: RuleSet | None) -> list[Finding]:
        if ruleset is None or not ruleset.codelists:
            where = f"rule set {ruleset.version} ({ruleset.label})" if ruleset is not None else "no rule set"
            return [Finding("TDD-002", Severity.CAUTION, f"code lists are not loaded ({where} has no Genericode "
                            "files): code-list-bound fields were not checked", Source.CODELIST, "/")]
        lists, errors = self.lists(ruleset)
        out = [Finding("TDD-002", Severity.CAUTION, f"code list {p.name} not loaded: {err}", Source.CODELIST, "/")
               for p, err in errors]
        missing: dict[str, int] = {}
        for b in self.bindings:
            if b.kinds is not None and detection.kind not in b.kinds:
                continue
            nodes = self._compiled(b.xpath)(root)
            if not nodes:
                continue
            cl = next((lists[n.lower()] for n in b.lists if n.lower() in lists), None)
            if cl is None:
                key = " / ".join(b.lists)
                missing[key] = missing.get(key, 0) + len(nodes)
                continue
            allowed = cl.values(b.column)
            folded = {v.casefold() for v in allowed} if b.casefold else allowed
            for node in nodes:
                raw = (node.text or "") if isinstance(node, etree._Element) else str(node)
                raw = raw.strip()
                code = b.value(raw) if b.value else raw
                if (code.casefold() if b.casefold else code) in folded:
                    continue
                col = b.column or cl.key_column or "code"
                out.append(Finding(f"CL-{cl.short_name}", b.severity,
                                   f"{b.what} {raw!r} is not a code of the {cl.short_name} list",
                                   Source.CODELIST, _location(node),
                                   expected=f"a value of {cl.label} (column {col})", actual=raw,
                                   ref=f"{cl.path.name} ({ruleset.label})"))
        for key, n in missing.items():
            out.append(Finding("TDD-002", Severity.CAUTION, f"code list {key} not loaded: {n} value(s) bound to it "
                               "were not checked", Source.CODELIST, "/"))
        return out


__all__ = ["BINDINGS", "Binding", "CodeList", "CodelistError", "CodelistLayer", "GC_NS", "load_codelist",
           "load_codelists"]
