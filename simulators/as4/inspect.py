"""``oots-harness as4 inspect``: look inside one raw AS4 message as captured on the wire.

Input: the HTTP body (SwA MIME). Its Content-Type comes from ``--content-type``, or from a header block
at the top of the file (``Content-Type: ...`` then a blank line; an HTTP request line and other
headers may precede it), or, failing both, is inferred from the body (``--boundary`` first line, or a
bare SOAP envelope) and said so.

What is shown: the ebMS header (parties, service/action, conversation, properties, PartInfos), every
MIME part (cid, type on the wire, sizes, compression, encryption), the signature (algorithm,
references, signer) checked against ``--trust`` anchors or, without them, only against the
certificate the message carries (and then it says "signer NOT checked against any trust anchor"),
decryption with ``--key``, and the Validator's findings on the ebMS header, on each decrypted XML
payload and on each payload against its header (pair checks).

Exit codes: 0 valid, 2 invalid (signature, decryption, decompression or a FATAL finding), 1 unreadable
(file missing, not MIME, no SOAP envelope) or a tool problem (bad ``--trust`` / ``--key``).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from lxml import etree

from ..pki import CertificateError, TrustStore
from . import wssec
from .compression import decompress_part
from .errors import EbmsError
from .message import parse
from .model import NS_EB, SignalMessage, UserMessage, format_timestamp
from .parts import Attachment

EXIT_OK, EXIT_UNREADABLE, EXIT_INVALID = 0, 1, 2
MAX_HEAD = 16 * 1024

_DS = "{%s}" % wssec.NS_DS
_XENC = "{%s}" % wssec.NS_XENC
_WSSE = "{%s}" % wssec.NS_WSSE
_S12 = "{%s}" % wssec.NS_S12
_HEADER_LINE = re.compile(rb"[A-Za-z0-9-]+:")
_START_LINE = re.compile(rb"(?:[A-Z]+ \S+ HTTP/\d(?:\.\d)?|HTTP/\d(?:\.\d)? \d{3}[^\r\n]*)\r?\n")
_KEY_PEM = re.compile(rb"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY-----.+?-----END \1PRIVATE KEY-----", re.S)
_ALG_NAMES = {v: k for k, v in vars(wssec).items() if isinstance(v, str) and v.startswith("http") and k.isupper()}


class Unreadable(Exception):
    """The input cannot be inspected at all (exit 1)."""


# --- reading ---------------------------------------------------------------------------------------------
@dataclass
class Capture:
    content_type: str
    body: bytes
    content_type_source: str  # "--content-type", "file header" or "inferred from the body"


def read_capture(path: str | Path, content_type: str | None = None) -> Capture:
    """The HTTP body and Content-Type of a captured message file. Raises :class:`Unreadable`."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise Unreadable(f"cannot read {path}: {exc.strerror or exc}") from None
    body, header_ct = _split_head(data)
    if content_type:
        return Capture(content_type.strip(), body, "--content-type")
    if header_ct:
        return Capture(header_ct, body, "file header")
    stripped = body.lstrip(b"\r\n\t \xef\xbb\xbf")
    if stripped.startswith(b"--"):
        boundary = stripped[2:].split(b"\n", 1)[0].strip().decode("latin-1")
        if boundary and len(boundary) <= 200 and '"' not in boundary:
            return Capture(f'multipart/related; type="application/soap+xml"; boundary="{boundary}"', body,
                           "inferred from the body")
    if stripped.startswith(b"<"):
        return Capture("application/soap+xml; charset=UTF-8", body, "inferred from the body")
    raise Unreadable("not a MIME message: no Content-Type given (--content-type or a 'Content-Type:' first "
                     "line), and the body starts neither with a MIME boundary nor with XML")


def _split_head(data: bytes) -> tuple[bytes, str | None]:
    """Strip a leading HTTP header block (optional start line, ``Name: value`` lines, blank line)."""
    m = _START_LINE.match(data)
    pos = m.end() if m else 0
    if not _HEADER_LINE.match(data, pos):
        return data, None
    ends = [i for i in (data.find(b"\r\n\r\n", pos, MAX_HEAD), data.find(b"\n\n", pos, MAX_HEAD)) if i != -1]
    if not ends:
        return data, None
    end = min(ends)
    head = data[pos:end].decode("latin-1")
    body = data[end + (4 if data.startswith(b"\r\n\r\n", end) else 2):]
    content_type, current = None, None
    for line in head.replace("\r\n", "\n").split("\n"):
        if line[:1] in (" ", "\t") and current == "content-type" and content_type is not None:
            content_type += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        if not sep:
            return data, None  # not a header block after all
        current = name.strip().lower()
        if current == "content-type" and content_type is None:
            content_type = value.strip()
    return body, content_type


