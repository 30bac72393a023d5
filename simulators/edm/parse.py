"""XML -> model for EDM messages. Namespaces are bound by URI, any prefix is accepted.

Bad input raises :class:`EdmParseError` (a ``ValueError``) naming the location, the official rule id when
one applies (``rule``) and the harness case id (``case``) — what a simulated provider needs to answer
``EDM:ERR:0003`` with ``detail`` = the rule. Parsing uses the hardened parser (no DTD, no entities, size limit).

Strictness follows the declared line: ``v2.0`` / ``v1.2`` messages must have their mandatory slots and
well-formed values; the pre-1.2 samples (``oots-edm:v1.0``, TDD 0.99 content) are read leniently (bare UUID
ids, missing collection types, ``xsi:lang``). Elements the model does not know are ignored.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from lxml import etree

from conformance.rules.ns import NS, locate
from conformance.rules.xmlsafe import UnsafeXmlError, parse_strict
from .model import (ERROR_CODES, V1_2, V2_0, Address, Agent, Association, DataServiceEvidenceType, Distribution,
                    DistributedAs, DocumentKind, EdmMessage, Evidence, EvidenceDocument, EvidencePackage,
                    EvidenceTypeRef, ExceptionResponse, Identifier, LegalPerson, LocalizedText, Person,
                    ProviderClassification, QueryRequest, QueryResponse, Requirement, ResponseStatus,
                    ValidityPeriod, EDM_SCHEME, QUERY_DEFINITION, RETURN_TYPE, STATUS_PREFIX, is_v2, version_of)

__all__ = ["EdmParseError", "parse_message", "parse_request", "parse_response", "parse_exception",
           "parse_datetime", "parse_date"]


class EdmParseError(ValueError):
    """An EDM message that cannot be read: ``location`` (XPath-like), ``rule`` (R-EDM-… or None),
    ``case`` (harness case id or None)."""

    def __init__(self, message: str, location: str = "/", rule: str | None = None, case: str | None = None):
        self.reason = message
        self.location = location
        self.rule = rule
        self.case = case
        tag = ", ".join(x for x in (rule, case) if x)
        super().__init__(f"{message} at {location}" + (f" [{tag}]" if tag else ""))


from .names import (ELEMENT as _ELEMENT, LOCALIZED as _LOCALIZED, Q as _Q, REGISTRY_OBJECT as _REGISTRY_OBJECT,
                    REGISTRY_OBJECT_LIST as _REGISTRY_OBJECT_LIST, RIM as _RIM, RS as _RS, SDG as _SDG,
                    SLOT as _SLOT, SLOT_VALUE as _SLOT_VALUE, VALUE as _VALUE, XLINK as _XLINK,
                    XML_LANG as _XML_LANG, XSI_TYPE as _XSI_TYPE)

# --- lexical forms --------------------------------------------------------------------------------------

_DATETIME_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?$")
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_URN_UUID_RE = re.compile(r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


def parse_datetime(s: str) -> datetime:
    """xsd:dateTime (4-digit years) -> datetime; aware when an offset is given. ``ValueError`` otherwise."""
    m = _DATETIME_RE.match(s)
    if not m:
        raise ValueError(f"not an xsd:dateTime: {s!r}")
    y, mo, d, h, mi, sec = (int(g) for g in m.groups()[:6])
    frac, tz = m.group(7), m.group(8)
    micro = int((frac + "000000")[:6]) if frac else 0
    tzinfo = None
    if tz == "Z":
        tzinfo = timezone.utc
    elif tz:
        hours, minutes = int(tz[1:3]), int(tz[4:6])
        if hours > 14 or minutes > 59:
            raise ValueError(f"bad timezone offset: {tz}")
        delta = timedelta(hours=hours, minutes=minutes)
        tzinfo = timezone(-delta if tz[0] == "-" else delta)
    if h == 24 and mi == 0 and sec == 0 and micro == 0:  # 24:00:00 = start of the next day
        return datetime(y, mo, d, 0, 0, 0, 0, tzinfo) + timedelta(days=1)
    return datetime(y, mo, d, h, mi, sec, micro, tzinfo)


def parse_date(s: str) -> date:
    m = _DATE_RE.match(s)
    if not m:
        raise ValueError(f"not a YYYY-MM-DD date: {s!r}")
    return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))


# --- reading context ------------------------------------------------------------------------------------

def _text(el: etree._Element | None) -> str | None:
    if el is None:
        return None
    t = el.text
    return t.strip() if t else ""


def _lang(el: etree._Element) -> str | None:
    """``lang`` (sdg), ``xml:lang`` (rim) or, tolerated, any other ``…:lang`` (the v1.2 samples' ``xsi:lang``)."""
    v = el.get("lang")
    if v is None:
        v = el.get(_XML_LANG)
    if v is None:
        for k, val in el.attrib.items():
            if k.endswith("}lang"):
                return val
    return v


def _children(el: etree._Element | None) -> list[etree._Element]:
    if el is None:
        return []
    return [c for c in el if isinstance(c.tag, str)]


class _Reader:
    """Holds the message kind and version (strictness) while walking one message."""

    def __init__(self, kind: str, version: str | None):
        self.kind = kind  # REQ | RESP | ERR (rule id infix)
        self.version = version
        self.strict = version in (V2_0, V1_2)

    def fail(self, message: str, el: etree._Element, rule: str | None = None, case: str | None = None):
        raise EdmParseError(message, locate(el), rule, case)

    def rule(self, n: str | None) -> str | None:
        return f"R-EDM-{self.kind}-{n}" if n else None

    # -- slots --
    def slot_map(self, parent: etree._Element) -> dict[str, list[etree._Element]]:
        out: dict[str, list[etree._Element]] = {}
        for c in parent:
            if c.tag == _SLOT:
                out.setdefault(c.get("name") or "", []).append(c)
        return out

    def one(self, slots: dict, name: str, parent, *, required: bool, rule: str | None = None,
            case: str | None = None) -> etree._Element | None:
        found = slots.get(name, [])
        if len(found) > 1:
            self.fail(f"slot {name} appears {len(found)} times", found[1], self.rule(rule), case)
        if not found:
            if required:
                self.fail(f"mandatory slot {name} is missing", parent, self.rule(rule), case)
            return None
        return found[0]

    def slot_value(self, slot: etree._Element, types: tuple[str, ...], rule: str | None = None,
                   case: str | None = None) -> etree._Element:
        sv = next((c for c in slot if c.tag == _SLOT_VALUE), None)
        if sv is None:
            self.fail(f"slot {slot.get('name')} has no rim:SlotValue", slot, self.rule(rule), case)
        t = sv.get(_XSI_TYPE)
        local = t.rsplit(":", 1)[-1] if t else None
        if local not in types and (self.strict or local is not None):
            self.fail(f"slot {slot.get('name')} has value type {t or 'none'}, expected rim:{' | rim:'.join(types)}",
                      sv, self.rule(rule), case)
        return sv

    def value(self, slot: etree._Element, vtype: str, rule: str | None = None, case: str | None = None) -> str:
        sv = self.slot_value(slot, (vtype,), rule, case)
        val = next((c for c in sv if c.tag == _VALUE), None)
        if val is None:
            self.fail(f"slot {slot.get('name')} has no rim:Value", sv, self.rule(rule), case)
        return _text(val)

    def string(self, slot, rule=None, case=None) -> str:
        return self.value(slot, "StringValueType", rule, case)

    def datetime(self, slot, rule=None, case=None) -> datetime:
        v = self.value(slot, "DateTimeValueType", rule, case)
        try:
            return parse_datetime(v)
        except ValueError:
            self.fail(f"slot {slot.get('name')} is not an xsd:dateTime: {v!r}", slot, self.rule(rule), case)

    def boolean(self, slot, rule=None, case=None) -> bool:
        v = self.value(slot, "BooleanValueType", rule, case)
        if v not in _BOOLEANS:
            self.fail(f"slot {slot.get('name')} is not an xsd:boolean: {v!r}", slot, self.rule(rule), case)
        return _BOOLEANS[v]

    def localized(self, slot, rule=None, case=None) -> list[LocalizedText]:
        sv = self.slot_value(slot, ("InternationalStringValueType",), rule, case)
        val = next((c for c in sv if c.tag == _VALUE), None)
        return [LocalizedText(ls.get("value") or "", _lang(ls)) for ls in _children(val)
                if ls.tag == _RIM + "LocalizedString"]

    def any_content(self, slot, local: str, rule=None, case=None) -> etree._Element:
        """The single ``sdg:<local>`` of an AnyValueType slot (a one-element collection is tolerated)."""
        items = self.items(slot, local, rule, case, any_ok=True)
        if len(items) != 1:
            self.fail(f"slot {slot.get('name')} must hold one sdg:{local}", slot, self.rule(rule), case)
        return items[0]

    def items(self, slot, local: str, rule=None, case=None, *, any_ok: bool = False) -> list[etree._Element]:
        """``sdg:<local>`` items of a collection slot (an AnyValueType slot is tolerated)."""
        sv = self.slot_value(slot, ("CollectionValueType", "AnyValueType"), rule, case)
        tag = _SDG + local
        out = [c for c in _children(sv) if c.tag == tag]
        for item in sv:
            if item.tag == _ELEMENT:
                out.extend(c for c in _children(item) if c.tag == tag)
        if not out:
            self.fail(f"slot {slot.get('name')} holds no sdg:{local}", sv, self.rule(rule), case)
        return out

    # -- sdg --
    def req_text(self, el, local: str, case=None, rule=None) -> str:
        c = el.find(_SDG + local)
        if c is None or not _text(c):
            self.fail(f"sdg:{local} is missing or empty", el, self.rule(rule), case)
        return _text(c)

    def date_of(self, el, local: str, case=None, rule=None) -> date:
        c = el.find(_SDG + local)
        try:
            return parse_date(_text(c))
        except (ValueError, TypeError):
            self.fail(f"sdg:{local} is missing or not a YYYY-MM-DD date: {_text(c)!r}", el if c is None else c,
                      self.rule(rule), case)

    def opt_date(self, el, local: str, case=None) -> date | None:
        return None if el.find(_SDG + local) is None else self.date_of(el, local, case)

    def ident(self, el: etree._Element | None) -> Identifier | None:
        return None if el is None else Identifier(_text(el), el.get("schemeID"))

    def address(self, el: etree._Element | None) -> Address | None:
        if el is None:
            return None
        f = {c.tag[len(_SDG):]: _text(c) for c in _children(el) if c.tag.startswith(_SDG)}
        return Address(f.get("FullAddress"), f.get("LocatorDesignator"), f.get("PostCode"), f.get("PostCityName"),
                       f.get("Thoroughfare"), f.get("AdminUnitLevel1"), f.get("AdminUnitLevel2"))

    def agent(self, el: etree._Element, case: str | None = None) -> Agent:
        ident = el.find(_SDG + "Identifier")
        name = el.find(_SDG + "Name")
        if ident is None or not _text(ident):
            self.fail("agent has no sdg:Identifier", el, None, case)
        if name is None or not _text(name):
            self.fail("agent has no sdg:Name", el, None, case)
        cls = el.find(_SDG + "Classification")
        return Agent(self.ident(ident), LocalizedText(_text(name), _lang(name)),
                     self.address(el.find(_SDG + "Address")), _text(cls))

    def ltexts(self, el, local: str) -> list[LocalizedText]:
        tag = _SDG + local
        return [LocalizedText(_text(c), _lang(c)) for c in el if c.tag == tag]

    def texts(self, el, local: str) -> list[str]:
        tag = _SDG + local
        return [_text(c) for c in el if c.tag == tag]

    def person(self, el: etree._Element, case: str = "EDM-REQ-016") -> Person:
        f = {c.tag[len(_SDG):]: c for c in _children(el) if c.tag.startswith(_SDG)}
        g = lambda k: _text(f.get(k))  # noqa: E731
        return Person(
            family_name=self.req_text(el, "FamilyName", case), given_name=self.req_text(el, "GivenName", case),
            date_of_birth=self.date_of(el, "DateOfBirth", case), level_of_assurance=g("LevelOfAssurance"),
            identifier=self.ident(f.get("Identifier")), birth_name=g("BirthName"), place_of_birth=g("PlaceOfBirth"),
            current_address=self.address(f.get("CurrentAddress")), gender=g("Gender"), nationality=g("Nationality"),
            country_of_birth=g("CountryOfBirth"), town_of_birth=g("TownOfBirth"),
            country_of_residence=g("CountryOfResidence"), phone_number=g("PhoneNumber"),
            email_address=g("EmailAddress"))

    def legal_person(self, el: etree._Element, case: str = "EDM-REQ-016") -> LegalPerson:
        return LegalPerson(
            legal_name=self.req_text(el, "LegalName", case),
            legal_person_identifier=self.ident(el.find(_SDG + "LegalPersonIdentifier")),
            level_of_assurance=_text(el.find(_SDG + "LevelOfAssurance")),
            identifiers=[self.ident(c) for c in el if c.tag == _SDG + "Identifier"],
            registered_address=self.address(el.find(_SDG + "RegisteredAddress")))

    def distribution(self, el: etree._Element, cls=Distribution, case: str | None = None):
        fmt = el.find(_SDG + "Format")
        if fmt is None or not _text(fmt):
            self.fail(f"sdg:{etree.QName(el).localname} has no sdg:Format", el, None, case)
        kw = {}
        if cls is DistributedAs:
            kw["associated_document_requests"] = self.texts(el, "AssociatedDocumentRequest")
        return cls(format=_text(fmt), conforms_to=_text(el.find(_SDG + "ConformsTo")),
                   transformation=_text(el.find(_SDG + "Transformation")), languages=self.texts(el, "Language"), **kw)


def _root_of(data: bytes | etree._Element) -> etree._Element:
    if isinstance(data, etree._Element):
        return data
    try:
        return parse_strict(data)
    except UnsafeXmlError as exc:
        ids = ", ".join(sorted({f.id for f in exc.findings})) or None
        raise EdmParseError(f"not a readable XML document: {exc}", "/", None, ids) from None


def _version(root: etree._Element, kind: str, case: str) -> str:
    """The declared EDM version (``v2.0``…); unknown or missing -> EdmParseError (R-EDM-*-C001/C002)."""
    slots = [c for c in root if c.tag == _SLOT and c.get("name") == "SpecificationIdentifier"]
    presence = {"REQ": "R-EDM-REQ-S005", "RESP": "R-EDM-RESP-S009", "ERR": None}[kind]
    content = {"REQ": "R-EDM-REQ-C001", "RESP": "R-EDM-RESP-C002", "ERR": "R-EDM-ERR-C001"}[kind]
    if len(slots) != 1:
        raise EdmParseError(f"{'no' if not slots else 'several'} SpecificationIdentifier slot(s)",
                            locate(slots[1] if slots else root), presence, case)
    val = slots[0].find(f"{_SLOT_VALUE}/{_VALUE}")
    spec = _text(val) or ""
    v = version_of(spec)
    if v is None:
        raise EdmParseError(f"unsupported SpecificationIdentifier {spec!r}", locate(slots[0]), content, case)
    return v


# --- request --------------------------------------------------------------------------------------------

def parse_request(data: bytes | etree._Element) -> QueryRequest:
    """``query:QueryRequest`` -> :class:`QueryRequest`."""
    root = _root_of(data)
    if root.tag != _Q + "QueryRequest":
        raise EdmParseError(f"root element is {_show(root)}, expected query:QueryRequest", locate(root),
                            "R-EDM-REQ-S001", "EDM-REQ-001")
    version = _version(root, "REQ", "EDM-REQ-002")
    r = _Reader("REQ", version)
    rid = root.get("id")
    if rid is None or (r.strict and not _URN_UUID_RE.match(rid)):
        r.fail(f"QueryRequest/@id is not urn:uuid:<UUID>: {rid!r}", root, "R-EDM-REQ-S004", "EDM-REQ-001")
    s = r.slot_map(root)
    issued = r.datetime(r.one(s, "IssueDateTime", root, required=True, rule="S006", case="EDM-REQ-003"),
                        "S021", "EDM-REQ-003")
    procedure = procedure_lang = None
    slot = r.one(s, "Procedure", root, required=False, rule="S007", case="EDM-REQ-023")
    if slot is not None:
        sv = r.slot_value(slot, ("StringValueType", "InternationalStringValueType"), "S022", "EDM-REQ-023")
        if sv.get(_XSI_TYPE, "").endswith("InternationalStringValueType"):
            texts = r.localized(slot, "S022", "EDM-REQ-023")
            if not texts:
                r.fail("Procedure has no LocalizedString", slot, r.rule("S022"), "EDM-REQ-023")
            procedure, procedure_lang = texts[0].value, texts[0].lang
        else:
            procedure = r.string(slot, "S022", "EDM-REQ-023")
    preview = r.one(s, "PreviewLocation", root, required=False, rule="S008", case="EDM-REQ-019")
    ret = r.one(s, "ReturnLocation", root, required=False, rule="S062", case="EDM-REQ-019")
    pfp = r.boolean(r.one(s, "PossibilityForPreview", root, required=True, rule="S009", case="EDM-REQ-004"),
                    "S024", "EDM-REQ-004")
    erg = r.boolean(r.one(s, "ExplicitRequestGiven", root, required=True, rule="S010", case="EDM-REQ-004"),
                    "S025", "EDM-REQ-004")
    requirements = []
    slot = r.one(s, "Requirements", root, required=False, rule="S011", case="EDM-REQ-018")
    if slot is not None:
        for el in r.items(slot, "Requirement", "S026", "EDM-REQ-018"):
            requirements.append(Requirement(r.req_text(el, "Identifier", "EDM-REQ-018", "S037"),
                                            r.ltexts(el, "Name"), r.ltexts(el, "Description")))
    slot = r.one(s, "EvidenceRequester", root, required=True, rule="S012", case="EDM-REQ-005")
    requesters = [r.agent(a, "EDM-REQ-006") for a in r.items(slot, "Agent", "S028", "EDM-REQ-005")]
    slot = r.one(s, "EvidenceProvider", root, required=True, rule="S013", case="EDM-REQ-008")
    provider = r.agent(r.any_content(slot, "Agent", "S030", "EDM-REQ-008"), "EDM-REQ-008")
    classifications = []
    slot = r.one(s, "EvidenceProviderClassification", root, required=False, rule="S014", case="EDM-REQ-022")
    if slot is not None:
        for el in r.items(slot, "EvidenceProviderClassification", "S031", "EDM-REQ-022"):
            ident = el.find(_SDG + "Identifier")
            if ident is None:
                r.fail("EvidenceProviderClassification has no sdg:Identifier", el, None, "EDM-REQ-022")
            classifications.append(ProviderClassification(
                r.ident(ident), _text(el.find(_SDG + "Type")), _text(el.find(_SDG + "ValueExpression")),
                r.ltexts(el, "Description"),
                [_text(v) for sv in el if sv.tag == _SDG + "SupportedValue" for v in _children(sv)]))
    for local, attr, fixed in (("ResponseOption", "returnType", RETURN_TYPE),
                               ("Query", "queryDefinition", QUERY_DEFINITION)):
        found = [c for c in root if c.tag == _Q + local]
        if len(found) != 1:
            r.fail(f"query:{local} must appear once (found {len(found)})", root, None, "EDM-REQ-010")
        if (found[0].get(attr) or "").strip() != fixed:
            r.fail(f"query:{local}/@{attr} must be {fixed}", found[0], None, "EDM-REQ-010")
    query = root.find(_Q + "Query")
    qs = r.slot_map(query)
    natural = legal = representative = None
    subjects = qs.get("NaturalPerson", []) + qs.get("LegalPerson", [])
    if len(subjects) != 1:
        r.fail(f"query:Query must hold exactly one NaturalPerson or LegalPerson (found {len(subjects)})", query,
               "R-EDM-REQ-S016", "EDM-REQ-011")
    if qs.get("NaturalPerson"):
        natural = r.person(r.any_content(qs["NaturalPerson"][0], "Person", "S035", "EDM-REQ-011"))
    else:
        legal = r.legal_person(r.any_content(qs["LegalPerson"][0], "LegalPerson", "S034", "EDM-REQ-011"))
    slot = r.one(qs, "AuthorizedRepresentative", query, required=False, case="EDM-REQ-011")
    if slot is not None:
        representative = r.person(r.any_content(slot, "Person", None, "EDM-REQ-011"))
    slot = r.one(qs, "EvidenceRequest", query, required=True, rule="S015", case="EDM-REQ-012")
    el = r.any_content(slot, "DataServiceEvidenceType", "S033", "EDM-REQ-012")
    dset = DataServiceEvidenceType(
        identifier=r.req_text(el, "Identifier", "EDM-REQ-012"),
        evidence_type_classification=r.req_text(el, "EvidenceTypeClassification", "EDM-REQ-012"),
        titles=r.ltexts(el, "Title"), descriptions=r.ltexts(el, "Description"),
        distributed_as=[r.distribution(d, DistributedAs, "EDM-REQ-014") for d in el
                        if d.tag == _SDG + "DistributedAs"])
    lang = root.get(_XML_LANG)
    if lang is None:
        lang = next((v for k, v in root.attrib.items() if k.endswith("}lang")), None)  # xsi:lang (v1.2 samples)
    return QueryRequest(
        id=rid, issue_datetime=issued, evidence_requester=requesters, evidence_provider=provider,
        evidence_request=dset, natural_person=natural, legal_person=legal, authorized_representative=representative,
        possibility_for_preview=pfp, explicit_request_given=erg, procedure=procedure, procedure_lang=procedure_lang,
        requirements=requirements, evidence_provider_classifications=classifications,
        preview_location=None if preview is None else r.string(preview, "S023", "EDM-REQ-019"),
        return_location=None if ret is None else r.string(ret, None, "EDM-REQ-019"),
        lang=lang, version=version)


def _show(el: etree._Element) -> str:
    qn = etree.QName(el)
    return f"{{{qn.namespace}}}{qn.localname}" if qn.namespace else qn.localname


# --- responses ------------------------------------------------------------------------------------------

def _status(root: etree._Element) -> str | None:
    s = (root.get("status") or "").strip()
    return s[len(STATUS_PREFIX):] if s.startswith(STATUS_PREFIX) else (s or None)


def _response_identifier(root: etree._Element, r: _Reader, s: dict, case: str) -> str:
    """EvidenceResponseIdentifier, shared by responses and exceptions."""
    slot = r.one(s, "EvidenceResponseIdentifier", root, required=True, rule="S010" if r.kind == "RESP" else None,
                 case=case)
    return r.string(slot, None, case)


def parse_response(data: bytes | etree._Element) -> QueryResponse:
    """Success or deferred ``query:QueryResponse`` -> :class:`QueryResponse` (exceptions: ``parse_exception``)."""
    root = _root_of(data)
    if root.tag != _Q + "QueryResponse":
        raise EdmParseError(f"root element is {_show(root)}, expected query:QueryResponse", locate(root),
                            None, "EDM-RESP-002")
    version = _version(root, "RESP", "EDM-RESP-002")
    r = _Reader("RESP", version)
    status = _status(root)
    if status == "Failure" or root.find(_RS + "Exception") is not None:
        r.fail("this is an exception response (status Failure / rs:Exception): use parse_exception", root, None,
               "EDM-RESP-002")
    if status not in ("Success", "Unavailable"):
        r.fail(f"QueryResponse/@status is not Success or Unavailable: {root.get('status')!r}", root, None,
               "EDM-RESP-002")
    rid = root.get("requestId")
    if rid is None or (r.strict and not _URN_UUID_RE.match(rid)):
        r.fail(f"QueryResponse/@requestId is not urn:uuid:<UUID>: {rid!r}", root, None, "EDM-RESP-001")
    s = r.slot_map(root)
    response_id = _response_identifier(root, r, s, "EDM-RESP-002")
    issued = r.datetime(r.one(s, "IssueDateTime", root, required=True, rule="S011", case="EDM-RESP-002"),
                        None, "EDM-RESP-002")
    slot = r.one(s, "ResponseAvailableDateTime", root, required=False, rule="S014", case="EDM-RESP-015")
    available = None if slot is None else r.datetime(slot, "C005", "EDM-RESP-015")
    if r.strict and (available is not None) != (status == "Unavailable"):
        r.fail("ResponseAvailableDateTime must be present exactly when the status is Unavailable", root,
               "R-EDM-RESP-S045", "EDM-RESP-015")
    slot = r.one(s, "EvidenceProvider", root, required=True, rule="S012", case="EDM-RESP-003")
    providers = [r.agent(a, "EDM-RESP-003") for a in r.items(slot, "Agent", None, "EDM-RESP-003")]
    slot = r.one(s, "EvidenceRequester", root, required=True, rule="S013", case="EDM-RESP-004")
    requester = r.agent(r.any_content(slot, "Agent", None, "EDM-RESP-004"), "EDM-RESP-004")
    lists = [c for c in root if c.tag == _REGISTRY_OBJECT_LIST]
    if len(lists) > 1:
        r.fail("QueryResponse holds several rim:RegistryObjectList", lists[1], r.rule("S007"), "EDM-RESP-005")
    packages = _packages(lists[0], r) if lists else []
    if status == "Unavailable" and packages and r.strict:
        r.fail("a deferred response carries documents", lists[0], None, "EDM-RESP-015")
    return QueryResponse(request_id=rid, response_id=response_id, issue_datetime=issued,
                         evidence_provider=providers, evidence_requester=requester, packages=packages,
                         response_available_datetime=available, status=ResponseStatus(status), version=version)


def _otype(obj: etree._Element) -> str | None:
    t = obj.get(_XSI_TYPE)
    return t.rsplit(":", 1)[-1] if t else None


def _packages(lst: etree._Element, r: _Reader) -> list[EvidencePackage]:
    packaged = is_v2(r.version)
    out = []
    for obj in lst:
        if obj.tag != _REGISTRY_OBJECT:
            continue
        t = _otype(obj)
        if t == "RegistryPackageType":
            nested = [c for c in obj if c.tag == _REGISTRY_OBJECT_LIST]
            if len(nested) != 1:
                r.fail("a RegistryPackage must hold exactly one rim:RegistryObjectList", obj, r.rule("S046"),
                       "EDM-RESP-005")
            docs, assocs = [], []
            for o in nested[0]:
                if o.tag != _REGISTRY_OBJECT:
                    continue
                if _otype(o) == "AssociationType":
                    assocs.append(_association(o, r))
                else:
                    docs.append(_document(o, r, classified=True))
            out.append(EvidencePackage(docs, assocs, _id(obj, r)))
        elif packaged and r.strict:
            r.fail(f"v2.0 top-level objects must be RegistryPackages, not {obj.get(_XSI_TYPE)!r}", obj,
                   r.rule("S066"), "EDM-RESP-005")
        else:
            out.append(EvidencePackage([_document(obj, r, classified=packaged)], None, None))
    return out


def _id(obj: etree._Element, r: _Reader) -> str:
    oid = obj.get("id")
    if oid is None or (r.strict and not _URN_UUID_RE.match(oid)):
        r.fail(f"registry object @id is not urn:uuid:<UUID>: {oid!r}", obj, r.rule("S037"), "EDM-RESP-005")
    return oid


def _association(obj: etree._Element, r: _Reader) -> Association:
    for attr, rule in (("type", None), ("sourceObject", "S051"), ("targetObject", "S055")):
        if not obj.get(attr):
            r.fail(f"association has no @{attr}", obj, r.rule(rule), "EDM-RESP-005")
    return Association(obj.get("type"), obj.get("sourceObject"), obj.get("targetObject"), _id(obj, r))


def _document(obj: etree._Element, r: _Reader, *, classified: bool) -> EvidenceDocument:
    oid = _id(obj, r)
    meta = [c for c in obj if c.tag == _SLOT and c.get("name") == "EvidenceMetadata"]
    if len(meta) != 1:
        r.fail("a document object needs exactly one EvidenceMetadata slot", obj, r.rule("S015"), "EDM-RESP-008")
    evidence = _evidence(r.any_content(meta[0], "Evidence", "S015", "EDM-RESP-008"), r)
    kind, cls_id = DocumentKind.MAIN_EVIDENCE, None
    cls = [c for c in obj if c.tag == _RIM + "Classification" and c.get("classificationScheme") == EDM_SCHEME]
    if classified:
        if len(cls) != 1:
            r.fail(f"a v2.0 document needs exactly one EDM classification (found {len(cls)})", obj,
                   r.rule("S048"), "EDM-RESP-006")
        node = cls[0].get("classificationNode")
        try:
            kind = DocumentKind(node)
        except ValueError:
            r.fail(f"unknown EDM classificationNode {node!r}", cls[0], r.rule("S049"), "EDM-RESP-007")
        cls_id = cls[0].get("id")
        if cls_id is None or (r.strict and not _URN_UUID_RE.match(cls_id)):
            r.fail(f"classification @id is not urn:uuid:<UUID>: {cls_id!r}", cls[0], r.rule("S065"), "EDM-RESP-007")
    content_id = title = None
    ref = obj.find(_RIM + "RepositoryItemRef")
    if ref is not None:
        href = (ref.get(_XLINK + "href") or "").strip()
        if not href.startswith("cid:") or len(href) == 4:
            r.fail(f"RepositoryItemRef/@xlink:href is not a cid: reference: {href!r}", ref, r.rule("C042"),
                   "EDM-RESP-010")
        content_id, title = href[4:], ref.get(_XLINK + "title")
    return EvidenceDocument(evidence, content_id, kind, oid, title, cls_id)


def _evidence(el: etree._Element, r: _Reader) -> Evidence:
    ident = r.req_text(el, "Identifier", "EDM-RESP-012")
    about = el.find(_SDG + "IsAbout")
    subject = None
    if about is not None:
        kids = _children(about)
        if len(kids) != 1 or kids[0].tag not in (_SDG + "NaturalPerson", _SDG + "LegalPerson"):
            r.fail("IsAbout must hold one sdg:NaturalPerson or sdg:LegalPerson", about, None, "EDM-RESP-013")
        subject = (r.person(kids[0], "EDM-RESP-013") if kids[0].tag == _SDG + "NaturalPerson"
                   else r.legal_person(kids[0], "EDM-RESP-013"))
    auth = el.find(_SDG + "IssuingAuthority")
    conf = el.find(_SDG + "IsConformantTo")
    dist = el.find(_SDG + "Distribution")
    vp = el.find(_SDG + "ValidityPeriod")
    return Evidence(
        identifier=ident, is_about=subject,
        issuing_authority=None if auth is None else r.agent(auth, "EDM-RESP-008"),
        is_conformant_to=None if conf is None else EvidenceTypeRef(
            r.req_text(conf, "EvidenceTypeClassification", "EDM-RESP-008"), r.ltexts(conf, "Title"),
            r.ltexts(conf, "Description")),
        issuing_date=r.opt_date(el, "IssuingDate", "EDM-RESP-008"),
        distribution=None if dist is None else r.distribution(dist, Distribution, "EDM-RESP-014"),
        validity_period=None if vp is None else ValidityPeriod(r.opt_date(vp, "StartDate", "EDM-RESP-008"),
                                                               r.opt_date(vp, "EndDate", "EDM-RESP-008")))


# --- exception ------------------------------------------------------------------------------------------

def parse_exception(data: bytes | etree._Element) -> ExceptionResponse:
    """Failure ``query:QueryResponse`` with one ``rs:Exception`` -> :class:`ExceptionResponse`."""
    root = _root_of(data)
    if root.tag != _Q + "QueryResponse":
        raise EdmParseError(f"root element is {_show(root)}, expected query:QueryResponse", locate(root),
                            None, "EDM-ERR-001")
    version = _version(root, "ERR", "EDM-ERR-001")
    r = _Reader("ERR", version)
    if r.strict and _status(root) != "Failure":
        r.fail(f"exception response status is not Failure: {root.get('status')!r}", root, None, "EDM-ERR-001")
    excs = [c for c in root if c.tag == _RS + "Exception"]
    if len(excs) != 1:
        r.fail(f"an exception response holds exactly one rs:Exception (found {len(excs)})", root, None,
               "EDM-ERR-002")
    exc = excs[0]
    rid = root.get("requestId")
    if rid is not None and r.strict and not _URN_UUID_RE.match(rid):
        r.fail(f"requestId is not urn:uuid:<UUID>: {rid!r}", root, "R-EDM-ERR-C025", "EDM-ERR-009")
    s = r.slot_map(root)
    response_id = _response_identifier(root, r, s, "EDM-ERR-001")
    slot = r.one(s, "ErrorProvider", root, required=True, case="EDM-ERR-001")
    provider = r.agent(r.any_content(slot, "Agent", None, "EDM-ERR-001"), "EDM-ERR-001")
    slot = r.one(s, "EvidenceRequester", root, required=False, case="EDM-ERR-001")
    requester = None if slot is None else r.agent(r.any_content(slot, "Agent", None, "EDM-ERR-001"), "EDM-ERR-001")
    code = exc.get("code")
    if code is not None and r.strict and code not in ERROR_CODES:
        r.fail(f"unknown EDM error code {code!r}", exc, "R-EDM-ERR-C026", "EDM-ERR-002")
    es = r.slot_map(exc)
    slot = r.one(es, "Timestamp", exc, required=r.strict, case="EDM-ERR-003")
    timestamp = None if slot is None else r.datetime(slot, None, "EDM-ERR-003")
    slot = r.one(es, "PreviewLocation", exc, required=False, case="EDM-PRV-001")
    preview = None if slot is None else r.string(slot, None, "EDM-PRV-001")
    slot = r.one(es, "PreviewDescription", exc, required=False, case="EDM-PRV-001")
    description = [] if slot is None else r.localized(slot, None, "EDM-PRV-001")
    slot = r.one(es, "PreviewMethod", exc, required=False, case="EDM-PRV-002")
    method = None if slot is None else r.string(slot, None, "EDM-PRV-002")
    t = exc.get(_XSI_TYPE)
    return ExceptionResponse(
        response_id=response_id, error_provider=provider, code=code, request_id=rid, evidence_requester=requester,
        timestamp=timestamp, detail=exc.get("detail"), preview_location=preview, preview_description=description,
        preview_method=method, exception_type=t.rsplit(":", 1)[-1] if t else None, message=exc.get("message"),
        severity=exc.get("severity"), version=version)


# --- any ------------------------------------------------------------------------------------------------

def parse_message(data: bytes | etree._Element) -> EdmMessage:
    """Any EDM message: QueryRequest, success/deferred QueryResponse or exception, by root and status."""
    root = _root_of(data)
    if root.tag == _Q + "QueryRequest":
        return parse_request(root)
    if root.tag == _Q + "QueryResponse":
        if _status(root) == "Failure" or root.find(_RS + "Exception") is not None:
            return parse_exception(root)
        return parse_response(root)
    raise EdmParseError(f"root element is {_show(root)}, expected query:QueryRequest or query:QueryResponse",
                        locate(root), None, "EDM-REQ-001")
