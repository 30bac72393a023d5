"""WS-Security for eDelivery AS4: sign / verify and encrypt / decrypt an envelope and its SwA parts.

Built on lxml exclusive c14n, hashlib and ``cryptography`` (no Python XML-DSig library implements the
SwA 1.1 attachment transforms). What goes on the wire (spec ``as4-profile.md`` §4):

* :func:`sign` adds ``wsse:Security`` (``mustUnderstand="true"``) with a ``wsse:BinarySecurityToken``
  (X509v3) and one ``ds:Signature``: exc-c14n (``PrefixList`` = the SOAP prefix), ``rsa-sha256`` (suite
  ``rsa``) or ``eddsa-ed25519`` (suite ``eddsa``), SHA-256 References to the Body, to ``eb:Messaging`` and
  to ``cid:`` of every payload part (Attachment-Content-Signature-Transform; XML parts are digested
  after exclusive c14n of the document, SwA 1.1 §5.4.2, others as raw octets); KeyInfo is an STR
  ``wsse:Reference`` to the BST.
* :func:`encrypt` (after :func:`sign`) turns every part into ``IV(12) || ciphertext || tag(16)`` under a
  fresh AES-128-GCM key and adds, ahead of the signature, ``[BST of the recipient]``,
  ``xenc:EncryptedKey`` and one ``xenc:EncryptedData`` per part (Attachment-Content-Only,
  CipherReference ``cid:`` + Attachment-Ciphertext-Transform, ``MimeType`` = the original type), the
  Domibus order. Key transport: suite ``rsa`` RSA-OAEP (xmlenc11, MGF1-SHA256, SHA-256); suite
  ``eddsa`` X25519 + HKDF-SHA256 + AES key wrap (eDelivery AS4 2.0, see :func:`encrypt` for the
  parameters we chose: the spec digest marks them unverified).
* :func:`verify` and :func:`decrypt` are strict (allow-listed algorithms, every part covered, bounded
  sizes, no external dereferencing) and turn *every* failure into a :class:`SecurityError` carrying
  the ebMS code the receiver answers with: EBMS:0101 FailedAuthentication, EBMS:0102 FailedDecryption,
  EBMS:0103 PolicyNoncompliance.

Not supported (rejected with a SecurityError): X509PKIPathv1 tokens, ``wsu:Timestamp`` checks (Domibus
sends none), ECDSA signatures, ``Attachment-Complete`` transforms, EncryptedKeys for several recipients.
"""
from __future__ import annotations

import base64
import copy
import functools
import hashlib
import hmac
import os
import re
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Callable, Literal, Sequence
from urllib.parse import unquote

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap
from lxml import etree

from conformance.rules.xmlsafe import shared_parser

from ..pki import CertificateError, TrustStore
from .errors import EbmsError
from .parts import Attachment

# --- namespaces and algorithm URIs ---------------------------------------------------------------------
NS_S12 = "http://www.w3.org/2003/05/soap-envelope"
NS_EB = "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/"
NS_WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
NS_WSSE11 = "http://docs.oasis-open.org/wss/oasis-wss-wssecurity-secext-1.1.xsd"
NS_WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
NS_DS = "http://www.w3.org/2000/09/xmldsig#"
NS_DSIG11 = "http://www.w3.org/2009/xmldsig11#"
NS_DSIG_MORE = "http://www.w3.org/2021/04/xmldsig-more#"
NS_EC = "http://www.w3.org/2001/10/xml-exc-c14n#"
NS_XENC = "http://www.w3.org/2001/04/xmlenc#"
NS_XENC11 = "http://www.w3.org/2009/xmlenc11#"

_WSS10 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-"
X509V3 = _WSS10 + "x509-token-profile-1.0#X509v3"
X509_SKI = _WSS10 + "x509-token-profile-1.0#X509SubjectKeyIdentifier"
BASE64_BINARY = _WSS10 + "soap-message-security-1.0#Base64Binary"
TOKEN_ENCRYPTED_KEY = "http://docs.oasis-open.org/wss/oasis-wss-soap-message-security-1.1#EncryptedKey"
_SWA = "http://docs.oasis-open.org/wss/oasis-wss-SwAProfile-1.1#"
SWA_CONTENT_SIGNATURE = _SWA + "Attachment-Content-Signature-Transform"
SWA_CIPHERTEXT = _SWA + "Attachment-Ciphertext-Transform"
SWA_CONTENT_ONLY = _SWA + "Attachment-Content-Only"

EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
EDDSA_ED25519 = "http://www.w3.org/2021/04/xmldsig-more#eddsa-ed25519"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
AES128_GCM = "http://www.w3.org/2009/xmlenc11#aes128-gcm"
RSA_OAEP = "http://www.w3.org/2009/xmlenc11#rsa-oaep"
RSA_OAEP_MGF1P = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
MGF1_SHA256 = "http://www.w3.org/2009/xmlenc11#mgf1sha256"
MGF1_SHA1 = "http://www.w3.org/2009/xmlenc11#mgf1sha1"
X25519 = "http://www.w3.org/2021/04/xmldsig-more#x25519"
HKDF_URI = "http://www.w3.org/2021/04/xmldsig-more#hkdf"
HMAC_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"
KW_AES128 = "http://www.w3.org/2001/04/xmlenc#kw-aes128"

_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {SHA256: hashes.SHA256, SHA1: hashes.SHA1}
_HASHLIB: dict[str, Callable[[bytes], "hashlib._Hash"]] = {SHA256: hashlib.sha256, SHA1: hashlib.sha1}
_MGFS: dict[str, Callable[[], hashes.HashAlgorithm]] = {MGF1_SHA256: hashes.SHA256, MGF1_SHA1: hashes.SHA1}

Suite = Literal["rsa", "eddsa"]
KeyRef = Literal["bst", "issuer-serial", "ski"]
SIGNATURE_METHOD: dict[str, str] = {"rsa": RSA_SHA256, "eddsa": EDDSA_ED25519}

# --- limits (a hostile header must not make us hang or allocate without bound) ------------------------
MAX_REFERENCES = 64
MAX_TRANSFORMS = 4
MAX_ENCRYPTED_DATA = 256
MAX_TOKEN_B64 = 64 * 1024          # one base64 certificate, signature or wrapped key
MAX_XML_PART = 64 * 1024 * 1024    # largest XML payload we canonicalise
MAX_ID_LENGTH = 256

# --- errors --------------------------------------------------------------------------------------------
FAILED_AUTHENTICATION = "EBMS:0101"
FAILED_DECRYPTION = "EBMS:0102"
POLICY_NONCOMPLIANCE = "EBMS:0103"


class SecurityError(EbmsError):
    """A WS-Security failure: ``code`` is the ebMS error to answer with, ``reason`` a stable token
    (``digest-mismatch``, ``untrusted``, ``unsigned-part``...) for reports and tests."""

    def __init__(self, code: str, reason: str, detail: str = "", ref_to_message_id: str | None = None):
        self.reason = reason
        super().__init__(code, f"{reason}: {detail}" if detail else reason, ref_to_message_id)


def _auth(reason: str, detail: str = "") -> SecurityError:
    return SecurityError(FAILED_AUTHENTICATION, reason, detail)


