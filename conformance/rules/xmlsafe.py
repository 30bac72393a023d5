"""Hardened XML parsing: no DTDs, no entities, no network, bounded size and depth.

Every problem becomes a :class:`Finding` (ids ``XML-001``..``XML-004``); nothing here raises on bad input.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

from lxml import etree

from .findings import Finding, Severity, Source

DEFAULT_MAX_BYTES = 20 * 1024 * 1024

_PARSER_OPTS = dict(
    resolve_entities=False,
    load_dtd=False,
    dtd_validation=False,
    no_network=True,
    huge_tree=False,  # keeps libxml2's depth (256) and text-node limits
    remove_comments=False,
    collect_ids=False,
)


def make_parser() -> etree.XMLParser:
    """A parser that never fetches, never expands entities and refuses huge trees."""
    return etree.XMLParser(**_PARSER_OPTS)


class _ThreadParsers(threading.local):
    def __init__(self) -> None:
        self.parser = make_parser()


_parsers = _ThreadParsers()


def shared_parser() -> etree.XMLParser:
    """The calling thread's hardened parser (lxml parsers must not be shared between threads)."""
    return _parsers.parser


@dataclass
class ParsedDocument:
    """A parsed message, or the findings that say why it could not be parsed."""

    root: etree._Element | None
    findings: list[Finding] = field(default_factory=list)
    encoding: str | None = None
    size: int = 0

    @property
    def ok(self) -> bool:
        return self.root is not None


class UnsafeXmlError(ValueError):
    """Raised by :func:`parse_strict` when a document is not acceptable."""

    def __init__(self, findings: list[Finding]):
        super().__init__("; ".join(f.message for f in findings))
        self.findings = findings


def _fatal(fid: str, message: str, expected: str | None = None, actual: str | None = None) -> Finding:
    return Finding(fid, Severity.FATAL, message, Source.PARSER, "/", expected, actual)


_ROOT_START = re.compile(r"<[A-Za-z_]")


def _has_doctype(data: bytes) -> bool:
    """True when a ``<!DOCTYPE`` appears in the prolog (before the root element), in any encoding."""
    head = data[:65536]
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(head) > 1 and 0 in head[:2]):
        for codec in ("utf-16", "utf-16-le", "utf-16-be"):
            try:
                text = head.decode(codec, errors="ignore")
                break
            except UnicodeError:
                continue
    else:
        text = head.decode("latin-1")
    i = text.find("<!DOCTYPE")
    if i < 0:
        return False
    m = _ROOT_START.search(text)
    return m is None or i < m.start()


def parse_bytes(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedDocument:
    """Parse ``data`` safely; never raises for bad input."""
    size = len(data)
    if size > max_bytes:
        return ParsedDocument(None, [_fatal("XML-003", "document exceeds the size limit",
                                            f"<= {max_bytes} bytes", f"{size} bytes")], size=size)
    if not data.strip():
        return ParsedDocument(None, [_fatal("XML-001", "document is empty")], size=size)
    if _has_doctype(data):
        return ParsedDocument(None, [_fatal("XML-002", "document type declarations (DTD) are forbidden in OOTS "
                                            "messages", "no <!DOCTYPE>", "<!DOCTYPE ...>")], size=size)
    try:
        root = etree.fromstring(data, _parsers.parser)
    except etree.XMLSyntaxError as exc:
        msg = str(exc.msg if hasattr(exc, "msg") and exc.msg else exc)
        return ParsedDocument(None, [_fatal("XML-001", f"not well-formed XML: {msg}")], size=size)
    except (ValueError, MemoryError, RecursionError) as exc:  # e.g. unsupported encoding
        return ParsedDocument(None, [_fatal("XML-001", f"unreadable XML: {exc}")], size=size)
    if root is None:
        return ParsedDocument(None, [_fatal("XML-001", "no root element")], size=size)
    tree = root.getroottree()
    findings: list[Finding] = []
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        findings.append(_fatal("XML-002", "document type declarations (DTD) are forbidden in OOTS messages",
                               "no <!DOCTYPE>", docinfo.doctype or "<!DOCTYPE ...>"))
        return ParsedDocument(None, findings, encoding=docinfo.encoding, size=size)
    encoding = (docinfo.encoding or "UTF-8").upper()
    if encoding not in ("UTF-8", "UTF8"):
        findings.append(Finding("XML-004", Severity.WARNING, "document is not encoded in UTF-8",
                                Source.PARSER, "/", "UTF-8", encoding))
    for el in root.iter(etree.Entity):
        findings.append(_fatal("XML-002", "entity references are forbidden", "no entity", f"&{el.name};"))
        return ParsedDocument(None, findings, encoding=encoding, size=size)
    return ParsedDocument(root, findings, encoding=encoding, size=size)


def parse_strict(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """Parse or raise :class:`UnsafeXmlError` (for simulators that must refuse bad input)."""
    doc = parse_bytes(data, max_bytes=max_bytes)
    fatal = [f for f in doc.findings if f.severity is Severity.FATAL]
    if doc.root is None or fatal:
        raise UnsafeXmlError(fatal or doc.findings)
    return doc.root