def load_trust(path: str | Path) -> tuple[TrustStore, int]:
    """Anchors from a PEM file (one or more certificates), a DER file, or a directory of them."""
    p = Path(path)
    files = sorted(f for f in p.iterdir() if f.suffix.lower() in (".pem", ".crt", ".cer", ".der")) \
        if p.is_dir() else [p]
    certs: list[x509.Certificate] = []
    for f in files:
        try:
            data = f.read_bytes()
        except OSError as exc:
            raise Unreadable(f"cannot read trust anchor {f}: {exc.strerror or exc}") from None
        try:
            certs += x509.load_pem_x509_certificates(data) if b"-----BEGIN" in data \
                else [x509.load_der_x509_certificate(data)]
        except ValueError as exc:
            if p.is_dir():
                continue  # skip non-certificates of a directory
            raise Unreadable(f"{f} holds no X.509 certificate: {exc}") from None
    if not certs:
        raise Unreadable(f"no trust anchor certificate found in {path}")
    return TrustStore(certs), len(certs)


def load_key(path: str | Path):
    """Our private decryption key (RSA or X25519), PEM (first private key block) or DER, unencrypted."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise Unreadable(f"cannot read key {path}: {exc.strerror or exc}") from None
    m = _KEY_PEM.search(data)
    try:
        if m:
            return serialization.load_pem_private_key(m.group(0), None)
        return serialization.load_der_private_key(data, None)
    except TypeError:
        raise Unreadable(f"{path}: the private key is password-protected (give an unencrypted PEM)") from None
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise Unreadable(f"{path} holds no usable private key: {exc}") from None


# --- the report ------------------------------------------------------------------------------------------
@dataclass
class Report:
    source: dict[str, Any] = field(default_factory=dict)
    message: dict[str, Any] = field(default_factory=dict)
    parts: list[dict[str, Any]] = field(default_factory=list)
    security: dict[str, Any] = field(default_factory=dict)
    validation: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # each one makes the message invalid
    notes: list[str] = field(default_factory=list)
    tool_errors: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.problems:
            return EXIT_INVALID
        return EXIT_UNREADABLE if self.tool_errors else EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "message": self.message, "parts": self.parts, "security": self.security,
            "validation": self.validation, "problems": self.problems, "notes": self.notes,
            "tool_errors": self.tool_errors,
            "verdict": {EXIT_OK: "valid", EXIT_INVALID: "invalid", EXIT_UNREADABLE: "incomplete"}[self.exit_code],
        }


def inspect_message(content_type: str, body: bytes, *, trust: TrustStore | None = None,
                    trust_label: str | None = None, key=None, validator=None, at=None) -> Report:
    """Inspect one message; raises :class:`Unreadable` when there is no ebMS header to show."""
    rep = Report(source={"content_type": content_type, "size": len(body)})
    try:
        opened = parse(content_type, body)
    except EbmsError as exc:
        raise Unreadable(f"not a readable AS4 message: {exc}") from None
    envelope, msg = opened.envelope, opened.message
    rep.source["mime_parts"] = 1 + len(opened.attachments)
    rep.message = _describe_message(msg)
    security = envelope.find(f"{_S12}Header/{_WSSE}Security")
    encrypted = _encrypted_data(security)
    ek = security.find(_XENC + "EncryptedKey") if security is not None else None
    rep.security["encryption"] = None if ek is None else _alg_name(_attr(ek.find(_XENC + "EncryptionMethod")))

    # parts in PartInfo order (the leading business document first)
    atts = opened.attachments
    part_infos = msg.parts if isinstance(msg, UserMessage) else []
    if part_infos:
        by_cid = {a.content_id: a for a in atts}
        atts = [by_cid[p.content_id] for p in part_infos]
    for att, pi in zip(atts, part_infos):
        ed = encrypted.get(att.content_id)
        rep.parts.append({
            "cid": att.content_id, "wire_content_type": att.content_type, "wire_size": len(att.data),
            "mime_type": pi.mime_type, "compression": pi.get("CompressionType"),
            "character_set": pi.get("CharacterSet"), "encrypted": ed is not None,
            "encryption": None if ed is None else _alg_name(_attr(ed.find(_XENC + "EncryptionMethod"))),
        })

    # decryption
    plain: list[Attachment] | None = atts
    if encrypted:
        if key is None:
            plain = None
            rep.notes.append(f"{len(encrypted)} part(s) encrypted: give --key to decrypt, check their signature "
                             "digests and validate them")
            rep.security["decryption"] = "not attempted (no --key)"
        else:
            try:
                plain = wssec.decrypt(envelope, atts, key)
                rep.security["decryption"] = "ok"
            except wssec.SecurityError as exc:
                plain = None
                rep.security["decryption"] = f"FAILED {exc}"
                rep.problems.append(f"decryption failed: {exc}")
    elif atts:
        rep.notes.append("no part is encrypted (AS4-ENC-001 expects every payload part encrypted)")

    _check_signature(rep, envelope, security, plain, trust, trust_label, at)

    # decompression
    payloads: list[tuple[Attachment, Any]] = []
    if plain is not None:
        for info, att, pi in zip(rep.parts, plain, part_infos):
            info["decrypted_size"] = len(att.data) if info["encrypted"] else None
            try:
                out, _ = decompress_part(att, pi)
            except EbmsError as exc:
                rep.problems.append(f"cid:{att.content_id}: decompression failed: {exc}")
                continue
            info["size"] = len(out.data)
            info["content_type"] = out.content_type
            payloads.append((out, pi))

    _validate(rep, envelope, payloads, validator)
    return rep


def _attr(el, name: str = "Algorithm") -> str | None:
    return None if el is None else el.get(name)


def _alg_name(uri: str | None) -> str | None:
    if uri is None:
        return None
    return uri.rsplit("#", 1)[-1] if uri in _ALG_NAMES else uri


def _encrypted_data(security) -> dict[str, Any]:
    """cid -> xenc:EncryptedData of the Security header that names it."""
    out = {}
    if security is None:
        return out
    for ed in security.iterchildren(_XENC + "EncryptedData"):
        cref = ed.find(f"{_XENC}CipherData/{_XENC}CipherReference")
        uri = cref.get("URI", "") if cref is not None else ""
        if uri.startswith("cid:"):
            out[uri[4:]] = ed
    return out


def _describe_message(msg: UserMessage | SignalMessage) -> dict[str, Any]:
    info = msg.message_info
    d: dict[str, Any] = {
        "type": type(msg).__name__, "message_id": info.message_id,
        "timestamp": format_timestamp(info.timestamp), "ref_to_message_id": info.ref_to_message_id,
    }
    if isinstance(msg, UserMessage):
        party = lambda p: {"party_id": p.party_id, "type": p.party_type, "role": p.role,  # noqa: E731
                           "extra_ids": [list(x) for x in p.extra_ids]}
        d.update({
            "mpc": msg.mpc, "from": party(msg.from_party), "to": party(msg.to_party),
            "service": {"value": msg.service.value, "type": msg.service.type}, "action": msg.action,
            "conversation_id": msg.conversation_id,
            "agreement_ref": None if msg.agreement_ref is None else vars(msg.agreement_ref),
            "properties": [p._asdict() for p in msg.properties],
            "part_infos": [{"href": p.href, "properties": [q._asdict() for q in p.properties]} for p in msg.parts],
        })
    else:
        d["receipt"] = None if msg.receipt is None else {
            "references": [r.get("URI") for r in msg.receipt.references]}
        d["errors"] = [vars(e) for e in msg.errors]
    return d


# --- signature -------------------------------------------------------------------------------------------
def _signer(security) -> x509.Certificate | None:
    """The certificate the signature's KeyInfo points at (a BST of the Security header)."""
    if security is None:
        return None
    ref = security.find(f"{_DS}Signature/{_DS}KeyInfo/{_WSSE}SecurityTokenReference/{_WSSE}Reference")
    uri = ref.get("URI", "") if ref is not None else ""
    for bst in security.iterchildren(_WSSE + "BinarySecurityToken"):
        if "#" + (bst.get(wssec.WSU_ID) or bst.get("Id") or "") == uri:
            try:
                return x509.load_der_x509_certificate(base64.b64decode("".join((bst.text or "").split())))
            except ValueError:
                return None
    return None


