"""Evidence documents for the simulated providers: real PDFs and structured XML, per persona and evidence type.

    doc = make_evidence(persona, "birth-certificate", fmt="application/pdf", lang="fr")
    doc.data, doc.mime_type, doc.sha256, doc.size, doc.language, doc.title
    package = make_package(persona, "diploma", fmt="application/xml", lang="de")   # v2.0 3-part package
    edm_doc = doc.to_edm(persona, issuer=personas.authority("DE").to_agent())    # model.EvidenceDocument

Everything is deterministic: same persona, type, format, language and kind give byte-identical documents (the
PDF ``CreationDate`` is the issuing date, document numbers and dates come from a seed derived from the persona).

**PDF** (``application/pdf``): PDF 1.4, one A4 page, uncompressed content stream, xref table with exact byte
offsets. Text is set in the standard Helvetica fonts (not embedded). Characters of Windows-1252 use
``WinAnsiEncoding``; any other character (Greek, Cyrillic, Latin Extended: č, ő, ł...) is put in an extra
font resource whose ``/Differences`` encoding names it ``uniXXXX``; every font has a ``/ToUnicode`` CMap, so
text extraction (``pdftotext``) gives back the exact Unicode text. Rendering of non-1252 glyphs depends on
the viewer's substitute for Helvetica.

**XML** (``application/xml``): namespace :data:`XML_NS` (``urn:oots-harness:evidence:1``), UTF-8::

    <ev:Evidence xmlns:ev="urn:oots-harness:evidence:1" type="birth-certificate" id="<uuid>" xml:lang="fr"
                 kind="MainEvidence" conformsTo="https://sr.oots.tech.ec.europa.eu/datamodels/...">
      <ev:Title>…</ev:Title>
      <ev:DocumentNumber>…</ev:DocumentNumber>
      <ev:IssuingAuthority country="FR">…</ev:IssuingAuthority>
      <ev:IssuingDate>2025-03-01</ev:IssuingDate>
      <ev:Subject kind="natural|legal"> <ev:Field name="family_name" label="Nom de famille">…</ev:Field>* </ev:Subject>
      <ev:Content> <ev:Field name="…" label="…">…</ev:Field>* </ev:Content>
      <ev:Notice>Synthetic test document…</ev:Notice>
    </ev:Evidence>

Field ``name`` s are stable keys, ``label`` s follow the document language. Labels exist in EN, FR, DE, ES,
IT, NL and PT; other languages get the English labels (the ``language`` of the document is still the one
asked for). Every document carries a notice saying it is synthetic.
"""
from __future__ import annotations

import hashlib
import random
import textwrap
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

from lxml import etree

from simulators.personas import (COUNTRY_NAMES, REFERENCE_DATE, LegalPerson, NaturalPerson, derive_seed)

__all__ = ["XML_NS", "PDF", "XML", "FORMATS", "EVIDENCE_TYPES", "EvidenceType", "EvidenceDocument",
           "make_evidence", "make_package", "evidence_types_for", "pdf_text", "SR_BASE"]

XML_NS = "urn:oots-harness:evidence:1"
PDF, XML = "application/pdf", "application/xml"
FORMATS = (PDF, XML)
SR_BASE = "https://sr.oots.tech.ec.europa.eu"
_UUID_NS = uuid.UUID("1b5a3f0e-8d1c-4c2a-9a51-2f6e3b7d9c40")
_NOTICE_KEY = "notice"


@dataclass(frozen=True)
class EvidenceType:
    """An evidence type the simulated providers can issue."""

    key: str
    subject: str  # "natural" | "legal"
    title_en: str
    description_en: str

    def classification(self, country: str) -> str:
        """The SR evidence type classification URI of this type in ``country`` (stable, synthetic UUID)."""
        return f"{SR_BASE}/evidencetypeclassifications/{country}/{uuid.uuid5(_UUID_NS, f'etc/{self.key}/{country}')}"

    def data_model(self) -> str:
        """The SR data model URI of the structured (XML) distribution."""
        return f"{SR_BASE}/datamodels/oots-harness/{self.key}/1.0"

    def data_service_id(self, country: str) -> str:
        """A DSD DataServiceEvidenceType identifier (bare UUID) for this type in ``country``."""
        return str(uuid.uuid5(_UUID_NS, f"dset/{self.key}/{country}"))


