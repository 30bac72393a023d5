"""Model -> XML for EDM messages (v2.0 and v1.x shapes, chosen by each message's ``version``).

The builders write what the model says (a wrong model gives a wrong message, on purpose: negative tests need
that); the model's defaults give conformant messages. ``to_bytes(msg)`` is the usual entry point.
"""
from __future__ import annotations

from datetime import date, datetime

from lxml import etree

from conformance.rules.ns import NS
from .model import (EDM_SCHEME, QUERY_DEFINITION, RETURN_TYPE, Address, Agent, DataServiceEvidenceType,
                    Distribution, DistributedAs, DocumentKind, EdmMessage, Evidence, EvidenceDocument, EvidencePackage,
                    ExceptionResponse, Identifier, LegalPerson, LocalizedText, Person, ProviderClassification,
                    QueryRequest, QueryResponse, ResponseStatus, is_v2, spec_identifier)

__all__ = ["to_element", "to_bytes", "build_request", "build_response", "build_exception",
           "format_datetime", "format_date"]

from .names import (ELEMENT as _ELEMENT, LOCALIZED as _LOCALIZED, Q as _Q, REGISTRY_OBJECT as _REGISTRY_OBJECT,
                    REGISTRY_OBJECT_LIST as _REGISTRY_OBJECT_LIST, RIM as _RIM, RS as _RS, SDG as _SDG,
                    SLOT as _SLOT, SLOT_VALUE as _SLOT_VALUE, VALUE as _VALUE, XLINK as _XLINK,
                    XML_LANG as _XML_LANG, XSI_TYPE as _XSI_TYPE)
_SET = "urn:oasis:names:tc:ebxml-regrep:CollectionType:Set"

_NSMAP_REQUEST = {p: NS[p] for p in ("query", "rim", "sdg", "xsi")}
_NSMAP_RESPONSE = {p: NS[p] for p in ("query", "rim", "sdg", "xlink", "xsi")}
_NSMAP_EXCEPTION = {p: NS[p] for p in ("query", "rim", "rs", "sdg", "xsi")}

_Sub = etree.SubElement


# --- lexical forms --------------------------------------------------------------------------------------

def format_datetime(dt: datetime) -> str:
    """xsd:dateTime: ``2026-08-06T10:00:00Z``, milliseconds when present, offset kept (none if naive)."""
    s = f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
    if dt.microsecond:
        s += f".{dt.microsecond // 1000:03d}" if dt.microsecond % 1000 == 0 else f".{dt.microsecond:06d}"
    off = dt.utcoffset()
    if off is None:
        return s
    minutes = int(off.total_seconds()) // 60
    if minutes == 0:
        return s + "Z"
    sign = "+" if minutes > 0 else "-"
    minutes = abs(minutes)
    return f"{s}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def format_date(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}"


# --- rim helpers ----------------------------------------------------------------------------------------

def _slot_value(parent: etree._Element, name: str, vtype: str) -> etree._Element:
    slot = _Sub(parent, _SLOT, name=name)
    sv = _Sub(slot, _SLOT_VALUE)
    sv.set(_XSI_TYPE, "rim:" + vtype)
    return sv


def _str_slot(parent, name: str, value: str, vtype: str = "StringValueType") -> None:
    _Sub(_slot_value(parent, name, vtype), _VALUE).text = value


def _dt_slot(parent, name: str, value: datetime) -> None:
    _str_slot(parent, name, format_datetime(value), "DateTimeValueType")


def _bool_slot(parent, name: str, value: bool) -> None:
    _str_slot(parent, name, "true" if value else "false", "BooleanValueType")


def _any_slot(parent, name: str) -> etree._Element:
    """An AnyValueType slot; returns the SlotValue to put the sdg content in."""
    return _slot_value(parent, name, "AnyValueType")


def _collection_items(parent, name: str, count: int) -> list[etree._Element]:
    """A Set collection of ``count`` AnyValueType elements; returns the ``rim:Element`` s."""
    sv = _slot_value(parent, name, "CollectionValueType")
    sv.set("collectionType", _SET)
    out = []
    for _ in range(count):
        el = _Sub(sv, _ELEMENT)
        el.set(_XSI_TYPE, "rim:AnyValueType")
        out.append(el)
    return out


def _intl_slot(parent, name: str, texts: list[LocalizedText]) -> None:
    value = _Sub(_slot_value(parent, name, "InternationalStringValueType"), _VALUE)
    for t in texts:
        ls = _Sub(value, _LOCALIZED)
        if t.lang is not None:
            ls.set(_XML_LANG, t.lang)
        ls.set("value", t.value)


