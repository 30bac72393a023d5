"""XSD layer: RegRep 4 (+ the SDG profile of the message's rule set) and the ebMS3 header schema.

Schemas are compiled once per process from the TDD artefacts through a generated wrapper schema that
imports every namespace from local files (the OASIS schemas leave some ``schemaLocation`` s out).
"""
from __future__ import annotations

import re
import threading
from pathlib import Path

from lxml import etree

from .detect import Detection
from .findings import Finding, Severity, Source
from .ns import NS, PREFIX, locate, q
from .tdd import RuleSet, TddRepository

REGREP_KINDS = {"request", "response", "exception", "eb-response", "dsd-response", "lcm"}
EBMS_KINDS = {"ebms-header"}


_CLARK = re.compile(r"\{([^}]*)\}")


def _readable(msg: str) -> str:
    """``Element '{urn:...query:4.0}QueryRequest'`` -> ``Element 'query:QueryRequest'``."""
    return _CLARK.sub(lambda m: (PREFIX.get(m.group(1), m.group(1)) + ":") if m.group(1) else "", msg)


class XsdUnavailable(RuntimeError):
    """The schemas needed for a kind are not in the loaded TDD artefacts."""


def _wrapper(imports: list[tuple[str, Path]]) -> bytes:
    xs = "http://www.w3.org/2001/XMLSchema"
    root = etree.Element(f"{{{xs}}}schema", nsmap={"xs": xs},
                         targetNamespace="urn:oots-harness:xsd-wrapper", elementFormDefault="qualified")
    for ns, path in imports:
        etree.SubElement(root, f"{{{xs}}}import", namespace=ns, schemaLocation=path.resolve().as_uri())
    return etree.tostring(root)


class XsdLayer:
    """Validates messages against the XSDs found in a :class:`TddRepository`."""

    def __init__(self, repo: TddRepository):
        self.repo = repo
        self._schemas: dict[tuple, etree.XMLSchema] = {}
        self._lock = threading.Lock()

    def _w3c(self) -> list[tuple[str, Path]]:
        d = self.repo.w3c_xsd_dir
        if d is None:
            return []
        out = [(NS["xml"], d / "xml.xsd")]
        if (d / "xlink.xsd").exists():
            out.append((NS["xlink"], d / "xlink.xsd"))
        if (d / "ws-addr.xsd").exists():
            out.append(("http://www.w3.org/2005/08/addressing", d / "ws-addr.xsd"))
        return out

    def schema_for(self, kind: str, ruleset: RuleSet | None) -> tuple[etree.XMLSchema, str]:
        """The compiled schema for a kind (and the rule set's SDG profile), with a label for reports."""
        sdg = ruleset.sdg_xsd if ruleset is not None and kind in REGREP_KINDS else None
        key = (kind in EBMS_KINDS, str(sdg) if sdg else None)
        with self._lock:
            if key not in self._schemas:
                self._schemas[key] = self._compile(kind, sdg)
        label = "ebMS3 header XSD" if kind in EBMS_KINDS else \
            "RegRep 4 XSD" + (f" + {sdg.name}" if sdg else " (SDG content not schema-checked: no profile XSD)")
        return self._schemas[key], label

    def _compile(self, kind: str, sdg: Path | None) -> etree.XMLSchema:
        if kind in EBMS_KINDS:
            d = self.repo.ebms_xsd_dir
            if d is None:
                raise XsdUnavailable("ebMS3 header XSD not found in the TDD artefacts")
            main = sorted(d.glob("ebms-header-3_0-200704*.xsd"))[0]
            imports = self._w3c() + [(NS["eb"], main)]
        else:
            d = self.repo.regrep_xsd_dir
            if d is None:
                raise XsdUnavailable("RegRep 4 XSD (rim.xsd...) not found in the TDD artefacts")
            imports = self._w3c() + [(NS["rim"], d / "rim.xsd"), (NS["rs"], d / "rs.xsd"),
                                     (NS["query"], d / "query.xsd"), (NS["lcm"], d / "lcm.xsd")]
            if sdg is not None:
                imports.append((NS["sdg"], sdg))
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        doc = etree.fromstring(_wrapper(imports), parser, base_url=str(d.resolve()) + "/")
        return etree.XMLSchema(doc)

    def validate(self, root: etree._Element, detection: Detection, ruleset: RuleSet | None) -> list[Finding]:
        kind = detection.kind
        target = root
        if kind in EBMS_KINDS and root.tag != q("eb", "Messaging"):
            found = root.find(f".//{q('eb', 'Messaging')}")
            if found is None:
                return []
            target = found
        try:
            schema, label = self.schema_for(kind, ruleset)
        except (XsdUnavailable, etree.XMLSchemaParseError, OSError) as exc:
            return [Finding("TDD-003", Severity.CAUTION, f"XSD layer skipped: {exc}", Source.XSD)]
        if schema.validate(target):
            return []
        out = []
        for e in schema.error_log:
            loc = e.path or f"line {e.line}"
            out.append(Finding("XSD", Severity.FATAL, _readable(e.message), Source.XSD, loc, ref=label))
        if target is not root:
            prefix = locate(target)
            out = [Finding(f.id, f.severity, f.message, f.source, prefix + f.location.removeprefix("/*"), ref=f.ref)
                   if f.location.startswith("/") else f for f in out]
        return out

    def handles(self, kind: str) -> bool:
        return kind in REGREP_KINDS or kind in EBMS_KINDS