def _check_signature(rep: Report, envelope, security, plain, trust, trust_label, at) -> None:
    sec = rep.security
    sig = security.find(_DS + "Signature") if security is not None else None
    if sig is None:
        sec["signature"] = "not signed"
        if rep.message.get("errors") and not rep.message.get("receipt"):
            rep.notes.append("the error signal is not signed (nothing binds it to its sender)")
        else:
            rep.problems.append("the message is not signed (EBMS:0103 PolicyNoncompliance)")
        return
    si = sig.find(_DS + "SignedInfo")
    sec["signature_method"] = _alg_name(_attr(si.find(_DS + "SignatureMethod")) if si is not None else None)
    sec["references"] = [r.get("URI") for r in si.iterchildren(_DS + "Reference")] if si is not None else []
    cert = _signer(security)
    if cert is not None:
        sec["signer"] = {
            "subject": cert.subject.rfc4514_string(), "issuer": cert.issuer.rfc4514_string(),
            "serial": format(cert.serial_number, "x"),
            "not_before": cert.not_valid_before_utc.isoformat(), "not_after": cert.not_valid_after_utc.isoformat(),
        }
    anchored = trust is not None
    store = trust if anchored else (TrustStore([cert]) if cert is not None else TrustStore([]))
    who = f"signer trusted by the anchors of {trust_label or '--trust'}" if anchored \
        else "signer NOT checked against any trust anchor"
    sec["trust"] = trust_label if anchored else None
    if plain is not None:
        try:
            wssec.verify(envelope, plain, store, at=at)
        except wssec.SecurityError as exc:
            sec["signature"] = f"INVALID {exc}"
            rep.problems.append(f"signature check failed: {exc}")
            return
        sec["signature"] = f"signature valid, {who}"
        return
    # parts encrypted and no key: SignatureValue and the header references only
    try:
        if cert is None:
            raise wssec.SecurityError(wssec.FAILED_AUTHENTICATION, "unresolved-key",
                                      "no BinarySecurityToken certificate to check the signature with")
        if anchored:
            try:
                trust.validate(cert, purpose="sign", at=at)
            except CertificateError as exc:
                raise wssec.SecurityError(wssec.FAILED_AUTHENTICATION, exc.reason, str(exc)) from None
        unchecked = _verify_without_parts(envelope, si, sig, cert)
    except wssec.SecurityError as exc:
        sec["signature"] = f"INVALID {exc}"
        rep.problems.append(f"signature check failed: {exc}")
        return
    sec["signature"] = (f"signature value and Body/Messaging digests valid, {who}; {len(unchecked)} attachment "
                        "digest(s) NOT checked (parts encrypted: give --key)")


