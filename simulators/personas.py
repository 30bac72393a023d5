"""Synthetic natural and legal persons for every OOTS country, deterministic from a seed.

    p = Personas(seed=7)                      # destination (the "YY" of eIDAS ids) defaults to FR
    anna = p.natural("AT", 0)                 # NaturalPerson: names, DoB, address, eIDAS id AT/FR/...
    acme = p.legal("FR", 2)                   # LegalPerson: name, eIDAS id, SIRET/SIREN identifiers
    crowd = p.all("ES", n=5)                  # 5 natural + 5 legal persons of Spain
    office = p.authority("DE", 0)             # a public body (evidence requester / provider agent)

**Determinism.** Each persona draws from its own seed, derived from ``(seed, kind, country, i)`` by SHA-256:
the same seed gives identical personas on every machine, and asking for persona ``i+1`` (or another
country) never shifts persona ``i``. Dates are offsets from :data:`REFERENCE_DATE`, never the wall clock.

**Where the data comes from.** Names, streets, cities and company names come from Faker in the country's
locale (:data:`LOCALES`). Faker 40 has no address provider for BG, CY, EE, LV, LT, LU, MT, IS and LI and
no person provider for CY and MT: there the address is built from a short table of real town names with
their post-code ranges and a country-shaped street (:data:`_FALLBACK_ADDRESS`), Cypriot names come from
``el_GR``, Maltese names from a list of common Maltese names, and company names missing from the locale are
``<surname(s)> <legal form>``. Greek and Bulgarian names are also given in Latin transliteration (ELOT 743
/ the Bulgarian streamlined system, simplified); EDM subjects carry the Latin form.

**Never real people.** Every value is generated. National identifiers have the shape (and, where one
exists, the check digit) of the country's identifier, and are made *obviously synthetic* where the format
leaves room, see :data:`SYNTHETIC_MARKERS`: opaque identifiers (AT bPK, DE, FR) start with ``SYN``; NL uses
the test BSN range 99999xxxx; NO adds 80 to the month (the Norwegian convention for synthetic ids); FI uses
individual numbers 900-999 (temporary/test range); IT codice fiscale uses the unassigned place code Z000;
ES DNI numbers are taken from 99000000-99999999, far above any number issued. Other countries' numbers are
random but check-digit valid; combined with invented names and dates they describe nobody.
"""
from __future__ import annotations

import base64
import hashlib
import random
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from faker import Faker

#: The OOTS_Country code list (EU + EEA, 30 countries); Greece is ``EL`` as in EU usage (``GR`` accepted).
OOTS_COUNTRIES: tuple[str, ...] = (
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "EL", "HU", "IE", "IT", "LV", "LT",
    "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO")
ALIASES = {"GR": "EL"}
#: ISO 3166-1 alpha-2 where it differs from the OOTS code.
ISO_CODES = {"EL": "GR"}

#: Persons are born at least 18 and at most 85 years before this date; legal persons registered before it.
REFERENCE_DATE = date(2026, 1, 1)

#: Faker locale per country: (names, address, company). ``None``: built from our own tables (module doc).
LOCALES: dict[str, tuple[str | None, str | None, str | None]] = {
    "AT": ("de_AT", "de_AT", "de_AT"), "BE": ("nl_BE", "nl_BE", "nl_BE"), "BG": ("bg_BG", None, "bg_BG"),
    "HR": ("hr_HR", "hr_HR", "hr_HR"), "CY": ("el_GR", None, None), "CZ": ("cs_CZ", "cs_CZ", "cs_CZ"),
    "DK": ("da_DK", "da_DK", "da_DK"), "EE": ("et_EE", None, None), "FI": ("fi_FI", "fi_FI", "fi_FI"),
    "FR": ("fr_FR", "fr_FR", "fr_FR"), "DE": ("de_DE", "de_DE", "de_DE"), "EL": ("el_GR", "el_GR", "el_GR"),
    "HU": ("hu_HU", "hu_HU", "hu_HU"), "IE": ("en_IE", "en_IE", None), "IT": ("it_IT", "it_IT", "it_IT"),
    "LV": ("lv_LV", None, None), "LT": ("lt_LT", None, None), "LU": ("de_LU", None, None),
    "MT": (None, None, None), "NL": ("nl_NL", "nl_NL", "nl_NL"), "PL": ("pl_PL", "pl_PL", "pl_PL"),
    "PT": ("pt_PT", "pt_PT", "pt_PT"), "RO": ("ro_RO", "ro_RO", "ro_RO"), "SK": ("sk_SK", "sk_SK", "sk_SK"),
    "SI": ("sl_SI", "sl_SI", "sl_SI"), "ES": ("es_ES", "es_ES", "es_ES"), "SE": ("sv_SE", "sv_SE", "sv_SE"),
    "IS": ("is_IS", None, None), "LI": ("de_LI", None, None), "NO": ("no_NO", "no_NO", "no_NO"),
}

