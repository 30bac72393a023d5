"""Typed model of the OOTS Exchange Data Model messages (TDD 4.5): QueryRequest, QueryResponse, exception.

Plain dataclasses with value equality, no XML here (``build`` writes, ``parse`` reads). One model serves
``oots-edm:v2.0`` and ``oots-edm:v1.2`` (and reads the legacy v1.0 samples); the line is chosen per message by
its ``version`` field. Optional slots are ``None`` / empty lists; repeated ones are lists.

Ids the builder needs but a caller rarely cares about (package, classification and association ids,
default titles) are *derived* deterministically in ``__post_init__`` from ids the caller gave, so a model built
by hand equals the same message parsed back, and ``--seed`` runs stay reproducible.
"""
from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import NamedTuple, Union

from conformance.rules.checks._edm import (CLASSIFICATION_NODES, EDM_ERRORS, EDM_SCHEME, SEV_ERROR, SEV_PREVIEW,
                                           STATUS_PREFIX)

__all__ = [
    "V2_0", "V1_2", "SUPPORTED_VERSIONS", "READABLE_VERSIONS", "spec_identifier", "version_of",
    "RETURN_TYPE", "QUERY_DEFINITION", "EDM_SCHEME", "ASSOCIATION_TYPE_PREFIX", "SEV_ERROR", "SEV_PREVIEW",
    "STATUS_PREFIX", "is_v2", "ErrorCode", "ERROR_CODES", "ResponseStatus", "DocumentKind", "AgentRole",
    "LocalizedText", "Identifier", "Address", "Agent", "Requirement", "ProviderClassification", "Distribution",
    "DistributedAs", "DataServiceEvidenceType", "Person", "LegalPerson", "Subject", "EvidenceTypeRef",
    "ValidityPeriod", "Evidence", "EvidenceDocument", "Association", "EvidencePackage", "QueryRequest",
    "QueryResponse", "ExceptionResponse", "EdmMessage", "new_uuid", "new_urn_uuid", "derived_urn_uuid",
]

# --- versions and fixed values --------------------------------------------------------------------------

V2_0 = "v2.0"
V1_2 = "v1.2"
#: lines the builders target and the validator has rules for
SUPPORTED_VERSIONS = (V2_0, V1_2)
#: lines the parser reads (v1.0/v1.1: pre-1.2 samples, read leniently in the v1.x shape)
READABLE_VERSIONS = (V2_0, V1_2, "v1.1", "v1.0")

RETURN_TYPE = "LeafClassWithRepositoryItem"
QUERY_DEFINITION = "DocumentQuery"
#: v2.0 association ``@type``: this prefix + the supplementary document's classification node
#: (``…:AssociationType:Annex``), source = supplementary document, target = MainEvidence (R-EDM-RESP-S050..S061
#: as read by oots-france)
ASSOCIATION_TYPE_PREFIX = "urn:oasis:names:tc:ebxml-regrep:AssociationType:"


def spec_identifier(version: str) -> str:
    """``v2.0`` -> ``oots-edm:v2.0``."""
    return f"oots-edm:{version}"


def version_of(spec_id: str) -> str | None:
    """``oots-edm:v2.0`` -> ``v2.0``; None when not a readable EDM version."""
    if spec_id.startswith("oots-edm:") and spec_id[9:] in READABLE_VERSIONS:
        return spec_id[9:]
    return None


def is_v2(version: str) -> bool:
    """True for the packaged (v2.x) line; everything older is read and written in the v1.x shape."""
    return version.startswith("v2.")


class ErrorCode(NamedTuple):
    """One row of the EDMErrorCodes list."""

    code: str
    xsi_type: str  # prefixed, as written: ``rs:ObjectNotFoundExceptionType``
    message: str

    @property
    def local_type(self) -> str:
        return self.xsi_type.split(":", 1)[1]


