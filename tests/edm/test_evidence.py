"""Evidence documents: structurally valid PDF 1.4 (checked in Python, and by qpdf / pdftotext when the machine
has them), structured XML, determinism, packages and the mapping to the EDM model."""
from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from datetime import date

import pytest
from lxml import etree

from simulators.edm import evidence as E
from simulators.edm.evidence import PDF, XML, make_evidence, make_package, pdf_text
from simulators.personas import OOTS_COUNTRIES, Personas

P = Personas(4242)


def check_pdf_structure(data: bytes) -> dict[int, bytes]:
    """Strict structural check of a classic (non-incremental, uncompressed-xref) PDF; returns the objects.

    Header, every xref offset pointing at its ``n 0 obj``, exact stream lengths, trailer Size/Root/Info,
    startxref pointing at ``xref``, every indirect reference resolvable, ``%%EOF`` last.
    """
    assert data.startswith(b"%PDF-1.4\n%") and data[10] >= 0x80, "header + binary comment line"
    assert data.endswith(b"%%EOF\n")
    startxref = int(re.search(rb"startxref\n(\d+)\n%%EOF\n$", data).group(1))
    assert data[startxref:startxref + 5] == b"xref\n"
    m = re.match(rb"xref\n0 (\d+)\n", data[startxref:])
    count = int(m.group(1))
    table = data[startxref + m.end():]
    entries = [table[i * 20:(i + 1) * 20] for i in range(count)]
    assert entries[0] == b"0000000000 65535 f\r\n"
    objects = {}
    for n, entry in enumerate(entries[1:], start=1):
        assert re.fullmatch(rb"\d{10} 00000 n\r\n", entry), entry
        off = int(entry[:10])
        head = b"%d 0 obj\n" % n
        assert data[off:off + len(head)] == head, f"xref offset of object {n} is wrong"
        end = data.index(b"\nendobj\n", off)
        objects[n] = data[off + len(head):end]
    trailer = table[count * 20:]
    assert trailer.startswith(b"trailer\n<<")
    assert int(re.search(rb"/Size (\d+)", trailer).group(1)) == count
    root = int(re.search(rb"/Root (\d+) 0 R", trailer).group(1))
    assert b"/Type /Catalog" in objects[root]
    assert re.search(rb"/Info (\d+) 0 R", trailer) and re.search(rb"/ID \[<[0-9A-F]{32}> <[0-9A-F]{32}>\]", trailer)
    for n, body in objects.items():
        for ref in re.findall(rb"(\d+) 0 R", body):
            assert int(ref) in objects, f"object {n} refers to missing object {int(ref)}"
        sm = re.match(rb"<< /Length (\d+)[^>]*>>\nstream\n", body)
        if sm:
            length = int(sm.group(1))
            assert body[sm.end() + length:] == b"\nendstream", f"stream length of object {n}"
    pages = [b for b in objects.values() if b.startswith(b"<< /Type /Page ")]
    assert pages and all(b"/MediaBox [0 0 595 842]" in p for p in pages)
    return objects


def _people():
    return [P.natural("FR", 0), P.natural("EL", 1), P.natural("BG", 2), P.natural("LT", 3), P.natural("HU", 4)]


def test_pdf_is_structurally_valid_and_has_the_persona_data():
    for person in _people():
        doc = make_evidence(person, "birth-certificate", PDF, "fr")
        check_pdf_structure(doc.data)
        text = pdf_text(doc.data)
        for value in (person.family_name, person.given_name, person.date_of_birth, person.eidas_id,
                      person.place_of_birth, doc.document_number, doc.issuing_date, "Acte de naissance",
                      "Document de test synthétique"):
            assert value in text, (person.country, value)
        if person.family_name_native:
            assert person.family_name_native in text


@pytest.mark.parametrize("cc", OOTS_COUNTRIES)
def test_every_type_for_every_country_builds(cc):
    people = [P.natural(cc, 7), P.legal(cc, 7)]
    for person in people:
        for et in E.evidence_types_for(person):
            for fmt in (PDF, XML):
                doc = make_evidence(person, et.key, fmt, "en")
                assert doc.size == len(doc.data) > 300
                if fmt == PDF:
                    check_pdf_structure(doc.data)
                    assert person.full_name in pdf_text(doc.data).replace("\n", " ") or \
                        person.full_name.split()[-1] in pdf_text(doc.data)
                else:
                    etree.fromstring(doc.data)