# --- sdg helpers ----------------------------------------------------------------------------------------

def _text(parent, local: str, value: str | None) -> None:
    if value is not None:
        _Sub(parent, _SDG + local).text = value


def _texts(parent, local: str, values: list[str]) -> None:
    for v in values:
        _Sub(parent, _SDG + local).text = v


def _ltext(parent, local: str, t: LocalizedText | None) -> None:
    if t is not None:
        el = _Sub(parent, _SDG + local)
        if t.lang is not None:
            el.set("lang", t.lang)
        el.text = t.value


def _ltexts(parent, local: str, ts: list[LocalizedText]) -> None:
    for t in ts:
        _ltext(parent, local, t)


def _ident(parent, local: str, ident: Identifier | None) -> None:
    if ident is not None:
        el = _Sub(parent, _SDG + local)
        if ident.scheme_id is not None:
            el.set("schemeID", ident.scheme_id)
        el.text = ident.value


def _address(parent, local: str, a: Address | None) -> None:
    if a is None:
        return
    el = _Sub(parent, _SDG + local)
    _text(el, "FullAddress", a.full_address)
    _text(el, "LocatorDesignator", a.locator_designator)
    _text(el, "PostCode", a.post_code)
    _text(el, "PostCityName", a.post_city_name)
    _text(el, "Thoroughfare", a.thoroughfare)
    _text(el, "AdminUnitLevel1", a.admin_unit_level1)
    _text(el, "AdminUnitLevel2", a.admin_unit_level2)


def _agent(parent, agent: Agent, local: str = "Agent") -> None:
    el = _Sub(parent, _SDG + local)
    _ident(el, "Identifier", agent.identifier)
    _ltext(el, "Name", agent.name)
    _address(el, "Address", agent.address)
    _text(el, "Classification", agent.classification)


def _person(parent, p: Person, local: str = "Person") -> None:
    el = _Sub(parent, _SDG + local)
    _text(el, "LevelOfAssurance", p.level_of_assurance)
    _ident(el, "Identifier", p.identifier)
    _text(el, "FamilyName", p.family_name)
    _text(el, "GivenName", p.given_name)
    _text(el, "DateOfBirth", format_date(p.date_of_birth))
    _text(el, "BirthName", p.birth_name)
    _text(el, "PlaceOfBirth", p.place_of_birth)
    _address(el, "CurrentAddress", p.current_address)
    _text(el, "Gender", p.gender)
    _text(el, "Nationality", p.nationality)
    _text(el, "CountryOfBirth", p.country_of_birth)
    _text(el, "TownOfBirth", p.town_of_birth)
    _text(el, "CountryOfResidence", p.country_of_residence)
    _text(el, "PhoneNumber", p.phone_number)
    _text(el, "EmailAddress", p.email_address)


def _legal_person(parent, p: LegalPerson, local: str = "LegalPerson") -> None:
    el = _Sub(parent, _SDG + local)
    _text(el, "LevelOfAssurance", p.level_of_assurance)
    for i in p.identifiers:
        _ident(el, "Identifier", i)
    _ident(el, "LegalPersonIdentifier", p.legal_person_identifier)
    _text(el, "LegalName", p.legal_name)
    _address(el, "RegisteredAddress", p.registered_address)


def _subject(parent, s, *, natural: str, legal: str) -> None:
    if isinstance(s, LegalPerson):
        _legal_person(parent, s, legal)
    else:
        _person(parent, s, natural)


def _distribution(parent, d: Distribution, local: str) -> None:
    el = _Sub(parent, _SDG + local)
    _text(el, "Format", d.format)
    _text(el, "ConformsTo", d.conforms_to)
    _text(el, "Transformation", d.transformation)
    _texts(el, "Language", d.languages)
    if isinstance(d, DistributedAs):
        _texts(el, "AssociatedDocumentRequest", d.associated_document_requests)


def _data_service_evidence_type(parent, d: DataServiceEvidenceType) -> None:
    el = _Sub(parent, _SDG + "DataServiceEvidenceType")
    _text(el, "Identifier", d.identifier)
    _text(el, "EvidenceTypeClassification", d.evidence_type_classification)
    _ltexts(el, "Title", d.titles)
    _ltexts(el, "Description", d.descriptions)
    for da in d.distributed_as:
        _distribution(el, da, "DistributedAs")


def _provider_classification(parent, c: ProviderClassification) -> None:
    el = _Sub(parent, _SDG + "EvidenceProviderClassification")
    _ident(el, "Identifier", c.identifier)
    _text(el, "Type", c.type)
    _text(el, "ValueExpression", c.value_expression)
    _ltexts(el, "Description", c.descriptions)
    for v in c.supported_values:
        _Sub(_Sub(el, _SDG + "SupportedValue"), _SDG + "StringValue").text = v