#: EDMErrorCodes, code -> (code, xsi:type, message); the table itself lives in the validator (``_edm.py``)
ERROR_CODES: dict[str, ErrorCode] = {
    code: ErrorCode(code, ("query:" if typ == "QueryExceptionType" else "rs:") + typ, msg)
    for code, (typ, msg) in EDM_ERRORS.items()
}
_CODE_BY_TYPE = {e.local_type: e.code for e in ERROR_CODES.values()}


class ResponseStatus(str, Enum):
    SUCCESS = "Success"
    UNAVAILABLE = "Unavailable"
    FAILURE = "Failure"

    @property
    def uri(self) -> str:
        return STATUS_PREFIX + self.value


class DocumentKind(str, Enum):
    """EDM classification node of a document in a v2.0 package."""

    MAIN_EVIDENCE = "MainEvidence"
    ANNEX = "Annex"
    HUMAN_READABLE_VERSION = "HumanReadableVersion"
    TRANSLATION = "Translation"


assert {k.value for k in DocumentKind} == set(CLASSIFICATION_NODES)


class AgentRole:
    """AgentClassification codes seen in EDM messages."""

    REQUESTER = "ER"
    INTERMEDIARY = "IP"
    PROVIDER = "EP"
    ERROR_PROVIDER = "ERRP"


# --- ids ------------------------------------------------------------------------------------------------

_DERIVE_NS = uuid.UUID("6f1c3c9e-3b7a-4f55-9d0e-5b2f0a4e7c11")


def new_uuid(rng: random.Random | None = None) -> str:
    """A version-4 UUID; reproducible when ``rng`` is a seeded ``random.Random``."""
    if rng is None:
        return str(uuid.uuid4())
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def new_urn_uuid(rng: random.Random | None = None) -> str:
    return "urn:uuid:" + new_uuid(rng)


def derived_urn_uuid(*parts: str | None) -> str:
    """A stable ``urn:uuid:`` computed from other ids (UUID v5)."""
    return "urn:uuid:" + str(uuid.uuid5(_DERIVE_NS, "|".join(p or "" for p in parts)))


# --- small value types ----------------------------------------------------------------------------------

@dataclass
class LocalizedText:
    """A text with its language: ``sdg:Name lang="EN"`` or ``rim:LocalizedString xml:lang value``."""

    value: str
    lang: str | None = None


@dataclass
class Identifier:
    """``sdg:Identifier@schemeID`` (EAS ``urn:cef.eu:names:identifier:EAS:0009``, ``eidas``, …)."""

    value: str
    scheme_id: str | None = None


@dataclass
class Address:
    """``sdg:Address`` / ``sdg:CurrentAddress`` / ``sdg:RegisteredAddress`` (written in this order)."""

    full_address: str | None = None
    locator_designator: str | None = None
    post_code: str | None = None
    post_city_name: str | None = None
    thoroughfare: str | None = None
    admin_unit_level1: str | None = None  # country code (OOTS_Country)
    admin_unit_level2: str | None = None  # NUTS


@dataclass
class Agent:
    """``sdg:Agent``: requester (ER/IP), provider (EP), error provider (ERRP), issuing authority."""

    identifier: Identifier
    name: LocalizedText
    address: Address | None = None
    classification: str | None = None


@dataclass
class Requirement:
    """``sdg:Requirement`` of the Requirements slot (SR requirement URI + names)."""

    identifier: str
    names: list[LocalizedText] = field(default_factory=list)
    descriptions: list[LocalizedText] = field(default_factory=list)


@dataclass
class ProviderClassification:
    """``sdg:EvidenceProviderClassification``: the user's answer to a DSD:ERR:0005 question (element detail
    unverified; shape of the v1.2 sample)."""

    identifier: Identifier
    type: str | None = None
    value_expression: str | None = None
    descriptions: list[LocalizedText] = field(default_factory=list)
    supported_values: list[str] = field(default_factory=list)  # sdg:SupportedValue/sdg:StringValue


@dataclass
class Distribution:
    """``sdg:Distribution`` of an evidence (Format, ConformsTo; Transformation v1.x only; Language unverified)."""

    format: str
    conforms_to: str | None = None
    transformation: str | None = None
    languages: list[str] = field(default_factory=list)


