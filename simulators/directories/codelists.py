"""Genericode (OASIS CodeList 1.0) documents served by the mock for the Semantic Repository role.

``GET /codelists/<Name>.gc`` (see :mod:`.service`) serves one ``gc:CodeList`` per name of :data:`LIST_NAMES`.
**These are harness-generated lists, not the official OOTS code lists** (the corpus has none to copy): every
value comes from the world file (via the :class:`~.catalogue.Catalogue`) or from the harness's own tables, so a
scenario's messages and the lists it can look up always agree. Each document says so in
``Annotation/Description``, its ``Identification/Agency`` is the harness and its ``CanonicalUri`` is a
``urn:oots-harness:codelist:`` URN (never the official ``code.europa.eu`` one). Shapes read by
:func:`conformance.rules.codelists.load_codelist`: ``Identification/ShortName``, ``ColumnSet`` with a ``Key``,
``SimpleCodeList/Row/Value[@ColumnRef]/SimpleValue``.

=========================  ==========================================================================
``Procedures``             procedure codes of the world (``code``, ``name-<LANG>`` from the titles)
``OOTS_Country``           countries of the world (``code``; jurisdictions, publishers' addresses)
``EvidenceTypeClassifications``  the catalogue's SR evidence type classification URIs (``code``,
                           ``country``, ``title-<LANG>``); the real SR holds them as resources, not a list
``LevelsOfAssurance``      levels used by the world's data services (``code``)
``LanguageCode``           languages of the world's texts and distributions (``code``)
``OOTSMediaTypes``         distribution formats of the world (``code``)
``EBErrorCodes``           EB:ERR codes the mock can answer (``code``, ``type``), the harness table
``DSDErrorCodes``          DSD:ERR codes the mock can answer (``code``, ``type``), the harness table
``EDMErrorCodes``          the harness EDM error table (``code``, ``type``, ``name``)
``ErrorSeverity``          the ``rs:Exception/@severity`` values the mock writes (``code``)
=========================  ==========================================================================
"""
from __future__ import annotations

import hashlib

from lxml import etree

from conformance.rules.checks.common_services import DSD_CODES, EB_CODES
from conformance.rules.codelists import GC_NS
from simulators.edm.model import ERROR_CODES

from .answers import SEV_ADDITIONAL_INPUT, SEV_ERROR
from .catalogue import Catalogue

AGENCY = "oots-harness (generated from the world file; not an official OOTS code list)"
URN = "urn:oots-harness:codelist:"
GENERATED_NOTE = ("Harness-generated code list for the mock Semantic Repository: values are taken from the "
                  "harness world file and tables, NOT copied from the official OOTS code lists.")
MEDIA_TYPE = "application/xml"

Rows = list[dict[str, str]]


def _langs(texts) -> dict[str, str]:
    return {t.lang: t.value for t in texts if t.lang}


def _table(rows: list[dict[str, str]], key: str = "code") -> tuple[list[str], Rows]:
    cols = [key] + sorted({c for r in rows for c in r} - {key})
    seen: dict[str, dict[str, str]] = {}
    for r in rows:
        seen.setdefault(r[key], {}).update(r)
    return cols, [seen[k] for k in sorted(seen)]


def _procedures(cat: Catalogue):
    return _table([{"code": p.code, **{f"name-{lang}": v for lang, v in _langs(p.titles).items()}}
                   for p in cat.procedures])


def _countries(cat: Catalogue):
    found = set(cat.countries)
    for d in cat.data_services:
        for a in d.access_services:
            if a.publisher.address and a.publisher.address.admin_unit_level1:
                found.add(a.publisher.address.admin_unit_level1)
    return _table([{"code": c} for c in found])


def _classifications(cat: Catalogue):
    rows = []
    for d in cat.data_services:
        et = d.evidence_type
        rows.append({"code": et.evidence_type_classification, **({"country": d.jurisdiction} if d.jurisdiction else {}),
                     **{f"title-{lang}": v for lang, v in _langs(et.titles).items()}})
    return _table(rows)


def _loa(cat: Catalogue):
    return _table([{"code": d.loa} for d in cat.data_services if d.loa])