EVIDENCE_TYPES: dict[str, EvidenceType] = {t.key: t for t in (
    EvidenceType("birth-certificate", "natural", "Certificate of Birth",
                 "Birth certificate issued by the civil registration office."),
    EvidenceType("secondary-education", "natural", "Secondary Education Completion Certificate",
                 "Proof of completion of upper secondary education."),
    EvidenceType("diploma", "natural", "Tertiary Education Diploma",
                 "Diploma awarded by a higher education institution."),
    EvidenceType("residence", "natural", "Certificate of Residence",
                 "Proof of the registered place of residence."),
    EvidenceType("company-registration", "legal", "Company Registration Extract",
                 "Extract from the business register."),
)}


def evidence_types_for(persona) -> list[EvidenceType]:
    """The evidence types that can be issued about ``persona`` (natural or legal)."""
    return [t for t in EVIDENCE_TYPES.values() if t.subject == persona.kind]


# --- labels ---------------------------------------------------------------------------------------------

_LANGS = ("EN", "FR", "DE", "ES", "IT", "NL", "PT")
_L = {  # key: (EN, FR, DE, ES, IT, NL, PT)
    "birth-certificate": ("Certificate of Birth", "Acte de naissance", "Geburtsurkunde", "Certificado de nacimiento",
                          "Certificato di nascita", "Geboorteakte", "Certidão de nascimento"),
    "secondary-education": ("Secondary Education Completion Certificate", "Attestation de fin d'études secondaires",
                            "Abschlusszeugnis der Sekundarstufe", "Certificado de estudios secundarios",
                            "Diploma di istruzione secondaria", "Diploma voortgezet onderwijs",
                            "Certificado do ensino secundário"),
    "diploma": ("Tertiary Education Diploma", "Diplôme de l'enseignement supérieur", "Hochschulabschlusszeugnis",
                "Título universitario", "Diploma di laurea", "Diploma hoger onderwijs", "Diploma do ensino superior"),
    "residence": ("Certificate of Residence", "Certificat de résidence", "Meldebescheinigung",
                  "Certificado de empadronamiento", "Certificato di residenza", "Uittreksel BRP",
                  "Atestado de residência"),
    "company-registration": ("Company Registration Extract", "Extrait d'immatriculation", "Handelsregisterauszug",
                             "Nota simple del Registro Mercantil", "Visura camerale", "Uittreksel Handelsregister",
                             "Certidão de registo comercial"),
    "notice": ("Synthetic test document generated by oots-harness. Not a real record.",
               "Document de test synthétique produit par oots-harness. Ce n'est pas un acte réel.",
               "Synthetisches Testdokument von oots-harness. Keine echte Urkunde.",
               "Documento de prueba sintético generado por oots-harness. No es un registro real.",
               "Documento di prova sintetico generato da oots-harness. Non è un atto reale.",
               "Synthetisch testdocument gemaakt door oots-harness. Geen echt document.",
               "Documento de teste sintético gerado por oots-harness. Não é um registo real."),
    "family_name": ("Family name", "Nom de famille", "Familienname", "Apellidos", "Cognome", "Achternaam", "Apelido"),
    "given_name": ("Given name", "Prénom", "Vorname", "Nombre", "Nome", "Voornaam", "Nome próprio"),
    "birth_name": ("Birth name", "Nom de naissance", "Geburtsname", "Apellido de nacimiento", "Cognome di nascita",
                   "Geboortenaam", "Apelido de nascimento"),
    "native_name": ("Name (national script)", "Nom (écriture nationale)", "Name (Landesschrift)",
                    "Nombre (escritura nacional)", "Nome (scrittura nazionale)", "Naam (nationaal schrift)",
                    "Nome (escrita nacional)"),
    "date_of_birth": ("Date of birth", "Date de naissance", "Geburtsdatum", "Fecha de nacimiento", "Data di nascita",
                      "Geboortedatum", "Data de nascimento"),
    "place_of_birth": ("Place of birth", "Lieu de naissance", "Geburtsort", "Lugar de nacimiento", "Luogo di nascita",
                       "Geboorteplaats", "Local de nascimento"),
    "gender": ("Gender", "Sexe", "Geschlecht", "Sexo", "Sesso", "Geslacht", "Sexo"),
    "identifier": ("Personal identifier", "Identifiant personnel", "Personenkennzeichen", "Identificador personal",
                   "Identificativo personale", "Persoonsidentificatie", "Identificador pessoal"),
    "address": ("Address", "Adresse", "Anschrift", "Dirección", "Indirizzo", "Adres", "Morada"),
    "legal_name": ("Legal name", "Dénomination", "Firma", "Denominación social", "Denominazione",
                   "Statutaire naam", "Firma"),
    "registration_number": ("Registration number", "Numéro d'immatriculation", "Registernummer",
                            "Número de registro", "Numero di iscrizione", "Registratienummer", "Número de registo"),
    "org_identifiers": ("Other identifiers", "Autres identifiants", "Weitere Kennungen", "Otros identificadores",
                        "Altri identificativi", "Andere nummers", "Outros identificadores"),
    "registered_office": ("Registered office", "Siège social", "Sitz", "Domicilio social", "Sede legale",
                          "Statutaire zetel", "Sede"),
    "registration_date": ("Registration date", "Date d'immatriculation", "Eintragungsdatum", "Fecha de inscripción",
                          "Data di iscrizione", "Datum van inschrijving", "Data de registo"),
    "status": ("Status", "Statut", "Status", "Estado", "Stato", "Status", "Estado"),
    "active": ("Active", "Active", "Aktiv", "Activa", "Attiva", "Actief", "Ativa"),
    "share_capital": ("Share capital", "Capital social", "Stammkapital", "Capital social", "Capitale sociale",
                      "Geplaatst kapitaal", "Capital social"),
    "document_number": ("Document number", "Numéro du document", "Dokumentnummer", "Número de documento",
                        "Numero del documento", "Documentnummer", "Número do documento"),
    "issued_by": ("Issued by", "Délivré par", "Ausgestellt von", "Expedido por", "Rilasciato da", "Afgegeven door",
                  "Emitido por"),
    "issuing_date": ("Issuing date", "Date de délivrance", "Ausstellungsdatum", "Fecha de expedición",
                     "Data di rilascio", "Datum van afgifte", "Data de emissão"),
    "registry_office": ("Registry office", "Officier de l'état civil", "Standesamt", "Registro Civil",
                        "Ufficio di stato civile", "Burgerlijke stand", "Conservatória"),
    "institution": ("Awarding institution", "Établissement", "Einrichtung", "Centro", "Istituto", "Instelling",
                    "Instituição"),
    "qualification": ("Qualification", "Diplôme", "Abschluss", "Titulación", "Titolo", "Kwalificatie",
                      "Qualificação"),
    "field_of_study": ("Field of study", "Domaine d'études", "Studienfach", "Área de estudios", "Ambito di studio",
                       "Studierichting", "Área de estudo"),
    "date_of_award": ("Date of award", "Date d'obtention", "Datum der Verleihung", "Fecha de expedición del título",
                      "Data di conseguimento", "Datum van uitreiking", "Data de conclusão"),
    "grade": ("Final grade", "Mention", "Abschlussnote", "Calificación final", "Voto finale", "Eindcijfer",
              "Classificação final"),
    "resident_since": ("Resident since", "Résident depuis le", "Wohnhaft seit", "Residente desde",
                       "Residente dal", "Ingeschreven sinds", "Residente desde"),
    "municipality": ("Municipality", "Commune", "Gemeinde", "Municipio", "Comune", "Gemeente", "Município"),
    "annex": ("Annex: explanatory notes", "Annexe : notes explicatives", "Anlage: Erläuterungen",
              "Anexo: notas explicativas", "Allegato: note esplicative", "Bijlage: toelichting",
              "Anexo: notas explicativas"),
    "annex_text": ("This annex explains the fields of the main evidence. It has no legal value of its own.",
                   "Cette annexe explique les champs de la preuve principale. Elle n'a pas de valeur propre.",
                   "Diese Anlage erläutert die Felder des Hauptnachweises. Sie hat keinen eigenen Rechtswert.",
                   "Este anexo explica los campos de la prueba principal. No tiene valor jurídico propio.",
                   "Questo allegato spiega i campi della prova principale. Non ha valore giuridico proprio.",
                   "Deze bijlage licht de velden van het hoofdbewijs toe. Zij heeft geen eigen rechtskracht.",
                   "Este anexo explica os campos da prova principal. Não tem valor jurídico próprio."),
    "translation_of": ("Translation of", "Traduction de", "Übersetzung von", "Traducción de", "Traduzione di",
                       "Vertaling van", "Tradução de"),
    "hrv_of": ("Human-readable version of", "Version lisible de", "Lesbare Fassung von", "Versión legible de",
               "Versione leggibile di", "Leesbare versie van", "Versão legível de"),
    "main_evidence": ("Main evidence", "Preuve principale", "Hauptnachweis", "Prueba principal", "Prova principale",
                      "Hoofdbewijs", "Prova principal"),
    "Male": ("Male", "Masculin", "Männlich", "Hombre", "Maschile", "Man", "Masculino"),
    "Female": ("Female", "Féminin", "Weiblich", "Mujer", "Femminile", "Vrouw", "Feminino"),
}
_QUALIFICATIONS = {"FR": "Baccalauréat général", "DE": "Allgemeine Hochschulreife (Abitur)", "AT": "Reifeprüfung (Matura)",
                   "ES": "Título de Bachiller", "IT": "Diploma di maturità", "NL": "VWO-diploma",
                   "PT": "Diploma do ensino secundário", "BE": "Diploma secundair onderwijs"}