#: Main language (ISO 639-1, upper case as in OOTS ``@lang``) per country.
LANGUAGES = {
    "AT": "DE", "BE": "NL", "BG": "BG", "HR": "HR", "CY": "EL", "CZ": "CS", "DK": "DA", "EE": "ET", "FI": "FI",
    "FR": "FR", "DE": "DE", "EL": "EL", "HU": "HU", "IE": "EN", "IT": "IT", "LV": "LV", "LT": "LT", "LU": "FR",
    "MT": "MT", "NL": "NL", "PL": "PL", "PT": "PT", "RO": "RO", "SK": "SK", "SI": "SL", "ES": "ES", "SE": "SV",
    "IS": "IS", "LI": "DE", "NO": "NO",
}

#: English country names (documents, full addresses).
COUNTRY_NAMES = {
    "AT": "Austria", "BE": "Belgium", "BG": "Bulgaria", "HR": "Croatia", "CY": "Cyprus", "CZ": "Czechia",
    "DK": "Denmark", "EE": "Estonia", "FI": "Finland", "FR": "France", "DE": "Germany", "EL": "Greece",
    "HU": "Hungary", "IE": "Ireland", "IT": "Italy", "LV": "Latvia", "LT": "Lithuania", "LU": "Luxembourg",
    "MT": "Malta", "NL": "Netherlands", "PL": "Poland", "PT": "Portugal", "RO": "Romania", "SK": "Slovakia",
    "SI": "Slovenia", "ES": "Spain", "SE": "Sweden", "IS": "Iceland", "LI": "Liechtenstein", "NO": "Norway",
}

#: How each country's national id is marked synthetic (``None``: no room in the format; random + check digit).
SYNTHETIC_MARKERS = {
    "AT": "bPK-like base64 value starting with SYN", "DE": "starts with SYN", "FR": "starts with SYN",
    "NL": "test BSN range 99999xxxx", "NO": "month + 80 (synthetic fodselsnummer convention)",
    "FI": "individual number 900-999", "IT": "place of birth code Z000 (unassigned)",
    "ES": "DNI number in 99000000-99999999 (not issued)",
}

EAS = "urn:cef.eu:names:identifier:EAS:"
UNREGISTERED = "urn:oasis:names:tc:ebcore:partyid-type:unregistered:"
LEVELS_OF_ASSURANCE = ("Low", "Substantial", "High")
GENDERS = ("Male", "Female")  # eIDAS CurrentGender values; ISO 5218: 1 male, 2 female


def canonical(country: str) -> str:
    """``'gr'`` -> ``'EL'``; raises ValueError for a country outside OOTS."""
    cc = ALIASES.get(country.upper(), country.upper())
    if cc not in OOTS_COUNTRIES:
        raise ValueError(f"{country!r} is not an OOTS country ({', '.join(OOTS_COUNTRIES)})")
    return cc


def derive_seed(*parts: Any) -> int:
    """A 64-bit seed from any parts (stable across runs and machines: SHA-256, not ``hash()``)."""
    h = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(h[:8], "big")


# --- data classes ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Address:
    """Core Location address, as ``sdg:Address`` / ``sdg:CurrentAddress`` carry it."""

    full_address: str
    thoroughfare: str
    locator_designator: str
    post_code: str
    post_city_name: str
    admin_unit_level1: str  # country code (OOTS_Country)
    admin_unit_level2: str | None = None


@dataclass(frozen=True)
class OrgIdentifier:
    """An organisation identifier with its scheme URI (EAS or ebCore unregistered)."""

    scheme: str
    value: str

    @property
    def eas_code(self) -> str | None:
        return self.scheme[len(EAS):] if self.scheme.startswith(EAS) else None


@dataclass(frozen=True)
class NaturalPerson:
    country: str
    index: int
    seed: int
    given_name: str  # Latin script
    family_name: str  # Latin script
    gender: str  # Male | Female
    date_of_birth: str  # YYYY-MM-DD
    place_of_birth: str
    national_id: str
    eidas_id: str  # XX/YY/<national id>
    address: Address
    level_of_assurance: str
    birth_name: str | None = None
    given_name_native: str | None = None  # set when the national script is not Latin
    family_name_native: str | None = None
    nationality: str = ""
    language: str = "EN"

    kind = "natural"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def gender_iso5218(self) -> str:
        return "1" if self.gender == "Male" else "2"

    def eidas_for(self, destination: str) -> str:
        """The eIDAS identifier as seen by another destination country."""
        return f"{self.country}/{canonical(destination)}/{self.national_id}"

    def to_subject(self, **overrides):
        """This person as the EDM model's subject (``simulators.edm.model``)."""
        from simulators.edm import model
        return _build_subject(model, self, overrides)


@dataclass(frozen=True)
class LegalPerson:
    country: str
    index: int
    seed: int
    legal_name: str
    eidas_id: str  # XX/YY/<registration number>
    registration_number: str
    identifiers: tuple[OrgIdentifier, ...]  # EAS (or unregistered) identifiers, preferred first
    address: Address
    level_of_assurance: str
    registration_date: str  # YYYY-MM-DD
    language: str = "EN"

    kind = "legal"

    @property
    def full_name(self) -> str:
        return self.legal_name

    @property
    def identifier(self) -> OrgIdentifier:
        return self.identifiers[0]

    def eidas_for(self, destination: str) -> str:
        return f"{self.country}/{canonical(destination)}/{self.registration_number}"

    def to_subject(self, **overrides):
        """This company as the EDM model's subject (``simulators.edm.model``)."""
        from simulators.edm import model
        return _build_subject(model, self, overrides)


