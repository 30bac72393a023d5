"""A deterministic test PKI for the simulated access points, and the trust store that checks it.

Everything is derived from a seed: the same seed gives byte-identical keys, certificates and CRL on
every machine (RSA keys come from a seeded prime search, about 0.3 s each; Ed25519/X25519 keys are
HKDF output). Dates are fixed offsets from :data:`REFERENCE_TIME`, never the wall clock.

* one root CA (RSA-2048), and an *impostor* root with the same name but another key;
* per access point (party) and suite, a signing and an encryption certificate issued by the root:
  suite ``rsa``: RSA-2048 / RSA-2048; suite ``eddsa`` (eDelivery AS4 2.0): Ed25519 / X25519;
* negative variants of any of them (same key, other certificate): ``expired``, ``not-yet-valid``,
  ``untrusted`` (issued by the impostor root), ``wrong-usage`` (key usage of the other purpose) and
  ``revoked`` (listed in :meth:`PKI.crl`).

:class:`TrustStore` validates a certificate for a purpose at a given (virtual) time; each failure is a
distinct :class:`CertificateError` subclass with a stable ``reason``. PEM and PKCS#12 helpers export
Domibus key stores (aliases ``<party>_<suite>_sign`` / ``_decrypt``) and trust stores
(``<party>_<suite>_sign`` / ``_encrypt``).
"""
from __future__ import annotations

import hashlib
import hmac
import math
import os
import re
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterable, Literal, Mapping, Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa, x25519
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

Suite = Literal["rsa", "eddsa"]
Purpose = Literal["sign", "encrypt"]
Variant = Literal["valid", "expired", "not-yet-valid", "untrusted", "wrong-usage", "revoked"]
PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey | x25519.X25519PrivateKey

SUITES: tuple[Suite, ...] = ("rsa", "eddsa")
VARIANTS: tuple[Variant, ...] = ("valid", "expired", "not-yet-valid", "untrusted", "wrong-usage", "revoked")

#: All validity periods are offsets from this instant (not from the wall clock).
REFERENCE_TIME = datetime(2025, 1, 1, tzinfo=timezone.utc)
_YEAR = timedelta(days=365)
_DERIVATION = b"oots-harness/pki/v1"  # bump when derivation changes (also names the disk cache)
_RSA_BITS = 2048
_RSA_E = 65537


# --- deterministic key material ------------------------------------------------------------------------
def _seed_bytes(seed: int | str | bytes) -> bytes:
    if isinstance(seed, bytes):
        return seed
    return str(seed).encode("utf-8")


def _derive(seed: bytes, label: str, length: int) -> bytes:
    """``length`` pseudo-random bytes bound to (seed, label)."""
    return HKDF(hashes.SHA256(), length, salt=_DERIVATION, info=label.encode("utf-8")).derive(seed)


_SMALL_PRIMES = [p for p in range(3, 2000) if all(p % q for q in range(2, math.isqrt(p) + 1))]
_PRIMORIAL = math.prod(_SMALL_PRIMES)


def _is_probable_prime(n: int, rounds: int = 12) -> bool:
    d, s = n - 1, 0
    while not d & 1:
        d >>= 1
        s += 1
    for a in _SMALL_PRIMES[:rounds]:  # fixed bases: fine for random (not adversarial) candidates
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def _seeded_prime(start: bytes, bits: int) -> int:
    """The first prime p >= start (top two bits forced, odd) with gcd(e, p-1) = 1."""
    n = int.from_bytes(start, "big") | (3 << (bits - 2)) | 1
    while True:
        if math.gcd(n, _PRIMORIAL) == 1 and (n - 1) % _RSA_E and _is_probable_prime(n):
            return n
        n += 2


