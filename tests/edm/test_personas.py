"""Synthetic personas: determinism, per-country identifier shapes and check digits, EDM mapping."""
from __future__ import annotations

import re
import unicodedata
from datetime import date

import pytest

from simulators import personas as P
from simulators.personas import EAS, OOTS_COUNTRIES, UNREGISTERED, Personas

SEED = 20260101


@pytest.fixture(scope="module")
def crowd():
    """Three natural and three legal persons per country, plus one authority."""
    p = Personas(SEED)
    return {cc: (p.all(cc, 3), p.authority(cc)) for cc in OOTS_COUNTRIES}


def test_country_list_is_the_oots_list():
    assert len(OOTS_COUNTRIES) == 30 and len(set(OOTS_COUNTRIES)) == 30
    assert set(P.LOCALES) == set(OOTS_COUNTRIES) == set(P.LANGUAGES) == set(P.COUNTRY_NAMES)
    assert P.canonical("gr") == "EL" and P.canonical("fr") == "FR"
    with pytest.raises(ValueError):
        P.canonical("CH")


def test_same_seed_same_personas_other_seed_other_personas(crowd):
    again = Personas(SEED)
    for cc, (people, authority) in crowd.items():
        assert again.all(cc, 3) == people
        assert again.authority(cc) == authority
    other = Personas(SEED + 1)
    assert sum(other.natural(cc) != crowd[cc][0][0] for cc in OOTS_COUNTRIES) == 30


def test_derived_seeds_do_not_shift_other_personas():
    a, b = Personas(SEED), Personas(SEED)
    target = a.natural("FR", 5)
    for i in range(5):  # other persons, other countries, other kinds first
        b.natural("DE", i), b.legal("FR", i), b.natural("FR", i + 10)
    assert b.natural("FR", 5) == target
    assert Personas(SEED).legal("IT", 2) == Personas(SEED).all("IT", 4)[4 + 2]


def test_string_seed_and_destination():
    p = Personas("scenario-42", destination="de")
    n = p.natural("ES")
    assert n.eidas_id.startswith("ES/DE/") and n.eidas_for("AT") == f"ES/AT/{n.national_id}"
    assert Personas("scenario-42", destination="FR").natural("ES").national_id == n.national_id


@pytest.mark.case("EDM-REQ-016")
def test_natural_person_minimum_data_set(crowd):
    for cc, (people, _) in crowd.items():
        for n in people[:3]:
            assert n.kind == "natural" and n.country == cc and n.nationality == cc
            assert n.given_name.strip() and n.family_name.strip()
            dob = date.fromisoformat(n.date_of_birth)
            age = (P.REFERENCE_DATE - dob).days / 365.25
            assert 18 <= age <= 86, (cc, n.date_of_birth)
            assert n.gender in P.GENDERS and n.gender_iso5218 in ("1", "2")
            assert n.level_of_assurance in P.LEVELS_OF_ASSURANCE
            a = n.address
            assert a.admin_unit_level1 == cc
            assert a.post_code and a.post_city_name and a.thoroughfare and a.locator_designator
            assert a.post_code in a.full_address and a.post_city_name in a.full_address
            assert a.thoroughfare in a.full_address and P.COUNTRY_NAMES[cc] in a.full_address


def _latin(s: str) -> bool:
    return all(not c.isalpha() or "LATIN" in unicodedata.name(c) for c in s)


def test_names_are_latin_with_native_script_kept(crowd):
    for cc, (people, _) in crowd.items():
        for n in people[:3]:
            assert _latin(n.given_name) and _latin(n.family_name), (cc, n.full_name)
            if cc in ("EL", "CY", "BG"):
                assert n.family_name_native and not _latin(n.family_name_native)
                assert P.transliterate(n.family_name_native) == n.family_name
            else:
                assert n.family_name_native is None
    assert P.transliterate("Παπαδόπουλος") == "Papadopoulos"
    assert P.transliterate("Иванова") == "Ivanova"
    assert P.transliterate("Šurbek Kovář") == "Šurbek Kovář"  # Latin diacritics kept


