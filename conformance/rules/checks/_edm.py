"""Small helpers shared by the EDM single-message checks (request, response, exception).

Everything here is tolerant: odd input gives ``None`` / empty lists / Violations, never an exception.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Iterator

from lxml import etree

from ..findings import Violation
from ..ns import NS, XSI_TYPE, local_type, locate, q, slots

# --- versions -------------------------------------------------------------------------------------------

SUPPORTED = frozenset({"v1.2", "v2.0"})
#: declared by real or sample messages, but no longer served by the current TDD line
LEGACY = frozenset({"v1.0", "v1.1"})
KNOWN = SUPPORTED | LEGACY
#: what both supported lines share; ``None`` = version not declared (the missing slot is reported by the
#: SpecificationIdentifier checks, the shared rules still apply)
COMMON = ("v1.2", "v2.0", None)
ALL_EDM = ("request", "response", "exception")

SPEC_ID_RE = re.compile(r"^oots-edm:v(\d+)\.(\d+)$")

# --- fixed values ---------------------------------------------------------------------------------------

STATUS_PREFIX = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:"
EDM_SCHEME = "urn:fdc:oots:classification:edm"
CLASSIFICATION_NODES = ("MainEvidence", "Annex", "HumanReadableVersion", "Translation")
LOA = ("Low", "Substantial", "High")
SEV_ERROR = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"
SEV_PREVIEW = "urn:sr.oots.tech.ec.europa.eu:codes:ErrorSeverity:EDMErrorResponse:PreviewRequired"

#: EDMErrorCodes: code -> (local xsi:type, message)
EDM_ERRORS = {
    "EDM:ERR:0001": ("AuthenticationExceptionType", "Failed Authentication"),
    "EDM:ERR:0002": ("AuthorizationExceptionType", "Missing Authorization"),
    "EDM:ERR:0003": ("InvalidRequestExceptionType", "Syntactically or semantically invalid request"),
    "EDM:ERR:0004": ("ObjectNotFoundExceptionType", "Object not found"),
    "EDM:ERR:0005": ("TimeoutExceptionType", "Exceeding timeout period"),
    "EDM:ERR:0006": ("UnresolvedReferenceExceptionType", "Referenced object that cannot be resolved"),
    "EDM:ERR:0007": ("UnsupportedCapabilityExceptionType", "Optional feature or capability is not supported"),
    "EDM:ERR:0008": ("QueryExceptionType", "Invalid query syntax or semantics that must be corrected"),
}

# --- lexical forms --------------------------------------------------------------------------------------

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
URN_UUID_RE = re.compile(r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_DATETIME_RE = re.compile(r"^-?(\d{4,})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
BOOLEANS = ("true", "false", "1", "0")


def is_uuid(s: str | None) -> bool:
    return bool(s) and bool(UUID_RE.match(s.strip()))


def is_urn_uuid(s: str | None) -> bool:
    return bool(s) and bool(URN_UUID_RE.match(s.strip()))


def is_datetime(s: str | None) -> bool:
    """xsd:dateTime lexical form with real calendar values (24:00:00 accepted, as XSD does)."""
    m = _DATETIME_RE.match((s or "").strip())
    if not m:
        return False
    y, mo, d, h, mi, sec = (int(g) for g in m.groups()[:6])
    if h == 24:
        if mi or sec or (m.group(7) and float(m.group(7)) != 0):
            return False
        h = 0
    try:
        datetime(max(y, 1), mo, d, h, mi, sec)
    except ValueError:
        return False
    tz = m.group(8)
    return not tz or tz == "Z" or (int(tz[1:3]) <= 14 and int(tz[4:6]) < 60)


def is_date(s: str | None) -> bool:
    """``YYYY-MM-DD`` with a real calendar date."""
    m = _DATE_RE.match((s or "").strip())
    if not m:
        return False
    try:
        date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return False
    return True


def is_https(s: str | None) -> bool:
    s = (s or "").strip()
    return s.lower().startswith("https://") and len(s) > len("https://")


def short(s: str | None, n: int = 80) -> str | None:
    """Value for an ``actual`` field: stripped, whitespace collapsed, cut."""
    if s is None:
        return None
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 1] + "…"


# --- tree navigation ------------------------------------------------------------------------------------

def elements(el: etree._Element | None) -> list[etree._Element]:
    """Element children only (no comments, no processing instructions)."""
    if el is None:
        return []
    return [c for c in el if isinstance(c.tag, str)]


def kids(el: etree._Element | None, prefix: str, local: str) -> list[etree._Element]:
    """Direct children ``prefix:local``."""
    tag = q(prefix, local)
    return [c for c in elements(el) if c.tag == tag]


def kid(el: etree._Element | None, prefix: str, local: str) -> etree._Element | None:
    found = kids(el, prefix, local)
    return found[0] if found else None


def sdg(el: etree._Element | None, local: str) -> list[etree._Element]:
    return kids(el, "sdg", local)


def txt(el: etree._Element | None) -> str:
    """Stripped text of ``el`` ('' when absent)."""
    if el is None or not isinstance(el.text, str):
        return ""
    return el.text.strip()


def qname(el: etree._Element) -> str:
    """``rim:Slot`` style name for messages."""
    if not isinstance(el.tag, str):
        return "?"
    qn = etree.QName(el)
    prefix = {v: k for k, v in NS.items()}.get(qn.namespace or "", qn.namespace or "")
    return f"{prefix}:{qn.localname}" if prefix else qn.localname


def status(root: etree._Element) -> str | None:
    """Local part of ``@status`` (``Success``), or None."""
    s = (root.get("status") or "").strip()
    return s.rsplit(":", 1)[-1] if s else None


# --- slots ----------------------------------------------------------------------------------------------

def slot_value(slot: etree._Element | None) -> etree._Element | None:
    return kid(slot, "rim", "SlotValue")


def value_type(slot: etree._Element | None) -> str | None:
    """Local part of the ``xsi:type`` of the slot's ``rim:SlotValue``."""
    v = slot_value(slot)
    return local_type(v) if v is not None else None