@dataclass(frozen=True)
class Authority:
    """A public body: evidence requester, evidence provider or error provider agent."""

    country: str
    index: int
    name: str
    language: str
    identifier: OrgIdentifier
    address: Address

    def to_agent(self, classification: str | None = None, *, with_address: bool = True, **overrides):
        """This body as the EDM model's agent (``simulators.edm.model``)."""
        from simulators.edm import model
        return _build_agent(model, self, classification, with_address, overrides)


# --- check digits --------------------------------------------------------------------------------------

def luhn_check_digit(digits: str) -> str:
    """The Luhn digit to append to ``digits``."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return number.isdigit() and luhn_check_digit(number[:-1]) == number[-1]


def mod11_10_check_digit(digits: str) -> str:
    """ISO 7064 MOD 11,10 (HR OIB, DE VAT)."""
    a = 10
    for ch in digits:
        a = (a + int(ch)) % 10 or 10
        a = (a * 2) % 11
    return str((11 - a) % 10)


DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def dni_letter(number: int) -> str:
    return DNI_LETTERS[number % 23]


_CF_ODD = dict(zip("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                   [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6,
                    8, 12, 14, 16, 10, 22, 25, 24, 23]))


def codice_fiscale_check(first15: str) -> str:
    total = 0
    for i, ch in enumerate(first15):
        if i % 2 == 0:  # odd positions, 1-based
            total += _CF_ODD[ch]
        else:
            total += int(ch) if ch.isdigit() else ord(ch) - 65
    return chr(65 + total % 26)


def _ascii_upper(s: str) -> str:
    s = unicodedata.normalize("NFKD", s)
    return "".join(c for c in s if c.isascii() and c.isalpha()).upper()


def codice_fiscale(family: str, given: str, dob: date, female: bool, place: str = "Z000") -> str:
    """Italian fiscal code of the (invented) person; ``place`` Z000 marks it synthetic."""
    def split(s):
        s = _ascii_upper(s)
        return [c for c in s if c not in "AEIOU"], [c for c in s if c in "AEIOU"]
    cons, vow = split(family)
    sur = "".join(cons + vow + ["X"] * 3)[:3]
    cons, vow = split(given)
    name = "".join([cons[0], cons[2], cons[3]]) if len(cons) >= 4 else "".join(cons + vow + ["X"] * 3)[:3]
    day = dob.day + (40 if female else 0)
    first15 = f"{sur}{name}{dob.year % 100:02d}{'ABCDEHLMPRST'[dob.month - 1]}{day:02d}{place}"
    return first15 + codice_fiscale_check(first15)


def _weighted(digits: str, weights) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights))


# --- national identifiers of natural persons --------------------------------------------------------------

def _digits(rng: random.Random, n: int, first_nonzero: bool = False) -> str:
    s = "".join(rng.choice("0123456789") for _ in range(n))
    if first_nonzero and s[0] == "0":
        s = rng.choice("123456789") + s[1:]
    return s


def _alnum(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(n))


def national_id(cc: str, rng: random.Random, dob: date, female: bool, family: str, given: str) -> str:
    """A synthetic national identifier shaped like country ``cc``'s (see :data:`SYNTHETIC_MARKERS`)."""
    yy, mm, dd = f"{dob.year % 100:02d}", f"{dob.month:02d}", f"{dob.day:02d}"
    c20 = dob.year >= 2000
    for _ in range(100):  # a few formats reject some serials (check value 10): draw again
        out = _national_id_once(cc, rng, dob, female, family, given, yy, mm, dd, c20)
        if out:
            return out
    raise RuntimeError(f"no national id for {cc}")  # pragma: no cover - statistically impossible


