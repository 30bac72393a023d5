"""Export the simulated network for a real Domibus 5.2: a PMode XML (``db:configuration``) and
PKCS#12 key/trust stores per party with the Domibus alias conventions (as4-profile.md §6.4, §6.5).

* :func:`build_pmode_xml` — the PMode of a :class:`~simulators.as4.pmode.PModeSet`, shaped like the
  French example ``configuration_PMode_Domibus.xml`` (same element and attribute names, XSD order).
* :func:`check_pmode_xml` — the checks Domibus makes on upload that we can make without its XSD:
  section order, required attributes, unique names, every reference resolving, booleans, ``retry``.
* :func:`export_domibus` — everything into a directory, with a README.txt listing files, aliases
  and passwords. Keystore ``<party>_rsa_sign`` / ``<party>_rsa_decrypt``; truststore
  ``<peer>_rsa_sign`` / ``<peer>_rsa_encrypt`` for every other party (+ the test root CA).
"""
from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from cryptography import x509
from lxml import etree

from .pmode import NS_DOMIBUS, ROLE_INITIATOR, ROLE_RESPONDER, Mpc, Party, PModeError, PModeSet, parse_configuration

if TYPE_CHECKING:
    from ..pki import PKI

#: Children of ``businessProcesses`` in XSD order; ``process`` repeats. The FR example omits
#: ``payloadProfiles`` (so we treat it as optional) and ``splittingConfigurations`` is optional.
BUSINESS_PROCESSES_ORDER = (
    "roles", "parties", "meps", "properties", "payloadProfiles", "securities", "errorHandlings",
    "agreements", "services", "actions", "as4", "splittingConfigurations", "legConfigurations", "process",
)
_OPTIONAL_SECTIONS = {"payloadProfiles", "splittingConfigurations"}

#: Required attributes per element (Domibus pmode XSD, plus ``profile``-or-``policy`` for security).
REQUIRED_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "mpc": ("name", "qualifiedName", "enabled", "default", "retention_downloaded", "retention_undownloaded"),
    "role": ("name", "value"),
    "partyIdType": ("name", "value"),
    "party": ("name", "endpoint"),
    "identifier": ("partyId",),
    "mep": ("name", "value"),
    "binding": ("name", "value"),
    "property": ("name", "key", "datatype", "required"),
    "propertySet": ("name",),
    "propertyRef": ("property",),
    "payload": ("name", "cid", "required"),
    "payloadProfile": ("name", "maxSize"),
    "attachment": ("name",),
    "security": ("name",),
    "errorHandling": ("name", "errorAsResponse", "businessErrorNotifyProducer", "businessErrorNotifyConsumer",
                      "deliveryFailureNotifyProducer"),
    "agreement": ("name", "value", "type"),
    "service": ("name", "value"),
    "action": ("name", "value"),
    "receptionAwareness": ("name",),
    "reliability": ("name", "replyPattern", "nonRepudiation"),
    "splitting": ("name", "fragmentSize", "compression", "joinInterval"),
    "legConfiguration": ("name", "service", "action", "security", "defaultMpc", "receptionAwareness",
                         "reliability", "errorHandling", "compressPayloads"),
    "process": ("name", "mep", "binding", "initiatorRole", "responderRole"),
    "initiatorParty": ("name",),
    "responderParty": ("name",),
    "leg": ("name",),
}
_BOOLEAN_ATTRIBUTES = {
    "mpc": ("enabled", "default"), "property": ("required",), "payload": ("required",),
    "errorHandling": ("errorAsResponse", "businessErrorNotifyProducer", "businessErrorNotifyConsumer",
                      "deliveryFailureNotifyProducer"),
    "splitting": ("compression",), "legConfiguration": ("compressPayloads",),
    "reliability": ("nonRepudiation",), "receptionAwareness": ("duplicateDetection",),
}

CA_ALIAS = "oots_harness_root_ca"
DOMIBUS_SUITE = "rsa"  # the only security profile Domibus 5.2 ships