def _languages(cat: Catalogue):
    langs: set[str] = set()
    for p in cat.procedures:
        langs |= set(_langs(p.titles)) | set(_langs(p.descriptions))
    for r in cat.requirements.values():
        langs |= set(_langs(r.names)) | set(_langs(r.descriptions))
    for lst in cat.evidence_type_lists:
        langs |= set(_langs(lst.names))
    for d in cat.data_services:
        et = d.evidence_type
        langs |= set(_langs(et.titles)) | set(_langs(et.descriptions))
        for da in et.distributed_as:
            langs |= set(da.languages)
        for a in d.access_services:
            langs |= {x for x in (a.name.lang if a.name else None, a.publisher.name.lang) if x}
            langs |= set(_langs(a.publisher_descriptions))
        for c in d.concepts:
            langs |= set(_langs(c.descriptions))
    return _table([{"code": x} for x in langs])


def _formats(cat: Catalogue):
    return _table([{"code": da.format} for d in cat.data_services for da in d.evidence_type.distributed_as])


def _cs_codes(table: dict[str, str]):
    return lambda cat: _table([{"code": c, "type": t} for c, t in table.items()])


def _edm_codes(cat: Catalogue):
    return _table([{"code": e.code, "type": e.local_type, "name": e.message} for e in ERROR_CODES.values()])


def _severities(cat: Catalogue):
    return _table([{"code": SEV_ERROR}, {"code": SEV_ADDITIONAL_INPUT}])


BUILDERS = {
    "Procedures": _procedures,
    "OOTS_Country": _countries,
    "EvidenceTypeClassifications": _classifications,
    "LevelsOfAssurance": _loa,
    "LanguageCode": _languages,
    "OOTSMediaTypes": _formats,
    "EBErrorCodes": _cs_codes(EB_CODES),
    "DSDErrorCodes": _cs_codes(DSD_CODES),
    "EDMErrorCodes": _edm_codes,
    "ErrorSeverity": _severities,
}
LIST_NAMES = tuple(BUILDERS)


def genericode(name: str, columns: list[str], rows: Rows) -> bytes:
    """One ``gc:CodeList`` document (key column first), marked as harness-generated."""
    gc = f"{{{GC_NS}}}"
    root = etree.Element(gc + "CodeList", nsmap={"gc": GC_NS})
    ann = etree.SubElement(root, "Annotation")
    etree.SubElement(ann, "Description").text = GENERATED_NOTE
    ident = etree.SubElement(root, "Identification")
    etree.SubElement(ident, "ShortName").text = name
    etree.SubElement(ident, "LongName").text = f"{name} (harness-generated)"
    digest = hashlib.sha256(repr((columns, rows)).encode()).hexdigest()[:12]
    etree.SubElement(ident, "Version").text = f"harness-{digest}"
    etree.SubElement(ident, "CanonicalUri").text = URN + name
    etree.SubElement(ident, "CanonicalVersionUri").text = f"{URN}{name}:harness-{digest}"
    agency = etree.SubElement(ident, "Agency")
    etree.SubElement(agency, "LongName").text = AGENCY
    cset = etree.SubElement(root, "ColumnSet")
    for c in columns:
        col = etree.SubElement(cset, "Column", Id=c, Use="required" if c == columns[0] else "optional")
        etree.SubElement(col, "ShortName").text = c
        etree.SubElement(col, "Data", Type="string")
    key = etree.SubElement(cset, "Key", Id=f"{columns[0]}Key")
    etree.SubElement(key, "ShortName").text = f"{columns[0]}Key"
    etree.SubElement(key, "ColumnRef", Ref=columns[0])
    scl = etree.SubElement(root, "SimpleCodeList")
    for r in rows:
        row = etree.SubElement(scl, "Row")
        for c in columns:
            if c in r:
                v = etree.SubElement(row, "Value", ColumnRef=c)
                etree.SubElement(v, "SimpleValue").text = r[c]
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def codelist(catalogue: Catalogue, name: str) -> bytes:
    """The Genericode document ``name`` (one of :data:`LIST_NAMES`, ``-CodeList`` suffix tolerated)."""
    name = name.removesuffix("-CodeList")
    if name not in BUILDERS:
        raise KeyError(name)
    cols, rows = BUILDERS[name](catalogue)
    return genericode(name, cols, rows)
