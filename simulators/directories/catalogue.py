"""The catalogue of the mock Evidence Broker and Data Service Directory, loaded from a world file.

``Catalogue.load("fixtures/worlds/directories.toml")`` reads procedures (EB ReferenceFrameworks), requirements
(SR URIs), evidence type lists per jurisdiction, evidence types with their DSD data service entries, access
services (eDelivery PartyId + type, ``ConformsTo`` EDM versions), publishers (Evidence Providers) and the
classification concepts that make the DSD answer ``DSD:ERR:0005``. Shapes: ``shared/spec/common-services.md``
§4-§5. The same dataclasses hold what :mod:`.client` parses from any answer (ours or real ones).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from simulators.edm.model import (Address, Agent, DataServiceEvidenceType, DistributedAs, Identifier,
                                  LocalizedText, Requirement)

DEFAULT_WORLD = Path(__file__).resolve().parents[2] / "fixtures" / "worlds" / "directories.toml"


class CatalogueError(ValueError):
    """The world file is inconsistent (unknown reference, duplicate key, missing field)."""


@dataclass
class Procedure:
    """A procedure offered in one jurisdiction: an EB ``sdg:ReferenceFramework``."""

    identifier: str
    code: str  # Procedures code list (RelatedTo/Identifier)
    jurisdiction: str
    titles: list[LocalizedText] = field(default_factory=list)
    descriptions: list[LocalizedText] = field(default_factory=list)
    requirements: list[str] = field(default_factory=list)  # SR requirement URIs


@dataclass
class EvidenceTypeRef:
    """``sdg:EvidenceType`` inside an ``EvidenceTypeList``."""

    classification: str
    titles: list[LocalizedText] = field(default_factory=list)
    descriptions: list[LocalizedText] = field(default_factory=list)


@dataclass
class EvidenceTypeList:
    """``sdg:EvidenceTypeList``: evidence types that together (AND) satisfy a requirement in a jurisdiction."""

    identifier: str
    requirement: str  # SR requirement URI
    jurisdiction: str
    names: list[LocalizedText] = field(default_factory=list)
    evidence_types: list[EvidenceTypeRef] = field(default_factory=list)


@dataclass
class ClassificationConcept:
    """A question the user must answer (DSD:ERR:0005 ``UserRequestedClassificationConcepts``)."""

    identifier: str
    param: str  # query parameter that carries the answer (the identifier is accepted too)
    type: str | None = None
    value_expression: str | None = None
    descriptions: list[LocalizedText] = field(default_factory=list)
    values: list[str] = field(default_factory=list)  # accepted answers (never sent: no SupportedValue)


@dataclass
class AccessService:
    """``sdg:AccessService``: the provider's access point (PartyId + type), EDM versions spoken, publisher."""

    identifier: Identifier  # value = eDelivery PartyId, scheme_id = its type
    name: LocalizedText | None
    conforms_to: list[str]
    publisher: Agent
    classification: dict[str, list[str]] = field(default_factory=dict)  # concept key -> values served
    publisher_descriptions: list[LocalizedText] = field(default_factory=list)


@dataclass
class DataService:
    """One DSD entry: the ``sdg:DataServiceEvidenceType`` with its access services and assurance level."""

    evidence_type: DataServiceEvidenceType
    access_services: list[AccessService]
    jurisdiction: str | None = None
    loa: str | None = None
    concepts: list[ClassificationConcept] = field(default_factory=list)


@dataclass
class RequirementEntry:
    """``sdg:Requirement`` as the EB returns it (query 1: frameworks; query 2: evidence type lists)."""

    requirement: Requirement
    frameworks: list[Procedure] = field(default_factory=list)
    evidence_type_lists: list[EvidenceTypeList] = field(default_factory=list)


def _texts(d: dict | None) -> list[LocalizedText]:
    return [LocalizedText(v, k) for k, v in (d or {}).items()]


def _need(table: dict, key: str, where: str):
    if key not in table:
        raise CatalogueError(f"{where}: missing '{key}'")
    return table[key]