# --- PMode XML ---------------------------------------------------------------------------------------------
class _Defs:
    """Named definitions of one kind: catalog ones first (document order), then the used ones.
    A used definition replaces a catalog one of the same name; two different used ones with the
    same name are told apart by a numeric suffix."""

    def __init__(self, catalog: Iterable[Any] = ()) -> None:
        self.items: dict[str, Any] = {}
        for item in catalog:
            self.items.setdefault(item.name, item)
        self._used: dict[str, Any] = {}
        self._names: dict[Any, str] = {}

    def use(self, item: Any) -> str:
        if item in self._names:
            return self._names[item]
        name, k = item.name, 2
        while name in self._used and self._used[name] != item:
            name, k = f"{item.name}{k}", k + 1
        self._used[name] = item
        self.items[name] = item
        self._names[item] = name
        return name

    def __iter__(self):
        return iter(self.items.items())


def _b(value: bool) -> str:
    return "true" if value else "false"


def _sub(parent: etree._Element, tag: str, attrs: Iterable[tuple[str, str | None]] = ()) -> etree._Element:
    el = etree.SubElement(parent, tag)
    for k, v in attrs:
        if v is not None:
            el.set(k, v)
    return el


def build_pmode_xml(pmodes: PModeSet, own_party: str | None = None) -> bytes:
    """The Domibus ``db:configuration`` of ``pmodes`` seen from ``own_party`` (default: the set's own
    party, else the first party). UTF-8 bytes with an XML declaration."""
    own = own_party or pmodes.own_party or (pmodes.parties[0].name if pmodes.parties else None)
    if own is None or own not in {p.name for p in pmodes.parties}:
        raise PModeError(f"own party {own!r} is not a party of the P-Mode set")
    cat = pmodes.catalog

    mpcs = _Defs(cat.mpcs)
    roles = _Defs(cat.roles)
    meps, bindings = _Defs(cat.meps), _Defs(cat.bindings)
    props, prop_sets = _Defs(cat.properties), _Defs(cat.property_sets)
    payloads, payload_profiles = _Defs(cat.payloads), _Defs(cat.payload_profiles)
    securities, error_handlings = _Defs(cat.securities), _Defs(cat.error_handlings)
    agreements, services, actions = _Defs(cat.agreements), _Defs(cat.services), _Defs(cat.actions)
    receptions, reliabilities = _Defs(cat.reception_awarenesses), _Defs(cat.reliabilities)
    splittings = _Defs(cat.splittings)

    # legs first: they decide the names of what they use
    leg_rows = []
    set_props: dict[str, list[str]] = {}
    for leg in pmodes.legs:
        ps_name = None
        if leg.property_set is not None:
            ps_name = prop_sets.use(leg.property_set)
            set_props[ps_name] = [props.use(p) for p in leg.property_set.properties]
        leg_rows.append((
            ("name", leg.name), ("service", services.use(leg.service_def)),
            ("action", actions.use(leg.action_def)), ("defaultMpc", mpcs.use(leg.mpc)),
            ("reliability", reliabilities.use(leg.reliability)), ("security", securities.use(leg.security)),
            ("receptionAwareness", receptions.use(leg.reception_awareness)), ("propertySet", ps_name),
            ("payloadProfile", payload_profiles.use(leg.payload_profile) if leg.payload_profile else None),
            ("splitting", splittings.use(leg.splitting) if leg.splitting else None),
            ("errorHandling", error_handlings.use(leg.error_handling)),
            ("compressPayloads", _b(leg.compress)),
        ))
    for ps_name, ps in prop_sets:  # catalog-only property sets: their properties must be defined too
        if ps_name not in set_props:
            set_props[ps_name] = [props.use(p) for p in ps.properties]
    proc_rows = []
    for proc in pmodes.processes:
        proc_rows.append((proc, (
            ("name", proc.name),
            ("agreement", agreements.use(proc.agreement) if proc.agreement is not None else None),
            ("mep", meps.use(proc.mep)), ("binding", bindings.use(proc.binding)),
            ("initiatorRole", roles.use(proc.initiator_role)), ("responderRole", roles.use(proc.responder_role)),
        )))
    if not roles.items:
        roles.use(ROLE_INITIATOR)
        roles.use(ROLE_RESPONDER)
    if not mpcs.items:
        mpcs.use(Mpc())

    type_names = dict(cat.party_id_types)  # value -> name
    for p in pmodes.parties:
        for _, ptype in p.identifiers:
            if ptype is not None and ptype not in type_names:
                base = "partyTypeUrn"
                name, k = base, 2
                while name in type_names.values():
                    name, k = f"{base}{k}", k + 1
                type_names[ptype] = name

    root = etree.Element(f"{{{NS_DOMIBUS}}}configuration", nsmap={"db": NS_DOMIBUS})
    root.set("party", own)
    el = _sub(root, "mpcs")
    for name, m in mpcs:
        _sub(el, "mpc", (("name", name), ("qualifiedName", m.qualified_name), *m.attributes))
    bp = _sub(root, "businessProcesses")
    el = _sub(bp, "roles")
    for name, r in roles:
        _sub(el, "role", (("name", name), ("value", r.value)))
    parties_el = _sub(bp, "parties")
    types_el = _sub(parties_el, "partyIdTypes")
    for value, name in type_names.items():
        _sub(types_el, "partyIdType", (("name", name), ("value", value)))
    for p in pmodes.parties:
        pe = _sub(parties_el, "party", (
            ("name", p.name), ("endpoint", p.endpoint),
            ("allowChunking", None if p.allow_chunking is None else _b(p.allow_chunking))))
        for pid, ptype in p.identifiers:
            _sub(pe, "identifier", (("partyId", pid), ("partyIdType", type_names.get(ptype) if ptype else None)))
    el = _sub(bp, "meps")
    for name, m in meps:
        _sub(el, "mep", (("name", name), ("value", m.value)))
    for name, m in bindings:
        _sub(el, "binding", (("name", name), ("value", m.value)))
    el = _sub(bp, "properties")
    for name, pd in props:
        _sub(el, "property", (("name", name), ("key", pd.key), ("datatype", pd.datatype), ("required", _b(pd.required))))
    for name, _ps in prop_sets:
        pse = _sub(el, "propertySet", (("name", name),))
        for ref in set_props[name]:
            _sub(pse, "propertyRef", (("property", ref),))
    el = _sub(bp, "payloadProfiles")
    for name, pl in payloads:
        _sub(el, "payload", (("name", name), ("cid", pl.cid), ("mimeType", pl.mime_type), ("inBody", pl.in_body),
                             ("schemaFile", pl.schema_file),
                             ("maxSize", None if pl.max_size is None else str(pl.max_size)),
                             ("required", _b(pl.required))))
    for name, pp in payload_profiles:
        ppe = _sub(el, "payloadProfile", (("name", name), ("maxSize", str(pp.max_size))))
        for att in pp.attachments:
            _sub(ppe, "attachment", (("name", att),))
    el = _sub(bp, "securities")
    for name, s in securities:
        _sub(el, "security", (("name", name), ("policy", s.policy), ("signatureMethod", s.signature_method),
                              ("profile", s.profile)))
    el = _sub(bp, "errorHandlings")
    for name, eh in error_handlings:
        _sub(el, "errorHandling", (
            ("name", name), ("errorAsResponse", _b(eh.error_as_response)),
            ("businessErrorNotifyProducer", _b(eh.business_error_notify_producer)),
            ("businessErrorNotifyConsumer", _b(eh.business_error_notify_consumer)),
            ("deliveryFailureNotifyProducer", _b(eh.delivery_failure_notify_producer))))
    el = _sub(bp, "agreements")
    for name, a in agreements:
        _sub(el, "agreement", (("name", name), ("value", a.value), ("type", a.type)))
    el = _sub(bp, "services")
    for name, s in services:
        _sub(el, "service", (("name", name), ("value", s.value), ("type", s.type)))
    el = _sub(bp, "actions")
    for name, a in actions:
        _sub(el, "action", (("name", name), ("value", a.value)))
    el = _sub(bp, "as4")
    for name, ra in receptions:
        _sub(el, "receptionAwareness", (("name", name), ("retry", ra.retry),
                                        ("duplicateDetection", _b(ra.duplicate_detection))))
    for name, rel in reliabilities:
        _sub(el, "reliability", (("name", name), ("nonRepudiation", _b(rel.non_repudiation)),
                                 ("replyPattern", rel.reply_pattern)))
    if splittings.items:
        el = _sub(bp, "splittingConfigurations")
        for name, sp in splittings:
            _sub(el, "splitting", (("name", name), ("fragmentSize", str(sp.fragment_size)),
                                   ("compression", _b(sp.compression)),
                                   ("compressionAlgorithm", sp.compression_algorithm),
                                   ("joinInterval", str(sp.join_interval))))
    el = _sub(bp, "legConfigurations")
    for row in leg_rows:
        _sub(el, "legConfiguration", row)
    for proc, attrs in proc_rows:
        pe = _sub(bp, "process", attrs)
        if proc.initiators:
            ie = _sub(pe, "initiatorParties")
            for n in proc.initiators:
                _sub(ie, "initiatorParty", (("name", n),))
        if proc.responders:
            re_ = _sub(pe, "responderParties")
            for n in proc.responders:
                _sub(re_, "responderParty", (("name", n),))
        le = _sub(pe, "legs")
        for n in proc.legs:
            _sub(le, "leg", (("name", n),))
    etree.indent(root, space="  ")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="UTF-8", pretty_print=True)