def _national_id_once(cc, rng, dob, female, family, given, yy, mm, dd, c20) -> str | None:
    if cc == "AT":  # bPK: base64 of 20 bytes
        b = base64.b64encode(bytes(rng.randrange(256) for _ in range(20))).decode()
        return "SYN" + b[3:]
    if cc in ("DE", "FR"):
        return "SYN" + _alnum(rng, 13 if cc == "DE" else 10)
    if cc == "BE":  # national register number YYMMDD sss cc, mod 97
        serial = rng.randrange(0, 498) * 2 + (2 if female else 1)  # odd for men, even for women
        first9 = f"{yy}{mm}{dd}{serial:03d}"
        check = 97 - int(("2" if c20 else "") + first9) % 97
        return f"{first9}{check:02d}"
    if cc == "BG":  # EGN
        m = dob.month + (40 if c20 else 0)
        serial = rng.randrange(0, 500) * 2 + (1 if female else 0)
        first9 = f"{yy}{m:02d}{dd}{serial:03d}"[:9]
        return first9 + str(_weighted(first9, (2, 4, 8, 5, 10, 9, 7, 3, 6)) % 11 % 10)
    if cc == "HR":  # OIB
        d = _digits(rng, 10, True)
        return d + mod11_10_check_digit(d)
    if cc == "CY":
        return _digits(rng, 8, True)
    if cc in ("CZ", "SK"):  # rodne cislo, divisible by 11
        m = dob.month + (50 if female else 0)
        first9 = f"{yy}{m:02d}{dd}{_digits(rng, 3)}"
        check = int(first9) % 11  # 10 * first9 + check = 0 (mod 11)
        return None if check == 10 else first9 + str(check)
    if cc == "DK":  # CPR DDMMYY-SSSS, last digit odd for men
        s = _digits(rng, 3) + str(rng.choice("02468" if female else "13579"))
        return f"{dd}{mm}{yy}-{s}"
    if cc in ("EE", "LT"):  # isikukood / asmens kodas
        g = (5 if c20 else 3) + (1 if female else 0)
        first10 = f"{g}{yy}{mm}{dd}{_digits(rng, 3)}"
        c = _weighted(first10, (1, 2, 3, 4, 5, 6, 7, 8, 9, 1)) % 11
        if c == 10:
            c = _weighted(first10, (3, 4, 5, 6, 7, 8, 9, 1, 2, 3)) % 11 % 10
        return first10 + str(c)
    if cc == "FI":  # HETU with a 900-999 individual number
        n = rng.randrange(450, 500) * 2 + (0 if female else 1)  # 900-999, even for women
        body = f"{dd}{mm}{yy}{n:03d}"
        return f"{dd}{mm}{yy}{'A' if c20 else '-'}{n:03d}{'0123456789ABCDEFHJKLMNPRSTUVWXY'[int(body) % 31]}"
    if cc == "EL":  # AFM
        d = _digits(rng, 8, True)
        return d + str(sum(int(x) * 2 ** (8 - i) for i, x in enumerate(d)) % 11 % 10)
    if cc == "HU":  # tax id: 8 + days since 1867-01-01 + 3 + check
        days = (dob - date(1867, 1, 1)).days
        first9 = f"8{days:05d}{_digits(rng, 3)}"
        c = sum(int(x) * (i + 1) for i, x in enumerate(first9)) % 11
        return None if c == 10 else first9 + str(c)
    if cc == "IE":  # PPSN 7 digits + check letter + W
        d = _digits(rng, 7)
        return d + "WABCDEFGHIJKLMNOPQRSTUV"[_weighted(d, (8, 7, 6, 5, 4, 3, 2)) % 23]
    if cc == "IT":
        return codice_fiscale(family, given, dob, female)
    if cc == "LV":  # new-style personal code (no birth date)
        d = "32" + _digits(rng, 9)
        return f"{d[:6]}-{d[6:]}"
    if cc == "LU":  # YYYYMMDD + 5 (check digits not computed)
        return f"{dob.year}{mm}{dd}{_digits(rng, 5)}"
    if cc == "MT":
        return _digits(rng, 7) + "M"
    if cc == "NL":  # BSN in the test range 99999xxxx, 11-proof
        d = "99999" + _digits(rng, 3)
        c = _weighted(d, (9, 8, 7, 6, 5, 4, 3, 2)) % 11
        return None if c == 10 else d + str(c)
    if cc == "PL":  # PESEL
        m = dob.month + (20 if c20 else 0)
        serial = _digits(rng, 3) + rng.choice("02468" if female else "13579")
        first10 = f"{yy}{m:02d}{dd}{serial}"
        return first10 + str((10 - _weighted(first10, (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)) % 10) % 10)
    if cc == "PT":  # NIF 1xxxxxxxC / 2xxxxxxxC
        d = rng.choice("12") + _digits(rng, 7)
        c = 11 - _weighted(d, (9, 8, 7, 6, 5, 4, 3, 2)) % 11
        return d + str(0 if c >= 10 else c)
    if cc == "RO":  # CNP
        s = (5 if c20 else 1) + (1 if female else 0)
        first12 = f"{s}{yy}{mm}{dd}{rng.randrange(1, 47):02d}{rng.randrange(1, 1000):03d}"
        c = _weighted(first12, (2, 7, 9, 1, 4, 6, 3, 5, 8, 2, 7, 9)) % 11
        return first12 + str(1 if c == 10 else c)
    if cc == "SI":  # EMSO
        serial = rng.randrange(500, 1000) if female else rng.randrange(0, 500)
        first12 = f"{dd}{mm}{dob.year % 1000:03d}50{serial:03d}"
        m = 11 - _weighted(first12, (7, 6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)) % 11
        return None if m == 10 else first12 + str(0 if m == 11 else m)
    if cc == "ES":  # DNI from the non-issued 99xxxxxx range
        n = 99_000_000 + rng.randrange(1_000_000)
        return f"{n:08d}{dni_letter(n)}"
    if cc == "SE":  # personnummer, 12 digits with Luhn over the last 9
        serial = _digits(rng, 2) + rng.choice("02468" if female else "13579")
        body = f"{yy}{mm}{dd}{serial}"
        return f"{dob.year}{mm}{dd}{serial}{luhn_check_digit(body)}"
    if cc == "IS":  # kennitala DDMMYY RR C century
        first8 = f"{dd}{mm}{yy}{rng.randrange(20, 100):02d}"
        c = 11 - _weighted(first8, (3, 2, 7, 6, 5, 4, 3, 2)) % 11
        return None if c == 10 else f"{first8}{0 if c == 11 else c}{0 if c20 else 9}"
    if cc == "LI":
        return _digits(rng, 11, True)
    if cc == "NO":  # synthetic fodselsnummer: month + 80
        ind = rng.randrange(500, 1000) if c20 else rng.randrange(0, 500)
        ind = ind - (ind % 2) + (0 if female else 1)
        first9 = f"{dd}{dob.month + 80:02d}{yy}{ind:03d}"
        k1 = 11 - _weighted(first9, (3, 7, 6, 1, 8, 9, 4, 5, 2)) % 11
        k1 = 0 if k1 == 11 else k1
        if k1 == 10:
            return None
        k2 = 11 - _weighted(first9 + str(k1), (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)) % 11
        k2 = 0 if k2 == 11 else k2
        return None if k2 == 10 else f"{first9}{k1}{k2}"
    raise ValueError(cc)