def _evidence(parent, e: Evidence) -> None:
    el = _Sub(parent, _SDG + "Evidence")
    _text(el, "Identifier", e.identifier)
    if e.is_about is not None:
        _subject(_Sub(el, _SDG + "IsAbout"), e.is_about, natural="NaturalPerson", legal="LegalPerson")
    if e.issuing_authority is not None:
        _agent(el, e.issuing_authority, "IssuingAuthority")
    if e.is_conformant_to is not None:
        c = _Sub(el, _SDG + "IsConformantTo")
        _text(c, "EvidenceTypeClassification", e.is_conformant_to.evidence_type_classification)
        _ltexts(c, "Title", e.is_conformant_to.titles)
        _ltexts(c, "Description", e.is_conformant_to.descriptions)
    if e.issuing_date is not None:
        _text(el, "IssuingDate", format_date(e.issuing_date))
    if e.distribution is not None:
        _distribution(el, e.distribution, "Distribution")
    if e.validity_period is not None:
        vp = _Sub(el, _SDG + "ValidityPeriod")
        if e.validity_period.start_date is not None:
            _text(vp, "StartDate", format_date(e.validity_period.start_date))
        if e.validity_period.end_date is not None:
            _text(vp, "EndDate", format_date(e.validity_period.end_date))


# --- messages -------------------------------------------------------------------------------------------

def build_request(req: QueryRequest) -> etree._Element:
    """``query:QueryRequest``: slots, then ResponseOption, then Query (subject, representative, request)."""
    root = etree.Element(_Q + "QueryRequest", nsmap=_NSMAP_REQUEST)
    if req.lang is not None:
        root.set(_XML_LANG, req.lang)
    root.set("id", req.id)
    _str_slot(root, "SpecificationIdentifier", spec_identifier(req.version))
    _dt_slot(root, "IssueDateTime", req.issue_datetime)
    if req.procedure is not None:
        if req.procedure_lang is not None or not is_v2(req.version):
            _intl_slot(root, "Procedure", [LocalizedText(req.procedure, req.procedure_lang)])
        else:
            _str_slot(root, "Procedure", req.procedure)
    if req.preview_location is not None:
        _str_slot(root, "PreviewLocation", req.preview_location)
    if req.return_location is not None:
        _str_slot(root, "ReturnLocation", req.return_location)
    _bool_slot(root, "PossibilityForPreview", req.possibility_for_preview)
    _bool_slot(root, "ExplicitRequestGiven", req.explicit_request_given)
    if req.requirements:
        for item, r in zip(_collection_items(root, "Requirements", len(req.requirements)), req.requirements):
            el = _Sub(item, _SDG + "Requirement")
            _text(el, "Identifier", r.identifier)
            _ltexts(el, "Name", r.names)
            _ltexts(el, "Description", r.descriptions)
    for item, a in zip(_collection_items(root, "EvidenceRequester", len(req.evidence_requester)),
                       req.evidence_requester):
        _agent(item, a)
    _agent(_any_slot(root, "EvidenceProvider"), req.evidence_provider)
    if req.evidence_provider_classifications:
        items = _collection_items(root, "EvidenceProviderClassification", len(req.evidence_provider_classifications))
        for item, c in zip(items, req.evidence_provider_classifications):
            _provider_classification(item, c)
    _Sub(root, _Q + "ResponseOption", returnType=RETURN_TYPE)
    query = _Sub(root, _Q + "Query", queryDefinition=QUERY_DEFINITION)
    if req.natural_person is not None:
        _person(_any_slot(query, "NaturalPerson"), req.natural_person)
    if req.legal_person is not None:
        _legal_person(_any_slot(query, "LegalPerson"), req.legal_person)
    if req.authorized_representative is not None:
        _person(_any_slot(query, "AuthorizedRepresentative"), req.authorized_representative)
    _data_service_evidence_type(_any_slot(query, "EvidenceRequest"), req.evidence_request)
    return root


def _document(parent, doc: EvidenceDocument, *, classified: bool) -> None:
    obj = _Sub(parent, _REGISTRY_OBJECT)
    obj.set(_XSI_TYPE, "rim:ExtrinsicObjectType")
    obj.set("id", doc.id)
    _evidence(_any_slot(obj, "EvidenceMetadata"), doc.evidence)
    if classified:
        _Sub(obj, _RIM + "Classification", id=doc.classification_id, classificationScheme=EDM_SCHEME,
             classificationNode=doc.kind.value)
    if doc.content_id is not None:
        ref = _Sub(obj, _RIM + "RepositoryItemRef")
        ref.set(_XLINK + "href", "cid:" + doc.content_id)
        if doc.title is not None:
            ref.set(_XLINK + "title", doc.title)