def test_fallback_addresses_have_the_country_shape(crowd):
    shapes = {"LV": r"^LV-\d{4}$", "LT": r"^LT-\d{5}$", "LU": r"^L-\d{4}$", "MT": r"^[A-Z]{3} \d{4}$",
              "EE": r"^\d{5}$", "BG": r"^\d{4}$", "CY": r"^\d{4}$", "IS": r"^\d{3}$", "LI": r"^94\d\d$",
              "FR": r"^\d{5}$", "DE": r"^\d{5}$", "NL": r"^\d{4} ?[A-Z]{2}$", "PL": r"^\d{2}-\d{3}$"}
    for cc, pattern in shapes.items():
        for n in crowd[cc][0]:
            assert re.match(pattern, n.address.post_code), (cc, n.address.post_code)


# --- national identifiers ----------------------------------------------------------------------------------

def _w(digits: str, weights) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights))


def _check_es(v, n):
    assert re.fullmatch(r"99\d{6}[A-Z]", v) and v[-1] == "TRWAGMYFPDXBNJZSQVHLCKE"[int(v[:8]) % 23]


def _check_it(v, n):
    assert re.fullmatch(r"[A-Z]{6}\d\d[ABCDEHLMPRST]\d\dZ000[A-Z]", v)
    assert v[-1] == P.codice_fiscale_check(v[:15])
    dob = date.fromisoformat(n.date_of_birth)
    assert int(v[9:11]) == dob.day + (40 if n.gender == "Female" else 0)


def _check_nl(v, n):
    assert re.fullmatch(r"99999\d{4}", v) and (_w(v[:8], range(9, 1, -1)) - int(v[8])) % 11 == 0


def _check_no(v, n):
    assert re.fullmatch(r"\d{11}", v) and int(v[2:4]) - 80 == date.fromisoformat(n.date_of_birth).month
    k1 = (11 - _w(v[:9], (3, 7, 6, 1, 8, 9, 4, 5, 2)) % 11) % 11
    k2 = (11 - _w(v[:10], (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)) % 11) % 11
    assert (k1, k2) == (int(v[9]), int(v[10]))


def _check_fi(v, n):
    assert re.fullmatch(r"\d{6}[-A]9\d\d[0-9A-Y]", v)
    assert v[-1] == "0123456789ABCDEFHJKLMNPRSTUVWXY"[int(v[:6] + v[7:10]) % 31]


def _check_pl(v, n):
    assert re.fullmatch(r"\d{11}", v) and (10 - _w(v[:10], (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)) % 10) % 10 == int(v[10])


def _check_se(v, n):
    assert re.fullmatch(r"(19|20)\d{10}", v) and P.luhn_valid(v[2:])


def _check_be(v, n):
    base = ("2" if n.date_of_birth >= "2000" else "") + v[:9]
    assert re.fullmatch(r"\d{11}", v) and 97 - int(base) % 97 == int(v[9:])


def _check_ee(v, n):
    assert re.fullmatch(r"[3-6]\d{10}", v)
    c = _w(v[:10], (1, 2, 3, 4, 5, 6, 7, 8, 9, 1)) % 11
    if c == 10:
        c = _w(v[:10], (3, 4, 5, 6, 7, 8, 9, 1, 2, 3)) % 11 % 10
    assert c == int(v[10])


def _check_hr(v, n):
    assert re.fullmatch(r"\d{11}", v) and P.mod11_10_check_digit(v[:10]) == v[10]


def _check_cz(v, n):
    assert re.fullmatch(r"\d{10}", v) and int(v) % 11 == 0


def _check_ro(v, n):
    c = _w(v[:12], (2, 7, 9, 1, 4, 6, 3, 5, 8, 2, 7, 9)) % 11
    assert re.fullmatch(r"[1256]\d{12}", v) and (1 if c == 10 else c) == int(v[12])