# --- organisation identifiers ------------------------------------------------------------------------------

_REGISTER_SHAPES = {  # unregistered-scheme register numbers: '#' digit, 'a' lower-case letter
    "AT": "FN######a", "BG": "#########", "CY": "HE######", "CZ": "########", "DK": "########", "EE": "1#######",
    "EL": "############", "HU": "01-09-######", "IE": "######", "LV": "40003######", "LT": "30#######",
    "LU": "B######", "MT": "C #####", "PL": "0000######", "RO": "########", "SK": "########", "SI": "##########",
    "IS": "######-####", "LI": "FL-0002.###.###-#",
}  # BE, HR, FI, PT, SE, NO: computed with their check digit in _org_once


def _shape(rng: random.Random, shape: str) -> str:
    return "".join(rng.choice("0123456789") if c == "#" else rng.choice("abcdefghjk") if c == "a" else c
                   for c in shape)


def org_identifiers(cc: str, rng: random.Random) -> tuple[str, tuple[OrgIdentifier, ...]]:
    """(register number used in the eIDAS legal person id, identifiers preferred first)."""
    for _ in range(100):
        out = _org_once(cc, rng)
        if out:
            return out
    raise RuntimeError(cc)  # pragma: no cover


def _org_once(cc: str, rng: random.Random):
    unreg = UNREGISTERED + cc
    if cc == "FR":  # SIREN (9, Luhn) and SIRET (14, Luhn)
        siren = _digits(rng, 8, True)
        siren += luhn_check_digit(siren)
        siret = siren + _digits(rng, 4)
        siret += luhn_check_digit(siret)
        return siren, (OrgIdentifier(EAS + "0009", siret), OrgIdentifier(EAS + "0002", siren))
    if cc == "DE":  # VAT DE + 9 digits (MOD 11,10)
        d = _digits(rng, 8, True)
        hrb = "HRB" + _digits(rng, 6, True)
        return hrb, (OrgIdentifier(EAS + "9930", "DE" + d + mod11_10_check_digit(d)),
                     OrgIdentifier(unreg, hrb))
    if cc == "NL":  # KvK 8 digits
        kvk = _digits(rng, 8, True)
        return kvk, (OrgIdentifier(EAS + "0106", kvk),)
    if cc == "IT":  # partita IVA: 7 + office 3 + Luhn
        d = _digits(rng, 7) + f"{rng.randrange(1, 101):03d}"
        piva = d + luhn_check_digit(d)
        return piva, (OrgIdentifier(EAS + "0211", "IT" + piva),)
    if cc == "ES":  # VAT ES + CIF (A/B + 7 digits + digit control)
        letter, d = rng.choice("AB"), _digits(rng, 7)
        odd = sum(sum(divmod(int(x) * 2, 10)) for x in d[0::2])
        c = (10 - (odd + sum(int(x) for x in d[1::2])) % 10) % 10
        cif = f"{letter}{d}{c}"
        return cif, (OrgIdentifier(EAS + "9920", "ES" + cif),)
    if cc == "BE":  # enterprise number 0 + 7 + mod 97
        d = "0" + _digits(rng, 7, True)
        num = f"{d}{97 - int(d) % 97:02d}"
        return num, (OrgIdentifier(unreg, num),)
    if cc == "HR":  # OIB
        d = _digits(rng, 10, True)
        oib = d + mod11_10_check_digit(d)
        return oib, (OrgIdentifier(unreg, oib),)
    if cc == "FI":  # Y-tunnus 7 digits + mod 11
        d = _digits(rng, 7, True)
        r = _weighted(d, (7, 9, 10, 5, 8, 4, 2)) % 11
        if r == 1:
            return None
        v = f"{d}-{0 if r == 0 else 11 - r}"
        return v, (OrgIdentifier(unreg, v),)
    if cc in ("PT", "NO"):  # NIPC 5xxxxxxxC / organisasjonsnummer 9 digits mod 11
        if cc == "PT":
            d = "5" + _digits(rng, 7)
            c = 11 - _weighted(d, (9, 8, 7, 6, 5, 4, 3, 2)) % 11
            v = d + str(0 if c >= 10 else c)
        else:
            d = rng.choice("89") + _digits(rng, 7)
            c = 11 - _weighted(d, (3, 2, 7, 6, 5, 4, 3, 2)) % 11
            if c == 10:
                return None
            v = d + str(0 if c == 11 else c)
        return v, (OrgIdentifier(unreg, v),)
    if cc == "SE":  # organisationsnummer 55xxxx-xxxC (Luhn)
        d = "55" + _digits(rng, 7)
        v = d + luhn_check_digit(d)
        return f"{v[:6]}-{v[6:]}", (OrgIdentifier(unreg, f"{v[:6]}-{v[6:]}"),)
    v = _shape(rng, _REGISTER_SHAPES[cc])
    return v, (OrgIdentifier(unreg, v),)