def _policy(reason: str, detail: str = "") -> SecurityError:
    return SecurityError(POLICY_NONCOMPLIANCE, reason, detail)


def _decryption(reason: str, detail: str = "") -> SecurityError:
    return SecurityError(FAILED_DECRYPTION, reason, detail)


# --- policy --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Algorithms:
    """Allow-lists checked by :func:`verify` and :func:`decrypt` (anything else: EBMS:0103)."""

    c14n: frozenset[str] = frozenset({EXC_C14N})
    signature: frozenset[str] = frozenset({RSA_SHA256, EDDSA_ED25519})
    digest: frozenset[str] = frozenset({SHA256})
    data_encryption: frozenset[str] = frozenset({AES128_GCM})
    key_transport: frozenset[str] = frozenset({RSA_OAEP})
    oaep_digest: frozenset[str] = frozenset({SHA256})
    mgf: frozenset[str] = frozenset({MGF1_SHA256})
    key_agreement: frozenset[str] = frozenset({X25519})
    key_derivation: frozenset[str] = frozenset({HKDF_URI})
    prf: frozenset[str] = frozenset({HMAC_SHA256})
    key_wrap: frozenset[str] = frozenset({KW_AES128})
    min_rsa_bits: int = 2048


#: What we send and what the 1.15 / 2.0 profiles require.
STRICT = Algorithms()
#: STRICT plus the older key transport E115 lets a receiver accept (``rsa-oaep-mgf1p``, SHA-1 MGF/digest).
LENIENT_INBOUND = replace(
    STRICT,
    key_transport=STRICT.key_transport | {RSA_OAEP_MGF1P},
    oaep_digest=STRICT.oaep_digest | {SHA1},
    mgf=STRICT.mgf | {MGF1_SHA1},
)


# --- results -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SignedReference:
    """One verified ``ds:Reference``; ``element`` is a detached copy, ready for a receipt's NRI.

    ``source`` is the ``ds:Reference`` the copy is made from. With ``detached=False`` (what
    :func:`verify` returns) it is the element in the verified document, and the copy is only made on
    the first read of ``element`` (then kept: every read gives the same element); most received
    messages never need it, and a deep copy costs more than the rest of the Reference's handling.
    """

    uri: str
    transforms: tuple[str, ...]
    digest_method: str
    digest_value: str
    source: etree._Element = field(compare=False, repr=False)
    detached: bool = field(default=False, compare=False, repr=False)

    @functools.cached_property
    def element(self) -> etree._Element:
        """A detached deep copy of the ``ds:Reference`` (made once, on first access)."""
        return self.source if self.detached else copy.deepcopy(self.source)


@dataclass(frozen=True)
class VerifyResult:
    cert: x509.Certificate
    signature_method: str
    references: tuple[SignedReference, ...]


# --- small XML helpers ---------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)  # a few dozen names: built once, not on every lookup
def _q(ns: str, local: str) -> str:
    return "{%s}%s" % (ns, local)


WSU_ID = _q(NS_WSU, "Id")
_S_ENVELOPE, _S_HEADER, _S_BODY = _q(NS_S12, "Envelope"), _q(NS_S12, "Header"), _q(NS_S12, "Body")
_S_MU, _S_ROLE = _q(NS_S12, "mustUnderstand"), _q(NS_S12, "role")
_EB_MESSAGING = _q(NS_EB, "Messaging")
_SECURITY, _BST = _q(NS_WSSE, "Security"), _q(NS_WSSE, "BinarySecurityToken")
_STR = _q(NS_WSSE, "SecurityTokenReference")
_WSSE_REF, _KEY_IDENT = _q(NS_WSSE, "Reference"), _q(NS_WSSE, "KeyIdentifier")


@functools.lru_cache(maxsize=None)
def _DS(local: str) -> str:  # noqa: N802 - reads like the other tag constants
    return _q(NS_DS, local)


@functools.lru_cache(maxsize=None)
def _XENC(local: str) -> str:  # noqa: N802
    return _q(NS_XENC, local)


_DS_SIGNATURE, _DS_SIGNED_INFO, _DS_SIGNATURE_VALUE = _DS("Signature"), _DS("SignedInfo"), _DS("SignatureValue")
_DS_C14N_METHOD, _DS_SIGNATURE_METHOD, _DS_KEY_INFO = _DS("CanonicalizationMethod"), _DS("SignatureMethod"), _DS("KeyInfo")
_DS_REFERENCE, _DS_TRANSFORMS, _DS_TRANSFORM = _DS("Reference"), _DS("Transforms"), _DS("Transform")
_DS_DIGEST_METHOD, _DS_DIGEST_VALUE = _DS("DigestMethod"), _DS("DigestValue")

_XENC_ENCRYPTED_DATA, _XENC_ENCRYPTED_KEY = _XENC("EncryptedData"), _XENC("EncryptedKey")
_XENC_REFERENCE_LIST, _XENC_DATA_REFERENCE = _XENC("ReferenceList"), _XENC("DataReference")
_XENC_ENCRYPTION_METHOD, _XENC_CIPHER_DATA = _XENC("EncryptionMethod"), _XENC("CipherData")
_XENC_ORIGINATOR, _XENC11_KDM = _XENC("OriginatorKeyInfo"), _q(NS_XENC11, "KeyDerivationMethod")
_HKDF_PRF, _HKDF_SALT = _q(NS_DSIG_MORE, "PRF"), _q(NS_DSIG_MORE, "Salt")
_HKDF_INFO, _HKDF_KEY_LENGTH = _q(NS_DSIG_MORE, "Info"), _q(NS_DSIG_MORE, "KeyLength")
_HKDF_PARAMS, _DSIG11_DER_KEY = _q(NS_DSIG_MORE, "HKDFParams"), _q(NS_DSIG11, "DEREncodedKeyValue")
#: DER SubjectPublicKeyInfo of an X25519 key up to the 32 key bytes (RFC 8410: SEQUENCE { SEQUENCE { OID
#: 1.3.101.110 }, BIT STRING }): every X25519 SPKI is these 12 bytes followed by the key
_X25519_SPKI_PREFIX = bytes.fromhex("302a300506032b656e032100")

_ULTIMATE_RECEIVER = "http://www.w3.org/2003/05/soap-envelope/role/ultimateReceiver"
_NCNAME = re.compile(r"[A-Za-z_][\w.\-]*")



def _new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4()}"


def _root(envelope: etree._Element | etree._ElementTree) -> etree._Element:
    root = envelope.getroot() if isinstance(envelope, etree._ElementTree) else envelope
    if not isinstance(root, etree._Element) or root.tag != _S_ENVELOPE:
        raise ValueError("not a SOAP 1.2 env:Envelope")
    return root


def _find(parent: etree._Element, tag: str) -> etree._Element | None:
    """``parent.find(tag)`` for one plain (Clark) tag, without the ElementPath machinery."""
    return next(parent.iterchildren(tag), None)


def _children(parent: etree._Element, tag: str) -> list[etree._Element]:
    return list(parent.iterchildren(tag))  # the tag filter runs in lxml, not in Python


