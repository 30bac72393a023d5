"""The caches of the incoming path keep every check: trust-path cache (TrustStore), CRL signature cache,
BinarySecurityToken parse cache (wssec) and the hint-driven gunzip bounds (compression)."""
from __future__ import annotations

import re
import tracemalloc
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from simulators.as4 import wssec
from simulators.as4.compression import CompressionError, DecompressionLimits, gzip_compress, gzip_decompress
from simulators.as4.errors import EbmsError
from simulators.as4.message import pack, unpack
from simulators.as4.parts import Attachment
from simulators.pki import (
    REFERENCE_TIME,
    CertificateExpired,
    CertificateNotYetValid,
    CertificateRevoked,
    TrustStore,
    UntrustedCertificate,
    WrongKeyUsage,
)
from tests.as4.test_model import make_user_message

MB = 1024 * 1024
SENDER, RECEIVER = "cache-sender", "cache-receiver"


def _crl(pki, serials=(), *, issuer=None, number=1):
    """A CRL of the trusted root (or of ``issuer``) listing ``serials``."""
    issuer = issuer or pki.root
    builder = (
        x509.CertificateRevocationListBuilder().issuer_name(issuer.cert.subject)
        .last_update(REFERENCE_TIME - timedelta(days=1)).next_update(REFERENCE_TIME + timedelta(days=30))
        .add_extension(x509.CRLNumber(number), critical=False)
    )
    for s in serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(s).revocation_date(REFERENCE_TIME - timedelta(days=1))
            .build())
    return builder.sign(issuer.key, hashes.SHA256())


class _Crls:
    """A CRL source the test can swap, as a CA publishing a new CRL would."""

    def __init__(self, *crls):
        self.current = list(crls)

    def __call__(self):
        return list(self.current)


def _no_path_building(store: TrustStore, monkeypatch) -> None:
    """Make any (re)building of a certificate path fail the test: what follows must hit the cache."""
    def boom(*a, **k):
        raise AssertionError("the certificate path was rebuilt instead of taken from the cache")
    monkeypatch.setattr(store, "_issuer_of", boom)


# --- TrustStore path cache ---------------------------------------------------------------------------
def test_path_is_cached_and_equal_der_hits(pki, monkeypatch):
    cert = pki.credential("cache-a", "sign").cert
    store = TrustStore([pki.root.cert], crls=[pki.crl()])
    path = store.validate(cert, purpose="sign", at=REFERENCE_TIME)
    assert path == [cert, pki.root.cert] and path[0] is cert
    _no_path_building(store, monkeypatch)
    again = x509.load_der_x509_certificate(cert.public_bytes(serialization.Encoding.DER))  # another object
    assert again is not cert
    path = store.validate(again, purpose="sign", at=REFERENCE_TIME)
    assert path[0] is again and path[1] == pki.root.cert


def test_revoked_after_caching_is_refused(pki):
    cert = pki.credential("cache-b", "sign").cert
    crls = _Crls(_crl(pki))
    store = TrustStore([pki.root.cert], crls=crls)
    store.validate(cert, purpose="sign", at=REFERENCE_TIME)
    store.validate(cert, purpose="sign", at=REFERENCE_TIME)  # cached path, cached CRL signature check
    crls.current = [_crl(pki, [cert.serial_number], number=2)]  # the CA revokes it
    with pytest.raises(CertificateRevoked):
        store.validate(cert, purpose="sign", at=REFERENCE_TIME)
    # membership is read from whatever CRL is current, on every call
    crls.current = [_crl(pki, number=3)]
    store.validate(cert, purpose="sign", at=REFERENCE_TIME)


def test_forged_crl_stays_ignored_and_a_genuine_one_applies(pki):
    cert = pki.credential("cache-c", "sign").cert
    forged = _crl(pki, [cert.serial_number], issuer=pki.impostor_root)  # same issuer name, wrong key
    crls = _Crls(forged)
    store = TrustStore([pki.root.cert], crls=crls)
    for _ in range(2):  # the failed CRL signature check is cached: still ignored
        store.validate(cert, purpose="sign", at=REFERENCE_TIME)
    crls.current = [forged, _crl(pki, [cert.serial_number])]
    with pytest.raises(CertificateRevoked):
        store.validate(cert, purpose="sign", at=REFERENCE_TIME)


