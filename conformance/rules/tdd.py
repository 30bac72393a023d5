"""Locate and index the OOTS TDD artefacts (XSD, Schematron, code lists, samples).

Artefacts are data loaded at run time, never committed. Two layouts are understood:

* the official ``tdd_chapters`` checkout: ``OOTS-EDM/xsd/**``, ``OOTS-EDM/sch/*.sch``,
  ``OOTS-EDM/codelists/**/*.gc``, ``OOTS-EDM/xml/**``; its EDM version comes from a ``.tdd-version``
  file (written by ``oots-harness fetch-tdd``), else from the ``SDG-GenericMetadataProfile-vX.Y.Z.xsd`` name;
* the project corpus ``shared/tdd`` (see its PROVENANCE.md): ``oasis-regrep4/``, ``w3c/``, ``ebms3/`` and
  one ``edm-v<version>-<source>/`` folder per origin, each with ``xsd/ sch/ xslt/ xml/`` as available.

Search order: ``OOTS_TDD_DIR`` (several roots separated by ``os.pathsep``), else ``../shared/tdd`` next to
the project (or the working directory), plus any checkout fetched under ``.cache/tdd/``.
Several rule sets can be loaded side by side, keyed by the EDM version messages declare (``v1.0``...).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = Path(os.environ.get("OOTS_CACHE_DIR", PROJECT_ROOT / ".cache"))

# shared/tdd folders whose declared SpecificationIdentifier differs from the folder's model version.
_DECLARED_VERSION = {"edm-v0.99-governikus": "v1.0"}  # PROVENANCE: 0.99 content, declares oots-edm:v1.0


class TddNotFound(RuntimeError):
    """No TDD artefacts where we looked."""


@dataclass
class RuleSet:
    """The EDM-version-specific artefacts: profile XSD, Schematron, code lists."""

    version: str  # as declared by messages: "v1.0", "v1.2", "v2.0"
    label: str  # where it came from, for reports
    root: Path
    sdg_xsd: Path | None = None
    schematron: list[Path] = field(default_factory=list)
    precompiled_xslt: dict[str, Path] = field(default_factory=dict)  # sch stem -> xslt
    codelists: list[Path] = field(default_factory=list)


@dataclass
class TddRepository:
    """Everything found under one or more TDD roots."""

    roots: list[Path]
    regrep_xsd_dir: Path | None = None
    w3c_xsd_dir: Path | None = None
    ebms_xsd_dir: Path | None = None
    rulesets: dict[str, RuleSet] = field(default_factory=dict)
    samples: list[Path] = field(default_factory=list)

    def ruleset(self, version: str | None) -> RuleSet | None:
        return self.rulesets.get(version or "")

    def describe(self) -> str:
        lines = [f"TDD roots: {', '.join(str(r) for r in self.roots)}",
                 f"  RegRep 4 XSD: {self.regrep_xsd_dir}", f"  ebMS3 XSD:    {self.ebms_xsd_dir}",
                 f"  W3C XSD:      {self.w3c_xsd_dir}"]
        if not self.rulesets:
            lines.append("  no EDM rule set (profile XSD / Schematron / code lists) found")
        for v, rs in sorted(self.rulesets.items()):
            lines.append(f"  rule set {v}: {rs.label} — sdg XSD: {rs.sdg_xsd.name if rs.sdg_xsd else 'none'}, "
                         f"{len(rs.schematron)} Schematron, {len(rs.precompiled_xslt)} pre-compiled XSLT, "
                         f"{len(rs.codelists)} code lists")
        lines.append(f"  {len(self.samples)} sample XML files")
        return "\n".join(lines)


def default_roots() -> list[Path]:
    env = os.environ.get("OOTS_TDD_DIR")
    roots: list[Path] = []
    if env:
        roots = [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    else:
        for cand in (PROJECT_ROOT.parent / "shared" / "tdd", Path.cwd().parent / "shared" / "tdd"):
            if cand.is_dir() and cand.resolve() not in [r.resolve() for r in roots]:
                roots.append(cand)
    fetched = CACHE_DIR / "tdd"
    if fetched.is_dir():
        roots.extend(sorted(p for p in fetched.iterdir() if (p / "OOTS-EDM").is_dir()))
    return roots


def _version_from_name(name: str) -> str | None:
    m = re.search(r"v?(\d+)\.(\d+)", name)
    return f"v{m.group(1)}.{m.group(2)}" if m else None


def _first(paths) -> Path | None:
    return next(iter(sorted(paths)), None)


def _index_common_xsd(repo: TddRepository, base: Path) -> None:
    rim = _first(base.rglob("rim.xsd"))
    if rim and repo.regrep_xsd_dir is None:
        repo.regrep_xsd_dir = rim.parent
    xml = _first(base.rglob("xml.xsd"))
    if xml and repo.w3c_xsd_dir is None:
        repo.w3c_xsd_dir = xml.parent
    ebms = _first(base.rglob("ebms-header-3_0-200704*.xsd"))
    if ebms and repo.ebms_xsd_dir is None:
        repo.ebms_xsd_dir = ebms.parent


def _load_official(repo: TddRepository, root: Path) -> None:
    edm = root / "OOTS-EDM"
    _index_common_xsd(repo, edm / "xsd")
    sdg = _first((edm / "xsd").rglob("SDG-GenericMetadataProfile*.xsd"))
    version = None
    vfile = root / ".tdd-version"
    if vfile.exists():
        version = _version_from_name(vfile.read_text().strip())
    if version is None and sdg is not None:
        version = _version_from_name(sdg.name)
    if version is None:
        version = _version_from_name(root.name) or "unknown"
    rs = RuleSet(version, f"official tdd_chapters ({root.name})", root, sdg_xsd=sdg,
                 schematron=sorted((edm / "sch").glob("*.sch")),
                 codelists=sorted((edm / "codelists").rglob("*.gc")))
    repo.rulesets.setdefault(version, rs)
    repo.samples.extend(sorted((edm / "xml").rglob("*.xml")))


def _load_shared(repo: TddRepository, root: Path) -> None:
    _index_common_xsd(repo, root)
    for folder in sorted(root.glob("edm-v*")):
        if not folder.is_dir():
            continue
        repo.samples.extend(sorted((folder / "xml").rglob("*.xml")))
        sdg = _first((folder / "xsd").rglob("SDG-GenericMetadataProfile*.xsd"))
        sch = sorted((folder / "sch").glob("*.sch"))
        gcs = sorted(folder.rglob("*.gc"))
        if not (sdg or sch or gcs):
            continue  # samples only: no rule set
        version = _DECLARED_VERSION.get(folder.name) or _version_from_name(folder.name) or folder.name
        xslt = {p.stem: p for p in (folder / "xslt").glob("*.xsl*")}
        repo.rulesets.setdefault(version, RuleSet(version, f"shared/tdd/{folder.name}", folder,
                                                  sdg_xsd=sdg, schematron=sch,
                                                  precompiled_xslt=xslt, codelists=gcs))


def load(roots: list[Path] | None = None) -> TddRepository:
    """Index the TDD artefacts under ``roots`` (default: :func:`default_roots`)."""
    roots = default_roots() if roots is None else roots
    roots = [r for r in roots if r.is_dir()]
    if not roots:
        raise TddNotFound("no OOTS TDD artefacts found: set OOTS_TDD_DIR to a tdd_chapters checkout or the "
                          "shared/tdd corpus, or run `oots-harness fetch-tdd --version 2.0.1`")
    repo = TddRepository(roots=roots)
    for root in roots:
        if (root / "OOTS-EDM").is_dir():
            _load_official(repo, root)
        else:
            _load_shared(repo, root)
    return repo


@lru_cache(maxsize=4)
def _cached(key: tuple[str, ...]) -> TddRepository:
    return load([Path(k) for k in key])


def get_repository() -> TddRepository:
    """The process-wide repository for the default roots (cached)."""
    roots = default_roots()
    if not roots:
        raise TddNotFound("no OOTS TDD artefacts found: set OOTS_TDD_DIR to a tdd_chapters checkout or the "
                          "shared/tdd corpus, or run `oots-harness fetch-tdd --version 2.0.1`")
    return _cached(tuple(str(r) for r in roots))