@dataclass
class Catalogue:
    """Everything the mock directories know; query helpers return copies of catalogue objects."""

    sr_base: str
    procedures: list[Procedure]
    requirements: dict[str, Requirement]  # SR URI -> requirement
    evidence_type_lists: list[EvidenceTypeList]
    data_services: list[DataService]
    concepts: dict[str, ClassificationConcept]

    # -- loading --
    @classmethod
    def load(cls, path: str | Path = DEFAULT_WORLD) -> Catalogue:
        with open(path, "rb") as fh:
            return cls.from_dict(tomllib.load(fh))

    @classmethod
    def from_dict(cls, w: dict) -> Catalogue:
        sr = str(w.get("sr_base", "https://sr.acc.oots.tech.ec.europa.eu")).rstrip("/")

        def keyed(name: str) -> dict[str, dict]:
            out: dict[str, dict] = {}
            for i, t in enumerate(w.get(name, [])):
                k = _need(t, "key", f"{name}[{i}]")
                if k in out:
                    raise CatalogueError(f"{name}: duplicate key {k!r}")
                out[k] = t
            return out

        def ref(table: dict, key: str, what: str):
            if key not in table:
                raise CatalogueError(f"unknown {what} {key!r}")
            return table[key]

        reqs = {k: Requirement(f"{sr}/requirements/{_need(t, 'uuid', k)}", _texts(t.get("name")),
                               _texts(t.get("description"))) for k, t in keyed("requirements").items()}
        concepts = {k: ClassificationConcept(_need(t, "identifier", k), t.get("param", k), t.get("type"),
                                             t.get("value_expression"), _texts(t.get("description")),
                                             list(t.get("values", [])))
                    for k, t in keyed("classification_concepts").items()}
        pubs = {k: Agent(Identifier(_need(t, "identifier", k), t.get("scheme_id")),
                         _texts(t.get("name"))[0] if t.get("name") else LocalizedText(k),
                         Address(admin_unit_level1=t.get("country")),
                         classification="EP") for k, t in keyed("publishers").items()}
        pub_desc = {k: _texts(t.get("description")) for k, t in keyed("publishers").items()}
        services = {}
        for k, t in keyed("access_services").items():
            pub = ref(pubs, _need(t, "publisher", k), "publisher")
            acc = AccessService(Identifier(_need(t, "party_id", k), t.get("scheme_id", w.get("party_id_type"))),
                                _texts(t.get("name"))[0] if t.get("name") else None,
                                list(_need(t, "conforms_to", k)), pub,
                                {c: list(v) for c, v in (t.get("classification") or {}).items()},
                                pub_desc[t["publisher"]])
            for c in acc.classification:
                ref(concepts, c, "classification concept")
            services[k] = acc
        ets: dict[str, DataService] = {}
        for k, t in keyed("evidence_types").items():
            cls_uri = _need(t, "classification", k)
            if not cls_uri.startswith("http"):
                cls_uri = f"{sr}/evidencetypeclassifications/{cls_uri}"
            dset = DataServiceEvidenceType(
                _need(t, "data_service_id", k), cls_uri, _texts(t.get("title")), _texts(t.get("description")),
                [DistributedAs(d["format"], d.get("conforms_to"), languages=list(d.get("language", [])))
                 for d in t.get("distributed_as", [])])
            ets[k] = DataService(dset, [ref(services, a, "access service") for a in t.get("access_services", [])],
                                 _need(t, "jurisdiction", k), t.get("loa"),
                                 [ref(concepts, c, "classification concept")
                                  for c in t.get("classification_concepts", [])])
        procs = [Procedure(_need(t, "id", f"procedures[{i}]"), _need(t, "code", f"procedures[{i}]"),
                           _need(t, "jurisdiction", f"procedures[{i}]"), _texts(t.get("title")),
                           _texts(t.get("description")),
                           [ref(reqs, r, "requirement").identifier for r in t.get("requirements", [])])
                 for i, t in enumerate(w.get("procedures", []))]
        lists = []
        for i, t in enumerate(w.get("evidence_type_lists", [])):
            members = [ref(ets, e, "evidence type") for e in t.get("evidence_types", [])]
            lists.append(EvidenceTypeList(
                _need(t, "id", f"evidence_type_lists[{i}]"),
                ref(reqs, _need(t, "requirement", f"evidence_type_lists[{i}]"), "requirement").identifier,
                _need(t, "jurisdiction", f"evidence_type_lists[{i}]"), _texts(t.get("name")),
                [EvidenceTypeRef(m.evidence_type.evidence_type_classification, m.evidence_type.titles,
                                 m.evidence_type.descriptions) for m in members]))
        return cls(sr, procs, {r.identifier: r for r in reqs.values()}, lists, list(ets.values()), concepts)

    # -- queries (None = no filter) --
    def requirements_for(self, procedure_code: str | None = None,
                         country: str | None = None) -> list[RequirementEntry]:
        """EB query 1: requirements with the procedures (frameworks) that need them, filtered."""
        out: dict[str, RequirementEntry] = {}
        for p in self.procedures:
            if (procedure_code and p.code != procedure_code) or (country and p.jurisdiction != country):
                continue
            for uri in p.requirements:
                out.setdefault(uri, RequirementEntry(self.requirements[uri])).frameworks.append(p)
        return list(out.values())

    def evidence_types_for(self, requirement_uri: str, country: str | None = None) -> RequirementEntry | None:
        """EB query 2: the requirement with its evidence type lists in ``country``; None if no list at all."""
        lists = [x for x in self.evidence_type_lists
                 if x.requirement == requirement_uri and (not country or x.jurisdiction == country)]
        if requirement_uri not in self.requirements or not lists:
            return None
        return RequirementEntry(self.requirements[requirement_uri], evidence_type_lists=lists)

    def knows_classification(self, classification: str) -> bool:
        return any(d.evidence_type.evidence_type_classification == classification for d in self.data_services)

    def data_services_for(self, classification: str, country: str) -> list[DataService]:
        """DSD entries of an evidence type classification in a jurisdiction (before version/answer filters)."""
        return [d for d in self.data_services
                if d.evidence_type.evidence_type_classification == classification and d.jurisdiction == country]

    @property
    def countries(self) -> set[str]:
        return {p.jurisdiction for p in self.procedures} | {d.jurisdiction for d in self.data_services if
                                                               d.jurisdiction} | \
            {x.jurisdiction for x in self.evidence_type_lists}
