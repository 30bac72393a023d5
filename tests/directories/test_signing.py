"""The directories' ES256 signer: keys derived from a public seed (no private PKI state), chain under the PKI."""
from __future__ import annotations

import asyncio
import inspect

import pytest

from simulators.directories import signing
from simulators.directories.client import AsyncDirectoryClient
from simulators.directories.service import DirectoryService
from simulators.directories.signing import cs_signer, seed_bytes
from simulators.pki import PKI

REF = "common-services.md §2; issue 4 (signer derived from a public seed)"


def _priv(s) -> int:
    return s.key.private_numbers().private_value


def test_signer_key_comes_from_the_public_seed(pki):
    assert "_seed" not in inspect.getsource(signing).replace("seed_bytes", "")  # no private PKI attribute read
    default = cs_signer(pki)
    assert _priv(default) == _priv(cs_signer(pki, seed=pki.seed)) == _priv(cs_signer(PKI(pki.seed)))
    assert seed_bytes(7) == seed_bytes("7") == b"7" and seed_bytes(b"\x00") == b"\x00"
    with pytest.raises(TypeError):
        seed_bytes(7.0)
    other = cs_signer(pki, seed="another seed")
    assert _priv(other) != _priv(default)
    assert other.chain[-1] == default.chain[-1] == pki.root.cert  # same root, other key
    assert _priv(cs_signer(pki, "expired")) == _priv(cs_signer(pki, "untrusted")) == _priv(default)


@pytest.mark.case("CS-027", ref=REF)
def test_service_with_explicit_signer_seed_still_verifies(catalogue, pki):
    async def run():
        async with DirectoryService(catalogue, pki, signer_seed=b"explicit") as svc:
            assert _priv(svc.signer()) == _priv(cs_signer(pki, seed=b"explicit")) != _priv(cs_signer(pki))
            ans = await AsyncDirectoryClient(svc.base_url, svc.trust_anchor_pem()).requirements("T1", "FR")
            assert ans.ok and ans.signature.trusted
    asyncio.run(run())
