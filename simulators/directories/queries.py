"""The query logic of the mock EB and DSD: parameters -> answer body (no HTTP, no signature).

``respond(catalogue, query_id, params, v2=...)`` validates the parameters of the digest
(``shared/spec/common-services.md`` §4-§5) and returns the XML body with its outcome. Error policy (CS-026):

* unknown or missing ``queryId``: ``EB:ERR:0006`` / ``DSD:ERR:0004`` (family from the path or the id);
* missing mandatory parameter, repeated or unknown parameter: ``EB:ERR:0003`` / ``DSD:ERR:0003``;
* v1.x jurisdiction level parameters (``jurisdiction-admin-l2|l3``) on the EB: ``EB:ERR:0004``;
* malformed value: ``EB:ERR:0005`` (procedure / country) / ``DSD:ERR:0006``;
* unknown requirement ``EB:ERR:0002``; unknown evidence type classification ``DSD:ERR:0002``;
* empty result ``EB:ERR:0001`` / ``DSD:ERR:0001``;
* evidence type with classification concepts and no answer: ``DSD:ERR:0005`` (the question), a wrong answer
  ``DSD:ERR:0006``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from . import answers
from .answers import NOT_FOUND, CsError
from .catalogue import Catalogue

EB_REQUIREMENTS = "urn:fdc:oots:eb:ebxml-regrep:queries:requirements-by-procedure-and-jurisdiction"
EB_EVIDENCE_TYPES = "urn:fdc:oots:eb:ebxml-regrep:queries:evidence-types-by-requirement-and-jurisdiction"
DSD_DATA_SERVICES = "urn:fdc:oots:dsd:ebxml-regrep:queries:dataservices-by-evidencetype-and-jurisdiction"
QUERY_IDS = (EB_REQUIREMENTS, EB_EVIDENCE_TYPES, DSD_DATA_SERVICES)
#: per query: (mandatory, optional) parameters
PARAMS = {
    EB_REQUIREMENTS: ((), ("procedure-id", "country-code", "return-incomplete")),
    EB_EVIDENCE_TYPES: (("requirement-id",), ("country-code",)),
    DSD_DATA_SERVICES: (("evidence-type-classification", "country-code"), ("specification",)),
}
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_PROCEDURE = re.compile(r"^[A-Z0-9]{1,4}$")
_SPEC = re.compile(r"^oots-edm:v\d+\.\d+$")
_URI = re.compile(r"^https?://\S+$")


@dataclass
class Outcome:
    """What :func:`respond` produced: family (``eb``/``dsd``), body, and ``Success`` or the error code."""

    family: str
    body: bytes
    outcome: str


def family_of(query_id: str | None, path_family: str | None = None) -> str:
    if path_family in ("eb", "dsd"):
        return path_family
    return "dsd" if query_id and ":dsd:" in query_id else "eb"


def respond(cat: Catalogue, query_id: str | None, params: Iterable[tuple[str, str]], *, v2: bool = True,
            path_family: str | None = None, empty: bool = False) -> Outcome:
    """Answer one query; ``empty`` forces the empty-result refusal (a fault)."""
    fam = family_of(query_id, path_family)
    pairs = list(params)
    try:
        if query_id not in QUERY_IDS or family_of(query_id) != fam:
            raise CsError("DSD:ERR:0004" if fam == "dsd" else "EB:ERR:0006",
                          f"Unknown query: {query_id or '(no queryId)'}", detail="UNKNOWN_QUERY")
        p = _params(query_id, pairs, cat, fam)
        if empty:
            raise _empty(fam)
        if query_id == EB_REQUIREMENTS:
            body = _eb_requirements(cat, p, v2)
        elif query_id == EB_EVIDENCE_TYPES:
            body = _eb_evidence_types(cat, p, v2)
        else:
            body = _dsd(cat, p, v2)
        return Outcome(fam, body, "Success")
    except CsError as err:
        return Outcome(fam, answers.error_answer(err, v2=v2), err.code)


def _err(fam: str, eb: str, dsd: str, message: str, type_: str = answers.INVALID, detail: str | None = None):
    return CsError(dsd if fam == "dsd" else eb, message, type_, detail)


def _empty(fam: str) -> CsError:
    if fam == "dsd":
        return CsError("DSD:ERR:0001", "No Data Services were found based on the given parameters", NOT_FOUND,
                       "DS_NOT_FOUND")
    return CsError("EB:ERR:0001", "The result set is empty", NOT_FOUND, "EMPTY_RESULT")


def _params(query_id: str, pairs: list[tuple[str, str]], cat: Catalogue, fam: str) -> dict[str, str]:
    mandatory, optional = PARAMS[query_id]
    out: dict[str, str] = {}
    concept_params = {c.param for c in cat.concepts.values()} | {c.identifier for c in cat.concepts.values()}
    for name, value in pairs:
        if name == "queryId":
            continue
        if name in out:
            raise _err(fam, "EB:ERR:0003", "DSD:ERR:0003", f"Parameter {name} is given more than once")
        if fam == "eb" and name in ("jurisdiction-admin-l2", "jurisdiction-admin-l3"):
            raise CsError("EB:ERR:0004", f"Invalid jurisdiction level parameter {name} (removed in 2.0)")
        if name not in mandatory + optional and not (fam == "dsd" and name in concept_params):
            raise _err(fam, "EB:ERR:0003", "DSD:ERR:0003", f"Unknown parameter {name}")
        out[name] = value.strip()
    for name in mandatory:
        if not out.get(name):
            raise _err(fam, "EB:ERR:0003", "DSD:ERR:0003", f"Missing mandatory parameter {name}")
    if "country-code" in out and not _COUNTRY.match(out["country-code"]):
        raise _err(fam, "EB:ERR:0005", "DSD:ERR:0006", f"Invalid country-code {out['country-code']!r}")
    if "procedure-id" in out and not _PROCEDURE.match(out["procedure-id"]):
        raise CsError("EB:ERR:0005", f"Invalid procedure-id {out['procedure-id']!r}")
    if out.get("return-incomplete", "false") not in ("true", "false"):
        raise CsError("EB:ERR:0003", "return-incomplete must be true or false")
    if "requirement-id" in out and not _URI.match(out["requirement-id"]):
        raise CsError("EB:ERR:0003", f"requirement-id must be an SR requirement URI: {out['requirement-id']!r}")
    if "evidence-type-classification" in out and not _URI.match(out["evidence-type-classification"]):
        raise CsError("DSD:ERR:0006", "evidence-type-classification must be an SR URI")
    if "specification" in out and not _SPEC.match(out["specification"]):
        raise CsError("DSD:ERR:0006", f"specification must be oots-edm:vX.Y, not {out['specification']!r}")
    return out


def _eb_requirements(cat: Catalogue, p: dict[str, str], v2: bool) -> bytes:
    entries = cat.requirements_for(p.get("procedure-id"), p.get("country-code"))
    if not entries:
        raise _empty("eb")
    return answers.eb_answer(entries, v2=v2)


def _eb_evidence_types(cat: Catalogue, p: dict[str, str], v2: bool) -> bytes:
    uri = p["requirement-id"]
    if uri not in cat.requirements:
        raise CsError("EB:ERR:0002", f"Requirement not found: {uri}", NOT_FOUND, "REQUIREMENT_NOT_FOUND")
    entry = cat.evidence_types_for(uri, p.get("country-code"))
    if entry is None:
        raise _empty("eb")
    return answers.eb_answer([entry], v2=v2)


def _dsd(cat: Catalogue, p: dict[str, str], v2: bool) -> bytes:
    cls_uri = p["evidence-type-classification"]
    if not cat.knows_classification(cls_uri):
        raise CsError("DSD:ERR:0002", f"Evidence type not found: {cls_uri}", NOT_FOUND, "ET_NOT_FOUND")
    entries = []
    for ds in cat.data_services_for(cls_uri, p["country-code"]):
        answers_given = {}
        missing = []
        for c in ds.concepts:
            given = p.get(c.param) or p.get(c.identifier)
            if not given:
                missing.append(c)
            elif c.values and given not in c.values:
                raise CsError("DSD:ERR:0006", f"Incorrect value {given!r} for {c.param}", detail="BAD_VALUE")
            else:
                key = next(k for k, v in cat.concepts.items() if v is c)
                answers_given[key] = given
        if missing:
            raise CsError("DSD:ERR:0005", "Additional input is required to find the data service", NOT_FOUND,
                          "ADDITIONAL_INPUT", dset=ds, concepts=missing)
        kept = [a for a in ds.access_services
                if ("specification" not in p or p["specification"] in a.conforms_to)
                and all(v in a.classification.get(k, [v]) for k, v in answers_given.items())]
        if kept:
            entries.append((ds, kept))
    if not entries:
        raise _empty("dsd")
    return answers.dsd_answer(entries, v2=v2)