def value_text(slot: etree._Element | None) -> str | None:
    """Stripped text of ``rim:SlotValue/rim:Value`` (None when there is no such element)."""
    val = kid(slot_value(slot), "rim", "Value")
    return None if val is None else txt(val)


def one_slot(parent: etree._Element, name: str, where: str = "") -> tuple[etree._Element | None, list[Violation]]:
    """The single slot ``name`` under ``parent``, or a Violation for 0 or >1."""
    found = slots(parent, name)
    if len(found) == 1:
        return found[0], []
    where = where or qname(parent)
    if not found:
        return None, [Violation(f"slot {name} is missing in {where}", locate(parent),
                                expected=f"exactly one rim:Slot[@name='{name}']", actual="none")]
    return None, [Violation(f"slot {name} appears {len(found)} times in {where}", locate(found[1]),
                            expected=f"exactly one rim:Slot[@name='{name}']", actual=f"{len(found)}")]


def type_is(slot: etree._Element, expected: str) -> list[Violation]:
    """Violation when the slot's SlotValue is missing or not ``rim:<expected>``."""
    v = slot_value(slot)
    if v is None:
        return [Violation(f"slot {slot.get('name')} has no rim:SlotValue", locate(slot),
                          expected=f"rim:SlotValue xsi:type=rim:{expected}", actual="none")]
    actual = local_type(v)
    if actual != expected:
        return [Violation(f"slot {slot.get('name')} has the wrong value type", locate(v),
                          expected=f"rim:{expected}", actual=v.get(XSI_TYPE))]
    return []


def any_content(slot: etree._Element | None) -> list[etree._Element]:
    """Element content of an AnyValueType SlotValue (or of a collection ``rim:Element``)."""
    return elements(slot_value(slot))