@dataclass
class DistributedAs(Distribution):
    """``sdg:DistributedAs`` of the request; v2.0 adds Language* and AssociatedDocumentRequest*
    (``Annex | HumanReadableVersion | Translation``)."""

    associated_document_requests: list[str] = field(default_factory=list)


@dataclass
class DataServiceEvidenceType:
    """The EvidenceRequest slot: the DSD entry the requester chose."""

    identifier: str
    evidence_type_classification: str
    titles: list[LocalizedText] = field(default_factory=list)
    descriptions: list[LocalizedText] = field(default_factory=list)
    distributed_as: list[DistributedAs] = field(default_factory=list)


@dataclass
class Person:
    """``sdg:Person`` (NaturalPerson, AuthorizedRepresentative) and ``sdg:NaturalPerson`` of ``IsAbout``."""

    family_name: str
    given_name: str
    date_of_birth: date
    level_of_assurance: str | None = None  # Low | Substantial | High
    identifier: Identifier | None = None  # schemeID eidas, XX/YY/<id>
    birth_name: str | None = None
    place_of_birth: str | None = None
    current_address: Address | None = None
    gender: str | None = None
    # eIDAS optional attributes seen in the v1.2 samples
    nationality: str | None = None
    country_of_birth: str | None = None
    town_of_birth: str | None = None
    country_of_residence: str | None = None
    phone_number: str | None = None
    email_address: str | None = None

    def minimum_data_set(self) -> Person:
        """What ``IsAbout`` may echo (R-EDM-RESP-S041): Identifier, names, date and place of birth."""
        return Person(self.family_name, self.given_name, self.date_of_birth, identifier=self.identifier,
                      place_of_birth=self.place_of_birth)


@dataclass
class LegalPerson:
    """``sdg:LegalPerson`` (request subject and ``IsAbout``)."""

    legal_name: str
    legal_person_identifier: Identifier | None = None  # schemeID eidas
    level_of_assurance: str | None = None
    identifiers: list[Identifier] = field(default_factory=list)  # other sdg:Identifier
    registered_address: Address | None = None

    def minimum_data_set(self) -> LegalPerson:
        """What ``IsAbout`` may echo (R-EDM-RESP-S042): LegalPersonIdentifier, LegalName."""
        return LegalPerson(self.legal_name, self.legal_person_identifier)


Subject = Union[Person, LegalPerson]


@dataclass
class EvidenceTypeRef:
    """``sdg:IsConformantTo``: the evidence type an evidence conforms to."""

    evidence_type_classification: str
    titles: list[LocalizedText] = field(default_factory=list)
    descriptions: list[LocalizedText] = field(default_factory=list)


@dataclass
class ValidityPeriod:
    start_date: date | None = None
    end_date: date | None = None


@dataclass
class Evidence:
    """``sdg:Evidence`` (EvidenceMetadata). MainEvidence needs all of them (S062); supplementary documents
    carry only Identifier and Distribution/Format (S063)."""

    identifier: str  # UUID, no prefix
    is_about: Subject | None = None
    issuing_authority: Agent | None = None
    is_conformant_to: EvidenceTypeRef | None = None
    issuing_date: date | None = None
    distribution: Distribution | None = None
    validity_period: ValidityPeriod | None = None


# --- response packaging ---------------------------------------------------------------------------------

@dataclass
class EvidenceDocument:
    """One ``rim:ExtrinsicObject``: metadata + a reference to the AS4 payload part holding the bytes.

    ``content_id`` is the part's Content-ID without ``cid:`` (``<uuid>@<domain>``); the AS4 layer attaches
    ``content`` (not part of equality) under that id. ``id`` / ``classification_id`` / ``title`` are derived when
    omitted.
    """

    evidence: Evidence
    content_id: str | None = None
    kind: DocumentKind = DocumentKind.MAIN_EVIDENCE
    id: str | None = None
    title: str | None = None  # xlink:title
    classification_id: str | None = None  # v2.0 rim:Classification/@id
    content: bytes | None = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        self.kind = DocumentKind(self.kind)
        if self.id is None:
            self.id = derived_urn_uuid("document", self.evidence.identifier)
        if self.classification_id is None:
            self.classification_id = derived_urn_uuid("classification", self.id)
        if self.title is None:
            self.title = self.kind.value

    @property
    def href(self) -> str | None:
        return f"cid:{self.content_id}" if self.content_id else None

    @property
    def media_type(self) -> str | None:
        return self.evidence.distribution.format if self.evidence.distribution else None