def test_validity_is_checked_at_every_call_after_a_cached_success(pki, monkeypatch):
    cert = pki.credential("cache-d", "sign").cert
    store = TrustStore([pki.root.cert])
    store.validate(cert, purpose="sign", at=REFERENCE_TIME)
    _no_path_building(store, monkeypatch)
    with pytest.raises(CertificateExpired):
        store.validate(cert, purpose="sign", at=cert.not_valid_after_utc + timedelta(seconds=1))
    with pytest.raises(CertificateNotYetValid):
        store.validate(cert, purpose="sign", at=cert.not_valid_before_utc - timedelta(seconds=1))
    # the issuer's validity too: past the root's end the leaf is refused, whatever the cache holds
    root_end = pki.root.cert.not_valid_after_utc
    with pytest.raises(CertificateExpired):
        store.validate(cert, purpose="sign", at=root_end + timedelta(seconds=1))
    store.validate(cert, purpose="sign", at=REFERENCE_TIME)


def test_expired_variant_is_refused_after_caching_at_a_time_it_was_valid(pki):
    expired = pki.credential("cache-e", "sign", variant="expired").cert
    store = TrustStore([pki.root.cert])
    store.validate(expired, purpose="sign", at=expired.not_valid_before_utc + timedelta(days=1))  # cached
    with pytest.raises(CertificateExpired):
        store.validate(expired, purpose="sign", at=REFERENCE_TIME)


def test_key_usage_is_checked_at_every_call(pki):
    sign_cert = pki.credential("cache-f", "sign").cert
    store = TrustStore([pki.root.cert])
    store.validate(sign_cert, purpose="sign", at=REFERENCE_TIME)
    with pytest.raises(WrongKeyUsage):
        store.validate(sign_cert, purpose="encrypt", at=REFERENCE_TIME)


def test_untrusted_is_never_cached_and_anchor_changes_drop_the_cache(pki):
    untrusted = pki.credential("cache-g", "sign", variant="untrusted").cert
    valid = pki.credential("cache-g", "sign").cert
    store = TrustStore([pki.root.cert])
    for _ in range(2):
        with pytest.raises(UntrustedCertificate):
            store.validate(untrusted, purpose="sign", at=REFERENCE_TIME)
    store.validate(valid, purpose="sign", at=REFERENCE_TIME)  # cached
    store.anchors[:] = [pki.impostor_root.cert]  # the trusted root is withdrawn from the store
    with pytest.raises(UntrustedCertificate):
        store.validate(valid, purpose="sign", at=REFERENCE_TIME)
    store.validate(untrusted, purpose="sign", at=REFERENCE_TIME)  # now it is the impostor that is trusted
    store.anchors.append(pki.root.cert)
    store.validate(valid, purpose="sign", at=REFERENCE_TIME)
    store.clear_cache()
    store.validate(valid, purpose="sign", at=REFERENCE_TIME)


def test_cache_is_bounded(pki, monkeypatch):
    store = TrustStore([pki.root.cert])
    monkeypatch.setattr(store, "CACHE_SIZE", 2)
    certs = [pki.credential(f"cache-h{i}", "sign", "eddsa").cert for i in range(4)]
    for c in certs:
        store.validate(c, purpose="sign", at=REFERENCE_TIME)
    assert len(store._path_cache) == 2


# --- through the pipeline: BST parse cache + trust cache ----------------------------------------------
def _pack(pki, suite, *, sign=None):
    sign = sign or pki.credential(SENDER, "sign", suite)
    return pack(make_user_message(parts=[]), [Attachment("evidence@oots.eu", "application/pdf", b"%PDF-1.4 x" * 500)],
                sign_key=sign.key, sign_cert=sign.cert,
                recipient_cert=pki.credential(RECEIVER, "encrypt", suite).cert, suite=suite)


def _unpack(pki, packed, store, suite, body=None):
    return unpack(packed.content_type, packed.body if body is None else body, trust=store, at=REFERENCE_TIME,
                  decrypt_key=pki.credential(RECEIVER, "encrypt", suite).key)


