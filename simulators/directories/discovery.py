"""Discovery of the Common Services without real DNS: a NAPTR table mapping names to the mock's base URL.

Name template (``shared/spec/common-services.md`` §3): ``<cc>.<eb|dsd>.v<major>.cs.<env>.oots.tech.ec.europa.eu``.
A client takes the records with flag ``U``, lowest ``order`` then ``preference``, and applies the
``!regexp!replacement!`` rule to the name (CS-010); it never builds a URL from the template, and a name
without a usable record is a :class:`DiscoveryError` (CS-011) so that no request goes to a guessed host.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

DOMAIN = "oots.tech.ec.europa.eu"
ROLES = ("eb", "dsd")
ENVS = ("acc", "prod", "testing")


class DiscoveryError(LookupError):
    """No usable NAPTR record for a name (CS-011)."""

    ids = ("CS-011",)


@dataclass(frozen=True)
class NaptrRecord:
    """RFC 3403 NAPTR: ``order preference "flags" "service" "regexp" replacement``."""

    order: int
    preference: int
    flags: str
    service: str
    regexp: str
    replacement: str = "."

    def apply(self, name: str) -> str:
        """The URI the ``regexp`` rule yields for ``name`` (``!.*!https://…/!``)."""
        if len(self.regexp) < 3:
            raise DiscoveryError(f"NAPTR regexp {self.regexp!r} is malformed")
        delim = self.regexp[0]
        parts = self.regexp[1:].split(delim)
        if len(parts) != 3 or parts[2] not in ("", "i"):
            raise DiscoveryError(f"NAPTR regexp {self.regexp!r} is not !pattern!replacement!flags")
        pattern, repl, flags = parts
        m = re.match(pattern, name, re.IGNORECASE if flags else 0)
        if not m:
            raise DiscoveryError(f"NAPTR regexp {self.regexp!r} does not match {name}")
        return re.sub(r"\\(\d)", lambda g: m.group(int(g.group(1))) or "", repl)


def naptr_name(country: str, role: str, major: int = 1, env: str = "acc") -> str:
    """``fr.dsd.v1.cs.acc.oots.tech.ec.europa.eu`` (the name, never the URL)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    if not re.fullmatch(r"[A-Za-z]{2}", country):
        raise ValueError(f"country must be a 2-letter code: {country!r}")
    return f"{country.lower()}.{role}.v{major}.cs.{env}.{DOMAIN}"


class Resolver:
    """An in-memory NAPTR zone. ``publish(...)`` adds the records of a mock; ``resolve(name)`` answers."""

    def __init__(self) -> None:
        self.zone: dict[str, list[NaptrRecord]] = {}

    def add(self, name: str, record: NaptrRecord) -> None:
        self.zone.setdefault(name.lower().rstrip("."), []).append(record)

    def publish(self, base_url: str, *, countries: tuple[str, ...] = ("fr", "de", "fi", "es"),
                roles: tuple[str, ...] = ROLES, majors: tuple[int, ...] = (1, 2), env: str = "acc",
                role_path: bool = True) -> None:
        """Records for every country/role/major pointing at ``base_url`` (``<base>/<role>/`` if ``role_path``)."""
        base = base_url.rstrip("/") + "/"
        for cc in countries:
            for role in roles:
                uri = f"{base}{role}/" if role_path else base
                for major in majors:
                    self.add(naptr_name(cc, role, major, env), NaptrRecord(100, 10, "U", "x-oots:cs", f"!.*!{uri}!"))

    def records(self, name: str) -> list[NaptrRecord]:
        return list(self.zone.get(name.lower().rstrip("."), []))

    def resolve(self, name: str) -> str:
        """Base URL for ``name``: ``U`` records only, lowest (order, preference) first (CS-010)."""
        usable = sorted((r for r in self.records(name) if r.flags.upper() == "U"),
                        key=lambda r: (r.order, r.preference))
        if not usable:
            raise DiscoveryError(f"no NAPTR record with flag U for {name} (CS-011): no request is sent")
        uri = usable[0].apply(name)
        if not re.match(r"^https?://", uri):
            raise DiscoveryError(f"NAPTR record for {name} yields {uri!r}, not an http(s) URI")
        return uri

    def base_url(self, country: str, role: str, major: int = 1, env: str = "acc") -> str:
        return self.resolve(naptr_name(country, role, major, env))
