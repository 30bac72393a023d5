"""Shared fixtures for the AS4 security tests: one deterministic test PKI per session and message builders."""
from __future__ import annotations

import gzip
from pathlib import Path
from typing import Callable

import pytest
from lxml import etree

from simulators.as4.parts import Attachment
from simulators.pki import PKI

REPO = Path(__file__).resolve().parents[2]
PKI_SEED = "as4-tests"

NS_S12 = "http://www.w3.org/2003/05/soap-envelope"
NS_EB = "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/"
NS_WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"

_ENVELOPE = f"""<env:Envelope xmlns:env="{NS_S12}" xmlns:eb="{NS_EB}" xmlns:wsu="{NS_WSU}">
<env:Header>
<eb:Messaging env:mustUnderstand="true" wsu:Id="_messaging-1">
<eb:UserMessage>
<eb:MessageInfo><eb:Timestamp>2026-01-15T10:00:00.000Z</eb:Timestamp>
<eb:MessageId>3f2a0c1e-7d7b-4bde-9c59-0a5c4f1d2b6e@oots.eu</eb:MessageId></eb:MessageInfo>
<eb:PartyInfo>
<eb:From><eb:PartyId type="urn:oasis:names:tc:ebcore:partyid-type:unregistered">de-ap</eb:PartyId>
<eb:Role>http://sdg.europa.eu/edelivery/gateway</eb:Role></eb:From>
<eb:To><eb:PartyId type="urn:oasis:names:tc:ebcore:partyid-type:unregistered">fr-node</eb:PartyId>
<eb:Role>http://sdg.europa.eu/edelivery/gateway</eb:Role></eb:To>
</eb:PartyInfo>
<eb:CollaborationInfo><eb:Service type="urn:oasis:names:tc:ebcore:ebrs:ebms:binding:1.0">QueryManager</eb:Service>
<eb:Action>ExecuteQueryRequest</eb:Action><eb:ConversationId>conv-1</eb:ConversationId></eb:CollaborationInfo>
<eb:PayloadInfo>
<eb:PartInfo href="cid:regrep@oots.eu"><eb:PartProperties>
<eb:Property name="MimeType">application/x-ebrs+xml</eb:Property></eb:PartProperties></eb:PartInfo>
<eb:PartInfo href="cid:evidence@oots.eu"><eb:PartProperties>
<eb:Property name="MimeType">application/pdf</eb:Property>
<eb:Property name="CompressionType">application/gzip</eb:Property></eb:PartProperties></eb:PartInfo>
</eb:PayloadInfo>
</eb:UserMessage>
</eb:Messaging>
</env:Header>
<env:Body wsu:Id="_body-1"/>
</env:Envelope>""".encode()

# An XML payload whose exclusive c14n differs from its octets (declaration, comment, attribute order,
# quotes, an unused namespace): the SwA transform must digest the canonical form.
XML_PAYLOAD = b"""<?xml version='1.0' encoding='UTF-8'?>
<!-- query -->
<query:QueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:4.0" xmlns:unused="urn:x"
    id='q-1' lang="fr"><query:ResponseOption returnType="LeafClassWithRepositoryItem"/></query:QueryRequest>
"""
PDF_PAYLOAD = gzip.compress(b"%PDF-1.7\n" + bytes(range(256)) * 40, mtime=0)


@pytest.fixture(scope="session")
def pki() -> PKI:
    """The session's test PKI; RSA keys are cached on disk under .cache/pki (content is seed-determined)."""
    return PKI(PKI_SEED, cache_dir=REPO / ".cache" / "pki")


@pytest.fixture(scope="session")
def trust(pki):
    return pki.trust_store()


@pytest.fixture
def make_envelope() -> Callable[[], etree._Element]:
    """A fresh unsigned AS4 UserMessage envelope (SOAP 1.2, ``env`` prefix, empty Body with wsu:Id)."""
    return lambda: etree.fromstring(_ENVELOPE)


@pytest.fixture
def payloads() -> list[Attachment]:
    """An XML business document (uncompressed) and a gzip evidence part."""
    return [
        Attachment("regrep@oots.eu", "application/x-ebrs+xml", XML_PAYLOAD),
        Attachment("evidence@oots.eu", "application/gzip", PDF_PAYLOAD),
    ]