@pytest.mark.parametrize("suite", ["rsa", "eddsa"])
def test_sender_revoked_after_cached_messages_is_refused(pki, suite):
    cert = pki.credential(SENDER, "sign", suite).cert
    crls = _Crls(_crl(pki))
    store = TrustStore([pki.root.cert], crls=crls)
    packed = _pack(pki, suite)
    for _ in range(2):
        assert _unpack(pki, packed, store, suite).sender_cert == cert
    crls.current = [_crl(pki, [cert.serial_number], number=2)]
    with pytest.raises(EbmsError) as info:
        _unpack(pki, packed, store, suite)
    assert info.value.code == "EBMS:0101" and "revoked" in str(info.value)
    with pytest.raises(EbmsError) as info:  # and at a time the certificate had expired
        unpack(packed.content_type, packed.body, trust=TrustStore([pki.root.cert]),
               at=cert.not_valid_after_utc + timedelta(days=1),
               decrypt_key=pki.credential(RECEIVER, "encrypt", suite).key)
    assert info.value.code == "EBMS:0101" and "expired" in str(info.value)


@pytest.mark.parametrize("suite", ["rsa", "eddsa"])
def test_swapped_or_damaged_token_after_a_cached_parse_is_refused(pki, suite):
    store = TrustStore([pki.root.cert])
    packed = _pack(pki, suite)
    _unpack(pki, packed, store, suite)  # the sender's BST text is now cached
    own = pki.credential(SENDER, "sign", suite).cert
    other = pki.credential("cache-other", "sign", suite).cert  # trusted, but did not sign
    b64 = lambda c: wssec._b64(c.public_bytes(serialization.Encoding.DER)).encode()  # noqa: E731
    assert b64(own) in packed.body
    with pytest.raises(EbmsError) as info:
        _unpack(pki, packed, store, suite, body=packed.body.replace(b64(own), b64(other)))
    assert info.value.code == "EBMS:0101" and "bad-signature" in str(info.value)
    damaged = re.sub(rb"(BinarySecurityToken[^>]*>MII)(.)",
                     lambda m: m.group(1) + (b"A" if m.group(2) != b"A" else b"B"), packed.body)
    assert damaged != packed.body
    with pytest.raises(EbmsError) as info:
        _unpack(pki, packed, store, suite, body=damaged)
    assert info.value.code in ("EBMS:0101", "EBMS:0102")
    _unpack(pki, packed, store, suite)  # the genuine message still passes


def test_token_cache_is_bounded():
    cache = wssec._TokenCache(size=2)
    for i in range(5):
        cache.put(str(i), object())  # type: ignore[arg-type]
    assert len(cache._items) == 2 and cache.get("4") is not None and cache.get("0") is None


# --- gunzip with the ISIZE hint -----------------------------------------------------------------------
def _with_isize(data: bytes, isize: int) -> bytes:
    return data[:-4] + (isize & 0xFFFFFFFF).to_bytes(4, "little")


@pytest.mark.parametrize("claimed", [0, 1, 100, 512 * 1024, 0xFFFFFFFF])
def test_bomb_with_a_lying_trailer_is_bounded(claimed):
    bomb = _with_isize(gzip_compress(b"\x00" * (10 * MB), level=9), claimed)
    limits = DecompressionLimits(max_size=1 * MB)
    tracemalloc.start()
    try:
        with pytest.raises(CompressionError) as ei:
            gzip_decompress(bomb, limits)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert ei.value.code == "EBMS:0303"
    assert peak < limits.max_size + 4 * limits.chunk_size, f"peak {peak} bytes"


def test_honest_part_in_one_call_and_lying_small_trailer_is_corrupt():
    data = bytes(range(256)) * 800  # 200 KB
    gz = gzip_compress(data)
    assert gzip_decompress(gz) == data
    with pytest.raises(CompressionError) as ei:
        gzip_decompress(_with_isize(gz, len(data) - 1))  # the gzip length check still runs
    assert ei.value.code == "EBMS:0303"
    # the exact limit still holds when the trailer announces the size
    assert gzip_decompress(gz, DecompressionLimits(max_size=len(data))) == data
    with pytest.raises(CompressionError):
        gzip_decompress(gz, DecompressionLimits(max_size=len(data) - 1))


def test_gzip_compress_is_deterministic_and_standard():
    import gzip
    data = b"<x>" + b"abc" * 50000 + b"</x>"
    assert gzip_compress(data) == gzip_compress(data)
    assert gzip.decompress(gzip_compress(data)) == data
