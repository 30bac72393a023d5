"""The deterministic test PKI: key material, certificate profiles, trust decisions, stores."""
from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa, x25519
from cryptography.hazmat.primitives.serialization import pkcs12

from simulators import pki as pkimod
from simulators.pki import (
    PKI,
    REFERENCE_TIME,
    CertificateError,
    CertificateExpired,
    CertificateNotYetValid,
    CertificateRevoked,
    TrustStore,
    UntrustedCertificate,
    WrongKeyUsage,
)

from .conftest import PKI_SEED

DER = serialization.Encoding.DER


def _ku(cert: x509.Certificate) -> x509.KeyUsage:
    return cert.extensions.get_extension_for_class(x509.KeyUsage).value


def test_same_seed_same_pki_without_cache(pki):
    fresh = PKI(PKI_SEED)  # no disk cache: everything re-derived from the seed
    assert fresh.root.cert.public_bytes(DER) == pki.root.cert.public_bytes(DER)
    assert fresh.credential("fr-node", "sign", "eddsa").cert == pki.credential("fr-node", "sign", "eddsa").cert
    other = PKI("another-seed")
    assert other.credential("fr-node", "sign", "eddsa").key.public_key() != \
        pki.credential("fr-node", "sign", "eddsa").key.public_key()
    assert other._serial("x") != pki._serial("x")


def test_seeded_rsa_key_is_sound():
    key = pkimod._seeded_rsa(b"unit", "k")
    assert key.key_size == 2048
    assert pkimod._seeded_rsa(b"unit", "k").private_numbers() == key.private_numbers()
    n = key.private_numbers()
    assert n.p != n.q and n.p * n.q == n.public_numbers.n and n.public_numbers.e == 65537


def test_disk_cache_holds_the_derived_key(pki, tmp_path):
    a = PKI("cache-test", cache_dir=tmp_path)
    key = a.root.key
    files = list((tmp_path / "v1" / "cache-test").glob("*.key.pem"))
    assert [f.name for f in files] == ["root.key.pem"]
    b = PKI("cache-test", cache_dir=tmp_path)
    assert b.root.key.private_numbers() == key.private_numbers()
    files[0].write_bytes(b"garbage")  # a broken cache entry is re-derived, not trusted
    assert PKI("cache-test", cache_dir=tmp_path).root.key.private_numbers() == key.private_numbers()


@pytest.mark.parametrize("suite,sign_type,enc_type", [
    ("rsa", rsa.RSAPrivateKey, rsa.RSAPrivateKey),
    ("eddsa", ed25519.Ed25519PrivateKey, x25519.X25519PrivateKey),
])
def test_party_certificate_profiles(pki, suite, sign_type, enc_type):
    creds = pki.party("de-ap", suite)
    assert isinstance(creds.sign.key, sign_type) and isinstance(creds.encrypt.key, enc_type)
    sign_ku, enc_ku = _ku(creds.sign.cert), _ku(creds.encrypt.cert)
    assert sign_ku.digital_signature and sign_ku.content_commitment and not sign_ku.key_encipherment
    if suite == "rsa":
        assert enc_ku.key_encipherment and not enc_ku.digital_signature
    else:
        assert enc_ku.key_agreement and not enc_ku.digital_signature
    for cred in (creds.sign, creds.encrypt):
        bc = cred.cert.extensions.get_extension_for_class(x509.BasicConstraints)
        assert bc.critical and not bc.value.ca
        assert cred.cert.issuer == pki.root.cert.subject
        cred.cert.verify_directly_issued_by(pki.root.cert)
        assert cred.cert.not_valid_before_utc < REFERENCE_TIME < cred.cert.not_valid_after_utc
    root_ku = _ku(pki.root.cert)
    assert root_ku.key_cert_sign and root_ku.crl_sign


@pytest.mark.parametrize("suite", ["rsa", "eddsa"])
@pytest.mark.parametrize("purpose", ["sign", "encrypt"])
def test_valid_certificates_validate(pki, trust, suite, purpose):
    cred = pki.credential("de-ap", purpose, suite)
    path = trust.validate(cred.cert, purpose=purpose, at=REFERENCE_TIME)
    assert path == [cred.cert, pki.root.cert]
    trust.validate(cred.cert, purpose=purpose)  # wall clock (certificates run to 2045)


@pytest.mark.parametrize("variant,exc,reason", [
    ("expired", CertificateExpired, "expired"),
    ("not-yet-valid", CertificateNotYetValid, "not-yet-valid"),
    ("untrusted", UntrustedCertificate, "untrusted"),
    ("wrong-usage", WrongKeyUsage, "wrong-key-usage"),
    ("revoked", CertificateRevoked, "revoked"),
])
@pytest.mark.parametrize("suite", ["rsa", "eddsa"])
@pytest.mark.parametrize("purpose", ["sign", "encrypt"])
def test_negative_variants_fail_with_distinct_reasons(pki, trust, suite, purpose, variant, exc, reason):
    cred = pki.credential("de-ap", purpose, suite, variant)
    assert cred.key is pki.credential("de-ap", purpose, suite).key  # same key, other certificate
    with pytest.raises(exc) as info:
        trust.validate(cred.cert, purpose=purpose, at=REFERENCE_TIME)
    assert info.value.reason == reason and isinstance(info.value, CertificateError)


