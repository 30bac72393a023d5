"""Build the XML bodies of EB / DSD answers (RegRep 4 ``query:QueryResponse``), success and errors.

The shape follows the acceptance captures (``tdd/edm-v2.0-oots-france/xml/common_services``):
``SpecificationIdentifier=oots-cs:v2.0`` first when the v2.0 form was asked for (CS-028), then either a
``RegistryObjectList`` of ``Requirement`` / ``DataServiceEvidenceType`` slots or one ``rs:Exception``.

Without ``Accept-Version`` the v1.0 shape is built (``v2=False``), following the pre-1.0 SDG profile XSD and
samples (``tdd/edm-v0.99-governikus``): one ``Name`` and no ``Description`` on ``Requirement``; at most one
``Title``/``Description`` on ``ReferenceFramework`` and one ``Name`` on ``EvidenceTypeList``; ``Jurisdiction``
on each ``EvidenceType`` rather than on the list; no empty (``NoMatch``) list, since v1.0 requires at least one
``EvidenceType``; ``AccessService`` without ``Name`` and with exactly one ``ConformsTo`` (an access service
speaking several versions is listed once per version); ``Publisher`` without ``Description``; no
``DistributedAs/Language``; the ``DSD:ERR:0005`` copy of the entry keeps its ``DistributedAs`` (mandatory in
v1.0).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from simulators.edm.model import LocalizedText, derived_urn_uuid

from .catalogue import AccessService, ClassificationConcept, DataService, RequirementEntry

CS_V2 = "oots-cs:v2.0"
NS = {
    "query": "urn:oasis:names:tc:ebxml-regrep:xsd:query:4.0",
    "rim": "urn:oasis:names:tc:ebxml-regrep:xsd:rim:4.0",
    "rs": "urn:oasis:names:tc:ebxml-regrep:xsd:rs:4.0",
    "sdg": "http://data.europa.eu/p4s",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
STATUS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:"
SEV_ERROR = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"
SEV_ADDITIONAL_INPUT = "urn:sr.oots.tech.ec.europa.eu:codes:ErrorSeverity:DSDErrorResponse:AdditionalInput"
NOT_FOUND = "ObjectNotFoundExceptionType"
INVALID = "InvalidRequestExceptionType"


@dataclass
class CsError(Exception):
    """One EB:ERR / DSD:ERR refusal (codes and types: common-services.md §4-§5)."""

    code: str
    message: str
    type: str = INVALID
    detail: str | None = None
    dset: DataService | None = None  # DSD:ERR:0005 only
    concepts: list[ClassificationConcept] = field(default_factory=list)  # DSD:ERR:0005 only

    @property
    def severity(self) -> str:
        return SEV_ADDITIONAL_INPUT if self.code == "DSD:ERR:0005" else SEV_ERROR


def _q(prefix: str, local: str) -> str:
    return f"{{{NS[prefix]}}}{local}"


def _sub(parent, prefix: str, local: str, text: str | None = None, **attrs) -> etree._Element:
    el = etree.SubElement(parent, _q(prefix, local), {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = text
    return el


def _texts(parent, local: str, items: list[LocalizedText]) -> None:
    for t in items:
        _sub(parent, "sdg", local, t.value, lang=t.lang)


def _slot(parent, name: str, value_type: str) -> etree._Element:
    slot = _sub(parent, "rim", "Slot", name=name)
    return _sub(slot, "rim", "SlotValue", **{_q("xsi", "type"): f"rim:{value_type}"})


def _root(status: str, v2: bool) -> etree._Element:
    root = etree.Element(_q("query", "QueryResponse"), status=STATUS + status, nsmap=dict(NS))
    if v2:
        _sub(_slot(root, "SpecificationIdentifier", "StringValueType"), "rim", "Value", CS_V2)
    return root


def _jurisdiction(parent, country: str | None, local: str = "Jurisdiction") -> None:
    if country:
        _sub(_sub(parent, "sdg", local), "sdg", "AdminUnitLevel1", country)


def _one(items: list, v2: bool) -> list:
    """v2.0: all the (multilingual) values; v1.0: the first only (maxOccurs=1 in the pre-1.0 profile)."""
    return items if v2 else items[:1]


def _requirement(parent, e: RequirementEntry, v2: bool = True) -> None:
    r = _sub(parent, "sdg", "Requirement")
    _sub(r, "sdg", "Identifier", e.requirement.identifier)
    _texts(r, "Name", _one(e.requirement.names, v2))
    if v2:  # v1.0 RequirementType has no Description
        _texts(r, "Description", e.requirement.descriptions)
    for p in e.frameworks:
        rf = _sub(r, "sdg", "ReferenceFramework")
        _sub(rf, "sdg", "Identifier", p.identifier)
        _texts(rf, "Title", _one(p.titles, v2))
        _texts(rf, "Description", _one(p.descriptions, v2))
        _sub(_sub(rf, "sdg", "RelatedTo"), "sdg", "Identifier", p.code)
        _jurisdiction(rf, p.jurisdiction)
    for lst in e.evidence_type_lists:
        if not v2 and not lst.evidence_types:
            continue  # v1.0: EvidenceType minOccurs=1, no way to declare NoMatch
        el = _sub(r, "sdg", "EvidenceTypeList")
        _sub(el, "sdg", "Identifier", lst.identifier)
        _texts(el, "Name", _one(lst.names, v2))
        for et in lst.evidence_types:
            t = _sub(el, "sdg", "EvidenceType")
            _sub(t, "sdg", "EvidenceTypeClassification", et.classification)
            _texts(t, "Title", et.titles)
            _texts(t, "Description", et.descriptions)
            if not v2:  # v1.0: jurisdiction per evidence type
                _jurisdiction(t, lst.jurisdiction)
        if v2:
            _jurisdiction(el, lst.jurisdiction)


def _access_service(parent, a: AccessService, v2: bool = True) -> None:
    if not v2 and len(a.conforms_to) > 1:  # v1.0: exactly one ConformsTo per AccessService
        for c in a.conforms_to:
            _access_service(parent, AccessService(a.identifier, a.name, [c], a.publisher, a.classification,
                                                  a.publisher_descriptions), v2)
        return
    el = _sub(parent, "sdg", "AccessService")
    _sub(el, "sdg", "Identifier", a.identifier.value, schemeID=a.identifier.scheme_id)
    if a.name is not None and v2:  # v1.0 has no AccessService/Name
        _sub(el, "sdg", "Name", a.name.value, lang=a.name.lang)
    for c in a.conforms_to:
        _sub(el, "sdg", "ConformsTo", c)
    p = _sub(el, "sdg", "Publisher")
    _sub(p, "sdg", "Identifier", a.publisher.identifier.value, schemeID=a.publisher.identifier.scheme_id)
    _sub(p, "sdg", "Name", a.publisher.name.value, lang=a.publisher.name.lang)
    if v2:  # v1.0 EvidenceProviderType has no Description
        _texts(p, "Description", a.publisher_descriptions)
    country = a.publisher.address.admin_unit_level1 if a.publisher.address else None
    _jurisdiction(p, country, "Address")
    _jurisdiction(p, country)


def _data_service(parent, d: DataService, services: list[AccessService] | None = None, v2: bool = True,
                  core_only: bool = False) -> None:
    """``core_only``: Identifier, classification, titles, descriptions (the DSD:ERR:0005 copy)."""
    dset = d.evidence_type
    el = _sub(parent, "sdg", "DataServiceEvidenceType")
    _sub(el, "sdg", "Identifier", dset.identifier)
    _sub(el, "sdg", "EvidenceTypeClassification", dset.evidence_type_classification)
    _texts(el, "Title", dset.titles)
    _texts(el, "Description", dset.descriptions)
    if core_only and v2:
        return
    for da in dset.distributed_as:  # v1.0: DistributedAs minOccurs=1, also in the DSD:ERR:0005 copy
        x = _sub(el, "sdg", "DistributedAs")
        _sub(x, "sdg", "Format", da.format)
        if da.conforms_to:
            _sub(x, "sdg", "ConformsTo", da.conforms_to)
        for lang in (da.languages if v2 else []):  # v1.0 has no DistributedAs/Language
            _sub(x, "sdg", "Language", lang)
    if core_only:
        return
    for a in (d.access_services if services is None else services):
        _access_service(el, a, v2)
    if d.loa:
        _sub(el, "sdg", "AuthenticationLevelOfAssurance", d.loa)


def _object_list(root, items, slot: str, build, key) -> None:
    lst = _sub(root, "rim", "RegistryObjectList")
    for item in items:
        ro = _sub(lst, "rim", "RegistryObject", id=derived_urn_uuid(slot, key(item)))
        build(_slot(ro, slot, "AnyValueType"), item)


def eb_answer(entries: list[RequirementEntry], *, v2: bool = True) -> bytes:
    """EB success: one RegistryObject (``Requirement`` slot) per requirement."""
    root = _root("Success", v2)
    _object_list(root, entries, "Requirement", lambda p, e: _requirement(p, e, v2),
                 lambda e: e.requirement.identifier + "|" + ",".join(x.identifier for x in e.evidence_type_lists))
    return serialise(root)


def dsd_answer(entries: list[tuple[DataService, list[AccessService]]], *, v2: bool = True) -> bytes:
    """DSD success: one RegistryObject (``DataServiceEvidenceType`` slot) per entry, with the kept services."""
    root = _root("Success", v2)
    _object_list(root, entries, "DataServiceEvidenceType", lambda p, e: _data_service(p, e[0], e[1], v2),
                 lambda e: e[0].evidence_type.identifier + "|" + ",".join(a.identifier.value for a in e[1]))
    return serialise(root)


def error_answer(err: CsError, *, v2: bool = True) -> bytes:
    """A refusal: ``status=Failure`` and one ``rs:Exception`` (DSD:ERR:0005 adds its two slots)."""
    root = _root("Failure", v2)
    exc = _sub(root, "rs", "Exception", **{_q("xsi", "type"): f"rs:{err.type}"}, code=err.code,
               detail=err.detail, message=err.message, severity=err.severity)
    if err.code == "DSD:ERR:0005" and err.dset is not None:
        _data_service(_slot(exc, "DataServiceEvidenceType", "AnyValueType"), err.dset, [], v2, core_only=True)
        if not v2:  # v1.x form of the question
            for c in err.concepts[:1]:
                jd = _sub(_slot(exc, "JurisdictionDetermination", "AnyValueType"), "sdg",
                          "EvidenceProviderJurisdictionDetermination")
                _sub(jd, "sdg", "JurisdictionContextId", c.identifier)
                for t in c.descriptions:
                    _sub(jd, "sdg", "JurisdictionContext", t.value, lang=t.lang)
                _sub(jd, "sdg", "JurisdictionLevel", c.type or "NUTS1")
        coll = _slot(exc, "UserRequestedClassificationConcepts", "CollectionValueType")
        coll.set("collectionType", "urn:oasis:names:tc:ebxml-regrep:CollectionType:Set")
        for c in err.concepts:
            val = _sub(coll, "rim", "Element", **{_q("xsi", "type"): "rim:AnyValueType"})
            epc = _sub(val, "sdg", "EvidenceProviderClassification")
            _sub(epc, "sdg", "Identifier", c.identifier)
            if c.type:
                _sub(epc, "sdg", "Type", c.type)
            if c.value_expression:
                _sub(epc, "sdg", "ValueExpression", c.value_expression)
            _texts(epc, "Description", c.descriptions)
    return serialise(root)


def serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True, pretty_print=True)