# --- transliteration -----------------------------------------------------------------------------------

_BG = dict(zip("абвгдежзийклмнопрстуфхцчшщъьюя",
               "a b v g d e zh z i y k l m n o p r s t u f h ts ch sh sht a y yu ya".split()))
_EL_DI = {"ου": "ou", "αι": "ai", "ει": "ei", "οι": "oi", "αυ": "av", "ευ": "ev", "μπ": "mp", "ντ": "nt",
          "γκ": "gk", "γγ": "ng"}
_EL = dict(zip("αβγδεζηθικλμνξοπρσςτυφχψω",
               "a v g d e z i th i k l m n x o p r s s t y f ch ps o".split()))


def transliterate(s: str) -> str:
    """Greek (ELOT 743, simplified) and Bulgarian Cyrillic (streamlined system) to Latin; Latin unchanged."""
    def plain(c: str) -> str:  # Greek accents go (tonos, dialytika); Latin diacritics stay
        if "GREEK" in unicodedata.name(c, ""):
            return "".join(x for x in unicodedata.normalize("NFD", c) if unicodedata.category(x) != "Mn")
        return c
    base = "".join(plain(c) for c in s)
    out, i = [], 0
    while i < len(base):
        ch, pair = base[i], base[i:i + 2].lower()
        if pair in _EL_DI:
            t = _EL_DI[pair]
            i += 2
        else:
            t = _BG.get(ch.lower()) or _EL.get(ch.lower())
            i += 1
            if t is None:
                out.append(ch)
                continue
        out.append(t.capitalize() if ch.isupper() else t)
    return "".join(out)


def _is_latin(s: str) -> bool:
    return all(not c.isalpha() or "LATIN" in unicodedata.name(c, "") for c in s)


# --- own address tables (countries without a Faker address provider) -------------------------------------

# country -> (towns (name, first post code, count), street pattern around {w}, street words, post code format)
_FALLBACK_ADDRESS: dict[str, tuple] = {
    "BG": ([("София", 1000, 900), ("Пловдив", 4000, 30), ("Варна", 9000, 30), ("Бургас", 8000, 20),
            ("Русе", 7000, 20)], "ул. „{w}“", ["Витоша", "Раковски", "Шипка", "Гурко", "Дунав", "Оборище"],
           "{:04d}"),
    "CY": ([("Λευκωσία", 1010, 90), ("Λεμεσός", 3010, 90), ("Λάρνακα", 6010, 50), ("Πάφος", 8010, 50)],
           "Οδός {w}", ["Μακαρίου", "Ευαγόρου", "Αθηνών", "Ομήρου", "Κυπριανού", "Ελευθερίας"], "{:04d}"),
    "EE": ([("Tallinn", 10111, 3800), ("Tartu", 50101, 900), ("Pärnu", 80010, 90), ("Narva", 20101, 300)],
           "{w} tn", ["Pärna", "Kase", "Tamme", "Vabaduse", "Pikk", "Mere", "Kooli", "Aia"], "{:05d}"),
    "LV": ([("Rīga", 1001, 99), ("Daugavpils", 5401, 20), ("Liepāja", 3401, 20), ("Jelgava", 3001, 20)],
           "{w} iela", ["Brīvības", "Lāčplēša", "Elizabetes", "Skolas", "Dārza", "Meža", "Ezera", "Liepu"],
           "LV-{:04d}"),
    "LT": ([("Vilnius", 1100, 9000), ("Kaunas", 44100, 900), ("Klaipėda", 91100, 900), ("Šiauliai", 76100, 900)],
           "{w} g.", ["Gedimino", "Vilniaus", "Laisvės", "Mokyklos", "Sodų", "Liepų", "Ąžuolų", "Beržų"],
           "LT-{:05d}"),
    "LU": ([("Luxembourg", 1110, 900), ("Esch-sur-Alzette", 4001, 400), ("Differdange", 4501, 80),
            ("Dudelange", 3401, 80)], "rue {w}",
           ["de la Gare", "Principale", "de l'Église", "des Champs", "du Moulin", "des Prés"], "L-{:04d}"),
    "MT": ([("Valletta", 1000, 900), ("Birkirkara", 1000, 900), ("Sliema", 1000, 900), ("Mosta", 1000, 900)],
           "Triq {w}", ["il-Kbira", "San Pawl", "ir-Repubblika", "il-Merkanti", "tal-Knisja", "il-Mitħna"],
           "{:04d}"),
    "IS": ([("Reykjavík", 101, 16), ("Kópavogur", 200, 4), ("Hafnarfjörður", 220, 2), ("Akureyri", 600, 4)],
           "{w}", ["Laugavegur", "Hverfisgata", "Bankastræti", "Austurstræti", "Hringbraut", "Suðurgata"],
           "{:03d}"),
    "LI": ([("Vaduz", 9490, 1), ("Schaan", 9494, 1), ("Balzers", 9496, 1), ("Triesen", 9495, 1),
            ("Eschen", 9492, 1), ("Mauren", 9493, 1)], "{w}",
           ["Landstrasse", "Kirchstrasse", "Feldstrasse", "Schulstrasse", "Äulestrasse", "Bahnhofstrasse"],
           "{:04d}"),
}
_MT_PREFIX = {"Valletta": "VLT", "Birkirkara": "BKR", "Sliema": "SLM", "Mosta": "MST"}
_MT_GIVEN = {"Male": ["Joseph", "John", "Mario", "Carmel", "Paul", "Mark", "Luke", "Matthew", "Kurt", "Jean"],
             "Female": ["Maria", "Rita", "Doris", "Josephine", "Sarah", "Claire", "Nicole", "Rebecca", "Graziella"]}
