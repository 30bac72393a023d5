"""EDM-RESP-* single-message checks: one breaking and one passing message per check id."""
from __future__ import annotations

import copy

import pytest

from conformance.rules.ns import q

from .test_checks_edm_request import (RESP12, RESP20, V20, Case, X, _crashes, ablations, assert_breaks,
                                      assert_covered, assert_holds, drop, edm_ids, frag, params, parse, run,
                                      seq, set_attr,
                                      set_spec, set_text, string_slot, value_path)

HDR20 = V20 + "reponse.entete.xml"
STATUS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:"
PROVIDER_AGENT = "/*/rim:Slot[@name='EvidenceProvider']//sdg:Agent"
REQUESTER_AGENT = "/*/rim:Slot[@name='EvidenceRequester']//sdg:Agent"
PACKAGE = "/*/rim:RegistryObjectList/rim:RegistryObject"
OBJ20 = PACKAGE + "/rim:RegistryObjectList/rim:RegistryObject"
OBJ12 = "/*/rim:RegistryObjectList/rim:RegistryObject"
EVIDENCE = "//rim:Slot[@name='EvidenceMetadata']//sdg:Evidence"
CLASSIFICATION = OBJ20 + "/rim:Classification"
REF = "//rim:RepositoryItemRef"
XLINK = "{http://www.w3.org/1999/xlink}"
PDF_PART = "//eb:PartInfo[eb:PartProperties/eb:Property='application/pdf']"


def add_translation(proper: bool = True):
    """Add a Translation document to the v2.0 package: proper = only Identifier + Distribution/Format."""
    def m(root):
        main = X(root, OBJ20)
        tr = copy.deepcopy(main)
        tr.set("id", "urn:uuid:1a2b3c4d-0000-4000-8000-0000000000aa")
        ev = X(tr, ".//sdg:Evidence")
        if proper:
            for local in ("IsAbout", "IssuingAuthority", "IsConformantTo", "IssuingDate"):
                ev.remove(X(ev, f"sdg:{local}"))
        X(ev, "sdg:Identifier").text = "1a2b3c4d-0000-4000-8000-0000000000ab"
        cls = X(tr, "rim:Classification")
        cls.set("classificationNode", "Translation")
        cls.set("id", "urn:uuid:1a2b3c4d-0000-4000-8000-0000000000ac")
        X(tr, "rim:RepositoryItemRef").set(XLINK + "href", "cid:1a2b3c4d-0000-4000-8000-0000000000ad@pdf.oots.fr")
        main.addnext(tr)
    return m


def empty_list(root):
    lst = X(root, "/*/rim:RegistryObjectList")
    for c in list(lst):
        lst.remove(c)
    return root


def deferred(with_date: bool = True):
    def m(root):
        root.set("status", STATUS + "Unavailable")
        empty_list(root)
        if with_date:
            X(root, "/*/rim:Slot[@name='IssueDateTime']").addnext(
                string_slot("ResponseAvailableDateTime", "2026-09-01T10:00:00Z", "DateTimeValueType"))
    return m


def v12_packaged(root):
    obj = X(root, OBJ12)
    pkg = frag('<rim:RegistryObject xsi:type="rim:RegistryPackageType" '
               'id="urn:uuid:6fb9fe0f-c0bf-4172-849b-7e7a1d86f900"><rim:RegistryObjectList/></rim:RegistryObject>')
    obj.addprevious(pkg)
    pkg[0].append(obj)


def flatten_v20(root):
    pkg = X(root, PACKAGE)
    pkg.addnext(X(root, OBJ20))
    pkg.getparent().remove(pkg)


def add_subject_to_is_about(root):
    X(root, EVIDENCE + "/sdg:IsAbout").append(
        frag("<sdg:LegalPerson><sdg:LegalName>X</sdg:LegalName></sdg:LegalPerson>"))