def _verify_without_parts(envelope, si, sig, cert: x509.Certificate) -> list[str]:
    """Check SignatureValue and every ``#id`` reference digest; returns the unchecked ``cid:`` URIs."""
    def fail(reason: str, detail: str) -> wssec.SecurityError:
        return wssec.SecurityError(wssec.FAILED_AUTHENTICATION, reason, detail)

    cm = si.find(_DS + "CanonicalizationMethod")
    method = _attr(si.find(_DS + "SignatureMethod"))
    if _attr(cm) != wssec.EXC_C14N or method not in (wssec.RSA_SHA256, wssec.EDDSA_ED25519):
        raise wssec.SecurityError(wssec.POLICY_NONCOMPLIANCE, "signature-algorithm", f"{_attr(cm)} / {method}")
    data = _c14n(si, _prefixes(cm))
    try:
        value = base64.b64decode("".join((sig.findtext(_DS + "SignatureValue") or "").split()), validate=True)
        pub = cert.public_key()
        if method == wssec.RSA_SHA256 and isinstance(pub, rsa.RSAPublicKey):
            pub.verify(value, data, padding.PKCS1v15(), hashes.SHA256())
        elif method == wssec.EDDSA_ED25519 and isinstance(pub, ed25519.Ed25519PublicKey):
            pub.verify(value, data)
        else:
            raise fail("key-mismatch", f"{_alg_name(method)} with a {type(pub).__name__}")
    except (InvalidSignature, ValueError) as exc:
        raise fail("bad-signature", "SignatureValue does not verify") from exc
    ids = {}
    for el in envelope.iter():
        for attr in (wssec.WSU_ID, "Id"):
            if el.get(attr) is not None:
                ids.setdefault(el.get(attr), el)
    covered, unchecked = set(), []
    for ref in si.iterchildren(_DS + "Reference"):
        uri = ref.get("URI") or ""
        if uri.startswith("cid:"):
            unchecked.append(uri)
            continue
        target = ids.get(uri[1:]) if uri.startswith("#") else None
        if target is None:
            raise fail("unresolved-reference", uri[:80])
        if _attr(ref.find(_DS + "DigestMethod")) != wssec.SHA256:
            raise wssec.SecurityError(wssec.POLICY_NONCOMPLIANCE, "digest-algorithm", uri)
        transform = ref.find(f"{_DS}Transforms/{_DS}Transform")
        digest = hashlib.sha256(_c14n(target, _prefixes(transform))).digest()
        try:
            expected = base64.b64decode("".join((ref.findtext(_DS + "DigestValue") or "").split()))
        except ValueError:
            expected = b""
        if not hmac.compare_digest(digest, expected):
            raise fail("digest-mismatch", uri)
        covered.add(target.tag)
    for tag, what in ((_S12 + "Body", "env:Body"), ("{%s}Messaging" % NS_EB, "eb:Messaging")):
        if tag not in covered:
            raise wssec.SecurityError(wssec.POLICY_NONCOMPLIANCE, "unsigned-part", f"{what} is not signed")
    return unchecked


