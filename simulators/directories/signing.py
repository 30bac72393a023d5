"""ES256 signing credentials of the mock directories, issued under the harness PKI root.

The harness :class:`~simulators.pki.PKI` has RSA / Ed25519 leaves only, so the Common Services signer is built
here: a deterministic P-256 intermediate CA signed by the PKI root, and a P-256 leaf under it
(``x5c = [leaf, intermediate, root]`` like the Commission's chain). Variants for faults: ``expired`` (leaf
validity in the past) and ``untrusted`` (same key, chain under the PKI's impostor root).

The P-256 keys are derived (HKDF-SHA256) from a public seed: ``cs_signer(pki, seed=...)`` when given, else the
PKI's public ``seed`` attribute (the value it was built with), encoded the way the PKI documents it (bytes as
they are, anything else as its UTF-8 ``str``). No private PKI state is read.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import NameOID

from conformance.rules.cs_signature import sign_cs_response
from simulators.pki import PKI

SignerVariant = Literal["valid", "expired", "untrusted"]
Seed = int | str | bytes
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


@dataclass(frozen=True)
class CsSigner:
    """A P-256 key and its chain (leaf first, root last)."""

    key: ec.EllipticCurvePrivateKey
    chain: tuple[x509.Certificate, ...]

    def sign(self, body: bytes, iat: int | None = None) -> dict[str, str]:
        """``content-type``, ``digest`` and ``oots-response-sig`` headers for ``body``."""
        return sign_cs_response(body, self.key, list(self.chain), iat=iat)


def seed_bytes(seed: Seed) -> bytes:
    """The key-derivation input of a seed: bytes unchanged, int / str as UTF-8 text (as :class:`PKI` does)."""
    if isinstance(seed, bytes):
        return seed
    if isinstance(seed, (int, str)):
        return str(seed).encode("utf-8")
    raise TypeError(f"seed must be int, str or bytes, not {type(seed).__name__}")


def _p256(seed: bytes, label: str) -> ec.EllipticCurvePrivateKey:
    raw = HKDF(hashes.SHA256(), 40, salt=b"oots-harness/directories/v1", info=label.encode()).derive(seed)
    return ec.derive_private_key(int.from_bytes(raw, "big") % (_P256_ORDER - 1) + 1, ec.SECP256R1())


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "EU"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "OOTS harness test PKI"),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "OOTS"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject: x509.Name, key, issuer: x509.Certificate, issuer_key, serial: int, not_before, not_after,
          ca: bool) -> x509.Certificate:
    usage = dict(digital_signature=not ca, content_commitment=not ca, key_encipherment=False,
                 data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                 encipher_only=False, decipher_only=False)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer.subject)
            .public_key(key.public_key()).serial_number(serial)
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
            .add_extension(x509.KeyUsage(**usage), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(issuer_key, hashes.SHA256()))


def cs_signer(pki: PKI, variant: SignerVariant = "valid", *, seed: Seed | None = None) -> CsSigner:
    """The directories' signer under ``pki``, its keys derived from ``seed`` (default: ``pki.seed``)."""
    root = pki.impostor_root if variant == "untrusted" else pki.root
    t = pki.reference_time
    year = timedelta(days=365)
    raw = seed_bytes(pki.seed if seed is None else seed)
    ca_key, leaf_key = _p256(raw, "cs-ca"), _p256(raw, "cs-leaf")
    ca = _cert(_name("OOTS harness CS signing CA"), ca_key, root.cert, root.key,
               0x1C5CA0 + (variant == "untrusted"), t - 2 * year, t + 25 * year, True)
    life = (t - 3 * year, t - 2 * year) if variant == "expired" else (t - year, t + 20 * year)
    leaf = _cert(_name("EC-OOTS-CS-HARNESS" + ("" if variant == "valid" else f"-{variant}")), leaf_key, ca, ca_key,
                 0x1C5000 + ("valid", "expired", "untrusted").index(variant), *life, False)
    return CsSigner(leaf_key, (leaf, ca, root.cert))


def trust_anchor_pem(pki: PKI) -> bytes:
    """The PEM the target must trust to accept the mock directories' answers (the PKI root)."""
    return pki.root.cert.public_bytes(serialization.Encoding.PEM)