def test_documents_are_deterministic_with_fixed_creation_date():
    person = P.natural("DE", 3)
    a = make_evidence(person, "diploma", PDF, "de")
    b = make_evidence(Personas(4242).natural("DE", 3), "diploma", PDF, "de")
    assert a == b and a.data == b.data and a.sha256 == b.sha256
    d = a.issuing_date.replace("-", "")
    assert b"/CreationDate (D:%s090000Z)" % d.encode() in a.data
    assert make_evidence(P.natural("DE", 4), "diploma", PDF, "de").data != a.data
    x1, x2 = (make_evidence(person, "residence", XML, "fr") for _ in range(2))
    assert x1.data == x2.data


def test_metadata_of_a_document():
    person = P.natural("ES", 2)
    doc = make_evidence(person, "residence", PDF, "es")
    assert doc.mime_type == "application/pdf" and doc.language == "ES" and doc.kind == "MainEvidence"
    assert doc.sha256 == hashlib.sha256(doc.data).hexdigest() and len(doc.sha256) == 64
    assert doc.title == "Certificado de empadronamiento" and doc.country == "ES"
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", doc.identifier)
    assert doc.content_id() == f"{doc.identifier}@evidence.oots-harness.test"
    assert doc.filename.endswith(".pdf") and doc.conforms_to is None
    date.fromisoformat(doc.issuing_date)
    # a language without labels keeps its code, with English labels
    lv = make_evidence(person, "residence", PDF, "lv")
    assert lv.language == "LV" and lv.title == "Certificate of Residence"


def test_structured_xml_evidence():
    person = P.legal("IT", 1)
    doc = make_evidence(person, "company-registration", XML, "it")
    assert doc.data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    root = etree.fromstring(doc.data)
    ns = {"ev": E.XML_NS}
    assert root.tag == f"{{{E.XML_NS}}}Evidence" and root.get("type") == "company-registration"
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "it" and root.get("id") == doc.identifier
    assert root.get("conformsTo") == doc.conforms_to == E.EVIDENCE_TYPES["company-registration"].data_model()
    fields = {f.get("name"): f.text for f in root.iterfind(".//ev:Field", ns)}
    assert fields["legal_name"] == person.legal_name and fields["identifier"] == person.eidas_id
    assert fields["registration_number"] == person.registration_number
    assert root.findtext("ev:DocumentNumber", namespaces=ns) == doc.document_number
    assert root.findtext("ev:IssuingDate", namespaces=ns) == doc.issuing_date
    assert "oots-harness" in root.findtext("ev:Notice", namespaces=ns)
    label = root.find(".//ev:Field[@name='legal_name']", ns).get("label")
    assert label == "Denominazione"


def test_package_main_first_then_supplementary_documents():
    person = P.natural("PT", 5)
    pdf_pkg = make_package(person, "secondary-education", PDF, "pt")
    assert [d.kind for d in pdf_pkg] == ["MainEvidence", "Translation", "Annex"]  # a PDF is already readable
    xml_pkg = make_package(person, "secondary-education", XML, "pt")
    assert [d.kind for d in xml_pkg] == ["MainEvidence", "Translation", "HumanReadableVersion", "Annex"]
    main, translation, hrv, annex = xml_pkg
    assert translation.mime_type == XML and translation.language == "EN"
    assert hrv.mime_type == annex.mime_type == PDF and hrv.language == "PT"
    assert len({d.document_number for d in xml_pkg}) == 1 and len({d.identifier for d in xml_pkg}) == 4
    assert main.conforms_to and not any(d.conforms_to for d in xml_pkg[1:])
    for d in (hrv, annex):
        check_pdf_structure(d.data)
    assert person.family_name in pdf_text(hrv.data)
    en = make_package(person, "secondary-education", PDF, "en")
    assert en[1].language == "FR"  # translation target differs from the main language