def collection(slot: etree._Element | None) -> list[etree._Element]:
    """The ``rim:Element`` items of a collection slot."""
    return kids(slot_value(slot), "rim", "Element")


def check_collection_of(slot: etree._Element, sdg_local: str, *, set_type: bool = True
                        ) -> Iterator[Violation]:
    """A Set collection of AnyValueType ``rim:Element`` s, each holding exactly one ``sdg:<sdg_local>``."""
    yield from type_is(slot, "CollectionValueType")
    sv = slot_value(slot)
    if sv is None:
        return
    ctype = sv.get("collectionType")
    if set_type and local_type(sv) == "CollectionValueType" and \
            ctype != "urn:oasis:names:tc:ebxml-regrep:CollectionType:Set":
        yield Violation(f"slot {slot.get('name')} must be a Set collection", locate(sv),
                        expected="collectionType=urn:oasis:names:tc:ebxml-regrep:CollectionType:Set",
                        actual=ctype)
    items = collection(slot)
    if not items:
        yield Violation(f"slot {slot.get('name')} has no rim:Element", locate(sv),
                        expected=f"at least one rim:Element holding sdg:{sdg_local}", actual="none")
    for item in items:
        if local_type(item) != "AnyValueType":
            yield Violation(f"rim:Element of slot {slot.get('name')} has the wrong type", locate(item),
                            expected="xsi:type=rim:AnyValueType", actual=item.get(XSI_TYPE))
        content = elements(item)
        if len(content) != 1 or content[0].tag != q("sdg", sdg_local):
            yield Violation(f"rim:Element of slot {slot.get('name')} must hold one sdg:{sdg_local}",
                            locate(item), expected=f"one sdg:{sdg_local}",
                            actual=", ".join(qname(c) for c in content) or "empty")


def check_any_of(slot: etree._Element, sdg_local: str) -> Iterator[Violation]:
    """An AnyValueType SlotValue holding exactly one ``sdg:<sdg_local>``."""
    yield from type_is(slot, "AnyValueType")
    sv = slot_value(slot)
    if sv is None:
        return
    content = elements(sv)
    if len(content) != 1 or content[0].tag != q("sdg", sdg_local):
        yield Violation(f"slot {slot.get('name')} must hold one sdg:{sdg_local}", locate(sv),
                        expected=f"one sdg:{sdg_local}", actual=", ".join(qname(c) for c in content) or "empty")


def items_of(slot: etree._Element | None, sdg_local: str) -> list[etree._Element]:
    """All ``sdg:<sdg_local>`` held by a slot, whether Any or a collection of Any (tolerant reading)."""
    sv = slot_value(slot)
    if sv is None:
        return []
    out = [c for c in elements(sv) if c.tag == q("sdg", sdg_local)]
    for item in kids(sv, "rim", "Element"):
        out.extend(c for c in elements(item) if c.tag == q("sdg", sdg_local))
    return out


# --- SpecificationIdentifier ----------------------------------------------------------------------------

def check_spec_identifier(root: etree._Element) -> Iterator[Violation]:
    """Exactly one SpecificationIdentifier (StringValueType) whose value is a known ``oots-edm:vX.Y``."""
    slot, problems = one_slot(root, "SpecificationIdentifier")
    yield from problems
    if slot is None:
        return
    yield from type_is(slot, "StringValueType")
    value = value_text(slot)
    m = SPEC_ID_RE.match(value or "")
    if not m:
        yield Violation("SpecificationIdentifier is not an EDM version identifier", locate(slot),
                        expected="oots-edm:v2.0 (or oots-edm:v1.2)", actual=short(value))
    elif f"v{m.group(1)}.{m.group(2)}" not in KNOWN:
        yield Violation("SpecificationIdentifier names an unknown EDM version", locate(slot),
                        expected="oots-edm:v2.0 (or oots-edm:v1.2)", actual=value)