_FIELDS = ("Computer Science", "Civil Engineering", "Law", "Economics", "Medicine", "Mathematics", "History",
           "Biology", "Architecture", "Nursing")
_GRADES = ("Excellent", "Very good", "Good", "Satisfactory")


def label(key: str, lang: str) -> str:
    """The label ``key`` in ``lang`` (English when the language has no labels)."""
    row = _L[key]
    lang = lang.upper()
    return row[_LANGS.index(lang)] if lang in _LANGS else row[0]


# --- documents ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EvidenceDocument:
    """The bytes of one evidence document and what the EDM metadata needs to describe it."""

    data: bytes = field(repr=False)
    mime_type: str
    title: str
    language: str  # upper case, as OOTS writes it (sdg:Language, @lang)
    evidence_type: str
    kind: str  # MainEvidence | Translation | Annex | HumanReadableVersion
    identifier: str  # UUID for sdg:Evidence/sdg:Identifier
    document_number: str
    issuing_date: str  # YYYY-MM-DD
    country: str
    conforms_to: str | None = None  # SR data model URI (structured formats, main evidence only)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def filename(self) -> str:
        ext = "pdf" if self.mime_type == PDF else "xml"
        return f"{self.evidence_type}-{self.kind}-{self.language.lower()}-{self.identifier[:8]}.{ext}"

    def content_id(self, domain: str = "evidence.oots-harness.test") -> str:
        """A Content-ID for the AS4 payload part (without ``cid:``)."""
        return f"{self.identifier}@{domain}"

    def to_edm(self, persona, issuer=None, *, content_id: str | None = None, languages: bool = False):
        """This document as a ``simulators.edm.model.EvidenceDocument`` (metadata + content).

        MainEvidence gets the full metadata (R-EDM-RESP-S062): ``issuer`` (a ``model.Agent``) is required;
        supplementary documents carry only Identifier and Distribution/Format (S063).
        ``languages=True`` also writes ``sdg:Distribution/sdg:Language``.
        """
        from simulators.edm import model
        et = EVIDENCE_TYPES[self.evidence_type]
        dist = model.Distribution(format=self.mime_type,
                                  conforms_to=self.conforms_to if self.kind == "MainEvidence" else None,
                                  languages=[self.language] if languages else [])
        if self.kind == "MainEvidence":
            if issuer is None:
                raise ValueError("a MainEvidence needs its issuing authority (issuer=model.Agent)")
            subject = persona.to_subject().minimum_data_set()
            ev = model.Evidence(
                identifier=self.identifier, is_about=subject,
                issuing_authority=model.Agent(issuer.identifier, issuer.name),
                is_conformant_to=model.EvidenceTypeRef(et.classification(self.country),
                                                       [model.LocalizedText(et.title_en, "EN")]),
                issuing_date=date.fromisoformat(self.issuing_date), distribution=dist)
        else:
            ev = model.Evidence(identifier=self.identifier, distribution=dist)
        return model.EvidenceDocument(evidence=ev, content_id=content_id or self.content_id(),
                                      kind=model.DocumentKind(self.kind), title=self.title, content=self.data)