@dataclass
class Association:
    """v2.0 ``rim:RegistryObject xsi:type=rim:AssociationType`` linking a supplementary document (source) to
    the MainEvidence of its package (target); ``type`` = ``ASSOCIATION_TYPE_PREFIX`` + the source's node."""

    type: str
    source_object: str
    target_object: str
    id: str | None = None

    def __post_init__(self):
        if self.id is None:
            self.id = derived_urn_uuid("association", self.source_object, self.target_object, self.type)


@dataclass
class EvidencePackage:
    """A v2.0 ``rim:RegistryPackage``: one MainEvidence plus its supplementary documents and associations.

    v1.2 has no packages: its flat list is read as one package per document and written back flat.
    ``associations=None`` derives the standard ones (each supplementary document -> the first MainEvidence).
    """

    documents: list[EvidenceDocument] = field(default_factory=list)
    associations: list[Association] | None = None
    id: str | None = None

    def __post_init__(self):
        if self.id is None:
            self.id = derived_urn_uuid("package", *(d.id for d in self.documents[:1]))
        if self.associations is None:
            self.associations = self.derive_associations(self.documents)

    @staticmethod
    def derive_associations(documents: list[EvidenceDocument]) -> list[Association]:
        main = next((d for d in documents if d.kind is DocumentKind.MAIN_EVIDENCE), None)
        if main is None:
            return []
        return [Association(ASSOCIATION_TYPE_PREFIX + d.kind.value, d.id, main.id)
                for d in documents if d.kind is not DocumentKind.MAIN_EVIDENCE]

    @property
    def main(self) -> EvidenceDocument | None:
        return next((d for d in self.documents if d.kind is DocumentKind.MAIN_EVIDENCE), None)


# --- messages -------------------------------------------------------------------------------------------

@dataclass
class QueryRequest:
    """``query:QueryRequest`` (ExecuteQueryRequest, 4.5.1).

    ``evidence_requester`` holds the ER agent and, optionally, an IP (intermediary platform) agent.
    Exactly one of ``natural_person`` / ``legal_person``. ``preview_location`` (+ ``return_location`` in
    v2.0) only on the second request of a preview. ``lang``: root ``xml:lang``, v1.x only (C069).
    """

    id: str  # urn:uuid:<uuid>
    issue_datetime: datetime
    evidence_requester: list[Agent]
    evidence_provider: Agent
    evidence_request: DataServiceEvidenceType
    natural_person: Person | None = None
    legal_person: LegalPerson | None = None
    authorized_representative: Person | None = None
    possibility_for_preview: bool = False
    explicit_request_given: bool = True
    procedure: str | None = None
    procedure_lang: str | None = None  # v1.x: Procedure is an InternationalString
    requirements: list[Requirement] = field(default_factory=list)
    evidence_provider_classifications: list[ProviderClassification] = field(default_factory=list)
    preview_location: str | None = None
    return_location: str | None = None
    lang: str | None = None
    version: str = V2_0

    def __post_init__(self):
        if not is_v2(self.version):
            if self.lang is None and self.version == V1_2:
                self.lang = "EN"  # C069: v1.x requires the root xml:lang
            if self.procedure is not None and self.procedure_lang is None:
                self.procedure_lang = "EN"  # v1.x Procedure is an InternationalString

    @property
    def requester(self) -> Agent | None:
        """The ER agent (the one a provider answers), else the first non-IP agent."""
        agents = self.evidence_requester
        return next((a for a in agents if a.classification == AgentRole.REQUESTER),
                    next((a for a in agents if a.classification != AgentRole.INTERMEDIARY), None))

    @property
    def intermediary(self) -> Agent | None:
        return next((a for a in self.evidence_requester if a.classification == AgentRole.INTERMEDIARY), None)

    @property
    def subject(self) -> Subject | None:
        return self.natural_person if self.natural_person is not None else self.legal_person

    @property
    def is_preview_followup(self) -> bool:
        """Second request of a preview (carries PreviewLocation)."""
        return self.preview_location is not None