def _prefixes(parent) -> list[str]:
    inc = parent.find("{%s}InclusiveNamespaces" % wssec.NS_EC) if parent is not None else None
    return (inc.get("PrefixList") or "").split() if inc is not None else []


def _c14n(el, prefixes: list[str]) -> bytes:
    return etree.tostring(el, method="c14n", exclusive=True, with_comments=False,
                          inclusive_ns_prefixes=prefixes or None)


# --- validation ------------------------------------------------------------------------------------------
def _validate(rep: Report, envelope, payloads: list[tuple[Attachment, Any]], validator) -> None:
    from conformance.rules.findings import Severity
    from conformance.rules.xmlsafe import parse_bytes

    if validator is None:
        from conformance.rules.validator import Validator
        validator = Validator()
    messaging = envelope.find(f"{_S12}Header/{{{NS_EB}}}Messaging")

    def add(name: str, res) -> None:
        rep.validation.append({
            "name": name, "kind": res.kind, "version": res.version, "conformant": res.conformant,
            "tool_error": res.tool_error, "checks_run": len(res.checks_run),
            "findings": [f.to_dict() | {"line": f.line()} for f in res.findings],
        })
        fatal = [f for f in res.findings if f.severity is Severity.FATAL]
        if fatal:
            rep.problems.append(f"{name}: {len(fatal)} FATAL finding(s)")
        if res.tool_error:
            rep.tool_errors.append(f"{name}: {res.tool_error}")

    add("ebMS header", validator.validate_element(envelope, "ebMS header"))
    for att, _pi in payloads:
        if not (wssec.is_xml_type(att.content_type) or att.data.lstrip()[:1] == b"<"):
            continue  # binary evidence: nothing to validate
        name = f"cid:{att.content_id}"
        res = validator.validate_bytes(att.data, name, header=messaging)
        add(name, res)
        doc = parse_bytes(att.data)
        if doc.root is not None and res.kind in ("request", "response", "exception") and messaging is not None:
            add(f"{name} ~ eb:Messaging",
                validator.validate_pair_elements(doc.root, messaging, a_name=name, b_name="eb:Messaging"))


# --- rendering -------------------------------------------------------------------------------------------
def _n(size: int | None) -> str:
    return "-" if size is None else f"{size:,} B"