NEGATIVE = [
    Case("EDM-RESP-002", RESP20, lambda r: drop(r, "/*/rim:Slot[@name='EvidenceResponseIdentifier']"), "no-eri"),
    Case("EDM-RESP-002", RESP20, lambda r: set_text(r, value_path("EvidenceResponseIdentifier"),
                                                    "urn:uuid:1a2b3c4d-0000-4000-8000-000000000004"), "eri-prefix"),
    Case("EDM-RESP-002", RESP20, lambda r: r.set("status", STATUS + "PartialSuccess"), "status"),
    Case("EDM-RESP-002", RESP12, lambda r: r.attrib.pop("requestId"), "no-request-id"),
    Case("EDM-RESP-002", RESP20, lambda r: X(r, "/*/rim:Slot[@name='IssueDateTime']").addnext(
        string_slot("Procedure", "T3")), "extra-slot"),
    Case("EDM-RESP-002", RESP20, lambda r: set_spec(r, "oots-edm:2.0"), "spec-shape"),
    Case("EDM-RESP-002", RESP12, lambda r: set_text(r, value_path("IssueDateTime"), "2022-02-14"), "date-only"),
    Case("EDM-RESP-003", RESP20, lambda r: set_text(r, PROVIDER_AGENT + "/sdg:Classification", "ER"), "not-ep"),
    Case("EDM-RESP-003", RESP12, lambda r: set_attr(r, PROVIDER_AGENT + "/sdg:Identifier", "schemeID", None),
         "scheme"),
    Case("EDM-RESP-003", RESP20, lambda r: set_attr(r, "/*/rim:Slot[@name='EvidenceProvider']/rim:SlotValue",
                                                    q("xsi", "type"), "rim:AnyValueType"), "not-collection"),
    Case("EDM-RESP-004", RESP20, lambda r: X(r, REQUESTER_AGENT).append(
        frag("<sdg:Classification>IP</sdg:Classification>")), "echoes-ip"),
    Case("EDM-RESP-004", RESP12, lambda r: drop(r, REQUESTER_AGENT + "/sdg:Name"), "no-name"),
    Case("EDM-RESP-005", RESP20, flatten_v20, "v20-flat"),
    Case("EDM-RESP-005", RESP20, lambda r: X(r, PACKAGE).append(frag("<rim:RegistryObjectList/>")), "two-nested"),
    Case("EDM-RESP-005", RESP20, lambda r: drop(r, "/*/rim:RegistryObjectList"), "no-list"),
    Case("EDM-RESP-005", RESP12, v12_packaged, "v12-packaged"),
    Case("EDM-RESP-006", RESP20, lambda r: set_attr(r, CLASSIFICATION, "classificationNode", "Annex"), "no-main"),
    Case("EDM-RESP-006", RESP20, lambda r: drop(r, CLASSIFICATION), "unclassified"),
    Case("EDM-RESP-007", RESP20, lambda r: set_attr(r, CLASSIFICATION, "classificationNode", "Attachment"), "node"),
    Case("EDM-RESP-007", RESP20, lambda r: set_attr(r, CLASSIFICATION, "id", "1a2b3c4d-0000-4000-8000-000000000019"),
         "id"),
    Case("EDM-RESP-008", RESP20, lambda r: drop(r, EVIDENCE + "/sdg:IssuingDate"), "no-issuing-date"),
    Case("EDM-RESP-008", RESP20, lambda r: drop(r, "//rim:Slot[@name='EvidenceMetadata']"), "no-metadata"),
    Case("EDM-RESP-008", RESP12, lambda r: drop(r, EVIDENCE + "/sdg:IsAbout"), "v12-no-is-about"),
    Case("EDM-RESP-009", RESP20, add_translation(proper=False), "translation-with-is-about"),
    Case("EDM-RESP-009", RESP20, seq(add_translation(), lambda r: X(r, OBJ20 + "[2]//sdg:Distribution").append(
        frag("<sdg:ConformsTo>https://sr.oots.tech.ec.europa.eu/datamodels/x</sdg:ConformsTo>"))),
        "translation-with-conforms-to"),
    Case("EDM-RESP-010", RESP20, lambda r: set_attr(r, REF, XLINK + "title", None), "no-title"),
    Case("EDM-RESP-010", RESP12, lambda r: set_attr(r, REF, XLINK + "href", "https://x.example/doc.pdf"), "not-cid"),
    Case("EDM-RESP-010", RESP20, lambda r: drop(r, REF), "no-ref"),
    Case("EDM-RESP-011", RESP20, None, "unknown-cid", header=HDR20,
         header_mutate=lambda h: set_attr(h, PDF_PART, "href", "cid:other@pdf.oots.fr")),
    Case("EDM-RESP-011", RESP20, None, "mime-differs", header=HDR20,
         header_mutate=lambda h: set_text(h, PDF_PART + "//eb:Property[@name='MimeType']", "application/xml")),
    Case("EDM-RESP-011", RESP20, None, "no-mime", header=HDR20,
         header_mutate=lambda h: drop(h, PDF_PART + "/eb:PartProperties")),
    Case("EDM-RESP-012", RESP20, lambda r: set_text(r, EVIDENCE + "/sdg:Identifier", "EVIDENCE-18"), "not-uuid"),
    Case("EDM-RESP-012", RESP12, lambda r: set_text(r, EVIDENCE + "/sdg:Identifier",
                                                    "urn:uuid:7c2e04cf-7d20-4363-908d-827817746725"), "prefixed"),
    Case("EDM-RESP-013", RESP20, lambda r: drop(r, EVIDENCE + "/sdg:IsAbout/sdg:NaturalPerson/sdg:DateOfBirth"),
         "no-dob"),
    Case("EDM-RESP-013", RESP12, add_subject_to_is_about, "two-subjects"),
    Case("EDM-RESP-014", RESP20, lambda r: set_text(r, EVIDENCE + "/sdg:Distribution/sdg:Format", "application/xml"),
         "v20-xml-no-conforms-to"),
    Case("EDM-RESP-014", RESP12, lambda r: set_text(r, EVIDENCE + "/sdg:Distribution/sdg:ConformsTo",
                                                    "https://example.org/model"), "v12-not-sr"),
    Case("EDM-RESP-014", RESP12, lambda r: drop(r, EVIDENCE + "/sdg:Distribution/sdg:ConformsTo"), "v12-missing"),
    Case("EDM-RESP-015", RESP20, deferred(with_date=False), "unavailable-no-date"),
    Case("EDM-RESP-015", RESP20, lambda r: X(r, "/*/rim:Slot[@name='IssueDateTime']").addnext(
        string_slot("ResponseAvailableDateTime", "2026-09-01T10:00:00Z", "DateTimeValueType")), "date-on-success"),
    Case("EDM-RESP-015", RESP20, seq(deferred(), lambda r: X(r, "/*/rim:RegistryObjectList").append(
        frag('<rim:RegistryObject xsi:type="rim:RegistryPackageType" '
             'id="urn:uuid:1a2b3c4d-0000-4000-8000-00000000ffff"><rim:RegistryObjectList/></rim:RegistryObject>'))),
        "unavailable-with-objects"),
    Case("EDM-RESP-016", RESP20, empty_list, "empty-with-attachment", header=HDR20),
    Case("EDM-RESP-016", RESP20, deferred(), "deferred-with-attachment", header=HDR20),
]