def _one(parent: etree._Element, tag: str, what: str, err: Callable[[str, str], SecurityError] = _auth):
    found = _children(parent, tag)
    if len(found) != 1:
        raise err("malformed", f"expected one {what}, found {len(found)}")
    return found[0]


def _kids(parent: etree._Element) -> dict[object, list[etree._Element]]:
    """The children of ``parent`` grouped by tag, in document order. One pass over the children costs
    about what one tag-filtered ``iterchildren`` does: cheaper as soon as two names are looked up."""
    out: dict[object, list[etree._Element]] = {}
    for child in parent:
        found = out.get(child.tag)
        if found is None:
            out[child.tag] = [child]
        else:
            found.append(child)
    return out


_NONE: tuple = ()


def _one_of(kids: dict[object, list[etree._Element]], tag: str, what: str,
            err: Callable[[str, str], SecurityError] = _auth) -> etree._Element:
    """:func:`_one` on children grouped by :func:`_kids`."""
    found = kids.get(tag, _NONE)
    if len(found) != 1:
        raise err("malformed", f"expected one {what}, found {len(found)}")
    return found[0]


def _b64decode(text: str | None, what: str, limit: int = MAX_TOKEN_B64,
               err: Callable[[str, str], SecurityError] = _auth) -> bytes:
    raw = "".join((text or "").split())  # every (Unicode) whitespace out, as re ``\s`` would
    if not raw or len(raw) > limit:
        raise err("malformed", f"{what}: empty or longer than {limit} base64 characters")
    try:
        return base64.b64decode(raw, validate=True)
    except ValueError as exc:
        raise err("malformed", f"{what}: invalid base64") from exc


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _c14n_as_on_the_wire(el: etree._Element, prefixes: Sequence[str]) -> bytes:
    """Exclusive c14n of ``el`` as a receiver computes it on the serialised document.

    lxml (libxml2 2.14) leaves out an in-scope namespace named in the InclusiveNamespaces PrefixList when
    the document root was built with ``etree.Element`` rather than parsed, so a signature computed on a
    built tree would not verify on the wire. Re-parsing the (small: attachments are apart) envelope gives
    the wire form.
    """
    steps = []
    node = el
    while node.getparent() is not None:
        steps.append(node.getparent().index(node))
        node = node.getparent()
    wire = etree.fromstring(etree.tostring(node), shared_parser())
    for i in reversed(steps):
        wire = wire[i]
    return _c14n(wire, prefixes)


_INCLUSIVE_NAMESPACES = "{%s}InclusiveNamespaces" % NS_EC


def _c14n(el: etree._Element, prefixes: Sequence[str] = ()) -> bytes:
    return etree.tostring(el, method="c14n", exclusive=True, with_comments=False,
                          inclusive_ns_prefixes=list(prefixes) or None)


def _prefix_list(parent: etree._Element) -> list[str]:
    inc = next(parent.iterchildren(_INCLUSIVE_NAMESPACES), None)
    return (inc.get("PrefixList") or "").split() if inc is not None else []


