"""P-Mode model: parties, legs and processes of an OOTS AS4 network, and how a receiving Domibus
matches an incoming UserMessage against them (spec/as4-profile.md §6).

* :class:`Party` — an access point: name, PartyId (+type), MSH endpoint, crypto suite, certificates.
* :class:`Leg` — one Domibus ``legConfiguration``: service/action, compression, security profile,
  reliability, reception awareness (retries, duplicate detection), error handling, property set.
* :class:`Process` — initiator/responder parties and roles, agreement, MEP/binding, legs.
* :class:`PModeSet` — all of it, with lookups (:meth:`PModeSet.leg_for`, :meth:`PModeSet.party_by_id`)
  and :meth:`PModeSet.match`, which raises the :class:`EbmsError` Domibus would give.

Sources: :meth:`PModeSet.oots` (Python), :meth:`PModeSet.from_dict` / :meth:`PModeSet.from_toml`
(``fixtures/worlds/*.toml``), and :meth:`PModeSet.parse_domibus` (a Domibus ``db:configuration``).
Export to Domibus lives in :mod:`simulators.as4.domibus_export`.

Matching follows Domibus 5 (``PModeProvider.findUserMessageExchangeContext``,
``CachingPModeProvider``, ``PropertyProfileValidator``): values compare case-insensitively; an unknown
AgreementRef, Service or Action gives EBMS:0001, an unknown From/To party EBMS:0003, no leg for the
(parties, roles, agreement, service, action) combination EBMS:0001, the test action outside the test
service EBMS:0010, and a property-profile violation (missing required property, property not in the
profile, wrong datatype, missing originalSender/finalRecipient) EBMS:0010.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Literal, Mapping, NamedTuple

from cryptography import x509
from lxml import etree

from .errors import EbmsError
from .model import DEFAULT_MPC, OOTS, UserMessage

if TYPE_CHECKING:
    from ..pki import PKI

Suite = Literal["rsa", "eddsa"]
SUITES = ("rsa", "eddsa")
RETRY_STRATEGIES = ("CONSTANT", "PROGRESSIVE", "SEND_ONCE")

NS_DOMIBUS = "http://domibus.eu/configuration"
MEP_ONE_WAY = "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/oneWay"
MEP_TWO_WAY = "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/twoWay"
BINDING_PUSH = "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/push"
BINDING_PUSH_AND_PUSH = "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/pushAndPush"

MAX_PMODE_BYTES = 10 * 1024 * 1024


class PModeError(ValueError):
    """A P-Mode definition is malformed or inconsistent (bad XML, dangling reference, bad value)."""


class NamedValue(NamedTuple):
    """A Domibus ``name``/``value`` pair: role, mep, binding."""

    name: str
    value: str


ROLE_INITIATOR = NamedValue("defaultInitiatorRole", OOTS.ROLE)
ROLE_RESPONDER = NamedValue("defaultResponderRole", OOTS.ROLE)
MEP_ONEWAY = NamedValue("oneway", MEP_ONE_WAY)
MEP_TWOWAY = NamedValue("twoway", MEP_TWO_WAY)
PUSH = NamedValue("push", BINDING_PUSH)
PUSH_AND_PUSH = NamedValue("pushAndPush", BINDING_PUSH_AND_PUSH)


# --- leg building blocks ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Mpc:
    """``mpc``: ``attributes`` keeps every other attribute (retention...) in document order."""

    name: str = "defaultMpc"
    qualified_name: str = DEFAULT_MPC
    attributes: tuple[tuple[str, str], ...] = (
        ("enabled", "true"), ("default", "true"), ("retention_downloaded", "0"),
        ("retention_undownloaded", "3600"), ("delete_message_metadata", "false"),
        ("retention_metadata_offset", "525600"), ("retention_sent_success", "3600"),
        ("retention_sent_failure", "3600"),
    )


@dataclass(frozen=True)
class Security:
    """``security``: the WS-Security policy. ``profile`` is the crypto suite (Domibus 5.2: ``rsa`` only;
    ``eddsa`` = eDelivery AS4 2.0, harness peers only). ``policy``/``signature_method`` are written when set."""

    name: str = "eDeliveryAS4Policy"
    profile: str = "rsa"
    policy: str | None = "eDeliveryAS4Policy.xml"
    signature_method: str | None = None


@dataclass(frozen=True)
class Reliability:
    """``as4/reliability``: synchronous NRR receipts (``replyPattern="response"``)."""

    name: str = "AS4Reliability"
    non_repudiation: bool = True
    reply_pattern: str = "response"


@dataclass(frozen=True)
class ReceptionAwareness:
    """``as4/receptionAwareness``: ``retry="<timeout min>;<count>;<strategy>[;extra...]"``, duplicate detection.

    Domibus reads ``12;4;CONSTANT`` as "4 retries within a 12-minute window" (as4-profile.md §6.1).
    ``retry_timeout=None`` means the ``retry`` attribute is absent (send once).
    """

    name: str = "receptionAwareness"
    retry_timeout: int | None = 12
    retry_count: int = 4
    strategy: str = "CONSTANT"
    duplicate_detection: bool = True
    retry_extra: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.retry_timeout is not None:
            if self.retry_timeout < 0 or self.retry_count < 0:
                raise PModeError(f"negative retry values in {self.name}")
            if self.strategy not in RETRY_STRATEGIES:
                raise PModeError(f"unknown retry strategy {self.strategy!r} (one of {RETRY_STRATEGIES})")

    @property
    def retry(self) -> str | None:
        """The Domibus ``retry`` attribute value."""
        if self.retry_timeout is None:
            return None
        return ";".join([str(self.retry_timeout), str(self.retry_count), self.strategy, *self.retry_extra])

    @classmethod
    def parse_retry(cls, text: str | None, **kw: Any) -> ReceptionAwareness:
        """From a Domibus ``retry`` value (``None``/empty: no retry)."""
        if not text or not text.strip():
            return cls(retry_timeout=None, retry_count=0, **kw)
        fields = [f.strip() for f in text.split(";")]
        if len(fields) < 3:
            raise PModeError(f"retry must be 'timeout;count;strategy': {text!r}")
        try:
            timeout, count = int(fields[0]), int(fields[1])
        except ValueError:
            raise PModeError(f"retry timeout and count must be integers: {text!r}") from None
        return cls(retry_timeout=timeout, retry_count=count, strategy=fields[2].upper(),
                   retry_extra=tuple(fields[3:]), **kw)

    @property
    def retries(self) -> int:
        """How many resends after the first attempt."""
        if self.retry_timeout is None or self.strategy == "SEND_ONCE":
            return 0
        return self.retry_count

    def retry_delays(self) -> list[float]:
        """Offsets (seconds after the first send) of the resends, within the retry window.

        CONSTANT: evenly spaced, ``k * timeout / count``. PROGRESSIVE: doubling intervals that end at
        the window. Domibus's exact spacing is unverified (as4-profile.md §9.5); this is the harness's.
        """
        n = self.retries
        if n == 0:
            return []
        window = float(self.retry_timeout or 0) * 60.0
        if self.strategy == "PROGRESSIVE":
            unit = window / (2 ** n - 1)
            return [unit * (2 ** k - 1) for k in range(1, n + 1)]
        return [window * k / n for k in range(1, n + 1)]


@dataclass(frozen=True)
class ErrorHandling:
    """``errorHandling``: OOTS returns errors synchronously (``errorAsResponse="true"``)."""

    name: str = "defaultErrorHandling"
    error_as_response: bool = True
    business_error_notify_producer: bool = False
    business_error_notify_consumer: bool = False
    delivery_failure_notify_producer: bool = False


@dataclass(frozen=True)
class PropertyDef:
    """``property``: ``key`` is the ``eb:Property/@name`` on the wire; ``name`` is the PMode handle."""

    name: str
    key: str
    datatype: str = "string"
    required: bool = False


@dataclass(frozen=True)
class PropertySet:
    name: str
    properties: tuple[PropertyDef, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(p.key for p in self.properties)

    @property
    def required_keys(self) -> tuple[str, ...]:
        return tuple(p.key for p in self.properties if p.required)


FOUR_CORNERS = PropertySet("fourCornersPropertySet", (
    PropertyDef("originalSenderProperty", OOTS.ORIGINAL_SENDER, "string", True),
    PropertyDef("finalRecipientProperty", OOTS.FINAL_RECIPIENT, "string", True),
    PropertyDef("exchangeIdProperty", OOTS.EXCHANGE_ID, "string", False),
    PropertyDef("specificationIdProperty", OOTS.SPECIFICATION_ID, "string", False),
))


@dataclass(frozen=True)
class Payload:
    """``payloadProfiles/payload``."""

    name: str
    cid: str
    required: bool
    mime_type: str | None = None
    in_body: str | None = None
    schema_file: str | None = None
    max_size: int | None = None


@dataclass(frozen=True)
class PayloadProfile:
    """``payloadProfiles/payloadProfile``: named attachments (payload names)."""

    name: str
    max_size: int
    attachments: tuple[str, ...] = ()


@dataclass(frozen=True)
class Splitting:
    """``splittingConfigurations/splitting`` (fragment size in MB, join interval in hours)."""

    name: str = "default"
    fragment_size: int = 20
    compression: bool = True
    join_interval: int = 1440
    compression_algorithm: str | None = None


@dataclass(frozen=True)
class Agreement:
    """``agreement``: OOTS uses an empty one (no ``eb:AgreementRef`` on the wire)."""

    name: str = "agreementEmpty"
    value: str = ""
    type: str = ""


@dataclass(frozen=True)
class ServiceDef:
    name: str
    value: str
    type: str | None = None


@dataclass(frozen=True)
class ActionDef:
    name: str
    value: str


_SERVICE_NAMES = {OOTS.SERVICE: "queryManager", OOTS.TEST_SERVICE: "testService"}
_ACTION_NAMES = {
    OOTS.ACTION_REQUEST: "executeQueryRequest", OOTS.ACTION_RESPONSE: "executeQueryResponse",
    OOTS.ACTION_EXCEPTION: "exceptionResponse", OOTS.TEST_ACTION: "testAction",
}


def _handle(value: str) -> str:
    """A Domibus handle (lowerCamel) from a URI or word: the last path segment, alphanumerics only."""
    tail = re.split(r"[/#:]", value.rstrip("/#:"))[-1] or value
    words = re.findall(r"[A-Za-z0-9]+", tail) or ["x"]
    s = words[0][:1].lower() + words[0][1:] + "".join(w[:1].upper() + w[1:] for w in words[1:])
    return s if s[0].isalpha() else "n" + s


@dataclass(frozen=True)
class Leg:
    """One ``legConfiguration``. ``service_name``/``action_name`` are the Domibus handles (derived when None)."""

    name: str
    service: str
    service_type: str | None
    action: str
    compress: bool = True
    security: Security = field(default_factory=Security)
    reliability: Reliability = field(default_factory=Reliability)
    reception_awareness: ReceptionAwareness = field(default_factory=ReceptionAwareness)
    error_handling: ErrorHandling = field(default_factory=ErrorHandling)
    property_set: PropertySet | None = FOUR_CORNERS
    mpc: Mpc = field(default_factory=Mpc)
    payload_profile: PayloadProfile | None = None
    splitting: Splitting | None = None
    service_name: str | None = None
    action_name: str | None = None

    def __post_init__(self) -> None:
        if not self.name or not self.service or not self.action:
            raise PModeError("a leg needs a name, a service and an action")
        if self.service_name is None:
            object.__setattr__(self, "service_name", _SERVICE_NAMES.get(self.service) or _handle(self.service))
        if self.action_name is None:
            object.__setattr__(self, "action_name", _ACTION_NAMES.get(self.action) or _handle(self.action))

    @property
    def service_def(self) -> ServiceDef:
        return ServiceDef(self.service_name or "", self.service, self.service_type)

    @property
    def action_def(self) -> ActionDef:
        return ActionDef(self.action_name or "", self.action)

    @property
    def suite(self) -> str:
        """The security profile (crypto suite) of the leg."""
        return self.security.profile

    @property
    def duplicate_detection(self) -> bool:
        return self.reception_awareness.duplicate_detection

    @property
    def is_test(self) -> bool:
        return self.service == OOTS.TEST_SERVICE and self.action == OOTS.TEST_ACTION

    def matches(self, service: str, service_type: str | None, action: str) -> bool:
        """Domibus comparison: case-insensitive, an absent type equals an empty one."""
        return (_eq(self.service, service) and _eq(self.service_type, service_type)
                and _eq(self.action, action))


def oots_legs(
    *,
    security: Security | None = None,
    reception_awareness: ReceptionAwareness | None = None,
    reliability: Reliability | None = None,
    error_handling: ErrorHandling | None = None,
    property_set: PropertySet | None = FOUR_CORNERS,
) -> list[Leg]:
    """The four OOTS legs of as4-profile.md §6.4 (request/error compressed, response not, test service)."""
    common: dict[str, Any] = {"property_set": property_set}
    for key, value in (("security", security), ("reception_awareness", reception_awareness),
                       ("reliability", reliability), ("error_handling", error_handling)):
        if value is not None:
            common[key] = value
    q, t = OOTS.SERVICE, OOTS.SERVICE_TYPE
    return [
        Leg("ootsRequestLeg", q, t, OOTS.ACTION_REQUEST, compress=True, **common),
        Leg("ootsResponseLeg", q, t, OOTS.ACTION_RESPONSE, compress=False, **common),
        Leg("ootsErrorLeg", q, t, OOTS.ACTION_EXCEPTION, compress=True, **common),
        Leg("testServiceCase", OOTS.TEST_SERVICE, None, OOTS.TEST_ACTION, compress=True, **common),
    ]


# --- parties and processes -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Party:
    """An access point. ``party_id`` defaults to ``name``; certificates may be left to the PKI
    (:meth:`PModeSet.with_pki`). ``extra_ids`` are further Domibus identifiers ``(id, type)``."""

    name: str
    party_id: str = ""
    party_id_type: str | None = OOTS.PARTY_TYPE
    endpoint: str = ""
    suite: Suite = "rsa"
    sign_cert: x509.Certificate | None = field(default=None, compare=False, repr=False)
    encrypt_cert: x509.Certificate | None = field(default=None, compare=False, repr=False)
    tls_cert: x509.Certificate | None = field(default=None, compare=False, repr=False)
    extra_ids: tuple[tuple[str, str | None], ...] = ()
    allow_chunking: bool | None = False

    def __post_init__(self) -> None:
        if not self.name:
            raise PModeError("a party needs a name")
        if not self.party_id:
            object.__setattr__(self, "party_id", self.name)
        if self.suite not in SUITES:
            raise PModeError(f"party {self.name}: unknown suite {self.suite!r} (one of {SUITES})")

    @property
    def identifiers(self) -> tuple[tuple[str, str | None], ...]:
        return ((self.party_id, self.party_id_type), *self.extra_ids)

    def has_id(self, party_id: str, party_id_type: str | None) -> bool:
        """Domibus comparison: case-insensitive on value and type; no type matches only no type."""
        return any(_eq(pid, party_id) and _eq(ptype, party_id_type) for pid, ptype in self.identifiers)


@dataclass(frozen=True)
class Process:
    """A Domibus ``process``: which parties may initiate / respond on which legs."""

    name: str = "ootsProcess"
    initiators: tuple[str, ...] = ()
    responders: tuple[str, ...] = ()
    legs: tuple[str, ...] = ()
    initiator_role: NamedValue = ROLE_INITIATOR
    responder_role: NamedValue = ROLE_RESPONDER
    agreement: Agreement | None = field(default_factory=Agreement)
    mep: NamedValue = MEP_ONEWAY
    binding: NamedValue = PUSH


@dataclass
class Catalog:
    """Definitions of a Domibus configuration kept for export, used or not (document order)."""

    mpcs: list[Mpc] = field(default_factory=list)
    roles: list[NamedValue] = field(default_factory=list)
    party_id_types: dict[str, str] = field(default_factory=dict)  # value -> name
    meps: list[NamedValue] = field(default_factory=list)
    bindings: list[NamedValue] = field(default_factory=list)
    properties: list[PropertyDef] = field(default_factory=list)
    property_sets: list[PropertySet] = field(default_factory=list)
    payloads: list[Payload] = field(default_factory=list)
    payload_profiles: list[PayloadProfile] = field(default_factory=list)
    securities: list[Security] = field(default_factory=list)
    error_handlings: list[ErrorHandling] = field(default_factory=list)
    agreements: list[Agreement] = field(default_factory=list)
    services: list[ServiceDef] = field(default_factory=list)
    actions: list[ActionDef] = field(default_factory=list)
    reception_awarenesses: list[ReceptionAwareness] = field(default_factory=list)
    reliabilities: list[Reliability] = field(default_factory=list)
    splittings: list[Splitting] = field(default_factory=list)

    @classmethod
    def oots_defaults(cls) -> Catalog:
        """What the FR example defines besides its legs: both MEPs and bindings, the split config and
        a second error handling; plus an (unbound) OOTS payload profile."""
        return cls(
            mpcs=[Mpc()], roles=[ROLE_INITIATOR, ROLE_RESPONDER], meps=[MEP_ONEWAY, MEP_TWOWAY],
            bindings=[PUSH, PUSH_AND_PUSH],
            payloads=[
                Payload("ootsRegRepPayload", "cid:message", True, OOTS.MIME_REGREP, "false"),
                Payload("ootsEvidencePayload", "cid:attachment", False, "application/octet-stream", "false"),
            ],
            payload_profiles=[PayloadProfile("ootsPayloadProfile", 40894464,
                                             ("ootsRegRepPayload", "ootsEvidencePayload"))],
            error_handlings=[ErrorHandling(), ErrorHandling("secondErrorHandlingAllTrue", True, True, True, True)],
            agreements=[Agreement()], splittings=[Splitting()],
        )


class Match(NamedTuple):
    """Result of :meth:`PModeSet.match`."""

    from_party: Party
    to_party: Party
    leg: Leg


# --- comparison helpers ----------------------------------------------------------------------------------
def _eq(a: str | None, b: str | None) -> bool:
    return (a or "").casefold() == (b or "").casefold()


_URI_OK = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")


def _mismatch(code: str, detail: str, um: UserMessage | None) -> EbmsError:
    return EbmsError(code, detail, um.message_id if um is not None else None)


# --- the set -----------------------------------------------------------------------------------------------
@dataclass
class PModeSet:
    """Parties, legs and processes of one network, seen from ``own_party`` (Domibus ``configuration/@party``)."""

    parties: list[Party]
    legs: list[Leg]
    processes: list[Process]
    own_party: str | None = None
    catalog: Catalog = field(default_factory=Catalog)

    def __post_init__(self) -> None:
        self.validate()

    # construction -----------------------------------------------------------------------------------
    @classmethod
    def oots(
        cls,
        parties: Iterable[Party],
        *,
        own_party: str | None = None,
        initiators: Iterable[str] | None = None,
        responders: Iterable[str] | None = None,
        legs: Iterable[Leg] | None = None,
        process_name: str = "ootsProcess",
    ) -> PModeSet:
        """The OOTS P-Mode of as4-profile.md §6.4 for ``parties`` (all initiators and responders by default)."""
        parties = list(parties)
        legs = list(legs) if legs is not None else oots_legs()
        names = tuple(p.name for p in parties)
        process = Process(
            process_name,
            initiators=tuple(initiators) if initiators is not None else names,
            responders=tuple(responders) if responders is not None else names,
            legs=tuple(leg.name for leg in legs),
        )
        return cls(parties, legs, [process], own_party, Catalog.oots_defaults())

    @classmethod
    def parse_domibus(cls, xml: bytes | str) -> PModeSet:
        """From a Domibus ``db:configuration`` document (see :func:`parse_domibus`)."""
        return parse_domibus(xml)

    @classmethod
    def from_toml(cls, source: str | Path, *, table: str | None = None) -> PModeSet:
        """From a TOML file (path) or TOML text; ``table`` selects a sub-table (e.g. ``"as4"``)."""
        base_dir: Path | None = None
        if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source
                                        and source.endswith(".toml")):
            path = Path(source)
            text = path.read_text(encoding="utf-8")
            base_dir = path.parent
        else:
            text = str(source)
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise PModeError(f"invalid TOML: {e}") from None
        if table is not None:
            data = data.get(table)
            if not isinstance(data, dict):
                raise PModeError(f"no [{table}] table")
        return cls.from_dict(data, base_dir=base_dir)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, base_dir: str | Path | None = None) -> PModeSet:
        """From a plain dict (a world's TOML). Keys, all optional except ``parties``::

            own_party = "fr_gw"
            party_id_type = "urn:...:unregistered:oots"      # default for parties
            security = { profile = "rsa", name = "eDeliveryAS4Policy", policy = "eDeliveryAS4Policy.xml" }
            reception_awareness = { retry = "12;4;CONSTANT", duplicate_detection = true }
            # or retry_timeout / retry_count / strategy instead of retry
            [[parties]]  name, party_id, party_id_type, endpoint, suite, initiator, responder,
                         sign_cert, encrypt_cert, tls_cert   # PEM text or a path (relative to base_dir)
            [[legs]]     name, service, service_type, action, compress, [+ security / reception_awareness]
                         # absent: the four OOTS legs

        Certificates may also be filled from the PKI later (:meth:`with_pki`).
        """
        if not isinstance(data, Mapping):
            raise PModeError("a P-Mode dict is expected")
        base = Path(base_dir) if base_dir is not None else None
        default_type = data.get("party_id_type", OOTS.PARTY_TYPE)
        raw_parties = data.get("parties")
        if not isinstance(raw_parties, list) or not raw_parties:
            raise PModeError("'parties' must be a non-empty list")
        parties, initiators, responders = [], [], []
        for raw in raw_parties:
            if not isinstance(raw, Mapping):
                raise PModeError("each party must be a table")
            unknown = set(raw) - {"name", "party_id", "party_id_type", "endpoint", "suite", "initiator",
                                  "responder", "sign_cert", "encrypt_cert", "tls_cert", "allow_chunking"}
            if unknown:
                raise PModeError(f"party {raw.get('name')}: unknown keys {sorted(unknown)}")
            try:
                party = Party(
                    name=str(raw["name"]), party_id=str(raw.get("party_id", "")),
                    party_id_type=raw.get("party_id_type", default_type), endpoint=str(raw.get("endpoint", "")),
                    suite=raw.get("suite", "rsa"), sign_cert=_load_cert(raw.get("sign_cert"), base),
                    encrypt_cert=_load_cert(raw.get("encrypt_cert"), base),
                    tls_cert=_load_cert(raw.get("tls_cert"), base),
                    allow_chunking=raw.get("allow_chunking", False),
                )
            except KeyError:
                raise PModeError("a party needs a 'name'") from None
            parties.append(party)
            if raw.get("initiator", True):
                initiators.append(party.name)
            if raw.get("responder", True):
                responders.append(party.name)
        security = _sub(Security, data.get("security"))
        ra = _reception_awareness(data.get("reception_awareness"))
        legs = None
        if data.get("legs") is not None:
            legs = []
            for raw in data["legs"]:
                raw = dict(raw)
                raw.setdefault("service_type", None)
                leg_security = _sub(Security, raw.pop("security", None)) or security
                leg_ra = _reception_awareness(raw.pop("reception_awareness", None)) or ra
                extra = {k: v for k, v in (("security", leg_security), ("reception_awareness", leg_ra)) if v}
                try:
                    legs.append(Leg(**raw, **extra))
                except TypeError as e:
                    raise PModeError(f"bad leg {raw.get('name')}: {e}") from None
        elif security is not None or ra is not None:
            legs = oots_legs(security=security, reception_awareness=ra)
        return cls.oots(parties, own_party=data.get("own_party"), initiators=initiators,
                        responders=responders, legs=legs)

    def to_dict(self) -> dict[str, Any]:
        """The :meth:`from_dict` form (certificates left out: they come from the PKI)."""
        proc_init = {n for p in self.processes for n in p.initiators}
        proc_resp = {n for p in self.processes for n in p.responders}
        out: dict[str, Any] = {}
        if self.own_party:
            out["own_party"] = self.own_party
        out["parties"] = [
            {"name": p.name, "party_id": p.party_id, "party_id_type": p.party_id_type or "",
             "endpoint": p.endpoint, "suite": p.suite, "initiator": p.name in proc_init,
             "responder": p.name in proc_resp}
            for p in self.parties
        ]
        out["legs"] = []
        for leg in self.legs:
            d: dict[str, Any] = {"name": leg.name, "service": leg.service, "action": leg.action,
                                 "compress": leg.compress}
            if leg.service_type is not None:
                d["service_type"] = leg.service_type
            ra = leg.reception_awareness
            d["reception_awareness"] = {"retry": ra.retry or "", "duplicate_detection": ra.duplicate_detection}
            d["security"] = {k: ("" if v is None else v) for k, v in vars(leg.security).items()}
            out["legs"].append(d)
        return out

    def with_pki(self, pki: PKI) -> PModeSet:
        """A copy where each party's missing sign/encrypt certificates come from ``pki``."""
        parties = []
        for p in self.parties:
            if p.sign_cert is None or p.encrypt_cert is None:
                creds = pki.party(p.name, p.suite)
                p = replace(p, sign_cert=p.sign_cert or creds.sign.cert,
                            encrypt_cert=p.encrypt_cert or creds.encrypt.cert)
            parties.append(p)
        return PModeSet(parties, list(self.legs), list(self.processes), self.own_party, self.catalog)

    # consistency ------------------------------------------------------------------------------------
    def validate(self) -> None:
        """Raise :class:`PModeError` on duplicate names or dangling references."""
        for kind, names in (("party", [p.name for p in self.parties]), ("leg", [leg.name for leg in self.legs]),
                            ("process", [p.name for p in self.processes])):
            dup = {n for n in names if names.count(n) > 1}
            if dup:
                raise PModeError(f"duplicate {kind} names: {sorted(dup)}")
        seen: dict[tuple[str, str], str] = {}
        for p in self.parties:
            for pid, ptype in p.identifiers:
                key = (pid.casefold(), (ptype or "").casefold())
                if key in seen and seen[key] != p.name:
                    raise PModeError(f"parties {seen[key]} and {p.name} share the identifier {pid} ({ptype})")
                seen[key] = p.name
        party_names = {p.name for p in self.parties}
        leg_names = {leg.name for leg in self.legs}
        for proc in self.processes:
            for n in (*proc.initiators, *proc.responders):
                if n not in party_names:
                    raise PModeError(f"process {proc.name}: unknown party {n}")
            for n in proc.legs:
                if n not in leg_names:
                    raise PModeError(f"process {proc.name}: unknown leg {n}")
        if self.own_party is not None and self.own_party not in party_names:
            raise PModeError(f"own party {self.own_party} is not a party")

    # lookups ----------------------------------------------------------------------------------------
    def party(self, name: str) -> Party:
        """The party called ``name`` (KeyError when unknown)."""
        for p in self.parties:
            if p.name == name:
                return p
        raise KeyError(name)

    def party_by_id(self, party_id: str, party_id_type: str | None = None) -> Party:
        """The party with this identifier; EBMS:0003 (Domibus ``findPartyName``) when none has it."""
        if party_id_type and not _URI_OK.fullmatch(party_id_type):
            raise EbmsError("EBMS:0003", f"PartyId {party_id} type is not a valid URI: {party_id_type!r}")
        for p in self.parties:
            if p.has_id(party_id, party_id_type):
                return p
        raise EbmsError("EBMS:0003", f"No matching party found for type [{party_id_type or ''}] "
                                     f"and value [{party_id}]")

    def leg(self, name: str) -> Leg:
        """The leg called ``name`` (KeyError when unknown)."""
        for leg in self.legs:
            if leg.name == name:
                return leg
        raise KeyError(name)

    def leg_for(self, service: str, service_type: str | None, action: str) -> Leg:
        """The first leg for (service, type, action); EBMS:0001 when none."""
        for leg in self.legs:
            if leg.matches(service, service_type, action):
                return leg
        raise EbmsError("EBMS:0001", f"No matching leg found for service [{service}] type "
                                     f"[{service_type or ''}] and action [{action}]")

    def processes_of(self, party: str) -> list[Process]:
        return [p for p in self.processes if party in p.initiators or party in p.responders]

    def services(self) -> list[ServiceDef]:
        """Every defined service (catalog first, then those of the legs), unique by name."""
        return _merge(self.catalog.services, (leg.service_def for leg in self.legs))

    def actions(self) -> list[ActionDef]:
        return _merge(self.catalog.actions, (leg.action_def for leg in self.legs))

    def agreements(self) -> list[Agreement]:
        return _merge(self.catalog.agreements, (p.agreement for p in self.processes if p.agreement))

    # matching ---------------------------------------------------------------------------------------
    def match(
        self,
        um: UserMessage,
        *,
        check_roles: bool = True,
        check_properties: bool = True,
        four_corner: bool = True,
    ) -> Match:
        """Find (from party, to party, leg) for an incoming message as Domibus does, or raise its EbmsError.

        Order (Domibus): AgreementRef (0001), From party (0003), To party (0003), Service (0001),
        Action (0001), leg among processes with these parties/roles/agreement (0001), test action
        outside the test service (0010), then the property profile (0010).
        """
        agreement = self._find_agreement(um)
        try:
            sender = self.party_by_id(um.from_party.party_id, um.from_party.party_type)
        except EbmsError as e:
            raise _mismatch(e.code, f"Sender party could not be found: {e.detail}", um) from None
        try:
            receiver = self.party_by_id(um.to_party.party_id, um.to_party.party_type)
        except EbmsError as e:
            raise _mismatch(e.code, f"Receiver party could not be found: {e.detail}", um) from None
        service = next((s for s in self.services()
                        if _eq(s.type, um.service.type) and _eq(s.value, um.service.value)), None)
        if service is None:
            raise _mismatch("EBMS:0001", f"No matching service found for type [{um.service.type or ''}] "
                                         f"and value [{um.service.value}]", um)
        action = next((a for a in self.actions() if _eq(a.value, um.action)), None)
        if action is None:
            raise _mismatch("EBMS:0001", f"No matching action found [{um.action}]", um)
        candidates: list[Leg] = []
        for proc in self.processes:
            if not (any(_eq(n, sender.name) for n in proc.initiators)
                    and any(_eq(n, receiver.name) for n in proc.responders)):
                continue
            if not _agreement_matches(proc, agreement):
                continue
            if check_roles and not (_eq(proc.initiator_role.value, um.from_party.role)
                                    and _eq(proc.responder_role.value, um.to_party.role)):
                continue
            candidates.extend(self.leg(n) for n in proc.legs)
        if not candidates:
            raise _mismatch("EBMS:0001", f"No Candidates for Legs found (from {sender.name} as "
                                         f"{um.from_party.role}, to {receiver.name} as {um.to_party.role})", um)
        leg = next((c for c in candidates
                    if _eq(c.service_name, service.name) and _eq(c.action_name, action.name)), None)
        if leg is None:
            raise _mismatch("EBMS:0001", f"No matching leg found for service [{service.name}] "
                                         f"and action [{action.name}]", um)
        if _eq(um.action, OOTS.TEST_ACTION) and not _eq(um.service.value, OOTS.TEST_SERVICE):
            raise _mismatch("EBMS:0010", "ebMS3 Test Service and Test Action can only be used together", um)
        if check_properties:
            check_property_profile(um, leg.property_set, four_corner=four_corner)
        return Match(sender, receiver, leg)

    def _find_agreement(self, um: UserMessage) -> Agreement | None:
        ref = um.agreement_ref
        if ref is None or not ref.value:
            return None  # optional and empty
        for a in self.agreements():
            if (not ref.type or _eq(a.type, ref.type)) and _eq(a.value, ref.value):
                return a
        raise _mismatch("EBMS:0001", f"No matching agreement found for type [{ref.type or ''}] "
                                     f"and value [{ref.value}]", um)


def _agreement_matches(proc: Process, agreement: Agreement | None) -> bool:
    if agreement is None:  # the message has no AgreementRef
        return proc.agreement is None or not proc.agreement.value
    return proc.agreement is not None and _eq(proc.agreement.name, agreement.name)


def check_property_profile(um: UserMessage, property_set: PropertySet | None, *, four_corner: bool = True) -> None:
    """Domibus ``PropertyProfileValidator``: raise EBMS:0010 on a property-profile violation."""
    names = [p.name for p in um.properties]
    if four_corner and not (OOTS.ORIGINAL_SENDER in names and OOTS.FINAL_RECIPIENT in names):
        raise _mismatch("EBMS:0010", "originalSender and finalRecipient are REQUIRED properties in the "
                                     "four corner model", um)
    if property_set is None or not property_set.properties:
        return
    remaining = list(property_set.properties)
    for prop in um.properties:
        profiled = next((d for d in remaining if d.key == prop.name), None)
        if profiled is None:
            raise _mismatch("EBMS:0010", f"Property profiling for this exchange does not include a "
                                         f"property named [{prop.name}]", um)
        remaining.remove(profiled)
        datatype = profiled.datatype.lower()
        if datatype == "int":
            try:
                int(prop.value)
            except ValueError:
                raise _mismatch("EBMS:0010", f"property {prop.name} must be an integer, got {prop.value!r}",
                                um) from None
        elif datatype == "boolean" and prop.value.lower() not in ("true", "false"):
            raise _mismatch("EBMS:0010", f"property {prop.name} must be a boolean, got {prop.value!r}", um)
    for d in remaining:
        if d.required:
            raise _mismatch("EBMS:0010", f"Required property missing [{d.key}]", um)


# --- helpers -----------------------------------------------------------------------------------------------
def _merge(first: Iterable[Any], then: Iterable[Any]) -> list[Any]:
    """Unique by ``.name``, first occurrence wins, order kept."""
    out: dict[str, Any] = {}
    for item in (*first, *then):
        out.setdefault(item.name, item)
    return list(out.values())


def _load_cert(value: Any, base: Path | None) -> x509.Certificate | None:
    if value is None or value == "":
        return None
    if isinstance(value, x509.Certificate):
        return value
    if not isinstance(value, str):
        raise PModeError(f"a certificate must be PEM text or a path, got {type(value).__name__}")
    data = value.encode("ascii") if value.lstrip().startswith("-----BEGIN") else None
    if data is None:
        path = Path(value)
        if base is not None and not path.is_absolute():
            path = base / path
        try:
            data = path.read_bytes()
        except OSError as e:
            raise PModeError(f"cannot read certificate {path}: {e}") from None
    try:
        return x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data else x509.load_der_x509_certificate(data)
    except ValueError as e:
        raise PModeError(f"not a certificate: {e}") from None


def _sub(cls: type, value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise PModeError(f"{cls.__name__}: a table is expected")
    if cls is Security:  # TOML has no null: "" means absent
        value = {k: (None if k in ("policy", "signature_method") and v == "" else v) for k, v in value.items()}
    try:
        return cls(**value)
    except TypeError as e:
        raise PModeError(f"{cls.__name__}: {e}") from None


def _reception_awareness(value: Any) -> ReceptionAwareness | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise PModeError("reception_awareness: a table is expected")
    value = dict(value)
    if "retry" in value:
        retry = value.pop("retry")
        try:
            return ReceptionAwareness.parse_retry(retry, **value)
        except TypeError as e:
            raise PModeError(f"reception_awareness: {e}") from None
    return _sub(ReceptionAwareness, value)


# --- Domibus configuration reader --------------------------------------------------------------------------
def _bool(el: etree._Element, attr: str, default: bool | None = None) -> bool:
    v = el.get(attr)
    if v is None:
        if default is None:
            raise PModeError(f"<{el.tag}> lacks @{attr}")
        return default
    v = v.strip().lower()
    if v not in ("true", "false", "1", "0"):
        raise PModeError(f"<{el.tag} @{attr}> is not a boolean: {v!r}")
    return v in ("true", "1")


def _req(el: etree._Element, attr: str) -> str:
    v = el.get(attr)
    if v is None:
        raise PModeError(f"<{el.tag} name={el.get('name')!r}> lacks @{attr}")
    return v


def _int(el: etree._Element, attr: str) -> int | None:
    v = el.get(attr)
    if v is None:
        return None
    try:
        return int(v)
    except ValueError:
        raise PModeError(f"<{el.tag} @{attr}> is not an integer: {v!r}") from None


def parse_configuration(data: bytes | str) -> etree._Element:
    """The ``db:configuration`` root of a Domibus PMode (hardened: no DTD, no entities, size limit)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_PMODE_BYTES:
        raise PModeError(f"P-Mode larger than {MAX_PMODE_BYTES} bytes")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             remove_comments=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as e:
        raise PModeError(f"not well-formed XML: {e}") from None
    if root.getroottree().docinfo.doctype:
        raise PModeError("DOCTYPE declarations are not allowed")
    if root.tag != f"{{{NS_DOMIBUS}}}configuration":
        raise PModeError(f"not a Domibus configuration: root is {root.tag}")
    return root


def _named(section: etree._Element | None, tag: str) -> list[etree._Element]:
    return [] if section is None else list(section.iterchildren(tag))


def _index(items: Iterable[Any], what: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        if item.name in out:
            raise PModeError(f"duplicate {what} name {item.name!r}")
        out[item.name] = item
    return out


def _ref(index: Mapping[str, Any], name: str | None, what: str, where: str) -> Any:
    if name is None:
        return None
    try:
        return index[name]
    except KeyError:
        raise PModeError(f"{where}: unknown {what} {name!r}") from None


def parse_domibus(xml: bytes | str) -> PModeSet:
    """Read a Domibus ``db:configuration`` (hardened parse; :class:`PModeError` on bad input)."""
    root = parse_configuration(xml)
    bp = root.find("businessProcesses")
    if bp is None:
        raise PModeError("no businessProcesses")
    cat = Catalog()

    for el in _named(root.find("mpcs"), "mpc"):
        attrs = tuple((k, v) for k, v in el.attrib.items() if k not in ("name", "qualifiedName"))
        cat.mpcs.append(Mpc(_req(el, "name"), _req(el, "qualifiedName"), attrs))
    mpcs = _index(cat.mpcs, "mpc")

    cat.roles = [NamedValue(_req(el, "name"), _req(el, "value")) for el in _named(bp.find("roles"), "role")]
    roles = _index(cat.roles, "role")

    parties_el = bp.find("parties")
    type_by_name: dict[str, str] = {}
    for el in _named(parties_el.find("partyIdTypes") if parties_el is not None else None, "partyIdType"):
        type_by_name[_req(el, "name")] = _req(el, "value")
        cat.party_id_types[_req(el, "value")] = _req(el, "name")
    parties: list[Party] = []
    for el in _named(parties_el, "party"):
        name = _req(el, "name")
        ids: list[tuple[str, str | None]] = []
        for ident in el.iterchildren("identifier"):
            tname = ident.get("partyIdType")
            ids.append((_req(ident, "partyId"),
                        None if tname is None else _ref(type_by_name, tname, "partyIdType", f"party {name}")))
        if not ids:
            raise PModeError(f"party {name} has no identifier")
        chunking = el.get("allowChunking")
        parties.append(Party(name, ids[0][0], ids[0][1], _req(el, "endpoint"), extra_ids=tuple(ids[1:]),
                             allow_chunking=None if chunking is None else _bool(el, "allowChunking")))

    meps_el = bp.find("meps")
    cat.meps = [NamedValue(_req(el, "name"), _req(el, "value")) for el in _named(meps_el, "mep")]
    cat.bindings = [NamedValue(_req(el, "name"), _req(el, "value")) for el in _named(meps_el, "binding")]
    meps, bindings = _index(cat.meps, "mep"), _index(cat.bindings, "binding")

    props_el = bp.find("properties")
    cat.properties = [PropertyDef(_req(el, "name"), _req(el, "key"), el.get("datatype", "string"),
                                  _bool(el, "required", False)) for el in _named(props_el, "property")]
    props = _index(cat.properties, "property")
    for el in _named(props_el, "propertySet"):
        name = _req(el, "name")
        cat.property_sets.append(PropertySet(name, tuple(
            _ref(props, _req(r, "property"), "property", f"propertySet {name}")
            for r in el.iterchildren("propertyRef"))))
    property_sets = _index(cat.property_sets, "propertySet")

    pp_el = bp.find("payloadProfiles")
    cat.payloads = [Payload(_req(el, "name"), _req(el, "cid"), _bool(el, "required", False), el.get("mimeType"),
                            el.get("inBody"), el.get("schemaFile"), _int(el, "maxSize"))
                    for el in _named(pp_el, "payload")]
    payloads = _index(cat.payloads, "payload")
    for el in _named(pp_el, "payloadProfile"):
        name = _req(el, "name")
        atts = tuple(_req(a, "name") for a in el.iterchildren("attachment"))
        for a in atts:
            _ref(payloads, a, "payload", f"payloadProfile {name}")
        cat.payload_profiles.append(PayloadProfile(name, _int(el, "maxSize") or 0, atts))
    payload_profiles = _index(cat.payload_profiles, "payloadProfile")

    cat.securities = [Security(_req(el, "name"), el.get("profile", "rsa"), el.get("policy"),
                               el.get("signatureMethod")) for el in _named(bp.find("securities"), "security")]
    securities = _index(cat.securities, "security")
    cat.error_handlings = [
        ErrorHandling(_req(el, "name"), _bool(el, "errorAsResponse", True),
                      _bool(el, "businessErrorNotifyProducer", False), _bool(el, "businessErrorNotifyConsumer", False),
                      _bool(el, "deliveryFailureNotifyProducer", False))
        for el in _named(bp.find("errorHandlings"), "errorHandling")]
    error_handlings = _index(cat.error_handlings, "errorHandling")
    cat.agreements = [Agreement(_req(el, "name"), el.get("value", ""), el.get("type", ""))
                      for el in _named(bp.find("agreements"), "agreement")]
    agreements = _index(cat.agreements, "agreement")
    cat.services = [ServiceDef(_req(el, "name"), _req(el, "value"), el.get("type"))
                    for el in _named(bp.find("services"), "service")]
    services = _index(cat.services, "service")
    cat.actions = [ActionDef(_req(el, "name"), _req(el, "value")) for el in _named(bp.find("actions"), "action")]
    actions = _index(cat.actions, "action")

    as4 = bp.find("as4")
    for el in _named(as4, "receptionAwareness"):
        dd = el.get("duplicateDetection")
        cat.reception_awarenesses.append(ReceptionAwareness.parse_retry(
            el.get("retry"), name=_req(el, "name"),
            duplicate_detection=(dd or "").strip().lower() == "true"))
    reception = _index(cat.reception_awarenesses, "receptionAwareness")
    cat.reliabilities = [Reliability(_req(el, "name"), _bool(el, "nonRepudiation", False),
                                     _req(el, "replyPattern")) for el in _named(as4, "reliability")]
    reliabilities = _index(cat.reliabilities, "reliability")
    cat.splittings = [Splitting(_req(el, "name"), _int(el, "fragmentSize") or 0, _bool(el, "compression", False),
                                _int(el, "joinInterval") or 0, el.get("compressionAlgorithm"))
                      for el in _named(bp.find("splittingConfigurations"), "splitting")]
    splittings = _index(cat.splittings, "splitting")

    legs: list[Leg] = []
    for el in _named(bp.find("legConfigurations"), "legConfiguration"):
        name = _req(el, "name")
        where = f"legConfiguration {name}"
        svc: ServiceDef = _ref(services, _req(el, "service"), "service", where)
        act: ActionDef = _ref(actions, _req(el, "action"), "action", where)
        legs.append(Leg(
            name, svc.value, svc.type, act.value, compress=_bool(el, "compressPayloads", False),
            security=_ref(securities, _req(el, "security"), "security", where),
            reliability=_ref(reliabilities, _req(el, "reliability"), "reliability", where),
            reception_awareness=_ref(reception, _req(el, "receptionAwareness"), "receptionAwareness", where),
            error_handling=_ref(error_handlings, _req(el, "errorHandling"), "errorHandling", where),
            property_set=_ref(property_sets, el.get("propertySet"), "propertySet", where),
            mpc=_ref(mpcs, _req(el, "defaultMpc"), "mpc", where),
            payload_profile=_ref(payload_profiles, el.get("payloadProfile"), "payloadProfile", where),
            splitting=_ref(splittings, el.get("splitting"), "splitting", where),
            service_name=svc.name, action_name=act.name,
        ))

    processes: list[Process] = []
    for el in bp.iterchildren("process"):
        name = _req(el, "name")
        where = f"process {name}"
        ini = el.find("initiatorParties")
        res = el.find("responderParties")
        legs_el = el.find("legs")
        processes.append(Process(
            name,
            initiators=tuple(_req(p, "name") for p in _named(ini, "initiatorParty")),
            responders=tuple(_req(p, "name") for p in _named(res, "responderParty")),
            legs=tuple(_req(leg, "name") for leg in _named(legs_el, "leg")),
            initiator_role=_ref(roles, _req(el, "initiatorRole"), "role", where),
            responder_role=_ref(roles, _req(el, "responderRole"), "role", where),
            agreement=_ref(agreements, el.get("agreement") or None, "agreement", where),
            mep=_ref(meps, _req(el, "mep"), "mep", where),
            binding=_ref(bindings, _req(el, "binding"), "binding", where),
        ))
    return PModeSet(parties, legs, processes, root.get("party"), cat)