def _fields(persona, et: EvidenceType, rng: random.Random, lang: str) -> tuple[list, list, date, str]:
    """(subject fields, content fields, issuing date, issuing authority name) as (key, value) pairs."""
    ref = REFERENCE_DATE
    cc = persona.country
    if isinstance(persona, NaturalPerson):
        dob = date.fromisoformat(persona.date_of_birth)
        subject = [("family_name", persona.family_name), ("given_name", persona.given_name)]
        if persona.family_name_native or persona.given_name_native:
            subject.append(("native_name", f"{persona.given_name_native or persona.given_name} "
                                           f"{persona.family_name_native or persona.family_name}"))
        if persona.birth_name:
            subject.append(("birth_name", persona.birth_name))
        subject += [("date_of_birth", persona.date_of_birth), ("place_of_birth", persona.place_of_birth),
                    ("gender", label(persona.gender, lang)), ("identifier", persona.eidas_id)]
    else:
        subject = [("legal_name", persona.legal_name), ("registration_number", persona.registration_number),
                   ("identifier", persona.eidas_id)]
    issued = ref - timedelta(days=rng.randrange(1, 700))
    city = persona.address.post_city_name
    if et.key == "birth-certificate":
        content = [("registry_office", f"{city}"), ("municipality", persona.place_of_birth)]
        authority = f"Civil Registration Office {persona.place_of_birth}"
    elif et.key == "secondary-education":
        award = date(dob.year + 18, 7, rng.randrange(1, 15))
        issued = max(issued, award + timedelta(days=30))
        content = [("institution", f"Upper Secondary School {city}"),
                   ("qualification", _QUALIFICATIONS.get(cc, "Upper secondary school leaving certificate")),
                   ("date_of_award", award.isoformat()), ("grade", rng.choice(_GRADES))]
        authority = f"Education Authority {city}"
    elif et.key == "diploma":
        award = min(date(dob.year + 23, 6, rng.randrange(1, 29)), ref - timedelta(days=60))
        issued = max(issued, award + timedelta(days=30))
        content = [("institution", f"University of {city}"), ("qualification", "Master's degree (EQF 7)"),
                   ("field_of_study", rng.choice(_FIELDS)), ("date_of_award", award.isoformat()),
                   ("grade", rng.choice(_GRADES))]
        authority = f"University of {city}"
    elif et.key == "residence":
        since = max(dob + timedelta(days=18 * 366), ref - timedelta(days=rng.randrange(100, 7000)))
        content = [("address", persona.address.full_address), ("resident_since", since.isoformat()),
                   ("municipality", city)]
        authority = f"Municipal Administration {city}"
    else:  # company-registration
        content = [("registered_office", persona.address.full_address),
                   ("registration_date", persona.registration_date),
                   ("org_identifiers", "; ".join(f"{i.value} ({i.scheme})" for i in persona.identifiers)),
                   ("share_capital", f"{rng.choice((1, 5, 10, 25, 50, 100)) * 1000:,} EUR"),
                   ("status", label("active", lang))]
        authority = f"Business Register {city}"
    issued = min(issued, ref - timedelta(days=1))
    return subject, content, issued, authority