def is_xml_type(content_type: str) -> bool:
    """True for ``application/xml``, ``text/xml`` and ``*/*+xml`` (parameters ignored)."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media in ("application/xml", "text/xml") or media.endswith("+xml")


def attachment_octets(att: Attachment) -> bytes:
    """What the Attachment-Content-Signature-Transform digests: exc-c14n of an XML part's document
    (no comments; DTDs refused), the raw octets of any other part. Raises ValueError on bad XML."""
    if not is_xml_type(att.content_type):
        return att.data
    if len(att.data) > MAX_XML_PART:
        raise ValueError(f"XML part larger than {MAX_XML_PART} bytes")
    root = etree.fromstring(att.data, shared_parser())
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise ValueError("XML part carries a DTD")
    return etree.tostring(tree, method="c14n", exclusive=True, with_comments=False)


def _envelope_parts(root: etree._Element) -> tuple[etree._Element, etree._Element, etree._Element]:
    header, body, messaging, _securities = _envelope_and_security(root)
    return header, body, messaging


def _envelope_and_security(root: etree._Element
                           ) -> tuple[etree._Element, etree._Element, etree._Element, list[etree._Element]]:
    """Header, Body, ``eb:Messaging`` and the ``wsse:Security`` headers meant for us, in one pass over
    the envelope's and the header's children. Raises ValueError when the envelope is malformed."""
    kids = _kids(root)
    header = kids.get(_S_HEADER, _NONE)
    body = kids.get(_S_BODY, _NONE)
    if len(header) != 1 or len(body) != 1:
        raise ValueError("envelope needs exactly one env:Header and one env:Body")
    head = _kids(header[0])
    messaging = head.get(_EB_MESSAGING, _NONE)
    if len(messaging) != 1:
        raise ValueError(f"env:Header needs exactly one eb:Messaging, found {len(messaging)}")
    securities = [s for s in head.get(_SECURITY, _NONE) if s.get(_S_ROLE) in (None, "", _ULTIMATE_RECEIVER)]
    return header[0], body[0], messaging[0], securities


def _security_headers(header: etree._Element) -> list[etree._Element]:
    """``wsse:Security`` headers meant for us (no role, or the ultimate receiver)."""
    return [s for s in _children(header, _SECURITY) if s.get(_S_ROLE) in (None, "", _ULTIMATE_RECEIVER)]


def _get_or_create_security(header: etree._Element) -> etree._Element:
    found = _security_headers(header)
    if len(found) > 1:
        raise ValueError("more than one wsse:Security header")
    if found:
        return found[0]
    sec = etree.SubElement(header, _SECURITY, nsmap={"wsse": NS_WSSE, "wsu": NS_WSU})
    sec.set(_S_MU, "true")
    header.insert(0, sec)  # moves it first, ahead of eb:Messaging
    return sec


def _element_id(el: etree._Element) -> str | None:
    return el.get(WSU_ID) or el.get("Id")


def _ensure_id(el: etree._Element, prefix: str, new_id: Callable[[str], str]) -> str:
    ident = _element_id(el)
    if ident is None:
        ident = new_id(prefix)
        el.set(WSU_ID, ident)
    return ident


_DUPLICATE = object()


# every unqualified ``Id`` and ``wsu:Id`` attribute of the subtree (the context element included)
_ID_ATTRIBUTES = etree.XPath("descendant-or-self::*/@Id | descendant-or-self::*/@wsu:Id", namespaces={"wsu": NS_WSU})


def _id_index(root: etree._Element) -> dict[str, object]:
    """id -> element over ``wsu:Id`` and unqualified ``Id`` (as WSS4J resolves); duplicates marked.
    (One XPath over the attributes: visiting every element from Python costs four times as much.)"""
    index: dict[str, object] = {}
    for attr in _ID_ATTRIBUTES(root):
        el = attr.getparent()
        value = str(attr)
        prev = index.get(value)
        index[value] = el if prev is None or prev is el else _DUPLICATE
    return index


def _bst(parent: etree._Element, cert: x509.Certificate, new_id: Callable[[str], str]) -> etree._Element:
    bst = etree.SubElement(parent, _BST, EncodingType=BASE64_BINARY, ValueType=X509V3)
    bst.set(WSU_ID, new_id("X509"))
    bst.text = _b64(cert.public_bytes(serialization.Encoding.DER))
    return bst


def _str_to_bst(parent: etree._Element, bst_id: str, new_id: Callable[[str], str] | None = None) -> None:
    ref = etree.SubElement(parent, _STR)
    if new_id is not None:
        ref.set(WSU_ID, new_id("STR"))
    etree.SubElement(ref, _WSSE_REF, URI="#" + bst_id, ValueType=X509V3)


def _ski(cert: x509.Certificate) -> bytes:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest


def _normalise_dn(dn: str) -> str:
    return re.sub(r"\s*([,=+])\s*", r"\1", dn.strip()).lower()


# --- sign ----------------------------------------------------------------------------------------------
def sign(
    envelope: etree._Element | etree._ElementTree,
    attachments: Sequence[Attachment],
    key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey,
    cert: x509.Certificate,
    suite: Suite = "rsa",
    *,
    new_id: Callable[[str], str] | None = None,
) -> tuple[SignedReference, ...]:
    """Sign Body, ``eb:Messaging`` and every attachment in place; return the References made.

    Adds missing ``wsu:Id``s (``new_id(prefix)`` makes them; default ``<prefix>-<uuid4>``). Raises
    ValueError on a programming error (no Messaging, key/cert mismatch, already signed, bad XML part).
    """
    new_id = new_id or _new_id
    root = _root(envelope)
    header, body, messaging = _envelope_parts(root)
    _check_signing_key(key, cert, suite)
    refs = [("#" + _ensure_id(body, "body", new_id), [EXC_C14N], _c14n(body)),
            ("#" + _ensure_id(messaging, "messaging", new_id), [EXC_C14N], _c14n(messaging))]
    for att in attachments:
        refs.append((att.href, [SWA_CONTENT_SIGNATURE], attachment_octets(att)))
    security = _get_or_create_security(header)
    if _children(security, _DS("Signature")):
        raise ValueError("the message is already signed")
    bst = _bst(security, cert, new_id)

    sig = etree.SubElement(security, _DS("Signature"), nsmap={"ds": NS_DS})
    sig.set("Id", new_id("SIG"))
    signed_info = etree.SubElement(sig, _DS("SignedInfo"))
    c14n_method = etree.SubElement(signed_info, _DS("CanonicalizationMethod"), Algorithm=EXC_C14N)
    prefixes = [root.prefix] if root.prefix else []
    if prefixes:
        etree.SubElement(c14n_method, _q(NS_EC, "InclusiveNamespaces"), PrefixList=" ".join(prefixes),
                         nsmap={"ec": NS_EC})
    etree.SubElement(signed_info, _DS("SignatureMethod"), Algorithm=SIGNATURE_METHOD[suite])
    out = []
    for uri, transforms, octets in refs:
        ref = etree.SubElement(signed_info, _DS("Reference"), URI=uri)
        tr = etree.SubElement(ref, _DS("Transforms"))
        for alg in transforms:
            etree.SubElement(tr, _DS("Transform"), Algorithm=alg)
        etree.SubElement(ref, _DS("DigestMethod"), Algorithm=SHA256)
        digest = _b64(hashlib.sha256(octets).digest())
        etree.SubElement(ref, _DS("DigestValue")).text = digest
        out.append(SignedReference(uri, tuple(transforms), SHA256, digest, copy.deepcopy(ref), detached=True))
    value = etree.SubElement(sig, _DS("SignatureValue"))
    key_info = etree.SubElement(sig, _DS("KeyInfo"), Id=new_id("KI"))
    _str_to_bst(key_info, bst.get(WSU_ID), new_id)

    data = _c14n_as_on_the_wire(signed_info, prefixes)
    if suite == "rsa":
        value.text = _b64(key.sign(data, padding.PKCS1v15(), hashes.SHA256()))
    else:
        value.text = _b64(key.sign(data))
    return tuple(out)


def _check_signing_key(key, cert: x509.Certificate, suite: Suite) -> None:
    expected = {"rsa": rsa.RSAPrivateKey, "eddsa": ed25519.Ed25519PrivateKey}.get(suite)
    if expected is None:
        raise ValueError(f"unknown suite {suite!r}")
    if not isinstance(key, expected):
        raise ValueError(f"suite {suite} needs a {expected.__name__}")
    raw = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*raw) != cert.public_key().public_bytes(*raw):
        raise ValueError("the certificate does not match the signing key")


# --- verify --------------------------------------------------------------------------------------------
def verify(
    envelope: etree._Element | etree._ElementTree,
    attachments: Sequence[Attachment],
    trust: TrustStore,
    *,
    expected_cert: x509.Certificate | None = None,
    at: datetime | None = None,
    allowed: Algorithms = STRICT,
) -> VerifyResult:
    """Verify the one ``ds:Signature`` of the envelope over Body, Messaging and ``attachments``
    (pass the *decrypted* parts). Checks, in order: policy (algorithms, transforms, reference URIs,
    coverage of every part) -> EBMS:0103; signing certificate (resolved from KeyInfo, validated by
    ``trust`` for signing at ``at``, equal to ``expected_cert`` if given), SignatureValue and every
    digest -> EBMS:0101. Raises :class:`SecurityError` and nothing else."""
    try:
        return _verify(envelope, attachments, trust, expected_cert, at, allowed)
    except SecurityError:
        raise
    except Exception as exc:  # hardening: a malformed header is an authentication failure, not a crash
        raise _auth("malformed", f"{type(exc).__name__}: {exc}") from exc


@dataclass
class _Ref:
    element: etree._Element
    uri: str
    transforms: list[str]
    digest_method: str
    digest_value: bytes
    target: etree._Element | Attachment
    prefixes: list[str]


def _verify(envelope, attachments, trust, expected_cert, at, allowed: Algorithms) -> VerifyResult:
    try:
        root = _root(envelope)
        header, body, messaging, securities = _envelope_and_security(root)
    except ValueError as exc:
        raise _policy("unsigned-part", str(exc)) from exc
    if len(securities) != 1:
        raise _policy("no-security" if not securities else "multiple-security", f"{len(securities)} headers")
    security = securities[0]
    sigs = _children(security, _DS_SIGNATURE)
    if len(sigs) != 1:
        raise _policy("unsigned" if not sigs else "multiple-signatures", f"{len(sigs)} ds:Signature")
    sig = sigs[0]
    sig_kids = _kids(sig)
    signed_info = _one_of(sig_kids, _DS_SIGNED_INFO, "ds:SignedInfo")
    si_kids = _kids(signed_info)
    c14n_method = _one_of(si_kids, _DS_C14N_METHOD, "ds:CanonicalizationMethod")
    if c14n_method.get("Algorithm") not in allowed.c14n:
        raise _policy("c14n-algorithm", str(c14n_method.get("Algorithm")))
    sig_method = _one_of(si_kids, _DS_SIGNATURE_METHOD, "ds:SignatureMethod").get("Algorithm")
    if sig_method not in allowed.signature or sig_method not in (RSA_SHA256, EDDSA_ED25519):
        raise _policy("signature-algorithm", str(sig_method))

    index = _id_index(root)
    refs = _resolve_references(root, signed_info, attachments, allowed, index, si_kids.get(_DS_REFERENCE, _NONE))
    covered = {id(r.target) for r in refs}  # identity, as ``is``: the targets are alive in ``refs``
    for part, what in ((body, "env:Body"), (messaging, "eb:Messaging")):
        if id(part) not in covered:
            raise _policy("unsigned-part", f"{what} is not signed")
    for att in attachments:
        if id(att) not in covered:
            raise _policy("unsigned-part", f"attachment {att.href} is not signed")

    cert = _signing_cert(sig, security, root, expected_cert, index, sig_kids)
    try:
        trust.validate(cert, purpose="sign", at=at)
    except CertificateError as exc:
        raise _auth(exc.reason, str(exc)) from exc
    if expected_cert is not None and cert != expected_cert:
        raise _auth("unexpected-certificate",
                    f"signed by {cert.subject.rfc4514_string()}, expected {expected_cert.subject.rfc4514_string()}")

    signature = _b64decode(_one_of(sig_kids, _DS_SIGNATURE_VALUE, "ds:SignatureValue").text, "SignatureValue")
    data = _c14n(signed_info, _prefix_list(c14n_method))
    pub = cert.public_key()
    try:
        if sig_method == RSA_SHA256:
            if not isinstance(pub, rsa.RSAPublicKey):
                raise _auth("key-mismatch", "rsa-sha256 needs an RSA certificate")
            if pub.key_size < allowed.min_rsa_bits:
                raise _policy("weak-key", f"RSA {pub.key_size} bits")
            pub.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            if not isinstance(pub, ed25519.Ed25519PublicKey):
                raise _auth("key-mismatch", "eddsa-ed25519 needs an Ed25519 certificate")
            pub.verify(signature, data)
    except InvalidSignature as exc:
        raise _auth("bad-signature", "SignatureValue does not verify") from exc

    out = []
    for r in refs:
        if isinstance(r.target, Attachment):
            try:
                octets = attachment_octets(r.target)
            except (ValueError, etree.XMLSyntaxError) as exc:
                raise _auth("attachment-unreadable", f"{r.uri}: {exc}") from exc
        else:
            octets = _c14n(r.target, r.prefixes)
        digest = _HASHLIB[r.digest_method](octets).digest()
        if not hmac.compare_digest(digest, r.digest_value):
            raise _auth("digest-mismatch", r.uri)
        # the detached copy of the Reference (for a receipt) is made when first asked for
        out.append(SignedReference(r.uri, tuple(r.transforms), r.digest_method, _b64(r.digest_value), r.element))
    return VerifyResult(cert, sig_method, tuple(out))


def _resolve_references(root, signed_info, attachments: Sequence[Attachment], allowed: Algorithms,
                        index: dict[str, object] | None = None,
                        elements: Sequence[etree._Element] | None = None) -> list[_Ref]:
    if elements is None:
        elements = _children(signed_info, _DS_REFERENCE)
    if not elements:
        raise _policy("unsigned-part", "SignedInfo has no Reference")
    if len(elements) > MAX_REFERENCES:
        raise _policy("too-many-references", str(len(elements)))
    if index is None:
        index = _id_index(root)
    by_cid = {a.content_id: a for a in attachments}
    out = []
    for ref in elements:
        uri = ref.get("URI")
        ref_kids = _kids(ref)
        transforms_el = ref_kids.get(_DS_TRANSFORMS, _NONE)
        transform_nodes = [t for t in transforms_el[0] if t.tag == _DS_TRANSFORM] if transforms_el else []
        if len(transforms_el) > 1 or len(transform_nodes) > MAX_TRANSFORMS:
            raise _policy("transform", f"{uri}: too many transforms")
        transforms = [t.get("Algorithm") or "" for t in transform_nodes]
        digest_method = _one_of(ref_kids, _DS_DIGEST_METHOD, "ds:DigestMethod").get("Algorithm")
        if digest_method not in allowed.digest or digest_method not in _HASHES:
            raise _policy("digest-algorithm", f"{uri}: {digest_method}")
        digest_value = _b64decode(_one_of(ref_kids, _DS_DIGEST_VALUE, "ds:DigestValue").text, "DigestValue", 256)
        if uri is None:
            raise _policy("reference-uri", "Reference without URI")
        prefixes: list[str] = []
        if uri.startswith("#"):
            if transforms != [EXC_C14N] or EXC_C14N not in allowed.c14n:
                raise _policy("transform", f"{uri}: {transforms}")
            prefixes = _prefix_list(transform_nodes[0])
            ident = uri[1:]
            if len(ident) > MAX_ID_LENGTH or not _NCNAME.fullmatch(ident):
                raise _auth("unresolved-reference", uri[:80])
            target = index.get(ident)
            if target is _DUPLICATE:
                raise _auth("duplicate-id", uri)
            if target is None:
                raise _auth("unresolved-reference", uri)
        elif uri.startswith("cid:"):
            if transforms not in ([SWA_CONTENT_SIGNATURE], [SWA_CONTENT_SIGNATURE, EXC_C14N]):
                raise _policy("transform", f"{uri}: {transforms}")
            target = by_cid.get(unquote(uri[4:]))
            if target is None:
                raise _auth("unresolved-reference", f"{uri}: no such attachment")
        else:
            raise _policy("reference-uri", f"{uri[:80]!r}: only #id and cid: references are allowed")
        out.append(_Ref(ref, uri, transforms, digest_method, digest_value, target, prefixes))
    return out


def _signing_cert(sig, security, root, expected_cert: x509.Certificate | None,
                  index: dict[str, object] | None = None,
                  sig_kids: dict[object, list[etree._Element]] | None = None) -> x509.Certificate:
    key_info = _one_of(sig_kids if sig_kids is not None else _kids(sig), _DS_KEY_INFO, "ds:KeyInfo")
    token_ref = _one(key_info, _STR, "wsse:SecurityTokenReference")
    return _resolve_str(token_ref, security, root, expected_cert, _auth, index)


def _resolve_str(token_ref, security, root, known: x509.Certificate | None,
                 err: Callable[[str, str], SecurityError], index: dict[str, object] | None = None
                 ) -> x509.Certificate:
    """The certificate an STR designates: a BST of this Security header, or ``known`` when the STR
    names it by issuer/serial or SKI."""
    children = [c for c in token_ref if isinstance(c.tag, str)]
    if len(children) != 1:
        raise err("unresolved-key", f"STR must have one child, has {len(children)}")
    child = children[0]
    if child.tag == _WSSE_REF:
        uri = child.get("URI") or ""
        if not uri.startswith("#"):
            raise err("unresolved-key", f"STR reference {uri[:80]!r} is not local")
        target = (index if index is not None else _id_index(root)).get(uri[1:])
        if not isinstance(target, etree._Element) or target.tag != _BST or target.getparent() is not security:
            raise err("unresolved-key", f"{uri[:80]} is not a BinarySecurityToken of this Security header")
        if target.get("ValueType") != X509V3:
            raise err("unsupported-token", str(target.get("ValueType")))
        if target.get("EncodingType") not in (None, BASE64_BINARY):
            raise err("unsupported-token", str(target.get("EncodingType")))
        return _bst_certificate(target.text, err)
    if known is None:
        raise err("unresolved-key", f"{etree.QName(child).localname} needs a known certificate")
    if child.tag == _DS("X509Data"):
        iss = child.find(f"{_DS('X509IssuerSerial')}/{_DS('X509IssuerName')}")
        ser = child.find(f"{_DS('X509IssuerSerial')}/{_DS('X509SerialNumber')}")
        if iss is not None and ser is not None and (ser.text or "").strip().isdigit() and \
                int(ser.text.strip()) == known.serial_number and \
                _normalise_dn(iss.text or "") == _normalise_dn(known.issuer.rfc4514_string()):
            return known
        raise err("unresolved-key", "X509IssuerSerial does not name the known certificate")
    if child.tag == _KEY_IDENT and child.get("ValueType") == X509_SKI:
        if _b64decode(child.text, "KeyIdentifier", 1024, err) == _ski(known):
            return known
        raise err("unresolved-key", "SKI does not name the known certificate")
    raise err("unresolved-key", f"unsupported STR {etree.QName(child).localname}")


class _TokenCache:
    """Certificates parsed from BinarySecurityToken text: the same base64 text always gives the same
    (immutable) certificate, so its parse is done once (bounded LRU, thread-safe). Only successful
    parses are kept; what is done with the certificate (trust, signature) is not cached here."""

    MAX_TEXT = 16 * 1024  # larger tokens are parsed every time (the cache stays small)

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[str, x509.Certificate] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str) -> x509.Certificate | None:
        return self._items.get(text)

    def put(self, text: str, cert: x509.Certificate) -> None:
        with self._lock:
            self._items[text] = cert
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_TOKENS = _TokenCache()


def _bst_certificate(text: str | None, err: Callable[[str, str], SecurityError]) -> x509.Certificate:
    """The X.509 certificate of a BinarySecurityToken's base64 text (cached by that text)."""
    cert = _TOKENS.get(text) if text else None
    if cert is not None:
        return cert
    der = _b64decode(text, "BinarySecurityToken", err=err)
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise err("malformed", f"BinarySecurityToken is not an X.509 certificate: {exc}") from exc
    if len(text) <= _TokenCache.MAX_TEXT:  # type: ignore[arg-type]
        _TOKENS.put(text, cert)  # type: ignore[arg-type]
    return cert