def _check_si(v, n):
    m = 11 - _w(v[:12], (7, 6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)) % 11
    assert re.fullmatch(r"\d{7}50\d{4}", v) and (0 if m == 11 else m) == int(v[12])


def _check_ie(v, n):
    assert re.fullmatch(r"\d{7}[A-W]", v) and v[7] == "WABCDEFGHIJKLMNOPQRSTUV"[_w(v[:7], range(8, 1, -1)) % 23]


def _check_bg(v, n):
    assert re.fullmatch(r"\d{10}", v) and _w(v[:9], (2, 4, 8, 5, 10, 9, 7, 3, 6)) % 11 % 10 == int(v[9])


def _check_el(v, n):
    assert re.fullmatch(r"\d{9}", v) and sum(int(x) * 2 ** (8 - i) for i, x in enumerate(v[:8])) % 11 % 10 == int(v[8])


def _check_pt(v, n):
    c = 11 - _w(v[:8], range(9, 1, -1)) % 11
    assert re.fullmatch(r"[12]\d{8}", v) and (0 if c >= 10 else c) == int(v[8])


def _check_hu(v, n):
    assert re.fullmatch(r"8\d{9}", v) and sum(int(x) * (i + 1) for i, x in enumerate(v[:9])) % 11 == int(v[9])


def _check_is(v, n):
    c = (11 - _w(v[:8], (3, 2, 7, 6, 5, 4, 3, 2)) % 11) % 11
    assert re.fullmatch(r"\d{8}\d[09]", v) and c == int(v[8])


def _re(pattern):
    return lambda v, n: re.fullmatch(pattern, v) or pytest.fail(f"{v!r} !~ {pattern}")


NATIONAL_ID_CHECKS = {
    "AT": _re(r"SYN[A-Za-z0-9+/]{24}="), "DE": _re(r"SYN[A-Z0-9]{13}"), "FR": _re(r"SYN[A-Z0-9]{10}"),
    "ES": _check_es, "IT": _check_it, "NL": _check_nl, "NO": _check_no, "FI": _check_fi, "PL": _check_pl,
    "SE": _check_se, "BE": _check_be, "EE": _check_ee, "LT": _check_ee, "HR": _check_hr, "CZ": _check_cz,
    "SK": _check_cz, "RO": _check_ro, "SI": _check_si, "IE": _check_ie, "BG": _check_bg, "EL": _check_el,
    "PT": _check_pt, "HU": _check_hu, "IS": _check_is, "DK": _re(r"\d{6}-\d{4}"), "LV": _re(r"32\d{4}-\d{5}"),
    "LU": _re(r"(19|20)\d{11}"), "MT": _re(r"\d{7}M"), "CY": _re(r"[1-9]\d{7}"), "LI": _re(r"[1-9]\d{10}"),
}


def test_every_country_has_a_national_id_check():
    assert set(NATIONAL_ID_CHECKS) == set(OOTS_COUNTRIES)


@pytest.mark.case("EDM-REQ-017")
@pytest.mark.parametrize("cc", OOTS_COUNTRIES)
def test_national_ids_have_the_country_shape_and_check_digit(cc):
    p = Personas(SEED)
    for i in range(12):
        n = p.natural(cc, i)
        assert n.eidas_id == f"{cc}/FR/{n.national_id}"
        assert re.fullmatch(r"[A-Z]{2}/[A-Z]{2}/\S+", n.eidas_id)
        NATIONAL_ID_CHECKS[cc](n.national_id, n)


def test_synthetic_markers_are_documented_and_present(crowd):
    assert {"AT", "DE", "FR", "NL", "NO", "FI", "IT", "ES"} <= set(P.SYNTHETIC_MARKERS)
    for cc in ("AT", "DE", "FR"):
        assert all(n.national_id.startswith("SYN") for n in crowd[cc][0][:3])