@pytest.mark.case("EDM-RESP-008")
@pytest.mark.case("EDM-RESP-009")
def test_to_edm_document_metadata():
    from simulators.edm import model as m
    person = P.natural("NL", 2)
    issuer = P.authority("NL").to_agent()
    main, translation, hrv, annex = make_package(person, "diploma", XML, "nl")
    doc = main.to_edm(person, issuer)
    ev = doc.evidence
    assert doc.kind is m.DocumentKind.MAIN_EVIDENCE and doc.content == main.data
    assert doc.content_id == main.content_id() and doc.title == main.title
    assert ev.identifier == main.identifier and ev.issuing_date == date.fromisoformat(main.issuing_date)
    assert ev.is_about == person.to_subject().minimum_data_set()
    assert ev.issuing_authority.identifier == issuer.identifier and ev.issuing_authority.address is None
    assert ev.is_conformant_to.evidence_type_classification.startswith(
        "https://sr.oots.tech.ec.europa.eu/evidencetypeclassifications/NL/")
    assert ev.distribution.format == XML and ev.distribution.conforms_to == main.conforms_to
    for supp in (translation, hrv, annex):
        s = supp.to_edm(person).evidence
        assert s.is_about is s.issuing_authority is s.is_conformant_to is s.issuing_date is None
        assert s.distribution.format == supp.mime_type and s.distribution.conforms_to is None
    with pytest.raises(ValueError):
        main.to_edm(person)


def test_bad_arguments():
    with pytest.raises(ValueError):
        make_evidence(P.legal("FR"), "birth-certificate")
    with pytest.raises(ValueError):
        make_evidence(P.natural("FR"), "passport")
    with pytest.raises(ValueError):
        make_evidence(P.natural("FR"), "diploma", "application/json")
    with pytest.raises(ValueError):
        make_evidence(P.natural("FR"), "diploma", kind="Appendix")


def test_pdf_with_many_scripts_spreads_over_several_fonts():
    text = ("Ελληνικά ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ αβγδεζηθικλμνξοπρστυφχψω Кирилица АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЮЯ "
            "абвгдежзийклмнопрстуфхцчшщъьюя ĀāĂăĄąĆćĈĉĊċČčĎďĐđĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĦħĨĩĪīĬĭĮįİıĲĳĴĵĶķĸĹĺĻļĽľĿŀŁł"
            "ŃńŅņŇňŉŊŋŌōŎŏŐőŒœŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŦŧŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžſ ἀἁἂἃἄἅἆἇ ḀḁḂḃḄḅḆḇḈḉḊḋḌḍḎḏ")
    words = text.split()
    data = E._pdf([("title", "Scripts")] + [("field", "W", w) for w in words], title="Scripts", author="t",
                  subject="t", lang="en", created=date(2026, 1, 1))
    objects = check_pdf_structure(data)
    assert sum(b"/Differences" in o for o in objects.values()) >= 2
    out = pdf_text(data).replace("\n", "")  # long words are wrapped over several lines
    for w in words:
        assert w in out


def _tool(name):
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed (Debian package {'qpdf' if name == 'qpdf' else 'poppler-utils'}); "
                    "the structural check above still ran")
    return path


def test_qpdf_check(tmp_path):
    qpdf = _tool("qpdf")
    for i, person in enumerate(_people() + [P.legal("SE", 1)]):
        for doc in make_package(person, E.evidence_types_for(person)[0].key, XML, "fr"):
            if doc.mime_type != PDF:
                continue
            f = tmp_path / f"{i}-{doc.filename}"
            f.write_bytes(doc.data)
            r = subprocess.run([qpdf, "--check", str(f)], capture_output=True, text=True)
            assert r.returncode == 0 and "No syntax or stream encoding errors" in r.stdout, r.stdout + r.stderr


def test_pdftotext_extracts_the_unicode_text(tmp_path):
    pdftotext = _tool("pdftotext")
    for person in _people():
        doc = make_evidence(person, "residence", PDF, "de")
        f = tmp_path / doc.filename
        f.write_bytes(doc.data)
        r = subprocess.run([pdftotext, "-layout", "-enc", "UTF-8", str(f), "-"], capture_output=True, check=True)
        text = r.stdout.decode("utf-8")
        for value in (person.family_name, person.given_name, person.eidas_id, person.address.post_city_name,
                      "Meldebescheinigung"):
            assert value in text, (person.country, value)
        if person.family_name_native:
            assert person.family_name_native in text