def make_evidence(persona: NaturalPerson | LegalPerson, evidence_type: str, fmt: str = PDF, lang: str = "en", *,
                  kind: str = "MainEvidence", main_lang: str | None = None) -> EvidenceDocument:
    """One evidence document about ``persona``.

    ``kind``: ``MainEvidence`` (default), ``Translation`` (same content, ``lang`` is the target language,
    ``main_lang`` the original), ``HumanReadableVersion`` (always a PDF) or ``Annex`` (a PDF of explanatory
    notes). Document number, issuing date and content depend only on (persona, evidence type), so a
    translation or a human-readable version describes the same record as its main evidence.
    """
    if evidence_type not in EVIDENCE_TYPES:
        raise ValueError(f"unknown evidence type {evidence_type!r} ({', '.join(EVIDENCE_TYPES)})")
    et = EVIDENCE_TYPES[evidence_type]
    if et.subject != persona.kind:
        raise ValueError(f"{evidence_type} is about a {et.subject} person, not a {persona.kind} one")
    if fmt not in FORMATS:
        raise ValueError(f"unsupported format {fmt!r} ({', '.join(FORMATS)})")
    if kind not in ("MainEvidence", "Translation", "Annex", "HumanReadableVersion"):
        raise ValueError(f"unknown document kind {kind!r}")
    lang = lang.upper()
    record_seed = derive_seed("oots-harness/evidence/v1", persona.seed, persona.kind, evidence_type)
    rng = random.Random(record_seed)
    subject, content, issued, authority = _fields(persona, et, rng, lang)
    number = f"{persona.country}-{evidence_type[:3].upper()}-{rng.randrange(10**8):08d}"
    if kind in ("HumanReadableVersion", "Annex"):
        fmt = PDF
    identifier = str(uuid.UUID(int=derive_seed(record_seed, kind, fmt, lang) << 64
                               | derive_seed(kind, record_seed), version=4))
    title = label(evidence_type, lang)
    heading = title
    if kind == "Translation":
        heading = f"{title} ({label('translation_of', lang)} {label('main_evidence', lang)}, "\
                  f"{(main_lang or 'original').upper()})"
    elif kind == "HumanReadableVersion":
        heading = f"{title} ({label('hrv_of', lang)} {label('main_evidence', lang)})"
    elif kind == "Annex":
        heading = f"{label('annex', lang)} - {title}"
    header = [("document_number", number), ("issued_by", f"{authority} ({COUNTRY_NAMES[persona.country]})"),
              ("issuing_date", issued.isoformat())]
    notice = label(_NOTICE_KEY, lang)
    if kind == "Annex":
        body = [("annex_text", label("annex_text", lang))] + [(k, label(k, lang)) for k, _ in subject + content]
        subject_fields, content_fields = [], body
    else:
        subject_fields, content_fields = subject, content
    conforms = et.data_model() if fmt == XML else None
    if fmt == PDF:
        lines = [("title", heading)] + [("field", label(k, lang), v) for k, v in header] + [("gap",)]
        lines += [("field", label(k, lang), v) for k, v in subject_fields] + [("gap",)]
        lines += [("field", label(k, lang), v) for k, v in content_fields] + [("gap",), ("note", notice)]
        data = _pdf(lines, title=heading, author=authority, subject=et.title_en, lang=lang,
                    created=issued)
    else:
        data = _xml(et, kind, identifier, lang, heading, number, authority, persona, issued,
                    subject_fields, content_fields, notice, conforms)
    return EvidenceDocument(data=data, mime_type=fmt, title=heading, language=lang, evidence_type=evidence_type,
                            kind=kind, identifier=identifier, document_number=number,
                            issuing_date=issued.isoformat(), country=persona.country,
                            conforms_to=conforms if kind == "MainEvidence" else None)