@dataclass
class QueryResponse:
    """``query:QueryResponse`` success (with documents, or empty) or deferred (``Unavailable`` with
    ``response_available_datetime`` and no documents), 4.5.2.

    v1.x responses have no packaging: they are held as one package per document (all MainEvidence).
    """

    request_id: str
    response_id: str  # EvidenceResponseIdentifier, UUID without prefix
    issue_datetime: datetime
    evidence_provider: list[Agent]
    evidence_requester: Agent
    packages: list[EvidencePackage] = field(default_factory=list)
    response_available_datetime: datetime | None = None
    status: ResponseStatus | None = None  # derived: Unavailable iff response_available_datetime
    version: str = V2_0

    def __post_init__(self):
        if self.status is None:
            self.status = (ResponseStatus.UNAVAILABLE if self.response_available_datetime is not None
                           else ResponseStatus.SUCCESS)
        self.status = ResponseStatus(self.status)
        if not is_v2(self.version) and any(len(p.documents) > 1 for p in self.packages):
            # v1.x has no packages: a flat list of documents, read back as one package per document
            self.packages = [EvidencePackage([d], id=p.id if len(p.documents) == 1 else None)
                             for p in self.packages for d in p.documents]

    @property
    def documents(self) -> list[EvidenceDocument]:
        return [d for p in self.packages for d in p.documents]

    @property
    def is_deferred(self) -> bool:
        return self.status is ResponseStatus.UNAVAILABLE


@dataclass
class ExceptionResponse:
    """Exception ``query:QueryResponse`` (status Failure, one ``rs:Exception``), 4.5.3.

    Give ``code``; ``exception_type`` (local xsi:type), ``message`` and ``severity`` default from the code table
    (PreviewRequired for 0002 with a ``preview_location``). Parsed messages keep what they carried.
    ``preview_method`` exists in v1.x only (defaults to GET there when previewing).
    """

    response_id: str
    error_provider: Agent
    code: str | None
    request_id: str | None = None  # may be omitted only with InvalidRequestExceptionType (C025)
    evidence_requester: Agent | None = None
    timestamp: datetime | None = None
    detail: str | None = None  # e.g. the violated rule id for EDM:ERR:0003
    preview_location: str | None = None
    preview_description: list[LocalizedText] = field(default_factory=list)
    preview_method: str | None = None
    exception_type: str | None = None
    message: str | None = None
    severity: str | None = None
    version: str = V2_0

    def __post_init__(self):
        row = ERROR_CODES.get(self.code or "")
        if self.exception_type is None and row is not None:
            self.exception_type = row.local_type
        if self.message is None and row is not None:
            self.message = row.message
        if self.severity is None:
            self.severity = SEV_PREVIEW if (self.code == "EDM:ERR:0002" and self.preview_location) else SEV_ERROR
        if (self.preview_method is None and self.preview_location and not is_v2(self.version)
                and self.code is not None):
            self.preview_method = "GET"

    @property
    def effective_code(self) -> str | None:
        """``code``, or the code the xsi:type stands for when it is missing (C026 readers' rule)."""
        return self.code or _CODE_BY_TYPE.get(self.exception_type or "")

    @property
    def xsi_type(self) -> str | None:
        """Prefixed xsi:type as written (``rs:…`` or ``query:QueryExceptionType``)."""
        if self.exception_type is None:
            return None
        return ("query:" if self.exception_type == "QueryExceptionType" else "rs:") + self.exception_type

    @property
    def is_preview_required(self) -> bool:
        return self.severity == SEV_PREVIEW


EdmMessage = Union[QueryRequest, QueryResponse, ExceptionResponse]