def test_check_digit_helpers():
    assert P.dni_letter(12345678) == "Z"  # the classic DNI example 12345678Z
    assert P.luhn_valid("73282932000074") and P.luhn_valid("732829320")  # a well-known SIRET / SIREN shape
    assert P.mod11_10_check_digit("1234567890") == "3"  # OIB 12345678903
    # codice fiscale: check character of the textbook example RSSMRA85T10A562S
    assert P.codice_fiscale_check("RSSMRA85T10A562") == "S"
    assert P.codice_fiscale("Rossi", "Mario", date(1985, 12, 10), False, "A562") == "RSSMRA85T10A562S"


# --- legal persons --------------------------------------------------------------------------------------

def test_legal_person_identifiers_and_schemes(crowd):
    for cc, (people, _) in crowd.items():
        for lp in people[3:]:
            assert lp.kind == "legal" and lp.legal_name.strip()
            assert lp.eidas_id == f"{cc}/FR/{lp.registration_number}"
            assert lp.level_of_assurance in P.LEVELS_OF_ASSURANCE
            assert date.fromisoformat(lp.registration_date) < P.REFERENCE_DATE
            assert lp.address.admin_unit_level1 == cc
            ident = lp.identifier
            if cc == "FR":
                siret, siren = lp.identifiers
                assert siret.scheme == EAS + "0009" and re.fullmatch(r"\d{14}", siret.value)
                assert siren.scheme == EAS + "0002" and re.fullmatch(r"\d{9}", siren.value)
                assert P.luhn_valid(siret.value) and P.luhn_valid(siren.value)
                assert siret.value.startswith(siren.value) and lp.registration_number == siren.value
            elif cc == "DE":
                assert ident.scheme == EAS + "9930" and re.fullmatch(r"DE\d{9}", ident.value)
                assert P.mod11_10_check_digit(ident.value[2:10]) == ident.value[10]
            elif cc == "NL":
                assert ident.scheme == EAS + "0106" and re.fullmatch(r"\d{8}", ident.value)
            elif cc == "IT":
                assert ident.scheme == EAS + "0211" and re.fullmatch(r"IT\d{11}", ident.value)
                assert P.luhn_valid(ident.value[2:])
            elif cc == "ES":
                assert ident.scheme == EAS + "9920" and re.fullmatch(r"ES[AB]\d{8}", ident.value)
            else:
                assert ident.scheme == UNREGISTERED + cc and ident.value
            assert ident.eas_code == (ident.scheme.rsplit(":", 1)[1] if ident.scheme.startswith(EAS) else None)


def test_authority_identifier_uses_the_country_scheme(crowd):
    for cc, (_, authority) in crowd.items():
        assert authority.country == cc and authority.name.strip() and authority.language == "EN"
        assert authority.identifier.scheme.startswith((EAS, UNREGISTERED))
        assert _latin(authority.name)


# --- EDM mapping ----------------------------------------------------------------------------------------

def test_to_subject_maps_to_the_edm_model():
    from simulators.edm import model as m
    p = Personas(SEED)
    n = p.natural("EL", 1)
    s = n.to_subject()
    assert isinstance(s, m.Person)
    assert (s.family_name, s.given_name, s.date_of_birth) == (n.family_name, n.given_name,
                                                               date.fromisoformat(n.date_of_birth))
    assert s.identifier == m.Identifier(n.eidas_id, "eidas") and s.level_of_assurance == n.level_of_assurance
    assert s.current_address.admin_unit_level1 == "EL" and s.gender == n.gender
    assert n.to_subject(level_of_assurance="Low").level_of_assurance == "Low"
    lp = p.legal("FR", 1)
    ls = lp.to_subject()
    assert isinstance(ls, m.LegalPerson) and ls.legal_name == lp.legal_name
    assert ls.legal_person_identifier == m.Identifier(lp.eidas_id, "eidas")
    assert [i.scheme_id for i in ls.identifiers] == [EAS + "0009", EAS + "0002"]
    agent = p.authority("DE").to_agent("ER")
    assert agent.classification == "ER" and agent.address.admin_unit_level1 == "DE"
    assert agent.identifier.scheme_id == EAS + "9930" and agent.name.lang == "EN"
    assert p.authority("DE").to_agent(with_address=False).address is None