def make_package(persona, evidence_type: str, fmt: str = PDF, lang: str = "en", *,
                 associated: tuple[str, ...] = ("Translation", "HumanReadableVersion", "Annex"),
                 translation_lang: str = "en") -> list[EvidenceDocument]:
    """A v2.0 package: the main evidence first, then the asked supplementary documents.

    A ``HumanReadableVersion`` is only added for a structured main evidence (a PDF is already readable);
    the ``Translation`` has the main evidence's format, in ``translation_lang`` (or English/French when that is
    the main language already).
    """
    main = make_evidence(persona, evidence_type, fmt, lang)
    out = [main]
    for kind in associated:
        if kind == "HumanReadableVersion" and fmt == PDF:
            continue
        if kind == "Translation":
            tl = translation_lang.upper()
            if tl == main.language:
                tl = "FR" if tl == "EN" else "EN"
            out.append(make_evidence(persona, evidence_type, fmt, tl, kind="Translation", main_lang=lang))
        else:
            out.append(make_evidence(persona, evidence_type, fmt, lang, kind=kind))
    return out


# --- XML ------------------------------------------------------------------------------------------------

def _xml(et, kind, identifier, lang, heading, number, authority, persona, issued, subject, content, notice,
         conforms) -> bytes:
    E = "{%s}" % XML_NS
    root = etree.Element(E + "Evidence", nsmap={"ev": XML_NS})
    root.set("type", et.key)
    root.set("kind", kind)
    root.set("id", identifier)
    root.set("{http://www.w3.org/XML/1998/namespace}lang", lang.lower())
    if conforms:
        root.set("conformsTo", conforms)
    etree.SubElement(root, E + "Title").text = heading
    etree.SubElement(root, E + "DocumentNumber").text = number
    ia = etree.SubElement(root, E + "IssuingAuthority", country=persona.country)
    ia.text = authority
    etree.SubElement(root, E + "IssuingDate").text = issued.isoformat()
    for tag, fields, attrs in (("Subject", subject, {"kind": persona.kind}), ("Content", content, {})):
        if not fields:
            continue
        parent = etree.SubElement(root, E + tag, **attrs)
        for k, v in fields:
            f = etree.SubElement(parent, E + "Field", name=k, label=label(k, lang))
            f.text = v
    etree.SubElement(root, E + "Notice").text = notice
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# --- PDF ------------------------------------------------------------------------------------------------

_PAGE_W, _PAGE_H, _MARGIN = 595, 842, 56