# --- encrypt -------------------------------------------------------------------------------------------
#: HKDF ``Info`` we send (suite eddsa): binds the derived key to its use. Salt: 32 random bytes.
HKDF_INFO = KW_AES128.encode("ascii")
HKDF_KEY_LENGTH = 16  # bytes, written as KeyLength (go-as4 / RFC 9231bis draft); 128 (bits) also read


def encrypt(
    envelope: etree._Element | etree._ElementTree,
    attachments: Sequence[Attachment],
    recipient_cert: x509.Certificate,
    suite: Suite = "rsa",
    *,
    key_ref: KeyRef = "bst",
    new_id: Callable[[str], str] | None = None,
) -> list[Attachment]:
    """Encrypt every attachment for ``recipient_cert``; call after :func:`sign`. Returns the new parts
    (``application/octet-stream``, ``IV || ciphertext || tag``; same content ids and headers).

    ``key_ref`` says how the EncryptedKey names the recipient certificate: ``bst`` (a BST before the
    EncryptedKey, as Domibus does), ``issuer-serial`` or ``ski``. Suite ``eddsa``: an ephemeral X25519
    key (``dsig11:DEREncodedKeyValue`` in OriginatorKeyInfo) agrees with the recipient's, HKDF-SHA256
    (``dsig-more:HKDFParams``: PRF hmac-sha256, random 32-byte Salt, Info = :data:`HKDF_INFO`,
    KeyLength 16) derives a key-encryption key, kw-aes128 wraps the content key.
    """
    if not attachments:
        return []
    new_id = new_id or _new_id
    root = _root(envelope)
    header, _body, _messaging = _envelope_parts(root)
    pub = recipient_cert.public_key()
    if suite == "rsa" and not isinstance(pub, rsa.RSAPublicKey):
        raise ValueError("suite rsa needs an RSA recipient certificate")
    if suite == "eddsa" and not isinstance(pub, x25519.X25519PublicKey):
        raise ValueError("suite eddsa needs an X25519 recipient certificate")
    if suite not in ("rsa", "eddsa"):
        raise ValueError(f"unknown suite {suite!r}")
    security = _get_or_create_security(header)
    cek = AESGCM.generate_key(128)
    # built detached (in Domibus order), then moved to the head of wsse:Security
    holder = etree.Element("holder", nsmap={"wsse": NS_WSSE, "wsu": NS_WSU, "xenc": NS_XENC, "ds": NS_DS})
    bst_id = None
    if key_ref == "bst":
        bst_id = _bst(holder, recipient_cert, new_id).get(WSU_ID)
    ek = etree.SubElement(holder, _XENC("EncryptedKey"), nsmap={"xenc": NS_XENC})
    ek_id = new_id("EK")
    ek.set("Id", ek_id)
    method = etree.SubElement(ek, _XENC("EncryptionMethod"))
    key_info = etree.SubElement(ek, _DS("KeyInfo"), nsmap={"ds": NS_DS})
    if suite == "rsa":
        method.set("Algorithm", RSA_OAEP)
        etree.SubElement(method, _DS("DigestMethod"), Algorithm=SHA256, nsmap={"ds": NS_DS})
        etree.SubElement(method, _q(NS_XENC11, "MGF"), Algorithm=MGF1_SHA256, nsmap={"xenc11": NS_XENC11})
        _recipient_str(key_info, recipient_cert, key_ref, bst_id)
        wrapped = pub.encrypt(cek, padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None))
    else:
        method.set("Algorithm", KW_AES128)
        ephemeral = x25519.X25519PrivateKey.generate()
        salt = os.urandom(32)
        agreement = etree.SubElement(key_info, _XENC("AgreementMethod"), Algorithm=X25519)
        kdm = etree.SubElement(agreement, _q(NS_XENC11, "KeyDerivationMethod"), Algorithm=HKDF_URI,
                               nsmap={"xenc11": NS_XENC11})
        params = etree.SubElement(kdm, _q(NS_DSIG_MORE, "HKDFParams"), nsmap={"dsig-more": NS_DSIG_MORE})
        etree.SubElement(params, _q(NS_DSIG_MORE, "PRF"), Algorithm=HMAC_SHA256)
        etree.SubElement(params, _q(NS_DSIG_MORE, "Salt")).text = _b64(salt)
        etree.SubElement(params, _q(NS_DSIG_MORE, "Info")).text = _b64(HKDF_INFO)
        etree.SubElement(params, _q(NS_DSIG_MORE, "KeyLength")).text = str(HKDF_KEY_LENGTH)
        originator = etree.SubElement(agreement, _XENC("OriginatorKeyInfo"))
        etree.SubElement(originator, _q(NS_DSIG11, "DEREncodedKeyValue"), nsmap={"dsig11": NS_DSIG11}).text = \
            _b64(ephemeral.public_key().public_bytes(serialization.Encoding.DER,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
        _recipient_str(etree.SubElement(agreement, _XENC("RecipientKeyInfo")), recipient_cert, key_ref, bst_id)
        kek = _hkdf(ephemeral.exchange(pub), salt, HKDF_INFO, HKDF_KEY_LENGTH)
        wrapped = aes_key_wrap(kek, cek)
    etree.SubElement(etree.SubElement(ek, _XENC("CipherData")), _XENC("CipherValue")).text = _b64(wrapped)
    ref_list = etree.SubElement(ek, _XENC("ReferenceList"))

    out = []
    aes = AESGCM(cek)
    for att in attachments:
        ed_id = new_id("ED")
        etree.SubElement(ref_list, _XENC("DataReference"), URI="#" + ed_id)
        ed = etree.SubElement(holder, _XENC("EncryptedData"), Id=ed_id, MimeType=att.content_type,
                              Type=SWA_CONTENT_ONLY, nsmap={"xenc": NS_XENC})
        etree.SubElement(ed, _XENC("EncryptionMethod"), Algorithm=AES128_GCM)
        ki = etree.SubElement(ed, _DS("KeyInfo"), nsmap={"ds": NS_DS})
        token_ref = etree.SubElement(ki, _STR, nsmap={"wsse11": NS_WSSE11})
        token_ref.set(_q(NS_WSSE11, "TokenType"), TOKEN_ENCRYPTED_KEY)
        etree.SubElement(token_ref, _WSSE_REF, URI="#" + ek_id)
        cref = etree.SubElement(etree.SubElement(ed, _XENC("CipherData")), _XENC("CipherReference"), URI=att.href)
        etree.SubElement(etree.SubElement(cref, _XENC("Transforms")), _DS("Transform"), Algorithm=SWA_CIPHERTEXT)
        iv = os.urandom(12)
        out.append(Attachment(att.content_id, "application/octet-stream", iv + aes.encrypt(iv, att.data, None),
                              dict(att.headers)))
    for i, el in enumerate(list(holder)):
        security.insert(i, el)
    return out


def _recipient_str(parent: etree._Element, cert: x509.Certificate, key_ref: KeyRef, bst_id: str | None) -> None:
    if key_ref == "bst":
        _str_to_bst(parent, bst_id or "")
        return
    token_ref = etree.SubElement(parent, _STR)
    if key_ref == "issuer-serial":
        data = etree.SubElement(token_ref, _DS("X509Data"))
        iss = etree.SubElement(data, _DS("X509IssuerSerial"))
        etree.SubElement(iss, _DS("X509IssuerName")).text = cert.issuer.rfc4514_string()
        etree.SubElement(iss, _DS("X509SerialNumber")).text = str(cert.serial_number)
    elif key_ref == "ski":
        ident = etree.SubElement(token_ref, _KEY_IDENT, ValueType=X509_SKI, EncodingType=BASE64_BINARY)
        ident.text = _b64(_ski(cert))
    else:
        raise ValueError(f"unknown key_ref {key_ref!r}")


def _hkdf(shared: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    return HKDF(hashes.SHA256(), length, salt=salt, info=info).derive(shared)


# --- decrypt -------------------------------------------------------------------------------------------
def decrypt(
    envelope: etree._Element | etree._ElementTree,
    attachments: Sequence[Attachment],
    key: rsa.RSAPrivateKey | x25519.X25519PrivateKey,
    *,
    allowed: Algorithms = STRICT,
    require_encrypted: bool = True,
) -> list[Attachment]:
    """Decrypt the parts named by the EncryptedData of the Security header with our private ``key``.

    Returns ``attachments`` in the same order, decrypted ones with their ``MimeType`` restored; the
    envelope is not modified. With ``require_encrypted``, a part left unencrypted is EBMS:0103.
    Disallowed algorithms: EBMS:0103; anything else that fails: EBMS:0102. Raises only SecurityError.
    """
    try:
        return _decrypt(envelope, attachments, key, allowed, require_encrypted)
    except SecurityError:
        raise
    except Exception as exc:  # hardening: never let a malformed header escape as a crash
        raise _decryption("malformed", f"{type(exc).__name__}: {exc}") from exc


def _decrypt(envelope, attachments, key, allowed: Algorithms, require_encrypted: bool) -> list[Attachment]:
    try:
        root = _root(envelope)
    except ValueError as exc:
        raise _decryption("malformed", str(exc)) from exc
    headers = _children(root, _S_HEADER)
    if len(headers) != 1:
        raise _decryption("malformed", f"{len(headers)} env:Header")
    securities = _security_headers(headers[0])
    if len(securities) > 1:
        raise _policy("multiple-security", f"{len(securities)} headers")
    security = securities[0] if securities else None
    sec_kids = _kids(security) if security is not None else {}
    encrypted = sec_kids.get(_XENC_ENCRYPTED_DATA, _NONE)
    keys = sec_kids.get(_XENC_ENCRYPTED_KEY, _NONE)
    if not encrypted:
        if attachments and require_encrypted:
            raise _policy("unencrypted-part", f"{len(attachments)} part(s) and no EncryptedData")
        return list(attachments)
    if len(encrypted) > MAX_ENCRYPTED_DATA:
        raise _decryption("malformed", f"{len(encrypted)} EncryptedData")
    if len(keys) != 1:
        raise _decryption("encrypted-key", f"expected one xenc:EncryptedKey, found {len(keys)}")
    ek = keys[0]
    ek_kids = _kids(ek)
    ref_list = _one_of(ek_kids, _XENC_REFERENCE_LIST, "xenc:ReferenceList", _decryption)
    data_refs = {r.get("URI") for r in ref_list if r.tag == _XENC_DATA_REFERENCE}
    cek = _unwrap_key(ek, security, root, key, allowed, ek_kids)

    by_cid = {a.content_id: a for a in attachments}
    plain: dict[str, Attachment] = {}
    for ed in encrypted:
        if "#" + (ed.get("Id") or "") not in data_refs:
            raise _decryption("malformed", f"EncryptedData {ed.get('Id')!r} is not in the ReferenceList")
        if ed.get("Type") != SWA_CONTENT_ONLY:
            raise _policy("encryption-type", str(ed.get("Type")))
        ed_kids = _kids(ed)
        alg = _one_of(ed_kids, _XENC_ENCRYPTION_METHOD, "xenc:EncryptionMethod", _decryption).get("Algorithm")
        if alg not in allowed.data_encryption or alg != AES128_GCM:
            raise _policy("data-encryption-algorithm", str(alg))
        cipher_data = _one_of(ed_kids, _XENC_CIPHER_DATA, "xenc:CipherData", _decryption)
        cref = _one(cipher_data, _XENC("CipherReference"), "xenc:CipherReference", _decryption)
        transforms = [t.get("Algorithm") for t in cref.iter(_DS_TRANSFORM)]
        if transforms != [SWA_CIPHERTEXT]:
            raise _policy("transform", f"CipherReference transforms {transforms}")
        uri = cref.get("URI") or ""
        cid = unquote(uri[4:]) if uri.startswith("cid:") else None
        att = by_cid.get(cid) if cid is not None else None
        if att is None:
            raise _decryption("missing-part", f"CipherReference {uri[:80]!r} names no attachment")
        if cid in plain:
            raise _decryption("malformed", f"{uri} encrypted twice")
        if len(att.data) < 12 + 16:
            raise _decryption("bad-ciphertext", f"{uri}: shorter than IV + tag")
        try:
            data = AESGCM(cek).decrypt(att.data[:12], memoryview(att.data)[12:], None)  # no copy
        except InvalidTag as exc:
            raise _decryption("bad-ciphertext", f"{uri}: authentication tag mismatch") from exc
        plain[cid] = Attachment(att.content_id, ed.get("MimeType") or att.content_type, data, dict(att.headers))
    out = []
    for att in attachments:
        if att.content_id in plain:
            out.append(plain[att.content_id])
        elif require_encrypted:
            raise _policy("unencrypted-part", f"attachment {att.href} is not encrypted")
        else:
            out.append(att)
    return out


def _unwrap_key(ek, security, root, key, allowed: Algorithms,
                ek_kids: dict[object, list[etree._Element]] | None = None) -> bytes:
    if ek_kids is None:
        ek_kids = _kids(ek)
    method = _one_of(ek_kids, _XENC_ENCRYPTION_METHOD, "xenc:EncryptionMethod", _decryption)
    alg = method.get("Algorithm")
    wrapped = _b64decode(
        _one(_one_of(ek_kids, _XENC_CIPHER_DATA, "xenc:CipherData", _decryption), _XENC("CipherValue"),
             "xenc:CipherValue", _decryption).text, "CipherValue", 4096, _decryption)
    key_info = _one_of(ek_kids, _DS_KEY_INFO, "ds:KeyInfo", _decryption)
    if alg in (RSA_OAEP, RSA_OAEP_MGF1P):
        if alg not in allowed.key_transport:
            raise _policy("key-transport-algorithm", alg)
        digest_el = _find(method, _DS("DigestMethod"))
        digest = digest_el.get("Algorithm") if digest_el is not None else SHA1
        mgf_el = _find(method, _q(NS_XENC11, "MGF"))
        mgf = MGF1_SHA1 if alg == RSA_OAEP_MGF1P else (mgf_el.get("Algorithm") if mgf_el is not None else MGF1_SHA1)
        if digest not in allowed.oaep_digest or digest not in _HASHES:
            raise _policy("key-transport-algorithm", f"OAEP digest {digest}")
        if mgf not in allowed.mgf or mgf not in _MGFS:
            raise _policy("key-transport-algorithm", f"OAEP MGF {mgf}")
        if _find(method, _XENC("OAEPparams")) is not None:
            raise _policy("key-transport-algorithm", "OAEPparams (label) not supported")
        if not isinstance(key, rsa.RSAPrivateKey):
            raise _decryption("wrong-key", "RSA key transport but our key is not RSA")
        try:
            cek = key.decrypt(wrapped, padding.OAEP(padding.MGF1(_MGFS[mgf]()), _HASHES[digest](), None))
        except ValueError as exc:
            raise _decryption("key-unwrap-failed", "RSA-OAEP decryption failed (wrong key?)") from exc
    elif alg in (KW_AES128,):
        if alg not in allowed.key_wrap:
            raise _policy("key-wrap-algorithm", alg)
        agreement = _one(key_info, _XENC("AgreementMethod"), "xenc:AgreementMethod", _decryption)
        kek = _agree(agreement, key, allowed)
        try:
            cek = aes_key_unwrap(kek, wrapped)
        except InvalidUnwrap as exc:
            raise _decryption("key-unwrap-failed", "AES key unwrap failed (wrong key?)") from exc
    else:
        raise _policy("key-transport-algorithm", str(alg))
    if len(cek) != 16:
        raise _decryption("key-unwrap-failed", f"content key of {len(cek)} bytes for aes128-gcm")
    return cek


def _agree(agreement, key, allowed: Algorithms) -> bytes:
    if agreement.get("Algorithm") not in allowed.key_agreement or agreement.get("Algorithm") != X25519:
        raise _policy("key-agreement-algorithm", str(agreement.get("Algorithm")))
    agreement_kids = _kids(agreement)
    kdm = _one_of(agreement_kids, _XENC11_KDM, "xenc11:KeyDerivationMethod", _decryption)
    if kdm.get("Algorithm") not in allowed.key_derivation or kdm.get("Algorithm") != HKDF_URI:
        raise _policy("key-derivation-algorithm", str(kdm.get("Algorithm")))
    params = _kids(_one(kdm, _HKDF_PARAMS, "dsig-more:HKDFParams", _decryption))
    prf = params.get(_HKDF_PRF, (None,))[0]
    if prf is None or prf.get("Algorithm") not in allowed.prf or prf.get("Algorithm") != HMAC_SHA256:
        raise _policy("key-derivation-algorithm", f"HKDF PRF {None if prf is None else prf.get('Algorithm')}")
    salt_el, info_el = params.get(_HKDF_SALT, (None,))[0], params.get(_HKDF_INFO, (None,))[0]
    salt = _b64decode(salt_el.text, "HKDF Salt", 1024, _decryption) if salt_el is not None else None
    info = _b64decode(info_el.text, "HKDF Info", 1024, _decryption) if info_el is not None else b""
    length_el = params.get(_HKDF_KEY_LENGTH, (None,))[0]
    if length_el is not None and (length_el.text or "").strip() not in ("16", "128"):
        raise _decryption("malformed", f"HKDF KeyLength {length_el.text!r} is not 16 bytes / 128 bits")
    originator = _one_of(agreement_kids, _XENC_ORIGINATOR, "xenc:OriginatorKeyInfo", _decryption)
    der = _one(originator, _DSIG11_DER_KEY, "dsig11:DEREncodedKeyValue", _decryption)
    raw = _b64decode(der.text, "originator key", 1024, _decryption)
    try:
        if len(raw) == len(_X25519_SPKI_PREFIX) + 32 and raw.startswith(_X25519_SPKI_PREFIX):
            # the one DER form of an X25519 SubjectPublicKeyInfo: what load_der_public_key gives, cheaper
            eph = x25519.X25519PublicKey.from_public_bytes(raw[len(_X25519_SPKI_PREFIX):])
        else:
            eph = serialization.load_der_public_key(raw)
    except ValueError as exc:
        raise _decryption("malformed", f"originator key: {exc}") from exc
    if not isinstance(eph, x25519.X25519PublicKey):
        raise _decryption("malformed", "originator key is not X25519")
    if not isinstance(key, x25519.X25519PrivateKey):
        raise _decryption("wrong-key", "X25519 key agreement but our key is not X25519")
    try:
        shared = key.exchange(eph)
    except ValueError as exc:  # low-order point: all-zero shared secret
        raise _decryption("key-unwrap-failed", f"X25519: {exc}") from exc
    return _hkdf(shared, salt, info, 16)


__all__ = [
    "Algorithms", "LENIENT_INBOUND", "STRICT", "SecurityError", "SignedReference", "VerifyResult",
    "attachment_octets", "decrypt", "encrypt", "is_xml_type", "sign", "verify",
    "FAILED_AUTHENTICATION", "FAILED_DECRYPTION", "POLICY_NONCOMPLIANCE",
]