def _seeded_rsa(seed: bytes, label: str, bits: int = _RSA_BITS) -> rsa.RSAPrivateKey:
    half = bits // 2
    p = _seeded_prime(_derive(seed, f"rsa-p:{label}", half // 8), half)
    q = _seeded_prime(_derive(seed, f"rsa-q:{label}", half // 8), half)
    if p == q:  # astronomically unlikely; keep the construction total
        q = _seeded_prime((q + 2).to_bytes(half // 8 + 1, "big")[-half // 8:], half)
    d = pow(_RSA_E, -1, math.lcm(p - 1, q - 1))
    pub = rsa.RSAPublicNumbers(_RSA_E, p * q)
    return rsa.RSAPrivateNumbers(
        p, q, d, d % (p - 1), d % (q - 1), rsa.rsa_crt_iqmp(p, q), pub
    ).private_key()


# --- credentials ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Credential:
    """A private key with its certificate and the chain up to (and including) its root."""

    name: str
    key: PrivateKey
    cert: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()

    def cert_pem(self) -> bytes:
        return cert_pem(self.cert)

    def key_pem(self, password: bytes | None = None) -> bytes:
        return key_pem(self.key, password)


@dataclass(frozen=True)
class PartyCredentials:
    """The two credentials of one access point for one suite."""

    party: str
    suite: Suite
    sign: Credential
    encrypt: Credential


class PKI:
    """The deterministic test PKI of one seed. Thread-safe; everything is created lazily and cached.

    ``cache_dir``, when given, keeps the (slow to derive) RSA keys on disk under
    ``<cache_dir>/v1/<seed>/`` so later runs skip the prime search; the content is the same either way.
    """

    def __init__(
        self,
        seed: int | str | bytes = 0,
        *,
        reference_time: datetime = REFERENCE_TIME,
        cache_dir: str | Path | None = None,
    ) -> None:
        self.seed = seed
        self._seed = _seed_bytes(seed)
        self.reference_time = reference_time
        tag = str(seed) if isinstance(seed, (int, str)) and re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", str(seed)) \
            else hashlib.sha256(self._seed).hexdigest()[:32]
        self._cache = Path(cache_dir) / "v1" / tag if cache_dir is not None else None
        self._lock = threading.RLock()
        self._keys: dict[str, PrivateKey] = {}
        self._creds: dict[tuple[str, ...], Credential] = {}
        self._revoked: dict[int, x509.Certificate] = {}
        self._crl: tuple[frozenset[int], x509.CertificateRevocationList] | None = None

    # keys ------------------------------------------------------------------------------------------
    def _rsa_key(self, label: str) -> rsa.RSAPrivateKey:
        path = None
        if self._cache is not None:
            path = self._cache / (re.sub(r"[^A-Za-z0-9_.-]", "_", label) + ".key.pem")
            try:
                key = serialization.load_pem_private_key(path.read_bytes(), None)
                if isinstance(key, rsa.RSAPrivateKey):
                    return key
            except (OSError, ValueError, TypeError):
                pass
        key = _seeded_rsa(self._seed, label)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
                with os.fdopen(fd, "wb") as fh:
                    fh.write(key_pem(key))
                os.replace(tmp, path)
            except OSError:
                pass  # the cache is an optimisation only
        return key

    def _key(self, label: str, kind: Literal["rsa", "ed25519", "x25519"]) -> PrivateKey:
        with self._lock:
            key = self._keys.get(label)
            if key is None:
                if kind == "rsa":
                    key = self._rsa_key(label)
                elif kind == "ed25519":
                    key = ed25519.Ed25519PrivateKey.from_private_bytes(_derive(self._seed, f"ed25519:{label}", 32))
                else:
                    key = x25519.X25519PrivateKey.from_private_bytes(_derive(self._seed, f"x25519:{label}", 32))
                self._keys[label] = key
            return key

    def _serial(self, label: str) -> int:
        return int.from_bytes(_derive(self._seed, f"serial:{label}", 16), "big") >> 1 | 1

    # roots -----------------------------------------------------------------------------------------
    def _root(self, label: str) -> Credential:
        with self._lock:
            cred = self._creds.get((label,))
            if cred is None:
                key = self._key(label, "rsa")
                t = self.reference_time
                name = _name("OOTS harness test root CA")  # the impostor deliberately has the same name
                cert = _build_cert(
                    subject=name, public_key=key.public_key(), issuer_name=name, issuer_key=key,
                    serial=self._serial(label), not_before=t - 10 * _YEAR, not_after=t + 30 * _YEAR,
                    key_usage=_ku(key_cert_sign=True, crl_sign=True), ca=True,
                )
                cred = Credential(label, key, cert, (cert,))
                self._creds[(label,)] = cred
            return cred

    @property
    def root(self) -> Credential:
        """The trusted root CA."""
        return self._root("root")

    @property
    def impostor_root(self) -> Credential:
        """A root with the trusted root's name but another key: nothing it issues is trusted."""
        return self._root("impostor-root")

    # leaves ----------------------------------------------------------------------------------------
    def credential(
        self, party: str, purpose: Purpose, suite: Suite = "rsa", variant: Variant = "valid"
    ) -> Credential:
        """The ``purpose`` credential of ``party`` for ``suite``; variants share the valid key."""
        if suite not in SUITES or purpose not in ("sign", "encrypt") or variant not in VARIANTS:
            raise ValueError(f"unknown suite/purpose/variant: {suite}/{purpose}/{variant}")
        if not party or not re.fullmatch(r"[A-Za-z0-9_.@-]{1,64}", party):
            raise ValueError(f"party name must be 1-64 chars of [A-Za-z0-9_.@-]: {party!r}")
        ident = (party, suite, purpose, variant)
        with self._lock:
            cred = self._creds.get(ident)
            if cred is not None:
                return cred
            key_label = f"{party}/{suite}/{purpose}"
            if suite == "rsa":
                key = self._key(key_label, "rsa")
            else:
                key = self._key(key_label, "ed25519" if purpose == "sign" else "x25519")
            issuer = self.impostor_root if variant == "untrusted" else self.root
            t = self.reference_time
            not_before, not_after = {
                "expired": (t - 3 * _YEAR, t - 2 * _YEAR),
                "not-yet-valid": (t + 50 * _YEAR, t + 52 * _YEAR),
            }.get(variant, (t - _YEAR, t + 20 * _YEAR))
            usage = purpose if variant != "wrong-usage" else ("encrypt" if purpose == "sign" else "sign")
            if usage == "sign":
                ku = _ku(digital_signature=True, content_commitment=True)
            elif isinstance(key, rsa.RSAPrivateKey):
                ku = _ku(key_encipherment=True)
            else:
                ku = _ku(key_agreement=True)
            cn = f"{party}_{suite}_{purpose}" + ("" if variant == "valid" else f"_{variant}")
            cert = _build_cert(
                subject=_name(cn, party), public_key=key.public_key(), issuer_name=issuer.cert.subject,
                issuer_key=issuer.key, serial=self._serial("/".join(ident)), not_before=not_before,
                not_after=not_after, key_usage=ku, ca=False,
                issuer_ski=issuer.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value,
            )
            cred = Credential(cn, key, cert, (issuer.cert,))
            self._creds[ident] = cred
            if variant == "revoked":
                self._revoked[cert.serial_number] = cert
            return cred

    def party(self, party: str, suite: Suite = "rsa") -> PartyCredentials:
        """The valid signing and encryption credentials of ``party``."""
        return PartyCredentials(
            party, suite, self.credential(party, "sign", suite), self.credential(party, "encrypt", suite)
        )

    # revocation and trust --------------------------------------------------------------------------
    def crl(self) -> x509.CertificateRevocationList:
        """The root's CRL, listing every ``revoked`` variant created so far (sorted, deterministic)."""
        with self._lock:
            serials = frozenset(self._revoked)
            if self._crl is None or self._crl[0] != serials:
                root = self.root
                t = self.reference_time
                builder = (
                    x509.CertificateRevocationListBuilder()
                    .issuer_name(root.cert.subject)
                    .last_update(t - _YEAR)
                    .next_update(t + 20 * _YEAR)
                    .add_extension(x509.CRLNumber(len(serials) + 1), critical=False)
                    .add_extension(
                        x509.AuthorityKeyIdentifier.from_issuer_public_key(root.key.public_key()),
                        critical=False,
                    )
                )
                for serial in sorted(serials):
                    builder = builder.add_revoked_certificate(
                        x509.RevokedCertificateBuilder().serial_number(serial)
                        .revocation_date(t - timedelta(days=30)).build()
                    )
                self._crl = (serials, builder.sign(root.key, hashes.SHA256()))
            return self._crl[1]

    def trust_store(self) -> TrustStore:
        """A trust store anchored at :attr:`root` that always sees the current :meth:`crl`."""
        return TrustStore([self.root.cert], crls=lambda: [self.crl()])

    # Domibus stores --------------------------------------------------------------------------------
    def keystore_p12(self, party: str, password: bytes, suite: Suite = "rsa") -> bytes:
        """PKCS#12 key store of ``party``: aliases ``<party>_<suite>_sign`` and ``<party>_<suite>_decrypt``."""
        creds = self.party(party, suite)
        return pkcs12_keystore(
            {f"{party}_{suite}_sign": creds.sign, f"{party}_{suite}_decrypt": creds.encrypt}, password
        )

    def truststore_p12(self, parties: Iterable[str], password: bytes, suite: Suite = "rsa") -> bytes:
        """PKCS#12 trust store: ``<party>_<suite>_sign`` and ``<party>_<suite>_encrypt`` per party."""
        entries: dict[str, x509.Certificate] = {}
        for p in parties:
            creds = self.party(p, suite)
            entries[f"{p}_{suite}_sign"] = creds.sign.cert
            entries[f"{p}_{suite}_encrypt"] = creds.encrypt.cert
        return pkcs12_truststore(entries, password)


def _name(cn: str, org_unit: str | None = None) -> x509.Name:
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "EU"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "OOTS harness test PKI"),
    ]
    if org_unit:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, org_unit))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def _ku(**flags: bool) -> x509.KeyUsage:
    fields = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
              "key_agreement", "key_cert_sign", "crl_sign")
    return x509.KeyUsage(**{f: flags.get(f, False) for f in fields}, encipher_only=False, decipher_only=False)


def _build_cert(
    *, subject: x509.Name, public_key, issuer_name: x509.Name, issuer_key: PrivateKey, serial: int,
    not_before: datetime, not_after: datetime, key_usage: x509.KeyUsage, ca: bool,
    issuer_ski: x509.SubjectKeyIdentifier | None = None,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(issuer_name).public_key(public_key).serial_number(serial)
        .not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(key_usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if issuer_ski is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski), critical=False
        )
    algorithm = None if isinstance(issuer_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(issuer_key, algorithm)


# --- trust store ---------------------------------------------------------------------------------------
class CertificateError(ValueError):
    """A certificate is not acceptable; ``reason`` is a stable token for reports."""

    reason = "invalid"

    def __init__(self, message: str, cert: x509.Certificate | None = None) -> None:
        super().__init__(f"{self.reason}: {message}")
        self.cert = cert


class UntrustedCertificate(CertificateError):
    reason = "untrusted"


class CertificateExpired(CertificateError):
    reason = "expired"


class CertificateNotYetValid(CertificateError):
    reason = "not-yet-valid"


class WrongKeyUsage(CertificateError):
    reason = "wrong-key-usage"


class CertificateRevoked(CertificateError):
    reason = "revoked"


CrlSource = Iterable[x509.CertificateRevocationList] | Callable[[], Iterable[x509.CertificateRevocationList]]


class TrustStore:
    """Trust anchors (roots, or pinned self-signed leaves), optional intermediates and CRLs.

    :meth:`validate` checks, in this order: a path to an anchor with valid signatures and CA issuers
    (:class:`UntrustedCertificate`), validity of every certificate of the path at ``at``
    (:class:`CertificateExpired` / :class:`CertificateNotYetValid`), the leaf's key usage for the purpose
    (:class:`WrongKeyUsage`; an absent KeyUsage extension allows everything, RFC 5280), and revocation
    against CRLs whose signature verifies with the issuer's key (:class:`CertificateRevoked`).
    A serial listed on such a CRL is revoked whatever ``at`` (as OpenSSL does).

    Only what is a pure function of immutable objects is cached (bounded, per store): the
    *cryptographic* path of a certificate (keyed by the certificate, i.e. by its DER: ``x509.Certificate``
    hashes and compares its encoding; only successes, dropped whenever ``anchors`` or ``intermediates``
    change) and, per CRL object and issuer certificate, whether the CRL names that issuer and its
    signature verifies with the issuer's key. Validity at ``at`` of every certificate of the path, key
    usage and CRL membership are checked on every call, against the CRLs the source returns then.
    """

    MAX_DEPTH = 5
    CACHE_SIZE = 1024

    def __init__(
        self,
        anchors: Iterable[x509.Certificate],
        *,
        intermediates: Iterable[x509.Certificate] = (),
        crls: CrlSource = (),
    ) -> None:
        self.anchors = list(anchors)
        self.intermediates = list(intermediates)
        self._crls = crls
        self._cache_lock = threading.Lock()
        self._reset_caches()

    def _reset_caches(self) -> None:
        with self._cache_lock:
            self._anchor_der = {c.public_bytes(serialization.Encoding.DER) for c in self.anchors}
            self._cached_for = (tuple(self.anchors), tuple(self.intermediates))
            # certificate (by DER) -> ((cert, not_before, not_after), ...) of a cryptographically valid path
            self._path_cache: OrderedDict[x509.Certificate, tuple[tuple[x509.Certificate, datetime, datetime], ...]] \
                = OrderedDict()
            # id(CRL) -> (the CRL itself, kept alive so that the id stays its own; {issuer cert: applies})
            self._crl_cache: OrderedDict[int, tuple[x509.CertificateRevocationList, dict[x509.Certificate, bool]]] \
                = OrderedDict()

    def _check_cache_basis(self) -> None:
        """Drop the caches when the anchor or intermediate lists were changed (they are public)."""
        anchors, inter = self._cached_for
        if len(anchors) != len(self.anchors) or len(inter) != len(self.intermediates) \
                or any(a is not b for a, b in zip(anchors, self.anchors)) \
                or any(a is not b for a, b in zip(inter, self.intermediates)):
            self._reset_caches()

    def clear_cache(self) -> None:
        """Forget every cached path and CRL signature result."""
        self._reset_caches()

    def crls(self) -> list[x509.CertificateRevocationList]:
        return list(self._crls() if callable(self._crls) else self._crls)

    def is_anchor(self, cert: x509.Certificate) -> bool:
        self._check_cache_basis()
        return cert.public_bytes(serialization.Encoding.DER) in self._anchor_der

    def validate(
        self, cert: x509.Certificate, *, purpose: Purpose, at: datetime | None = None
    ) -> list[x509.Certificate]:
        """Raise a :class:`CertificateError` or return the path ``[cert, ..., anchor]``."""
        at = _utc(at)
        entries = self._verified_path(cert)
        for i, (c, not_before, not_after) in enumerate(entries):
            if at < not_before:
                raise CertificateNotYetValid(f"{_who(c, i)} valid from {not_before.isoformat()}", cert)
            if at > not_after:
                raise CertificateExpired(f"{_who(c, i)} expired {not_after.isoformat()}", cert)
        _check_usage(cert, purpose)
        path = [cert, *(c for c, _, _ in entries[1:])]
        crls = self.crls()
        if crls:
            for child, issuer in zip(path, path[1:]):
                for crl in crls:
                    if not self._crl_applies(crl, issuer):
                        continue
                    if crl.get_revoked_certificate_by_serial_number(child.serial_number) is not None:
                        raise CertificateRevoked(f"serial {child.serial_number:x} is on the CRL of "
                                                 f"{issuer.subject.rfc4514_string()}", cert)
        return path

    def _verified_path(self, cert: x509.Certificate) -> tuple[tuple[x509.Certificate, datetime, datetime], ...]:
        """The path to an anchor with its validity periods; built (signatures checked) once per DER."""
        self._check_cache_basis()
        key = cert
        cache = self._path_cache
        entries = cache.get(key)
        if entries is not None:
            return entries
        entries = tuple((c, c.not_valid_before_utc, c.not_valid_after_utc) for c in self._path(cert))
        with self._cache_lock:
            if cache is self._path_cache:  # not reset meanwhile
                cache[key] = entries
                while len(cache) > self.CACHE_SIZE:
                    cache.popitem(last=False)
        return entries

    def _crl_applies(self, crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
        """``crl`` names ``issuer`` as its issuer and its signature verifies with the issuer's key."""
        cache = self._crl_cache
        entry = cache.get(id(crl))
        if entry is None or entry[0] is not crl:
            entry = (crl, {})
            with self._cache_lock:
                if cache is self._crl_cache:
                    cache[id(crl)] = entry
                    while len(cache) > self.CACHE_SIZE:
                        cache.popitem(last=False)
        by_issuer = entry[1]
        ok = by_issuer.get(issuer)
        if ok is None:
            ok = False
            if crl.issuer == issuer.subject:
                try:
                    ok = bool(crl.is_signature_valid(issuer.public_key()))
                except (TypeError, ValueError):
                    ok = False
            if len(by_issuer) >= self.CACHE_SIZE:
                by_issuer.clear()
            by_issuer[issuer] = ok
        return ok

    def _path(self, cert: x509.Certificate) -> list[x509.Certificate]:
        path = [cert]
        current = cert
        for _ in range(self.MAX_DEPTH):
            if self.is_anchor(current):
                return path
            issuer = self._issuer_of(current)
            if issuer is None:
                raise UntrustedCertificate(
                    f"no trusted issuer for {current.subject.rfc4514_string()} "
                    f"(issuer {current.issuer.rfc4514_string()})", cert)
            path.append(issuer)
            current = issuer
        raise UntrustedCertificate("certificate path too long", cert)

    def _issuer_of(self, cert: x509.Certificate) -> x509.Certificate | None:
        for candidate in (*self.anchors, *self.intermediates):
            if candidate.subject != cert.issuer or candidate == cert:
                continue
            try:
                bc = candidate.extensions.get_extension_for_class(x509.BasicConstraints).value
            except x509.ExtensionNotFound:
                continue
            if not bc.ca:
                continue
            try:
                cert.verify_directly_issued_by(candidate)
            except (InvalidSignature, ValueError, TypeError):
                continue
            return candidate
        return None


def _who(cert: x509.Certificate, index: int) -> str:
    return "certificate" if index == 0 else f"issuer {cert.subject.rfc4514_string()}"


def _check_usage(cert: x509.Certificate, purpose: Purpose) -> None:
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if purpose == "sign":
        ok = ku.digital_signature or ku.content_commitment
        need = "digitalSignature or nonRepudiation"
    elif purpose == "encrypt":
        pub = cert.public_key()
        if isinstance(pub, rsa.RSAPublicKey):
            ok, need = ku.key_encipherment, "keyEncipherment"
        elif isinstance(pub, (x25519.X25519PublicKey, ec.EllipticCurvePublicKey)):
            ok, need = ku.key_agreement, "keyAgreement"
        else:
            ok, need = ku.key_encipherment or ku.key_agreement, "keyEncipherment or keyAgreement"
    else:
        raise ValueError(f"unknown purpose {purpose!r}")
    if not ok:
        raise WrongKeyUsage(f"{purpose} needs {need}", cert)


def _utc(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(timezone.utc)
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at


# --- export helpers ------------------------------------------------------------------------------------
def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def crl_pem(crl: x509.CertificateRevocationList) -> bytes:
    return crl.public_bytes(serialization.Encoding.PEM)


def key_pem(key: PrivateKey, password: bytes | None = None) -> bytes:
    """PKCS#8 PEM, encrypted when ``password`` is given."""
    enc = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)


def _p12_encryption(password: bytes) -> serialization.KeySerializationEncryption:
    return (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(2048)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(password)
    )


def pkcs12_truststore(entries: Mapping[str, x509.Certificate], password: bytes) -> bytes:
    """PKCS#12 of trusted certificates (Java ``trustedCertEntry``), one alias (friendly name) each."""
    if not password:
        raise ValueError("a PKCS#12 store needs a non-empty password")
    certs = [pkcs12.PKCS12Certificate(c, alias.encode("utf-8")) for alias, c in entries.items()]
    return pkcs12.serialize_java_truststore(certs, _p12_encryption(password))


def pkcs12_keystore(entries: Mapping[str, Credential], password: bytes) -> bytes:
    """PKCS#12 holding one private-key entry (key + certificate + chain) per alias.

    ``cryptography`` writes one key per PFX, so each entry is serialised alone and the safe contents
    are merged into one PFX whose MAC (HMAC-SHA256, RFC 7292 key derivation) is recomputed.
    """
    if not password or not entries:
        raise ValueError("a PKCS#12 key store needs a non-empty password and at least one entry")
    enc = _p12_encryption(password)
    pfxs = [
        pkcs12.serialize_key_and_certificates(alias.encode("utf-8"), cred.key, cred.cert,
                                              [c for c in cred.chain if c != cred.cert] or None, enc)
        for alias, cred in entries.items()
    ]
    return _merge_pfx(pfxs, password)


# A minimal DER reader/writer: enough to splice PFX structures (RFC 7292), nothing more.
def _der_tlv(buf: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the TLV at ``pos``."""
    tag, length = buf[pos], buf[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(buf[pos:pos + n], "big")
        pos += n
    if pos + length > len(buf):
        raise ValueError("truncated DER")
    return tag, pos, pos + length


def _der_children(buf: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    out = []
    pos = start
    while pos < end:
        tag, cs, ce = _der_tlv(buf, pos)
        out.append((tag, pos, cs, ce))
        pos = ce
    return out


def _der(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    ln = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(ln)]) + ln + content


_OID_DATA = bytes.fromhex("06092a864886f70d010701")
_OID_SHA256 = bytes.fromhex("0609608648016503040201")


def _p12_kdf(password: bytes, salt: bytes, ident: int, iterations: int, n: int) -> bytes:
    """RFC 7292 appendix B.2 key derivation with SHA-256 (u=32, v=64)."""
    v = 64
    pw = password.decode("utf-8").encode("utf-16-be") + b"\x00\x00"
    s = (salt * (v // len(salt) + 1))[: v * math.ceil(len(salt) / v)]
    p = (pw * (v // len(pw) + 1))[: v * math.ceil(len(pw) / v)]
    i = bytearray(s + p)
    out = b""
    while len(out) < n:
        a = hashlib.sha256(bytes([ident]) * v + bytes(i)).digest()
        for _ in range(iterations - 1):
            a = hashlib.sha256(a).digest()
        out += a
        b = int.from_bytes((a * (v // len(a) + 1))[:v], "big")
        for j in range(0, len(i), v):
            block = (int.from_bytes(i[j:j + v], "big") + b + 1) % (1 << (8 * v))
            i[j:j + v] = block.to_bytes(v, "big")
    return out[:n]


def _merge_pfx(pfxs: Sequence[bytes], password: bytes, iterations: int = 2048) -> bytes:
    content_infos = []
    for pfx in pfxs:
        _, s, e = _der_tlv(pfx, 0)
        _version, auth_safe, *_ = _der_children(pfx, s, e)
        ci = _der_children(pfx, auth_safe[2], auth_safe[3])
        if pfx[ci[0][1]:ci[0][3]] != _OID_DATA:
            raise ValueError("PFX authSafe is not id-data")
        _, os_start, os_end = _der_tlv(pfx, ci[1][2])  # [0] EXPLICIT OCTET STRING
        safes = pfx[os_start:os_end]
        _, ss, se = _der_tlv(safes, 0)
        content_infos += [safes[start:end] for _, start, _, end in _der_children(safes, ss, se)]
    auth_safe = _der(0x30, b"".join(content_infos))
    salt = os.urandom(16)
    mac_key = _p12_kdf(password, salt, 3, iterations, 32)
    mac = hmac.new(mac_key, auth_safe, hashlib.sha256).digest()
    mac_data = _der(0x30, _der(0x30, _der(0x30, _OID_SHA256 + b"\x05\x00") + _der(0x04, mac))
                    + _der(0x04, salt) + _der(0x02, iterations.to_bytes(4, "big").lstrip(b"\x00").rjust(1, b"\x00")))
    content_info = _der(0x30, _OID_DATA + _der(0xA0, _der(0x04, auth_safe)))
    return _der(0x30, _der(0x02, b"\x03") + content_info + mac_data)