def render_text(rep: Report) -> str:
    out: list[str] = []
    w = out.append
    src = rep.source
    w(f"AS4 message {src.get('file', '')}  ({_n(src['size'])}; {src.get('mime_parts', '?')} MIME part(s); "
      f"Content-Type {src.get('content_type_source', 'given')})")
    w(f"  Content-Type: {src['content_type']}")
    m = rep.message
    w("")
    w(f"ebMS {m['type']}")
    rows = [("MessageId", m["message_id"]), ("Timestamp", m["timestamp"]), ("RefToMessageId", m["ref_to_message_id"])]
    if m["type"] == "UserMessage":
        def party(p):
            s = f"{p['party_id']} (type {p['type']}) role {p['role']}"
            return s + "".join(f"; extra PartyId {v} ({t})" for v, t in p["extra_ids"])
        svc = m["service"]
        rows += [("From", party(m["from"])), ("To", party(m["to"])),
                 ("Service", f"{svc['value']}" + (f" (type {svc['type']})" if svc["type"] else "")),
                 ("Action", m["action"]), ("ConversationId", m["conversation_id"]),
                 ("AgreementRef", m["agreement_ref"] and m["agreement_ref"]["value"]), ("MPC", m["mpc"])]
    for k, v in rows:
        if v is not None or k in ("MessageId", "Timestamp"):
            w(f"  {k:<15} {v}")
    if m["type"] == "UserMessage":
        w("  Properties")
        for p in m["properties"] or [{"name": "(none)", "value": "", "type": None}]:
            w(f"    {p['name']} = {p['value']}" + (f"  (type {p['type']})" if p["type"] else ""))
        w("  PayloadInfo")
        for pi in m["part_infos"]:
            props = ", ".join(f"{p['name']}={p['value']}" for p in pi["properties"])
            w(f"    {pi['href']}  {props}")
    else:
        if m.get("receipt") is not None:
            w(f"  Receipt        {len(m['receipt']['references'])} NonRepudiationInformation reference(s): "
              + ", ".join(str(u) for u in m["receipt"]["references"]))
        for e in m.get("errors", []):
            w(f"  Error          {e['error_code']} {e['short_description']} ({e['severity']}, {e['category']}): "
              f"{e['error_detail'] or e['description'] or ''}")
    if rep.parts:
        w("")
        w("Parts")
        for p in rep.parts:
            flags = [f"encrypted ({p['encryption']})" if p["encrypted"] else "NOT encrypted",
                     f"compressed ({p['compression']})" if p["compression"] else "not compressed"]
            w(f"  cid:{p['cid']}")
            w(f"    MimeType {p['mime_type']}; {', '.join(flags)}"
              + (f"; CharacterSet {p['character_set']}" if p["character_set"] else ""))
            w(f"    on the wire {p['wire_content_type']}, {_n(p['wire_size'])}; decrypted "
              f"{_n(p.get('decrypted_size'))}; payload {_n(p.get('size'))}")
    s = rep.security
    w("")
    w("Security")
    if "signature_method" in s:
        w(f"  signature      {s['signature_method']}, {len(s['references'])} reference(s): "
          + ", ".join(s["references"]))
    if "signer" in s:
        sg = s["signer"]
        w(f"  signer         {sg['subject']} (issuer {sg['issuer']}, serial {sg['serial']}, "
          f"valid {sg['not_before']} .. {sg['not_after']})")
    w(f"  encryption     {s.get('encryption') or 'none'}; decryption {s.get('decryption', 'not needed')}")
    w(f"  => {s.get('signature')}")
    if rep.validation:
        w("")
        w("Validation")
        for v in rep.validation:
            state = "tool error: " + v["tool_error"] if v["tool_error"] else \
                ("conformant" if v["conformant"] else "NOT conformant")
            kind = " ".join(x for x in (v["kind"], v["version"]) if x)
            w(f"  {v['name']}  [{kind}] {state}; {v['checks_run']} check(s), "
              f"{len(v['findings'])} finding(s)")
            for f in v["findings"]:
                w(f"    {f['line']}")
    for note in rep.notes:
        w(f"note: {note}")
    w("")
    d = rep.to_dict()
    w(f"Result: {d['verdict'].upper()}")
    for p in rep.problems:
        w(f"  - {p}")
    for t in rep.tool_errors:
        w(f"  - tool error: {t}")
    return "\n".join(out) + "\n"


# --- entry point -----------------------------------------------------------------------------------------
def main(file: str, *, content_type: str | None = None, trust: str | None = None, key: str | None = None,
         fmt: str = "text", out=None, err=None) -> int:
    """The ``as4 inspect`` command; returns the exit code. Never raises on bad input."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        cap = read_capture(file, content_type)
        store, label = None, None
        if trust:
            store, count = load_trust(trust)
            label = f"{trust} ({count} certificate(s))"
        priv = load_key(key) if key else None
        rep = inspect_message(cap.content_type, cap.body, trust=store, trust_label=label, key=priv)
    except Unreadable as exc:
        print(f"oots-harness as4 inspect: {exc}", file=err)
        return EXIT_UNREADABLE
    except Exception as exc:  # noqa: BLE001 - the promise is no traceback on any input
        print(f"oots-harness as4 inspect: unexpected {type(exc).__name__}: {exc}", file=err)
        return EXIT_UNREADABLE
    rep.source.update(file=str(file), content_type_source=cap.content_type_source)
    if fmt == "json":
        out.write(json.dumps(rep.to_dict(), indent=2, default=str) + "\n")
    else:
        out.write(render_text(rep))
    return rep.exit_code