POSITIVE = [
    *[Case(i, RESP20, header=HDR20) for i in ("EDM-RESP-002", "EDM-RESP-003", "EDM-RESP-004", "EDM-RESP-005",
                                              "EDM-RESP-006", "EDM-RESP-007", "EDM-RESP-008", "EDM-RESP-009",
                                              "EDM-RESP-010", "EDM-RESP-011", "EDM-RESP-012", "EDM-RESP-013",
                                              "EDM-RESP-014", "EDM-RESP-015", "EDM-RESP-016")],
    *[Case(i, RESP12) for i in ("EDM-RESP-002", "EDM-RESP-003", "EDM-RESP-004", "EDM-RESP-005", "EDM-RESP-008",
                                "EDM-RESP-010", "EDM-RESP-012", "EDM-RESP-013", "EDM-RESP-014", "EDM-RESP-015")],
    *[Case(i, RESP20, add_translation(), "with-translation") for i in
      ("EDM-RESP-005", "EDM-RESP-006", "EDM-RESP-007", "EDM-RESP-008", "EDM-RESP-009", "EDM-RESP-010",
       "EDM-RESP-014")],
    *[Case(i, RESP20, deferred(), "deferred") for i in ("EDM-RESP-002", "EDM-RESP-005", "EDM-RESP-015")],
    Case("EDM-RESP-016", RESP20, empty_list, "refused-preview", header=HDR20,
         header_mutate=lambda h: drop(h, PDF_PART)),
    Case("EDM-RESP-014", RESP20, seq(
        lambda r: set_text(r, EVIDENCE + "/sdg:Distribution/sdg:Format", "application/xml"),
        lambda r: X(r, EVIDENCE + "/sdg:Distribution").append(
            frag("<sdg:ConformsTo>https://sr.oots.tech.ec.europa.eu/datamodels/birth-1.0</sdg:ConformsTo>"))),
        "v20-xml-with-conforms-to"),
]


@pytest.mark.parametrize("case", params(NEGATIVE))
def test_breaking_message_is_reported(case, corpus):
    assert_breaks(case, corpus)


@pytest.mark.parametrize("case", params(POSITIVE))
def test_conformant_message_passes(case, corpus):
    assert_holds(case, corpus)


def test_every_response_check_has_both_cases():
    assert_covered("edm_response", NEGATIVE, POSITIVE)


def test_translation_variant_is_fully_clean(corpus):
    """The derived passing message used above is itself clean for every EDM check (with a matching header)."""
    root, header = Case("x", RESP20, add_translation(), header=HDR20).build(corpus)
    part = copy.deepcopy(X(header, PDF_PART))
    part.set("href", "cid:1a2b3c4d-0000-4000-8000-0000000000ad@pdf.oots.fr")
    X(header, PDF_PART).addnext(part)
    _, findings = run(root, header)
    assert [f.line() for f in findings if f.id in edm_ids()] == []


def test_header_checks_are_silent_without_header(corpus):
    root, _ = Case("x", RESP20, empty_list).build(corpus)
    ran, findings = run(root)
    assert {"EDM-RESP-011", "EDM-RESP-016"} <= set(ran)
    assert not [f for f in findings if f.id in ("EDM-RESP-011", "EDM-RESP-016")]


@pytest.mark.parametrize("rel", [RESP20, RESP12])
def test_no_crash_on_ablated_responses(rel, corpus):
    root = parse(corpus(rel))
    header = parse(corpus(HDR20))
    for r in ablations(root):
        assert _crashes(r, header=header) == []
    for h in ablations(header):
        assert _crashes(root, header=h) == []
