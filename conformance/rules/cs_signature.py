"""Verify (and produce) the detached JWS that signs every Common Services answer.

``shared/spec/common-services.md`` §2: the answer carries ``digest: SHA-256=<base64(SHA-256(body))>`` and
``oots-response-sig: <b64url(protected)>..<b64url(signature)>`` (JAdES, HttpHeaders mechanism). The signing
input is ``<b64url(protected)>.digest: <digest value>`` (lowercase name, one space); the protected header carries
``alg``, ``b64=false``, ``sigD={mId: http://uri.etsi.org/19182/HttpHeaders, pars: ["digest"]}``,
``crit=["b64","sigD"]``, ``x5c`` (leaf first), ``kid`` (IssuerSerial) and ``x5t#o`` (SHA-512 of the leaf).

Findings (source ``signature``, all FATAL: a client must reject the answer):

* CS-004 digest header missing, malformed, not SHA-256, or not the hash of the exact body bytes;
* CS-005 signature header missing or malformed, signature invalid, certificates unusable, ``x5c`` chain
  internally broken (a certificate not signed by the next) or not valid at the signing time, ``kid``/``x5t#o``
  not matching the leaf;
* CS-006 the chain does not lead to a configured trust anchor (only when ``trust_roots`` are given; otherwise
  the report says the chain was verified internally only);
* CS-007 non-detached JWS, ``b64`` not false, ``sigD``/``crit`` not the HttpHeaders form;
* CS-008 an ``alg`` other than ES256 / EdDSA;
* CS-009 the signature verifies only over a non-conformant signing input (e.g. ``digest:<v>`` without the space).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Mapping

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from .findings import Finding, Severity, Source

DIGEST_HEADER = "digest"
SIG_HEADER = "oots-response-sig"
HTTP_HEADERS_MID = "http://uri.etsi.org/19182/HttpHeaders"
ALGORITHMS = ("ES256", "EdDSA")
_REF = "common-services.md §2 (TDD 3.6.2)"


@dataclass
class CsSignatureReport:
    """What :func:`verify_cs_response` found."""

    findings: list[Finding] = field(default_factory=list)
    digest_ok: bool = False
    signature_ok: bool = False  # verified over the conformant signing input
    chain_ok: bool = False  # every x5c certificate is signed by the next and valid at ``checked_at``
    trusted: bool | None = None  # None: no trust anchors given (chain verified internally only)
    alg: str | None = None
    protected: dict | None = None
    certificates: list[x509.Certificate] = field(default_factory=list)
    checked_at: datetime | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No FATAL finding: the answer may be used."""
        return not any(f.severity is Severity.FATAL for f in self.findings)

    def ids(self) -> set[str]:
        return {f.id for f in self.findings}


# --------------------------------------------------------------------------- small helpers