# --- upload-style checks -------------------------------------------------------------------------------------
def check_pmode_xml(xml: bytes | str) -> list[str]:
    """Problems Domibus would reject a PMode upload for, as far as we know them (empty list: fine)."""
    try:
        root = parse_configuration(xml)
    except PModeError as e:
        return [str(e)]
    problems: list[str] = []
    bp = root.find("businessProcesses")
    if root.find("mpcs") is None or not root.find("mpcs").findall("mpc"):
        problems.append("no mpcs/mpc")
    if bp is None:
        return problems + ["no businessProcesses"]
    # section order and presence
    tags = [c.tag for c in bp if isinstance(c.tag, str)]
    unknown = [t for t in tags if t not in BUSINESS_PROCESSES_ORDER]
    if unknown:
        problems.append(f"unknown businessProcesses children: {unknown}")
    positions = [BUSINESS_PROCESSES_ORDER.index(t) for t in tags if t in BUSINESS_PROCESSES_ORDER]
    if positions != sorted(positions):
        problems.append(f"businessProcesses children out of XSD order: {tags}")
    for t in BUSINESS_PROCESSES_ORDER:
        if t not in _OPTIONAL_SECTIONS and t not in tags:
            problems.append(f"businessProcesses lacks <{t}>")
    # attributes
    for el in root.iter():
        if not isinstance(el.tag, str) or el.tag not in REQUIRED_ATTRIBUTES:
            continue
        for a in REQUIRED_ATTRIBUTES[el.tag]:
            if el.get(a) is None:
                problems.append(f"<{el.tag} name={el.get('name')!r}> lacks @{a}")
        for a in _BOOLEAN_ATTRIBUTES.get(el.tag, ()):
            v = el.get(a)
            if v is not None and v not in ("true", "false", "1", "0"):
                problems.append(f"<{el.tag} name={el.get('name')!r}> @{a} is not a boolean: {v!r}")
    for sec in bp.iter("security"):
        if sec.get("profile") is None and sec.get("policy") is None:
            problems.append(f"<security name={sec.get('name')!r}> has neither @profile nor @policy")
    for ra in bp.iter("receptionAwareness"):
        r = ra.get("retry")
        if r is not None and not re.fullmatch(r"\d+;\d+;(CONSTANT|PROGRESSIVE|SEND_ONCE)(;[^;]*)*", r.strip()):
            problems.append(f"<receptionAwareness name={ra.get('name')!r}> bad retry {r!r}")

    def names(path: str) -> set[str]:
        found = [e.get("name") for e in bp.iterfind(path)]
        dup = {n for n in found if found.count(n) > 1}
        if dup:
            problems.append(f"duplicate names in {path}: {sorted(dup)}")
        return set(found)

    mpc_names = {e.get("name") for e in root.iterfind("mpcs/mpc")}
    roles, types = names("roles/role"), names("parties/partyIdTypes/partyIdType")
    parties, meps, bindings = names("parties/party"), names("meps/mep"), names("meps/binding")
    props, prop_sets = names("properties/property"), names("properties/propertySet")
    payloads, pprofiles = names("payloadProfiles/payload"), names("payloadProfiles/payloadProfile")
    securities, ehs = names("securities/security"), names("errorHandlings/errorHandling")
    agreements, services, actions = names("agreements/agreement"), names("services/service"), names("actions/action")
    ras, rels = names("as4/receptionAwareness"), names("as4/reliability")
    splits, legs = names("splittingConfigurations/splitting"), names("legConfigurations/legConfiguration")
    names("process")

    def ref(where: str, what: str, value: str | None, pool: set[str], optional: bool = False) -> None:
        if value is None or (optional and value == ""):
            return
        if value not in pool:
            problems.append(f"{where}: unknown {what} {value!r}")

    own = root.get("party")
    if own is None:
        problems.append("configuration lacks @party")
    else:
        ref("configuration/@party", "party", own, parties)
    for p in bp.iterfind("parties/party"):
        if p.find("identifier") is None:
            problems.append(f"party {p.get('name')!r} has no identifier")
        for i in p.iterfind("identifier"):
            ref(f"party {p.get('name')}", "partyIdType", i.get("partyIdType"), types)
    for ps in bp.iterfind("properties/propertySet"):
        for r in ps.iterfind("propertyRef"):
            ref(f"propertySet {ps.get('name')}", "property", r.get("property"), props)
    for pp in bp.iterfind("payloadProfiles/payloadProfile"):
        for a in pp.iterfind("attachment"):
            ref(f"payloadProfile {pp.get('name')}", "payload", a.get("name"), payloads)
    for lc in bp.iterfind("legConfigurations/legConfiguration"):
        w = f"legConfiguration {lc.get('name')}"
        for attr, pool in (("service", services), ("action", actions), ("security", securities),
                           ("defaultMpc", mpc_names), ("receptionAwareness", ras), ("reliability", rels),
                           ("errorHandling", ehs)):
            ref(w, attr, lc.get(attr), pool)
        ref(w, "propertySet", lc.get("propertySet"), prop_sets)
        ref(w, "payloadProfile", lc.get("payloadProfile"), pprofiles)
        ref(w, "splitting", lc.get("splitting"), splits)
    for pr in bp.iterfind("process"):
        w = f"process {pr.get('name')}"
        ref(w, "agreement", pr.get("agreement"), agreements, optional=True)
        ref(w, "mep", pr.get("mep"), meps)
        ref(w, "binding", pr.get("binding"), bindings)
        ref(w, "initiatorRole", pr.get("initiatorRole"), roles)
        ref(w, "responderRole", pr.get("responderRole"), roles)
        for n in pr.iterfind("initiatorParties/initiatorParty"):
            ref(w, "initiator party", n.get("name"), parties)
        for n in pr.iterfind("responderParties/responderParty"):
            ref(w, "responder party", n.get("name"), parties)
        if pr.find("legs") is None or pr.find("legs/leg") is None:
            problems.append(f"{w} has no legs")
        for n in pr.iterfind("legs/leg"):
            ref(w, "leg", n.get("name"), legs)
    return problems