def _package(parent, pkg: EvidencePackage) -> None:
    obj = _Sub(parent, _REGISTRY_OBJECT)
    obj.set(_XSI_TYPE, "rim:RegistryPackageType")
    obj.set("id", pkg.id)
    lst = _Sub(obj, _REGISTRY_OBJECT_LIST)
    for doc in pkg.documents:
        _document(lst, doc, classified=True)
    for a in pkg.associations or ():
        assoc = _Sub(lst, _REGISTRY_OBJECT)
        assoc.set(_XSI_TYPE, "rim:AssociationType")
        assoc.set("id", a.id)
        assoc.set("type", a.type)
        assoc.set("sourceObject", a.source_object)
        assoc.set("targetObject", a.target_object)


def build_response(resp: QueryResponse) -> etree._Element:
    """Success / deferred ``query:QueryResponse``: v2.0 packages, or the v1.x flat list of documents."""
    root = etree.Element(_Q + "QueryResponse", nsmap=_NSMAP_RESPONSE)
    root.set("status", ResponseStatus(resp.status).uri)
    root.set("requestId", resp.request_id)
    _str_slot(root, "SpecificationIdentifier", spec_identifier(resp.version))
    _str_slot(root, "EvidenceResponseIdentifier", resp.response_id)
    _dt_slot(root, "IssueDateTime", resp.issue_datetime)
    if resp.response_available_datetime is not None:
        _dt_slot(root, "ResponseAvailableDateTime", resp.response_available_datetime)
    for item, a in zip(_collection_items(root, "EvidenceProvider", len(resp.evidence_provider)),
                       resp.evidence_provider):
        _agent(item, a)
    _agent(_any_slot(root, "EvidenceRequester"), resp.evidence_requester)
    lst = _Sub(root, _REGISTRY_OBJECT_LIST)
    if is_v2(resp.version):
        for pkg in resp.packages:
            _package(lst, pkg)
    else:
        for doc in resp.documents:
            if doc.kind is not DocumentKind.MAIN_EVIDENCE:
                raise ValueError(f"{resp.version} responses have no packaging: a {doc.kind.value} document "
                                 "cannot be expressed (send it as a main evidence or use v2.0)")
            _document(lst, doc, classified=False)
    return root


def build_exception(exc: ExceptionResponse) -> etree._Element:
    """Failure ``query:QueryResponse`` with one ``rs:Exception``."""
    root = etree.Element(_Q + "QueryResponse", nsmap=_NSMAP_EXCEPTION)
    root.set("status", ResponseStatus.FAILURE.uri)
    if exc.request_id is not None:
        root.set("requestId", exc.request_id)
    _str_slot(root, "SpecificationIdentifier", spec_identifier(exc.version))
    _str_slot(root, "EvidenceResponseIdentifier", exc.response_id)
    _agent(_any_slot(root, "ErrorProvider"), exc.error_provider)
    if exc.evidence_requester is not None:
        _agent(_any_slot(root, "EvidenceRequester"), exc.evidence_requester)
    el = _Sub(root, _RS + "Exception")
    if exc.xsi_type is not None:
        el.set(_XSI_TYPE, exc.xsi_type)
    for attr in ("code", "message", "severity", "detail"):
        v = getattr(exc, attr)
        if v is not None:
            el.set(attr, v)
    if exc.timestamp is not None:
        _dt_slot(el, "Timestamp", exc.timestamp)
    if exc.preview_location is not None:
        _str_slot(el, "PreviewLocation", exc.preview_location)
    if exc.preview_description:
        _intl_slot(el, "PreviewDescription", exc.preview_description)
    if exc.preview_method is not None:
        _str_slot(el, "PreviewMethod", exc.preview_method)
    return root


def to_element(msg: EdmMessage) -> etree._Element:
    """Any EDM message -> its root element."""
    if isinstance(msg, QueryRequest):
        return build_request(msg)
    if isinstance(msg, QueryResponse):
        return build_response(msg)
    if isinstance(msg, ExceptionResponse):
        return build_exception(msg)
    raise TypeError(f"not an EDM message: {type(msg).__name__}")


def to_bytes(msg: EdmMessage, *, pretty: bool = False) -> bytes:
    """Any EDM message -> UTF-8 XML document bytes (with declaration)."""
    return etree.tostring(to_element(msg), xml_declaration=True, encoding="UTF-8", pretty_print=pretty)