class _Encoder:
    """Maps characters to (font chunk, byte): chunk 0 = WinAnsiEncoding, further chunks = /Differences."""

    def __init__(self):
        self.chunks: list[dict[str, int]] = [{}]

    def encode(self, ch: str) -> tuple[int, int]:
        if ch == "\u00a0":
            ch = " "
        for i, chunk in enumerate(self.chunks):
            if ch in chunk:
                return i, chunk[ch]
        try:
            b = ch.encode("cp1252")
        except UnicodeEncodeError:
            b = b""
        if len(b) == 1 and b[0] >= 0x20:
            self.chunks[0][ch] = b[0]
            return 0, b[0]
        if unicodedata.category(ch).startswith("C"):
            return self.encode("?")
        for i, chunk in enumerate(self.chunks[1:], start=1):
            if len(chunk) < 222:
                code = 33 + len(chunk)
                chunk[ch] = code
                return i, code
        self.chunks.append({ch: 33})
        return len(self.chunks) - 1, 33

    def runs(self, text: str) -> list[tuple[int, bytes]]:
        out: list[tuple[int, bytearray]] = []
        for ch in text:
            i, code = self.encode(ch)
            if out and out[-1][0] == i:
                out[-1][1].append(code)
            else:
                out.append((i, bytearray([code])))
        return [(i, bytes(b)) for i, b in out]


_HELVETICA = dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                      (667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667,
                       611, 722, 667, 944, 667, 667, 611, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222,
                       833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500)))


def _width(ch: str) -> int:
    """Approximate Helvetica advance width of a glyph outside Windows-1252 (base letter's, else by case)."""
    base = unicodedata.normalize("NFD", ch)[0]
    if base in _HELVETICA:
        return _HELVETICA[base]
    if base in "ιіїј":
        return 222
    return 667 if ch.isupper() else 556


def _utf16(s: str) -> bytes:
    return b"<FEFF" + s.encode("utf-16-be").hex().upper().encode() + b">"


def _tounicode(mapping: dict[str, int]) -> bytes:
    pairs = sorted((code, ch) for ch, code in mapping.items())
    out = [b"/CIDInit /ProcSet findresource begin", b"12 dict begin", b"begincmap",
           b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
           b"/CMapName /Adobe-Identity-UCS def", b"/CMapType 2 def",
           b"1 begincodespacerange", b"<00> <FF>", b"endcodespacerange"]
    for k in range(0, len(pairs), 100):
        block = pairs[k:k + 100]
        out.append(b"%d beginbfchar" % len(block))
        out += [b"<%02X> <%s>" % (code, ch.encode("utf-16-be").hex().upper().encode()) for code, ch in block]
        out.append(b"endbfchar")
    out += [b"endcmap", b"CMapName currentdict /CMapResource defineresource pop", b"end", b"end"]
    return b"\n".join(out)