# --- key and trust stores ------------------------------------------------------------------------------------
@dataclass
class PartyExport:
    """What was written for one party (absolute paths; ``notes`` say what was left out and why)."""

    party: str
    directory: Path
    pmode: Path
    keystore: Path | None = None
    keystore_aliases: list[str] = field(default_factory=list)
    truststore: Path | None = None
    truststore_aliases: list[str] = field(default_factory=list)
    tls_truststore: Path | None = None
    tls_truststore_aliases: list[str] = field(default_factory=list)
    pem: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class ExportResult:
    out_dir: Path
    pmode: Path
    readme: Path
    ca_pem: Path | None
    parties: dict[str, PartyExport]


def _pw(password: str | bytes) -> bytes:
    pw = password.encode("utf-8") if isinstance(password, str) else bytes(password)
    if not pw:
        raise ValueError("a non-empty store password is required")
    return pw


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.@-]", "_", name) or "_"


def _with_certs(party: Party, pki: PKI) -> tuple[Party, str | None]:
    """The party with certificates filled from the PKI, and a note when that was impossible."""
    if party.sign_cert is not None and party.encrypt_cert is not None:
        return party, None
    try:
        creds = pki.party(party.name, party.suite)
    except ValueError as e:
        return party, f"no PKI credentials: {e}"
    return replace(party, sign_cert=party.sign_cert or creds.sign.cert,
                   encrypt_cert=party.encrypt_cert or creds.encrypt.cert), None