def test_validity_follows_the_virtual_clock(pki, trust):
    cert = pki.credential("de-ap", "sign").cert
    with pytest.raises(CertificateNotYetValid):
        trust.validate(cert, purpose="sign", at=cert.not_valid_before_utc - timedelta(seconds=1))
    with pytest.raises(CertificateExpired):
        trust.validate(cert, purpose="sign", at=cert.not_valid_after_utc + timedelta(seconds=1))
    trust.validate(cert, purpose="sign", at=cert.not_valid_before_utc.replace(tzinfo=None))  # naive = UTC
    expired = pki.credential("de-ap", "sign", variant="expired").cert
    trust.validate(expired, purpose="sign", at=expired.not_valid_before_utc + timedelta(days=1))


def test_crl_lists_revoked_variants_and_is_signed_by_root(pki):
    revoked = pki.credential("crl-party", "sign", variant="revoked").cert
    crl = pki.crl()
    assert crl.is_signature_valid(pki.root.key.public_key())
    assert crl.get_revoked_certificate_by_serial_number(revoked.serial_number) is not None
    assert crl.get_revoked_certificate_by_serial_number(pki.credential("crl-party", "sign").cert.serial_number) \
        is None
    assert x509.load_pem_x509_crl(pkimod.crl_pem(crl)) == crl


def test_forged_crl_is_ignored(pki):
    valid = pki.credential("de-ap", "sign").cert
    imp = pki.impostor_root
    forged = (
        x509.CertificateRevocationListBuilder().issuer_name(imp.cert.subject)
        .last_update(REFERENCE_TIME - timedelta(days=1)).next_update(REFERENCE_TIME + timedelta(days=1))
        .add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(valid.serial_number)
                                 .revocation_date(REFERENCE_TIME - timedelta(days=1)).build())
        .sign(imp.key, pkimod.hashes.SHA256())
    )
    store = TrustStore([pki.root.cert], crls=[forged])
    store.validate(valid, purpose="sign", at=REFERENCE_TIME)


def test_pinned_self_signed_and_intermediates(pki):
    # a CA-less peer certificate pinned as an anchor (the Projectathon exchanged self-signed certs)
    leaf = pki.credential("de-ap", "sign").cert
    TrustStore([leaf]).validate(leaf, purpose="sign", at=REFERENCE_TIME)
    with pytest.raises(UntrustedCertificate):
        TrustStore([pki.impostor_root.cert]).validate(leaf, purpose="sign", at=REFERENCE_TIME)
    # root given as an intermediate only: no anchor, no trust
    with pytest.raises(UntrustedCertificate):
        TrustStore([], intermediates=[pki.root.cert]).validate(leaf, purpose="sign", at=REFERENCE_TIME)


def test_pem_exports_round_trip(pki):
    cred = pki.credential("de-ap", "sign")
    assert x509.load_pem_x509_certificate(cred.cert_pem()) == cred.cert
    key = serialization.load_pem_private_key(cred.key_pem(b"pw"), b"pw")
    assert key.private_numbers() == cred.key.private_numbers()


def test_pkcs12_keystore_has_both_private_key_aliases(pki, tmp_path):
    data = pki.keystore_p12("de-ap", b"changeit")
    loaded = pkcs12.load_pkcs12(data, b"changeit")  # checks the recomputed MAC
    assert loaded.key is not None
    with pytest.raises(ValueError):
        pkcs12.load_pkcs12(data, b"wrong")
    if shutil.which("openssl"):
        out = subprocess.run(
            ["openssl", "pkcs12", "-info", "-nodes", "-passin", "pass:changeit"],
            input=data, capture_output=True, check=True,
        ).stdout.decode()
        assert out.count("BEGIN PRIVATE KEY") == 2
        assert "friendlyName: de-ap_rsa_sign" in out and "friendlyName: de-ap_rsa_decrypt" in out
    if shutil.which("keytool"):
        path = tmp_path / "ks.p12"
        path.write_bytes(data)
        out = subprocess.run(["keytool", "-list", "-keystore", str(path), "-storepass", "changeit",
                              "-storetype", "PKCS12"], capture_output=True, text=True, check=True).stdout
        assert "de-ap_rsa_sign, " in out and "de-ap_rsa_decrypt, " in out
        assert out.count("PrivateKeyEntry") == 2


def test_pkcs12_truststore_aliases(pki):
    data = pki.truststore_p12(["de-ap", "fr-node"], b"changeit")
    loaded = pkcs12.load_pkcs12(data, b"changeit")
    names = {c.friendly_name.decode(): c.certificate for c in loaded.additional_certs}
    assert names == {
        "de-ap_rsa_sign": pki.credential("de-ap", "sign").cert,
        "de-ap_rsa_encrypt": pki.credential("de-ap", "encrypt").cert,
        "fr-node_rsa_sign": pki.credential("fr-node", "sign").cert,
        "fr-node_rsa_encrypt": pki.credential("fr-node", "encrypt").cert,
    }


def test_bad_names_rejected(pki):
    with pytest.raises(ValueError):
        pki.credential("bad name/../x", "sign")
    with pytest.raises(ValueError):
        pki.credential("de-ap", "sign", variant="stolen")