_MT_FAMILY = ["Borg", "Camilleri", "Vella", "Farrugia", "Zammit", "Galea", "Micallef", "Grech", "Attard",
              "Spiteri", "Azzopardi", "Mifsud", "Agius", "Pace", "Sultana", "Debono", "Cassar", "Fenech", "Caruana"]
_LEGAL_FORMS = {"CY": ["Ltd", "ΛΤΔ"], "EE": ["OÜ", "AS"], "LV": ["SIA", "AS"], "LT": ["UAB", "AB"],
                "LU": ["S.à r.l.", "S.A."], "MT": ["Ltd", "p.l.c."], "IS": ["ehf.", "hf."], "LI": ["AG", "Anstalt"],
                "IE": ["Ltd", "DAC"]}
_NUMBER_FIRST = {"FR", "IE", "LU", "MT", "CY"}
_AUTHORITY_KINDS = ("Civil Registration Office", "Municipal Administration", "Business Register",
                    "Education Authority", "Tax Office", "Population Register")


@lru_cache(maxsize=None)
def _faker(locale: str) -> Faker:
    return Faker(locale)


def _seeded(locale: str, seed: int) -> Faker:
    f = _faker(locale)
    f.seed_instance(seed)
    return f


# --- generation ----------------------------------------------------------------------------------------

class Personas:
    """Deterministic personas of the OOTS countries (see the module documentation)."""

    def __init__(self, seed: int | str = 0, destination: str = "FR", reference_date: date = REFERENCE_DATE):
        self.seed = seed
        self.destination = canonical(destination)
        self.reference_date = reference_date

    def _seed(self, kind: str, cc: str, i: int) -> int:
        return derive_seed("oots-harness/personas/v1", self.seed, kind, cc, i)

    # natural persons
    def natural(self, country: str, i: int = 0, *, destination: str | None = None) -> NaturalPerson:
        cc = canonical(country)
        dest = canonical(destination) if destination else self.destination
        seed = self._seed("natural", cc, i)
        rng = random.Random(seed)
        female = rng.random() < 0.5
        gender = GENDERS[1 if female else 0]
        given, family = self._names(cc, seed, rng, female)
        age_days = rng.randrange(18 * 366, 85 * 365)
        dob = self.reference_date - timedelta(days=age_days)
        nid = national_id(cc, rng, dob, female, transliterate(family), transliterate(given))
        address = self._address(cc, seed + 1, rng)
        place = self._town(cc, seed + 2, random.Random(seed + 2))
        birth_name = None
        if female and rng.random() < 0.3:
            _, birth_name = self._names(cc, seed + 3, random.Random(seed + 3), True)
        latin_given, latin_family = transliterate(given), transliterate(family)
        native = not (_is_latin(given) and _is_latin(family))
        return NaturalPerson(
            country=cc, index=i, seed=seed, given_name=latin_given, family_name=latin_family, gender=gender,
            date_of_birth=dob.isoformat(), place_of_birth=place, national_id=nid,
            eidas_id=f"{cc}/{dest}/{nid}", address=address,
            level_of_assurance="High" if rng.random() < 0.7 else "Substantial",
            birth_name=transliterate(birth_name) if birth_name else None,
            given_name_native=given if native else None, family_name_native=family if native else None,
            nationality=cc, language=LANGUAGES[cc])

    def _names(self, cc: str, seed: int, rng: random.Random, female: bool) -> tuple[str, str]:
        loc = LOCALES[cc][0]
        if loc is None:  # MT
            return rng.choice(_MT_GIVEN["Female" if female else "Male"]), rng.choice(_MT_FAMILY)
        f = _seeded(loc, seed)
        given = f.first_name_female() if female else f.first_name_male()
        family = f.last_name_female() if female else f.last_name_male()
        return given, family

    def _town(self, cc: str, seed: int, rng: random.Random) -> str:
        loc = LOCALES[cc][1]
        if loc is None:
            return rng.choice(_FALLBACK_ADDRESS[cc][0])[0]
        return _seeded(loc, seed).city()

    def _address(self, cc: str, seed: int, rng: random.Random) -> Address:
        loc = LOCALES[cc][1]
        if loc is not None:
            f = _seeded(loc, seed)
            street, number, post, city = f.street_name(), f.building_number(), f.postcode(), f.city()
            if cc == "IE" and " " not in post and len(post) == 7:
                post = f"{post[:3]} {post[3:]}"
        else:
            towns, pattern, words, fmt = _FALLBACK_ADDRESS[cc]
            city, first, count = rng.choice(towns)
            code = first + rng.randrange(count)
            post = fmt.format(code)
            if cc == "MT":
                post = f"{_MT_PREFIX[city]} {post}"
            number = str(rng.randrange(1, 120))
            street = pattern.format(w=rng.choice(words))
        line = f"{number} {street}" if cc in _NUMBER_FIRST else f"{street} {number}"
        if cc in ("LU", "MT"):
            line = f"{number}, {street}"
        return Address(full_address=f"{line}, {post} {city}, {COUNTRY_NAMES[cc]}", thoroughfare=street,
                       locator_designator=number, post_code=post, post_city_name=city, admin_unit_level1=cc)

    # legal persons
    def legal(self, country: str, i: int = 0, *, destination: str | None = None) -> LegalPerson:
        cc = canonical(country)
        dest = canonical(destination) if destination else self.destination
        seed = self._seed("legal", cc, i)
        rng = random.Random(seed)
        name = self._company(cc, seed, rng)
        reg, idents = org_identifiers(cc, rng)
        registered = self.reference_date - timedelta(days=rng.randrange(200, 60 * 365))
        return LegalPerson(
            country=cc, index=i, seed=seed, legal_name=name, eidas_id=f"{cc}/{dest}/{reg}",
            registration_number=reg, identifiers=idents, address=self._address(cc, seed + 1, rng),
            level_of_assurance="High" if rng.random() < 0.6 else "Substantial",
            registration_date=registered.isoformat(), language=LANGUAGES[cc])

    def _company(self, cc: str, seed: int, rng: random.Random) -> str:
        loc = LOCALES[cc][2]
        if loc is not None:
            return _seeded(loc, seed).company()
        if LOCALES[cc][0] is None:
            names = [rng.choice(_MT_FAMILY) for _ in range(2)]
        else:
            f = _seeded(LOCALES[cc][0], seed)
            names = [f.last_name() for _ in range(2)]
        names = [transliterate(n) if cc == "CY" else n for n in names]
        base = names[0] if rng.random() < 0.6 else f"{names[0]} & {names[1]}"
        return f"{base} {rng.choice(_LEGAL_FORMS[cc])}"

    # public bodies
    def authority(self, country: str, i: int = 0) -> Authority:
        """A public body of ``country``: English name, country-shaped identifier scheme, address."""
        cc = canonical(country)
        seed = self._seed("authority", cc, i)
        rng = random.Random(seed)
        address = self._address(cc, seed + 1, rng)
        name = f"{_AUTHORITY_KINDS[i % len(_AUTHORITY_KINDS)]} {address.post_city_name}"
        if cc == "CY" or cc == "EL" or cc == "BG":
            name = transliterate(name)
        _, idents = org_identifiers(cc, rng)
        return Authority(country=cc, index=i, name=name, language="EN", identifier=idents[0], address=address)

    def all(self, country: str, n: int = 3) -> list[NaturalPerson | LegalPerson]:
        """``n`` natural then ``n`` legal persons of ``country``."""
        return [self.natural(country, i) for i in range(n)] + [self.legal(country, i) for i in range(n)]

    def everyone(self, n: int = 1) -> list[NaturalPerson | LegalPerson]:
        """``all(country, n)`` for every OOTS country."""
        return [p for cc in OOTS_COUNTRIES for p in self.all(cc, n)]