def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(data: str) -> bytes:
    s = data.strip()
    if not s or any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" for c in s):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def digest_value(body: bytes) -> str:
    """The ``digest`` header value for ``body``: ``SHA-256=<base64>``."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def signing_input(protected_b64: str, digest: str, *, sep: str = " ", name: str = DIGEST_HEADER) -> bytes:
    """``<protected>.digest: <value>``; ``sep``/``name`` exist to build the non-conformant variants."""
    return f"{protected_b64}.{name}:{sep}{digest}".encode("ascii")


def parse_headers(raw: str | bytes) -> dict[str, str]:
    """Parse a captured ``.headers`` file (``name: value`` per line) into a lowercase-keyed dict."""
    if isinstance(raw, bytes):
        raw = raw.decode("latin-1")
    out: dict[str, str] = {}
    for line in raw.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            out[k.strip().lower()] = v.strip()
    return out


def _get(headers: Mapping[str, str], name: str) -> str | None:
    for k, v in headers.items():
        if k.lower() == name:
            return v.strip()
    return None


def _load_cert(c: x509.Certificate | bytes | str) -> x509.Certificate:
    if isinstance(c, x509.Certificate):
        return c
    data = c.encode("ascii") if isinstance(c, str) else c
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def load_trust_roots(roots: Iterable[x509.Certificate | bytes | str] | bytes | str | None) -> list[x509.Certificate]:
    """Certificates, DER/PEM bytes, or one PEM bundle -> certificates."""
    if roots is None:
        return []
    if isinstance(roots, (bytes, str)):
        data = roots.encode("ascii") if isinstance(roots, str) else roots
        return x509.load_pem_x509_certificates(data) if b"-----BEGIN" in data else [_load_cert(data)]
    return [_load_cert(r) for r in roots]


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _der_len(len(content)) + content


def issuer_serial_der(cert: x509.Certificate) -> bytes:
    """DER ``IssuerSerial ::= SEQUENCE { GeneralNames(directoryName issuer), serial }`` (the JAdES ``kid``)."""
    name = cert.issuer.public_bytes()
    serial = cert.serial_number
    sb = serial.to_bytes(serial.bit_length() // 8 + 1, "big")  # leading zero keeps it positive
    return _tlv(0x30, _tlv(0x30, _tlv(0xA4, name)) + _tlv(0x02, sb))


def _iat(value) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return datetime.fromtimestamp(value, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def _valid_at(cert: x509.Certificate, at: datetime) -> bool:
    return cert.not_valid_before_utc <= at <= cert.not_valid_after_utc


# --------------------------------------------------------------------------- verification

class _Report:
    def __init__(self) -> None:
        self.r = CsSignatureReport()

    def add(self, fid: str, message: str, expected: str | None = None, actual: str | None = None,
            location: str = "/") -> None:
        self.r.findings.append(Finding(fid, Severity.FATAL, message, Source.SIGNATURE, location, expected, actual,
                                       _REF))


def _verify_raw(key, alg: str, sig: bytes, data: bytes) -> bool:
    try:
        if alg == "ES256":
            if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1" or len(sig) != 64:
                return False
            der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
            key.verify(der, data, ec.ECDSA(hashes.SHA256()))
            return True
        if alg == "EdDSA":
            if not isinstance(key, ed25519.Ed25519PublicKey):
                return False
            key.verify(sig, data)
            return True
    except InvalidSignature:
        return False
    return False


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except (ValueError, TypeError, InvalidSignature):
        return False


def verify_cs_response(body: bytes, headers: Mapping[str, str], *, trust_roots=None,
                       at: datetime | None = None, algorithms: Iterable[str] = ALGORITHMS) -> CsSignatureReport:
    """Verify a Common Services answer: ``body`` exactly as received, ``headers`` its HTTP headers.

    ``trust_roots``: certificates (objects, DER/PEM bytes, or a PEM bundle) the chain must lead to; when None
    the chain is verified internally only (each certificate signed by the next). ``at``: the time certificate
    validity is judged at; default the JWS ``iat`` (when the service signed), else now. Never raises for bad
    input: whatever cannot be processed is a CS-005 finding.
    """
    roots = load_trust_roots(trust_roots)  # a bad trust store is the caller's error: let it raise
    try:
        return _verify(body, headers, roots, at, tuple(algorithms))
    except Exception as exc:  # noqa: BLE001 - hostile input must give a finding, not a crash
        rep = _Report()
        rep.add("CS-005", f"signature headers could not be processed ({type(exc).__name__}: {exc})",
                "a well-formed detached JWS", "unprocessable")
        return rep.r


def _verify(body: bytes, headers: Mapping[str, str], roots: list[x509.Certificate], at: datetime | None,
            algorithms: tuple[str, ...]) -> CsSignatureReport:
    rep = _Report()
    r = rep.r
    # 1. digest over the exact body bytes
    digest = _get(headers, DIGEST_HEADER)
    if digest is None:
        rep.add("CS-004", "digest header is missing", "SHA-256=<base64>", "absent")
    elif not digest.startswith("SHA-256="):
        rep.add("CS-004", "digest header is not SHA-256", "SHA-256=<base64>", digest[:40])
    else:
        try:
            claimed = base64.b64decode(digest[len("SHA-256="):], validate=True)
        except (binascii.Error, ValueError):
            claimed = b""
        if len(claimed) != 32:
            rep.add("CS-004", "digest header value is not a base64 SHA-256 hash", "32 bytes in base64", digest[:60])
        elif claimed != hashlib.sha256(body).digest():
            rep.add("CS-004", "digest header does not match the body", digest_value(body), digest)
        else:
            r.digest_ok = True
    # 2. the JWS compact serialisation
    sig_header = _get(headers, SIG_HEADER)
    if sig_header is None:
        rep.add("CS-005", "oots-response-sig header is missing", "<protected>..<signature>", "absent")
        return r
    parts = sig_header.split(".")
    if len(parts) != 3:
        rep.add("CS-005", "oots-response-sig is not a JWS compact serialisation", "3 dot-separated parts",
                f"{len(parts)} parts")
        return r
    protected_b64, payload_b64, sig_b64 = parts
    if payload_b64:
        rep.add("CS-007", "the JWS is not detached (its payload part is not empty)", "<protected>..<signature>",
                f"{len(payload_b64)} payload characters")
    try:
        protected = json.loads(b64url_decode(protected_b64))
        if not isinstance(protected, dict):
            raise ValueError("not an object")
        signature = b64url_decode(sig_b64)
    except (ValueError, UnicodeDecodeError) as exc:
        rep.add("CS-005", f"JWS parts do not decode: {exc}", "base64url JSON header and signature", "undecodable")
        return r
    r.protected = protected
    # 3. protected header
    alg = protected.get("alg")
    r.alg = alg if isinstance(alg, str) else None
    if alg not in algorithms:
        rep.add("CS-008", "unexpected signature algorithm", " | ".join(algorithms), str(alg))
    if protected.get("b64") is not False:
        rep.add("CS-007", "b64 must be false (unencoded detached payload)", "false", json.dumps(protected.get("b64")))
    sigd = protected.get("sigD")
    if not isinstance(sigd, dict) or sigd.get("mId") != HTTP_HEADERS_MID or sigd.get("pars") != [DIGEST_HEADER]:
        rep.add("CS-007", "sigD must designate the HttpHeaders mechanism over the digest header",
                json.dumps({"mId": HTTP_HEADERS_MID, "pars": [DIGEST_HEADER]}), json.dumps(sigd))
    crit = protected.get("crit")
    if not isinstance(crit, list) or not {"b64", "sigD"} <= {c for c in crit if isinstance(c, str)}:
        rep.add("CS-007", "crit must list b64 and sigD", '["b64", "sigD"]', json.dumps(crit))
    # 4. certificates
    x5c = protected.get("x5c")
    certs: list[x509.Certificate] = []
    try:
        if not isinstance(x5c, list) or not x5c:
            raise ValueError("no x5c")
        certs = [x509.load_der_x509_certificate(base64.b64decode(c, validate=True)) for c in x5c]
    except (ValueError, TypeError, binascii.Error) as exc:
        rep.add("CS-005", f"x5c does not hold usable certificates ({exc})", "x5c: [leaf, …, root] base64 DER",
                "unusable")
    r.certificates = certs
    # 5. signature over the signing input
    if certs and alg in ALGORITHMS and digest is not None:
        key = certs[0].public_key()
        if _verify_raw(key, alg, signature, signing_input(protected_b64, digest)):
            r.signature_ok = True
        else:
            variants = {"digest:<value> (no space)": signing_input(protected_b64, digest, sep=""),
                        "Digest: <value> (capitalised name)": signing_input(protected_b64, digest, name="Digest"),
                        "digest:  <value> (two spaces)": signing_input(protected_b64, digest, sep="  "),
                        "<value> only": f"{protected_b64}.{digest}".encode("ascii")}
            hit = next((k for k, v in variants.items() if _verify_raw(key, alg, signature, v)), None)
            if hit:
                rep.add("CS-009", "the signature covers a non-conformant signing input",
                        "<protected>.digest: <value>", hit)
            else:
                rep.add("CS-005", "the signature does not verify with the x5c leaf key",
                        "a valid signature over <protected>.digest: <value>", "invalid")
    elif certs and alg in ALGORITHMS:
        rep.add("CS-005", "no digest header: nothing the signature could cover", "digest header", "absent")
    # 6. kid / x5t#o bind the header to the leaf
    if certs:
        leaf = certs[0]
        x5t = protected.get("x5t#o")
        if x5t is not None:
            want = b64url_encode(hashlib.sha512(leaf.public_bytes(serialization.Encoding.DER)).digest())
            if not isinstance(x5t, dict) or x5t.get("digAlg") != "S512" or x5t.get("digVal") != want:
                rep.add("CS-005", "x5t#o does not match the leaf certificate", f"S512 {want[:16]}…",
                        json.dumps(x5t)[:80])
        kid = protected.get("kid")
        if kid is not None:
            try:
                ok = base64.b64decode(kid, validate=True) == issuer_serial_der(leaf)
            except (binascii.Error, ValueError, TypeError):
                ok = False
            if not ok:
                rep.add("CS-005", "kid (IssuerSerial) does not match the leaf certificate",
                        "base64 DER IssuerSerial of x5c[0]", str(kid)[:60])
    # 7. chain: internal consistency, validity, trust
    if certs:
        when = at or _iat(protected.get("iat")) or datetime.now(timezone.utc)
        r.checked_at = when
        chain_ok = True
        for i, cert in enumerate(certs):
            if not _valid_at(cert, when):
                chain_ok = False
                rep.add("CS-005", f"x5c[{i}] is not valid at {when.isoformat()}",
                        f"{cert.not_valid_before_utc.isoformat()} .. {cert.not_valid_after_utc.isoformat()}",
                        cert.subject.rfc4514_string())
            if i + 1 < len(certs) and not _issued_by(cert, certs[i + 1]):
                chain_ok = False
                rep.add("CS-005", f"x5c[{i}] is not signed by x5c[{i + 1}]", certs[i + 1].subject.rfc4514_string(),
                        cert.issuer.rfc4514_string())
        r.chain_ok = chain_ok
        if not roots:
            r.notes.append("no trust anchors given: the x5c chain was verified internally only")
        else:
            last = certs[-1]
            der = {c.public_bytes(serialization.Encoding.DER) for c in roots}
            anchored = any(c.public_bytes(serialization.Encoding.DER) in der for c in certs) \
                or any(_issued_by(last, root) and _valid_at(root, when) for root in roots)
            r.trusted = chain_ok and anchored
            if not r.trusted:
                rep.add("CS-006", "the x5c chain does not lead to a configured trust anchor",
                        ", ".join(c.subject.rfc4514_string() for c in roots), last.subject.rfc4514_string())
    return r


def captured_headers(body_path) -> dict[str, str] | None:
    """The HTTP headers captured beside an answer (``x.xml`` -> ``x.headers``), or None when there are none."""
    h = Path(body_path).with_suffix(".headers")
    return parse_headers(h.read_bytes()) if h.exists() else None


def verify_capture(body_path, headers_path=None, **kw) -> CsSignatureReport:
    """Convenience: verify ``x.xml`` against ``x.headers`` (the capture layout)."""
    body_path = Path(body_path)
    headers_path = Path(headers_path) if headers_path else body_path.with_suffix(".headers")
    return verify_cs_response(body_path.read_bytes(), parse_headers(headers_path.read_bytes()), **kw)


# --------------------------------------------------------------------------- signing (mock directories)

def build_protected_header(chain: list[x509.Certificate], alg: str = "ES256", iat: int | None = None) -> dict:
    """The protected header the Commission services send (same members, same order)."""
    leaf = chain[0]
    return {
        "alg": alg,
        "kid": base64.b64encode(issuer_serial_der(leaf)).decode("ascii"),
        "x5t#o": {"digAlg": "S512",
                  "digVal": b64url_encode(hashlib.sha512(leaf.public_bytes(serialization.Encoding.DER)).digest())},
        "x5c": [base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode("ascii") for c in chain],
        "typ": "jose",
        "b64": False,
        "iat": int(time.time()) if iat is None else int(iat),
        "sigD": {"mId": HTTP_HEADERS_MID, "pars": [DIGEST_HEADER]},
        "crit": ["b64", "sigD"],
    }


def encode_protected(header: dict) -> str:
    return b64url_encode(json.dumps(header, separators=(",", ":")).encode("utf-8"))


def sign_raw(key, alg: str, data: bytes) -> bytes:
    """JWS signature bytes: ES256 -> raw r||s (64 bytes); EdDSA -> Ed25519 signature."""
    if alg == "ES256":
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    if alg == "EdDSA":
        return key.sign(data)
    raise ValueError(f"unsupported alg {alg}")


def sign_cs_response(body: bytes, key, chain: list[x509.Certificate], *, iat: int | None = None) -> dict[str, str]:
    """Headers that sign ``body`` like the Commission services do: ``digest`` and ``oots-response-sig``.

    ``key`` is the leaf's private key: EC P-256 gives ES256, Ed25519 gives EdDSA. ``chain`` is leaf first.
    """
    alg = "EdDSA" if isinstance(key, ed25519.Ed25519PrivateKey) else "ES256"
    if alg == "ES256" and (not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1"):
        raise ValueError("ES256 needs an EC P-256 key")
    digest = digest_value(body)
    protected_b64 = encode_protected(build_protected_header(chain, alg, iat))
    sig = sign_raw(key, alg, signing_input(protected_b64, digest))
    return {"content-type": "application/x-ebrs+xml", DIGEST_HEADER: digest,
            SIG_HEADER: f"{protected_b64}..{b64url_encode(sig)}"}