def export_domibus(
    pmodes: PModeSet,
    pki: PKI,
    out_dir: str | Path,
    password: str | bytes,
    *,
    own_party: str | None = None,
    include_ca: bool = True,
) -> ExportResult:
    """Write a Domibus 5.2 setup for every party of ``pmodes`` into ``out_dir``::

        pmode.xml                     the PMode seen from own_party (default: the set's, else the first party)
        ca/oots_harness_root_ca.crt.pem
        <party>/pmode.xml             the same PMode with configuration/@party = <party>
        <party>/keystore.p12          <party>_rsa_sign, <party>_rsa_decrypt (private keys + chain)
        <party>/truststore.p12        <peer>_rsa_sign, <peer>_rsa_encrypt for every other rsa party (+ CA)
        <party>/tlstruststore.p12     <peer>_tls for peers with a TLS client certificate (only if any)
        <party>/pem/<alias>.crt.pem   PEM copies; <alias>.key.pem = PKCS#8 encrypted with the password
        README.txt

    Store and key passwords are the same (Domibus requires it). A keystore is written only when the
    PKI holds the party's keys (its certificates, if set, must be the PKI's); ``eddsa`` parties get
    no Domibus stores (Domibus 5.2 has only the ``rsa`` profile) — see each party's notes.
    """
    from ..pki import cert_pem, key_pem, pkcs12_truststore

    pw = _pw(password)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ca_pem = None
    if include_ca:
        (out / "ca").mkdir(exist_ok=True)
        ca_pem = out / "ca" / f"{CA_ALIAS}.crt.pem"
        ca_pem.write_bytes(cert_pem(pki.root.cert))

    resolved: dict[str, Party] = {}
    notes: dict[str, list[str]] = {p.name: [] for p in pmodes.parties}
    for p in pmodes.parties:
        resolved[p.name], note = _with_certs(p, pki)
        if note:
            notes[p.name].append(note)

    main_pmode = out / "pmode.xml"
    main_pmode.write_bytes(build_pmode_xml(pmodes, own_party))
    results: dict[str, PartyExport] = {}
    for p in pmodes.parties:
        party = resolved[p.name]
        d = out / _safe(p.name)
        d.mkdir(parents=True, exist_ok=True)
        res = PartyExport(p.name, d, d / "pmode.xml", notes=notes[p.name])
        res.pmode.write_bytes(build_pmode_xml(pmodes, p.name))

        # keystore: own private keys
        if party.suite != DOMIBUS_SUITE:
            res.notes.append(f"suite {party.suite}: Domibus 5.2 supports only the rsa profile; no stores written")
        else:
            try:
                creds = pki.party(p.name, DOMIBUS_SUITE)
            except ValueError as e:
                creds = None
                res.notes.append(f"no keystore: {e}")
            if creds is not None and (party.sign_cert != creds.sign.cert or party.encrypt_cert != creds.encrypt.cert):
                creds = None
                res.notes.append("no keystore: the party's certificates were not issued by this PKI")
            if creds is not None:
                res.keystore = d / "keystore.p12"
                res.keystore.write_bytes(pki.keystore_p12(p.name, pw, DOMIBUS_SUITE))
                res.keystore_aliases = [f"{p.name}_rsa_sign", f"{p.name}_rsa_decrypt"]
                for alias, cred in zip(res.keystore_aliases, (creds.sign, creds.encrypt)):
                    res.pem.append(_write(d / "pem" / f"{alias}.crt.pem", cert_pem(cred.cert)))
                    res.pem.append(_write(d / "pem" / f"{alias}.key.pem", key_pem(cred.key, pw)))

            # truststore: every other rsa party
            entries: dict[str, x509.Certificate] = {}
            for q in pmodes.parties:
                peer = resolved[q.name]
                if q.name == p.name or peer.suite != DOMIBUS_SUITE:
                    continue
                if peer.sign_cert is None or peer.encrypt_cert is None:
                    res.notes.append(f"peer {q.name} left out of the truststore: no certificates")
                    continue
                entries[f"{q.name}_rsa_sign"] = peer.sign_cert
                entries[f"{q.name}_rsa_encrypt"] = peer.encrypt_cert
            if include_ca:
                entries[CA_ALIAS] = pki.root.cert
            if entries:
                res.truststore = d / "truststore.p12"
                res.truststore.write_bytes(pkcs12_truststore(entries, pw))
                res.truststore_aliases = list(entries)
                for alias, cert in entries.items():
                    res.pem.append(_write(d / "pem" / f"{alias}.crt.pem", cert_pem(cert)))
            else:
                res.notes.append("no truststore: no peer certificates")

        tls = {f"{q.name}_tls": resolved[q.name].tls_cert for q in pmodes.parties
               if q.name != p.name and resolved[q.name].tls_cert is not None}
        if tls:
            res.tls_truststore = d / "tlstruststore.p12"
            res.tls_truststore.write_bytes(pkcs12_truststore(tls, pw))  # type: ignore[arg-type]
            res.tls_truststore_aliases = list(tls)
        if party.tls_cert is not None:
            res.pem.append(_write(d / "pem" / f"{p.name}_tls.crt.pem", cert_pem(party.tls_cert)))
        results[p.name] = res

    readme = out / "README.txt"
    own = own_party or pmodes.own_party or pmodes.parties[0].name
    readme.write_text(_readme(pmodes, results, main_pmode, own, ca_pem, pw.decode("utf-8", "replace")),
                      encoding="utf-8")
    return ExportResult(out, main_pmode, readme, ca_pem, results)


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _readme(pmodes: PModeSet, parties: dict[str, PartyExport], main: Path, own: str, ca: Path | None,
            pw: str) -> str:
    out = main.parent
    rel = lambda p: str(p.relative_to(out)) if p else "-"  # noqa: E731
    lines = [
        "Domibus 5.2 setup exported by oots-harness (test material: keys and passwords are NOT secret)",
        "",
        f"PMode:              {rel(main)} (configuration/@party = {own})",
        f"Store password:     {pw}   (keystore password = private key password, as Domibus requires)",
        "Store type:         PKCS12",
    ]
    if ca is not None:
        lines.append(f"Test root CA:       {rel(ca)} (alias {CA_ALIAS} in every truststore)")
    lines += ["", "Legs: " + ", ".join(f"{leg.name} ({leg.service}/{leg.action}, compress={_b(leg.compress)}, "
                                       f"security={leg.security.profile}, retry={leg.reception_awareness.retry})"
                                       for leg in pmodes.legs), ""]
    for name, r in parties.items():
        party = pmodes.party(name)
        lines += [
            f"[{name}]  PartyId {party.party_id} ({party.party_id_type or 'no type'})  endpoint {party.endpoint or '-'}",
            f"  pmode:          {rel(r.pmode)}",
            f"  keystore:       {rel(r.keystore)}  aliases: {', '.join(r.keystore_aliases) or '-'}",
            f"  truststore:     {rel(r.truststore)}  aliases: {', '.join(r.truststore_aliases) or '-'}",
        ]
        if r.tls_truststore:
            lines.append(f"  tlstruststore:  {rel(r.tls_truststore)}  aliases: {', '.join(r.tls_truststore_aliases)}")
        if r.keystore_aliases:
            lines += [
                "  e.g. domibus.properties (check the names against your Domibus version):",
                f"    domibus.security.keystore.location=<dir>/{rel(r.keystore)}",
                "    domibus.security.keystore.type=PKCS12",
                f"    domibus.security.keystore.password={pw}",
                f"    domibus.security.key.private.rsa.sign.alias={name}_rsa_sign",
                f"    domibus.security.key.private.rsa.sign.password={pw}",
                f"    domibus.security.key.private.rsa.decrypt.alias={name}_rsa_decrypt",
                f"    domibus.security.key.private.rsa.decrypt.password={pw}",
                f"    domibus.security.truststore.location=<dir>/{rel(r.truststore)}",
                "    domibus.security.truststore.type=PKCS12",
                f"    domibus.security.truststore.password={pw}",
            ]
        for note in r.notes:
            lines.append(f"  note: {note}")
        lines.append("")
    return "\n".join(lines)


# --- command line ------------------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """``python -m simulators.as4.domibus_export --world W.toml --out DIR --password PW [--seed S]``."""
    ap = argparse.ArgumentParser(prog="domibus_export", description=__doc__.splitlines()[0])
    ap.add_argument("--world", required=True, help="TOML with [[parties]] (and optional [[legs]])")
    ap.add_argument("--table", default=None, help="sub-table of the TOML holding the P-Mode (e.g. as4)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--seed", default="0")
    ap.add_argument("--own-party", default=None)
    ap.add_argument("--no-ca", action="store_true")
    args = ap.parse_args(argv)
    from ..pki import PKI

    try:
        pmodes = PModeSet.from_toml(Path(args.world), table=args.table)
        result = export_domibus(pmodes, PKI(seed=args.seed), args.out, args.password,
                                own_party=args.own_party, include_ca=not args.no_ca)
    except (PModeError, OSError, ValueError) as e:
        print(f"domibus_export: {e}", file=sys.stderr)
        return 1
    print(result.readme.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