# --- agents ---------------------------------------------------------------------------------------------

def check_agent_id_name(agent: etree._Element, what: str, *, name_lang: bool = False) -> Iterator[Violation]:
    """``sdg:Identifier@schemeID`` and ``sdg:Name`` (optionally with ``@lang``), non-empty."""
    ident = sdg(agent, "Identifier")
    if not ident or not txt(ident[0]):
        yield Violation(f"{what} agent has no sdg:Identifier", locate(agent),
                        expected="sdg:Identifier with a value", actual="none")
    elif not (ident[0].get("schemeID") or "").strip():
        yield Violation(f"{what} agent identifier has no schemeID", locate(ident[0]),
                        expected="sdg:Identifier/@schemeID (EAS or unregistered scheme)", actual="none")
    names = sdg(agent, "Name")
    if not names or not txt(names[0]):
        yield Violation(f"{what} agent has no sdg:Name", locate(agent),
                        expected="sdg:Name with a value", actual="none")
    elif name_lang and not any((n.get("lang") or "").strip() for n in names):
        yield Violation(f"{what} agent name has no lang attribute", locate(names[0]),
                        expected="sdg:Name/@lang", actual="none")


def classifications(agent: etree._Element) -> list[str]:
    return [txt(c) for c in sdg(agent, "Classification")]


# --- response objects -----------------------------------------------------------------------------------

def top_list(root: etree._Element) -> etree._Element | None:
    return kid(root, "rim", "RegistryObjectList")


def all_objects(root: etree._Element) -> list[etree._Element]:
    """Every ``rim:RegistryObject`` under the top-level list (any depth)."""
    lst = top_list(root)
    if lst is None:
        return []
    return [o for o in lst.iter(q("rim", "RegistryObject"))]


def is_package(obj: etree._Element) -> bool:
    return local_type(obj) == "RegistryPackageType"


def is_association(obj: etree._Element) -> bool:
    return local_type(obj) == "AssociationType"


def document_objects(root: etree._Element) -> list[etree._Element]:
    """The objects that stand for a document (ExtrinsicObjects: neither a package nor an association)."""
    return [o for o in all_objects(root) if not is_package(o) and not is_association(o)]


def edm_classifications(obj: etree._Element) -> list[etree._Element]:
    return [c for c in kids(obj, "rim", "Classification") if c.get("classificationScheme") == EDM_SCHEME]


def edm_node(obj: etree._Element) -> str | None:
    cls = edm_classifications(obj)
    return (cls[0].get("classificationNode") or "").strip() if cls else None


def is_main(obj: etree._Element, version: str | None) -> bool:
    """MainEvidence? v1.2 has no classification: every document is main. v2.0: the EDM node says."""
    if version == "v1.2":
        return True
    node = edm_node(obj)
    if version == "v2.0":
        return node == "MainEvidence"
    return node in (None, "MainEvidence")


def evidence_of(obj: etree._Element) -> etree._Element | None:
    """``sdg:Evidence`` of the object's EvidenceMetadata slot."""
    for s in slots(obj, "EvidenceMetadata"):
        for e in items_of(s, "Evidence"):
            return e
    return None


def header_parts(header: etree._Element | None) -> dict[str, str | None] | None:
    """``{href: MimeType}`` of the ebMS ``PartInfo`` s of the header (Messaging or a SOAP envelope), or None."""
    if header is None or not isinstance(header.tag, str):
        return None
    um = header.xpath("descendant-or-self::eb:UserMessage", namespaces=NS)
    if not um:
        return None
    out: dict[str, str | None] = {}
    for pi in um[0].xpath("./eb:PayloadInfo/eb:PartInfo", namespaces=NS):
        mime = pi.xpath("./eb:PartProperties/eb:Property[@name='MimeType']", namespaces=NS)
        out[(pi.get("href") or "").strip()] = txt(mime[0]) if mime else None
    return out