def _pdf(lines: list[tuple], *, title: str, author: str, subject: str, lang: str, created: date) -> bytes:
    """A one-page (more if needed) PDF 1.4 of title / label-value lines / notes."""
    enc = _Encoder()
    pages: list[list[bytes]] = [[]]
    y = _PAGE_H - _MARGIN

    def text(x: float, y: float, size: float, bold: bool, s: str) -> None:
        parts = [b"BT", b"%d %.1f Td" % (x, y)]
        for chunk, data in enc.runs(s):
            parts.append(b"/F%d%s %g Tf <%s> Tj" % (chunk, b"B" if bold else b"R", size, data.hex().upper().encode()))
        parts.append(b"ET")
        pages[-1].append(b" ".join(parts))

    def need(h: float) -> None:
        nonlocal y
        if y - h < _MARGIN:
            pages.append([])
            y = _PAGE_H - _MARGIN

    for line in lines:
        if line[0] == "title":
            for part in textwrap.wrap(line[1], 48):
                need(24)
                text(_MARGIN, y - 18, 18, True, part)
                y -= 24
            y -= 10
        elif line[0] == "field":
            wrapped = textwrap.wrap(line[2], 60) or [""]
            label_lines = textwrap.wrap(line[1], 26) or [""]
            need(14 * max(len(wrapped), len(label_lines)))
            for k in range(max(len(wrapped), len(label_lines))):
                if k < len(label_lines):
                    text(_MARGIN, y - 11, 10, True, label_lines[k])
                if k < len(wrapped):
                    text(_MARGIN + 170, y - 11, 10, False, wrapped[k])
                y -= 14
        elif line[0] == "gap":
            y -= 10
        elif line[0] == "note":
            for part in textwrap.wrap(line[1], 95):
                need(12)
                text(_MARGIN, y - 9, 8, False, part)
                y -= 12

    # objects: 1 catalog, 2 pages, 3 info, then fonts (+ encodings + cmaps), then page + content pairs
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    def stream(data: bytes, extra: bytes = b"") -> bytes:
        return b"<< /Length %d%s >>\nstream\n%s\nendstream" % (len(data), extra, data)

    catalog = add(b"")  # placeholder, filled below
    pages_obj = add(b"")
    d = f"D:{created.year:04d}{created.month:02d}{created.day:02d}090000Z".encode()
    info = add(b"<< /Title " + _utf16(title) + b" /Author " + _utf16(author) + b" /Subject " + _utf16(subject)
               + b" /Creator (oots-harness) /Producer (oots-harness evidence generator) /CreationDate (" + d
               + b") /ModDate (" + d + b") >>")
    font_refs = []
    for i, chunk in enumerate(enc.chunks):
        cmap = add(stream(_tounicode(chunk)))
        if i == 0:
            encoding = b"/WinAnsiEncoding"
        else:
            chars = [ch for ch, _ in sorted(chunk.items(), key=lambda kv: kv[1])]
            names = b" ".join(b"/uni%04X" % ord(ch) for ch in chars)
            encoding = b"%d 0 R" % add(b"<< /Type /Encoding /BaseEncoding /WinAnsiEncoding /Differences [33 "
                                        + names + b"] >>")
            # glyphs outside the standard Helvetica metrics: explicit widths (else viewers use 0)
            widths = b" /FirstChar 33 /LastChar %d /Widths [%s]" % (
                32 + len(chars), b" ".join(b"%d" % _width(ch) for ch in chars))
        for style, base in ((b"R", b"Helvetica"), (b"B", b"Helvetica-Bold")):
            ref = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /" + base + b" /Encoding " + encoding
                      + (widths if i else b"") + b" /ToUnicode %d 0 R >>" % cmap)
            font_refs.append(b"/F%d%s %d 0 R" % (i, style, ref))
    fonts = b"<< " + b" ".join(font_refs) + b" >>"
    kids = []
    for content in pages:
        c = add(stream(b"\n".join(content)))
        kids.append(add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %d %d] /Resources << /Font %s "
                        b"/ProcSet [/PDF /Text] >> /Contents %d 0 R >>" % (pages_obj, _PAGE_W, _PAGE_H, fonts, c)))
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R /Lang %s >>" % (pages_obj, _utf16(lang.lower()))
    objects[pages_obj - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids), len(kids))

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n" % (len(objects) + 1)
    out += b"0000000000 65535 f\r\n"
    out += b"".join(b"%010d 00000 n\r\n" % off for off in offsets)
    fid = hashlib.md5(bytes(out)).hexdigest().upper().encode()
    out += b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /ID [<%s> <%s>] >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, catalog, info, fid, fid, xref)
    return bytes(out)


def pdf_text(data: bytes) -> str:
    """The text of a PDF written by this module (decoded through its ToUnicode CMaps), one line per text
    object. For tests and debugging; not a general PDF reader."""
    import re
    cmaps: dict[bytes, dict[int, str]] = {}
    objs = {int(m.group(1)): m.group(2) for m in re.finditer(rb"(\d+) 0 obj\n(.*?)\nendobj\n", data, re.S)}
    fonts: dict[bytes, dict[int, str]] = {}
    for body in objs.values():
        for m in re.finditer(rb"/(F\d+[RB]) (\d+) 0 R", body):
            font = objs[int(m.group(2))]
            cm = int(re.search(rb"/ToUnicode (\d+) 0 R", font).group(1))
            if cm not in cmaps:
                cmaps[cm] = {int(a, 16): bytes.fromhex(b.decode()).decode("utf-16-be")
                             for a, b in re.findall(rb"<([0-9A-F]{2})> <([0-9A-F]{4,})>", objs[cm])}
            fonts[m.group(1)] = cmaps[cm]
    lines = []
    for body in objs.values():
        if b"BT " not in body:
            continue
        for bt in re.findall(rb"BT (.*?) ET", body):
            s = ""
            for font, hexdata in re.findall(rb"/(F\d+[RB]) [\d.]+ Tf <([0-9A-F]*)> Tj", bt):
                s += "".join(fonts[font][b] for b in bytes.fromhex(hexdata.decode()))
            lines.append(s)
    return "\n".join(lines)