# --- mapping to the EDM model (simulators.edm.model) -------------------------------------------------------

def _model_address(model, a: Address):
    return model.Address(full_address=a.full_address, locator_designator=a.locator_designator,
                         post_code=a.post_code, post_city_name=a.post_city_name, thoroughfare=a.thoroughfare,
                         admin_unit_level1=a.admin_unit_level1, admin_unit_level2=a.admin_unit_level2)


def _build_subject(model, persona, overrides: dict):
    """``model.Person`` (eIDAS minimum data set + address, gender...) or ``model.LegalPerson``."""
    if isinstance(persona, NaturalPerson):
        fields = dict(family_name=persona.family_name, given_name=persona.given_name,
                      date_of_birth=date.fromisoformat(persona.date_of_birth),
                      level_of_assurance=persona.level_of_assurance,
                      identifier=model.Identifier(persona.eidas_id, "eidas"), birth_name=persona.birth_name,
                      place_of_birth=persona.place_of_birth, current_address=_model_address(model, persona.address),
                      gender=persona.gender)
        fields.update(overrides)
        return model.Person(**fields)
    fields = dict(legal_name=persona.legal_name,
                  legal_person_identifier=model.Identifier(persona.eidas_id, "eidas"),
                  level_of_assurance=persona.level_of_assurance,
                  identifiers=[model.Identifier(i.value, i.scheme) for i in persona.identifiers],
                  registered_address=_model_address(model, persona.address))
    fields.update(overrides)
    return model.LegalPerson(**fields)


def _build_agent(model, authority: Authority, classification, with_address: bool, overrides: dict):
    """``model.Agent``: identifier with its scheme, English name, address reduced to AdminUnitLevel1."""
    fields = dict(identifier=model.Identifier(authority.identifier.value, authority.identifier.scheme),
                  name=model.LocalizedText(authority.name, authority.language),
                  address=model.Address(admin_unit_level1=authority.country) if with_address else None,
                  classification=classification)
    fields.update(overrides)
    return model.Agent(**fields)
