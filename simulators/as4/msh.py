"""The message service handler (MSH) of one simulated access point: receive, send, retry, deduplicate.

An :class:`AccessPoint` is one party of a :class:`~.pmode.PModeSet`, with its test-PKI credentials
(one suite), a :class:`~.routing.Router` and a :class:`DeliveryBackend`.

Receiving (``POST /msh``, also ``/domibus/services/msh``): the body is read up to ``max_body_size``,
then, in a worker thread and in Domibus order: MIME and ebMS header (:func:`.message.parse`), P-Mode
match (EBMS:0001/0003/0010; the ``To`` party must be this access point, else EBMS:0003), then
:func:`.message.unpack` (decrypt, verify against the PKI trust store *pinned to the certificate
registered for the From party*, AS4-SIG-006, else EBMS:0101; decompress). The pipeline itself stays
synchronous; only its call is moved off the event loop. A message passing all of that is delivered once per MessageId
(AS4-REL-001: a duplicate is verified again, then acknowledged and not delivered; a test-service
message is acknowledged and never delivered, AS4-REL-004) and answered synchronously with a signed
receipt (AS4-RCP-001..005). Nothing is acknowledged before verify/decrypt/decompress and delivery
succeeded.

Errors are answered as Domibus does: Domibus raises an ``EbMS3Exception`` wrapped in a
``WebServiceException``, its ``FaultInHandler`` replaces the response by a SOAP 1.2 message holding
the ``eb:SignalMessage``/``eb:Error`` and an ``env:Fault``, and CXF sends a fault with HTTP **500**.
We do the same (``error_status``, default 500): an ``application/soap+xml`` body with the error signal
(``refToMessageInError`` = the MessageId when it could be read) and a Fault; the signal is not signed.
An oversized body is never answered 413: it is EBMS:0004 (a local resource limit, see ``errors.py``)
in the same error envelope. Anything unexpected is EBMS:0004 "unknown error occurred", as Domibus.

Sending (:meth:`AccessPoint.send`): pack per the leg (compression flag; our suite; the recipient's
encryption certificate from the P-Mode), POST to the ``To`` party's endpoint and check the
synchronous receipt (signed by the peer's registered certificate, NRI matching what we signed).
Reception awareness: the *same* packed bytes (same MessageId) are resent per the leg's retry policy
(``ReceptionAwareness.retry_delays``; the ``sleep`` coroutine is injectable for a virtual clock) when
**no ebMS signal** came back — connection refused/reset, TLS failure, timeout, or an answer that is
not SOAP (empty body, HTML from a proxy...). When the attempts run out the sender raises
:class:`MissingReceiptError` (EBMS:0301, AS4-REL-002). An error signal from the peer is raised at
once as that :class:`EbmsError`, without retry: the peer read the message and would answer the same
again; this includes EBMS:0004, which we cannot tell apart from a permanent failure (codes listed in
``retry_codes`` are retried instead). A signal that is not a valid receipt raises EBMS:0302 without
retry for the same reason.

Transport: plain HTTP or HTTPS (``tls=`` on the server; the sender picks from the URL scheme).
TLS 1.2 is the minimum and 1.3 is allowed (AS4-TLS-001); the server certificate is issued by the PKI
root for 127.0.0.1 (:func:`tls_credential`, the PKI has no TLS purpose); a client certificate can be
required. Everything binds 127.0.0.1 on a free port.
"""
from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import os
import ssl
import tempfile
import time
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Awaitable, Callable, Iterable, Literal, Protocol, Sequence
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..pki import PKI, Credential, PartyCredentials, TrustStore, cert_pem, key_pem
from . import message as as4msg
from .errors import EbmsError, ErrorKind, PackagingError
from .mime import SOAP12_CONTENT_TYPE, MimeLimits, parse_content_type
from .model import OOTS, MessageInfo, Property, Service, SignalMessage, UserMessage
from .model import Party as EbParty
from .parts import Attachment
from .pmode import Leg, Party, PModeSet, ReceptionAwareness
from .receipts import InvalidReceiptError
from .routing import Router

log = logging.getLogger(__name__)

#: Paths the receiving endpoint answers on (ours, and the Domibus one).
MSH_PATHS = ("/msh", "/domibus/services/msh")
DEFAULT_MAX_BODY = 64 * 1024 * 1024
#: Domibus/CXF send an ebMS error (with its SOAP Fault) with HTTP 500.
DEFAULT_ERROR_STATUS = 500

Sleep = Callable[[float], Awaitable[object]]
WireHook = Callable[[str, bytes], "tuple[str, bytes]"]


# --- errors --------------------------------------------------------------------------------------------
class MissingReceiptError(EbmsError):
    """Sender side: no receipt after every attempt (EBMS:0301 MissingReceipt, AS4-REL-002).
    ``attempts`` says what happened each time."""

    def __init__(self, detail: str, ref_to_message_id: str | None = None,
                 attempts: Sequence[Attempt] = ()) -> None:
        super().__init__("EBMS:0301", detail, ref_to_message_id)
        self.attempts = list(attempts)


# --- records -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Attempt:
    """One POST of a message. ``status`` is the HTTP status (None without a response); ``error`` says
    why the attempt did not end with a valid receipt (None when it did)."""

    number: int
    url: str
    status: int | None
    error: str | None
    duration: float


@dataclass
class SendResult:
    """A message acknowledged by a valid receipt."""

    message_id: str
    url: str
    leg: str | None
    receipt: SignalMessage
    response_content_type: str
    response_body: bytes = field(repr=False)
    packed: as4msg.Packed = field(repr=False)
    attempts: list[Attempt] = field(default_factory=list)


@dataclass(frozen=True)
class WireEvent:
    """One HTTP exchange seen by an access point (for logs and replay bundles).

    ``direction`` is ``in`` (we served it) or ``out`` (we sent it). ``response_*`` are None when no
    response was received. ``tls_version`` is the negotiated protocol (``TLSv1.3``...) or None."""

    direction: Literal["in", "out"]
    url: str
    content_type: str
    body: bytes = field(repr=False)
    status: int | None
    response_content_type: str | None
    response_body: bytes | None = field(repr=False)
    tls_version: str | None = None
    error: str | None = None


@dataclass
class InboundOutcome:
    """What the receiving endpoint did with one request (also kept in :attr:`AccessPoint.inbound`)."""

    message_id: str | None
    status: int
    delivered: bool = False
    duplicate: bool = False
    error: EbmsError | None = None


# --- delivery backends ---------------------------------------------------------------------------------
class DeliveryBackend(Protocol):
    """Where received user messages go (the C3 -> C4 hand-over). Raising refuses the message: the
    sender gets EBMS:0202 DeliveryFailure and no receipt, and a resend may be delivered."""

    async def deliver(self, received: as4msg.Received) -> None: ...


class InMemoryBackend:
    """Keeps delivered messages in a list and an asyncio queue (create it inside the running loop
    or let it bind lazily on first use)."""

    def __init__(self) -> None:
        self.delivered: list[as4msg.Received] = []
        self._queue: asyncio.Queue[as4msg.Received] | None = None

    @property
    def queue(self) -> asyncio.Queue[as4msg.Received]:
        if self._queue is None:
            self._queue = asyncio.Queue()
        return self._queue

    async def deliver(self, received: as4msg.Received) -> None:
        self.delivered.append(received)
        self.queue.put_nowait(received)

    async def get(self, timeout: float | None = None) -> as4msg.Received:
        """The next delivered message (waits up to ``timeout`` seconds)."""
        return await asyncio.wait_for(self.queue.get(), timeout)

    def message_ids(self) -> list[str]:
        return [r.message_id for r in self.delivered]


# --- duplicate elimination -----------------------------------------------------------------------------
class DuplicateStore:
    """The MessageIds already delivered, bounded: the oldest are forgotten beyond ``max_entries``
    (Domibus forgets with its retention). Optionally keeps the receipt sent for each."""

    def __init__(self, max_entries: int = 10_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be positive")
        self.max_entries = max_entries
        self._ids: OrderedDict[str, tuple[str, bytes] | None] = OrderedDict()

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, message_id: str, receipt: tuple[str, bytes] | None = None) -> None:
        self._ids[message_id] = receipt
        self._ids.move_to_end(message_id)
        while len(self._ids) > self.max_entries:
            self._ids.popitem(last=False)

    def receipt(self, message_id: str) -> tuple[str, bytes] | None:
        """The (content type, body) of the receipt first sent for ``message_id``, if kept."""
        return self._ids.get(message_id)


# --- TLS -----------------------------------------------------------------------------------------------
#: TLS 1.2 suites we offer and accept: ECDHE/DHE with AEAD (E115 prefers ephemeral key exchange).
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20"
_TLS_DERIVATION = b"oots-harness/tls/v1"
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _tls_digest(pki: PKI, label: str) -> bytes:
    return hashlib.sha256(b"|".join((_TLS_DERIVATION, repr(pki.seed).encode("utf-8"),
                                     label.encode("utf-8")))).digest()


def tls_credential(
    pki: PKI,
    name: str = "msh-tls",
    *,
    hosts: Sequence[str] = ("127.0.0.1", "localhost"),
    client: bool = False,
) -> Credential:
    """A TLS certificate issued by the PKI root (the PKI has no TLS purpose): a P-256 key derived from
    the PKI seed and ``name``, SANs ``hosts`` (IP addresses or DNS names), EKU serverAuth (+ clientAuth
    with ``client``). Same PKI seed and arguments, same key and certificate."""
    key = ec.derive_private_key(int.from_bytes(_tls_digest(pki, "key:" + name), "big") % (_P256_ORDER - 1) + 1,
                                ec.SECP256R1())
    root = pki.root
    sans: list[x509.GeneralName] = []
    for h in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            sans.append(x509.DNSName(h))
    eku = [ExtendedKeyUsageOID.SERVER_AUTH] + ([ExtendedKeyUsageOID.CLIENT_AUTH] if client else [])
    t = pki.reference_time
    subject = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "EU"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "OOTS harness test PKI"),
        x509.NameAttribute(NameOID.COMMON_NAME, name),
    ])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(root.cert.subject).public_key(key.public_key())
        .serial_number(int.from_bytes(_tls_digest(pki, "serial:" + name)[:16], "big") >> 1 | 1)
        .not_valid_before(t - timedelta(days=365)).not_valid_after(t + timedelta(days=20 * 365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(eku), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root.key.public_key()), critical=False)
        .sign(root.key, hashes.SHA256())
    )
    return Credential(name, key, cert, (root.cert,))


def _load_chain(ctx: ssl.SSLContext, credential: Credential) -> None:
    """``SSLContext.load_cert_chain`` reads files only: write them to a private temporary directory."""
    with tempfile.TemporaryDirectory(prefix="msh-tls-") as tmp:
        cert_file, key_file = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        with open(cert_file, "wb") as fh:
            fh.write(cert_pem(credential.cert)
                     + b"".join(cert_pem(c) for c in credential.chain if c != credential.cert))
        with os.fdopen(os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as fh:
            fh.write(key_pem(credential.key))
        ctx.load_cert_chain(cert_file, key_file)


def _pem_bundle(certs: Iterable[x509.Certificate]) -> str:
    return b"".join(cert_pem(c) for c in certs).decode("ascii")


def server_ssl_context(
    credential: Credential,
    *,
    client_ca: Sequence[x509.Certificate] = (),
    require_client_cert: bool = False,
) -> ssl.SSLContext:
    """Server context: TLS 1.2 minimum, 1.3 allowed (AS4-TLS-001), ECDHE/DHE AEAD suites for 1.2.
    With ``require_client_cert`` the client must present a certificate issued by ``client_ca``."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(TLS12_CIPHERS)
    _load_chain(ctx, credential)
    if require_client_cert:
        if not client_ca:
            raise ValueError("require_client_cert needs the CA certificates of the clients")
        ctx.load_verify_locations(cadata=_pem_bundle(client_ca))
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def client_ssl_context(
    trust: Sequence[x509.Certificate],
    *,
    credential: Credential | None = None,
    maximum_version: ssl.TLSVersion | None = None,
) -> ssl.SSLContext:
    """Client context: TLS 1.2 minimum, server certificate checked against ``trust`` (e.g. the PKI
    root) and the host name; ``credential`` is the client certificate for servers that require one."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if maximum_version is not None:
        ctx.maximum_version = maximum_version
    ctx.set_ciphers(TLS12_CIPHERS)
    ctx.load_verify_locations(cadata=_pem_bundle(trust))
    if credential is not None:
        _load_chain(ctx, credential)
    return ctx


@dataclass(frozen=True)
class TlsServer:
    """HTTPS settings of a receiving endpoint: the server credential and optional client authentication."""

    credential: Credential
    require_client_cert: bool = False
    client_ca: tuple[x509.Certificate, ...] = ()

    def context(self) -> ssl.SSLContext:
        return server_ssl_context(self.credential, client_ca=self.client_ca,
                                  require_client_cert=self.require_client_cert)

    @classmethod
    def from_pki(cls, pki: PKI, name: str = "msh-tls", *, require_client_cert: bool = False) -> TlsServer:
        """A server certificate for 127.0.0.1/localhost issued by the PKI root; client certificates,
        when required, must be issued by that root too."""
        return cls(tls_credential(pki, name), require_client_cert, (pki.root.cert,))


def closed_port_url(path: str = "/msh") -> str:
    """An http URL on 127.0.0.1 where nothing listens (a port just released), for 'receiver down' cases."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


# --- the access point ----------------------------------------------------------------------------------
_SEND_ONCE = ReceptionAwareness(retry_timeout=None, retry_count=0)


class AccessPoint:
    """One simulated MSH: party ``name`` of ``pmodes`` with its PKI credentials for ``suite``.

    ``pmodes`` must hold the certificates of every party (:meth:`PModeSet.with_pki`): the peers'
    encryption certificates to send, their signing certificates to check the senders. ``router``
    defaults to one over ``pmodes`` (set overrides on it once the peers' ports are known).
    ``clock`` (virtual time) is used for certificate validity and receipt timestamps; ``sleep``
    waits between resends. ``wire_hook(content_type, body) -> (content_type, body)`` rewrites every
    outgoing request (fault injection); ``on_wire`` sees every exchange.
    """

    def __init__(
        self,
        name: str,
        pki: PKI,
        pmodes: PModeSet,
        *,
        suite: str | None = None,
        router: Router | None = None,
        backend: DeliveryBackend | None = None,
        trust: TrustStore | None = None,
        tls: TlsServer | None = None,
        client_tls: ssl.SSLContext | None = None,
        client_cert: Credential | None = None,
        max_body_size: int = DEFAULT_MAX_BODY,
        error_status: int = DEFAULT_ERROR_STATUS,
        duplicate_store: DuplicateStore | None = None,
        duplicate_receipt: Literal["fresh", "replay"] = "fresh",
        retry_codes: Iterable[str] = (),
        send_timeout: float = 30.0,
        sleep: Sleep | None = None,
        clock: Callable[[], datetime] | None = None,
        wire_hook: WireHook | None = None,
        on_wire: Callable[[WireEvent], None] | None = None,
        workers: int = 4,
        host: str = "127.0.0.1",
    ) -> None:
        self.party: Party = pmodes.party(name)
        self.name = name
        self.pki = pki
        self.pmodes = pmodes
        self.suite = suite or self.party.suite
        self.credentials: PartyCredentials = pki.party(name, self.suite)  # type: ignore[arg-type]
        self.trust = trust or pki.trust_store()
        self.router = router or Router(pmodes)
        self.backend: DeliveryBackend = backend if backend is not None else InMemoryBackend()
        self.tls = tls
        self.client_cert = client_cert
        self._client_tls = client_tls
        self.max_body_size = max_body_size
        self.error_status = error_status
        self.duplicates = duplicate_store or DuplicateStore()
        self.duplicate_receipt = duplicate_receipt
        self.retry_codes = frozenset(retry_codes)
        self.send_timeout = send_timeout
        self.sleep: Sleep = sleep or asyncio.sleep
        self.clock = clock
        self.wire_hook = wire_hook
        self.on_wire = on_wire
        self.workers = workers
        self.host = host
        self.limits = as4msg.UnpackLimits(mime=MimeLimits(max_total_size=max_body_size))
        #: one record per request served, oldest first (bounded)
        self.inbound: list[InboundOutcome] = []
        self._inflight: dict[str, asyncio.Future[bool]] = {}
        self._executor: ThreadPoolExecutor | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.base_url: str | None = None

    # --- life cycle -------------------------------------------------------------------------------------
    @property
    def endpoint_url(self) -> str:
        """The MSH endpoint (``<base>/msh``) once started."""
        if self.base_url is None:
            raise RuntimeError(f"access point {self.name} is not started")
        return self.base_url + MSH_PATHS[0]

    @property
    def running(self) -> bool:
        return self._runner is not None

    def app(self) -> web.Application:
        """The aiohttp application of the receiving endpoint (``POST /msh`` and the Domibus path)."""
        app = web.Application(client_max_size=self.max_body_size + 1)
        for path in MSH_PATHS:
            app.router.add_post(path, self._handle)
        return app

    async def start(self, port: int = 0) -> str:
        """Serve on ``host`` (127.0.0.1) and a free port (or ``port``); returns the base URL."""
        if self._runner is not None:
            raise RuntimeError(f"access point {self.name} is already started")
        runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=5.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, port, ssl_context=self.tls.context() if self.tls else None)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound_port = runner.addresses[0][1]
        self.base_url = f"{'https' if self.tls else 'http'}://{self.host}:{bound_port}"
        return self.base_url

    async def stop(self) -> None:
        """Stop serving, close the client session and the worker threads. Idempotent."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        session, self._session = self._session, None
        if session is not None:
            await session.close()
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
        self.base_url = None

    async def __aenter__(self) -> AccessPoint:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _cpu(self, fn: Callable[..., object], *args: object) -> object:
        """Run synchronous pipeline work in the worker threads (the event loop stays responsive)."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix=f"msh-{self.name}")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _now(self) -> datetime | None:
        return self.clock() if self.clock is not None else None

    # --- receiving --------------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        content_type = request.headers.get("Content-Type", "")
        body = b""
        try:
            body = await self._read_body(request)
            status, out_type, out_body, outcome = await self.process(content_type, body)
        except EbmsError as err:  # the body limit
            status, out_type, out_body, outcome = self._refuse(err)
        except Exception as exc:  # never a crash: EBMS:0004 as Domibus for the unexpected
            log.exception("%s: unexpected failure on an inbound request", self.name)
            status, out_type, out_body, outcome = self._refuse(
                EbmsError("EBMS:0004", f"unknown error occurred: {type(exc).__name__}"))
        self._record(outcome)
        if self.on_wire is not None:
            ssl_obj = request.transport.get_extra_info("ssl_object") if request.transport else None
            self._notify(WireEvent("in", str(request.url), content_type, body, status, out_type, out_body,
                                   ssl_obj.version() if ssl_obj is not None else None,
                                   str(outcome.error) if outcome.error else None))
        return web.Response(status=status, body=out_body, headers={"Content-Type": out_type})

    async def _read_body(self, request: web.Request) -> bytes:
        """The request body, refused (EBMS:0004) beyond ``max_body_size`` without reading all of it."""
        limit = self.max_body_size
        if request.content_length is not None and request.content_length > limit:
            raise PackagingError(ErrorKind.MIME_TOO_LARGE,
                                 f"Content-Length {request.content_length} exceeds the {limit}-byte limit")
        buf = bytearray()
        async for chunk in request.content.iter_chunked(64 * 1024):
            buf += chunk
            if len(buf) > limit:
                raise PackagingError(ErrorKind.MIME_TOO_LARGE, f"body exceeds the {limit}-byte limit")
        return bytes(buf)

    def _record(self, outcome: InboundOutcome) -> None:
        self.inbound.append(outcome)
        if len(self.inbound) > 10_000:
            del self.inbound[:1000]

    def _notify(self, event: WireEvent) -> None:
        try:
            self.on_wire(event)  # type: ignore[misc]
        except Exception:  # an observer never breaks the exchange
            log.exception("%s: on_wire observer failed", self.name)

    async def process(self, content_type: str, body: bytes) -> tuple[int, str, bytes, InboundOutcome]:
        """Handle one inbound message: ``(http status, content type, body, outcome)``. Usable without
        HTTP (e.g. by an in-process transport); EbmsErrors become the error answer."""
        try:
            result = await self._cpu(self._receive, content_type, body)
            received, leg = result  # type: ignore[misc]
            ctype, rbody, outcome = await self._deliver_once(received, leg)
            return 200, ctype, rbody, outcome
        except EbmsError as err:
            return self._refuse(err)

    def _refuse(self, err: EbmsError) -> tuple[int, str, bytes, InboundOutcome]:
        """The synchronous error answer (unsigned signal + SOAP Fault, ``error_status``)."""
        log.info("%s: refusing message %s: %s", self.name, err.ref_to_message_id, err)
        ctype, rbody = as4msg.error_response(err)
        return self.error_status, ctype, rbody, InboundOutcome(err.ref_to_message_id, self.error_status, error=err)

    def _receive(self, content_type: str, body: bytes) -> tuple[as4msg.Received, Leg]:
        """The synchronous part (worker thread), in Domibus order: MIME and header, P-Mode match
        (0001/0003/0010) and addressee, then decrypt, verify pinned to the certificate registered for
        the ``From`` party (AS4-SIG-006: another one, even trusted, is EBMS:0101) and decompress."""
        parsed = as4msg.parse(content_type, body, self.limits)
        um = parsed.message
        if not isinstance(um, UserMessage):
            raise EbmsError("EBMS:0010", "signal messages are only accepted as synchronous responses "
                                         "(replyPattern=response)", parsed.message_id)
        match = self.pmodes.match(um)
        if match.to_party.name != self.name:
            raise EbmsError("EBMS:0003", f"message addressed to party {match.to_party.name}, this access point "
                                         f"is {self.name}", um.message_id)
        registered = match.from_party.sign_cert
        if registered is None:
            raise EbmsError("EBMS:0101", f"no signing certificate registered for party {match.from_party.name}",
                            um.message_id)
        received = as4msg.unpack(content_type, body, decrypt_key=self.credentials.encrypt.key, trust=self.trust,
                                 expected_sender_cert=registered, at=self._now(), limits=self.limits)
        return received, match.leg

    async def _deliver_once(self, received: as4msg.Received, leg: Leg) -> tuple[str, bytes, InboundOutcome]:
        """Deliver unless already delivered (AS4-REL-001), then build the receipt."""
        mid = received.message_id
        while True:  # a copy arriving while the first is being delivered waits for its outcome
            if mid in self.duplicates:
                if not leg.duplicate_detection:
                    raise EbmsError("EBMS:0004", "Duplicate message", mid)
                kept = self.duplicates.receipt(mid) if self.duplicate_receipt == "replay" else None
                ctype, rbody = kept or await self._receipt(received)
                log.info("%s: duplicate %s acknowledged, not delivered again", self.name, mid)
                return ctype, rbody, InboundOutcome(mid, 200, duplicate=True)
            pending = self._inflight.get(mid)
            if pending is None:
                break
            await asyncio.shield(pending)
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._inflight[mid] = done
        delivered = False
        try:
            if not leg.is_test:  # the test service is acknowledged, never delivered (AS4-REL-004)
                try:
                    await self.backend.deliver(received)
                except Exception as exc:
                    log.warning("%s: delivery of %s failed: %r", self.name, mid, exc)
                    raise EbmsError("EBMS:0202", f"delivery to the backend failed: {type(exc).__name__}",
                                     mid) from exc
                delivered = True
            self.duplicates.add(mid)  # before the receipt: a resend must never be delivered again
            try:
                receipt = await self._receipt(received)
            except Exception as exc:  # Domibus: EBMS:0201 when it cannot build the receipt
                raise EbmsError("EBMS:0201", f"cannot build the receipt: {type(exc).__name__}", mid) from exc
            if self.duplicate_receipt == "replay":
                self.duplicates.add(mid, receipt)
            return receipt[0], receipt[1], InboundOutcome(mid, 200, delivered=delivered)
        finally:
            del self._inflight[mid]
            done.set_result(delivered)

    async def _receipt(self, received: as4msg.Received) -> tuple[str, bytes]:
        creds = self.credentials
        now = self._now()
        result = await self._cpu(lambda: as4msg.receipt_for(received, sign_key=creds.sign.key,
                                                            sign_cert=creds.sign.cert, suite=self.suite,
                                                            timestamp=now))
        return result  # type: ignore[return-value]

    # --- sending ----------------------------------------------------------------------------------------
    def user_message(
        self,
        to: str,
        action: str = OOTS.ACTION_REQUEST,
        *,
        service: str = OOTS.SERVICE,
        service_type: str | None = OOTS.SERVICE_TYPE,
        conversation_id: str | None = None,
        properties: Sequence[Property] | None = None,
        message_id: str | None = None,
    ) -> UserMessage:
        """A UserMessage from this access point to party ``to`` (a P-Mode party name), with the
        four-corner properties (placeholder originalSender/finalRecipient unless ``properties``)."""
        peer = self.pmodes.party(to)
        if properties is None:
            properties = [Property(OOTS.ORIGINAL_SENDER, f"{self.name}-c1", OOTS.PARTY_TYPE),
                          Property(OOTS.FINAL_RECIPIENT, f"{to}-c4", OOTS.PARTY_TYPE)]
        info = MessageInfo(message_id=message_id) if message_id else MessageInfo()
        return UserMessage(
            message_info=info,
            from_party=EbParty(self.party.party_id, self.party.party_id_type),
            to_party=EbParty(peer.party_id, peer.party_id_type),
            service=Service(service, service_type),
            action=action,
            conversation_id=conversation_id or str(uuid.uuid4()),
            properties=list(properties),
        )

    async def pack(self, user_message: UserMessage, payloads: Sequence[Attachment], *,
                   leg: Leg | None = None, recipient_cert: x509.Certificate | None = None,
                   compress: bool | None = None) -> as4msg.Packed:
        """Pack for the message's ``To`` party (its encryption certificate from the P-Mode)."""
        if recipient_cert is None:
            to = user_message.to_party
            peer = self.pmodes.party_by_id(to.party_id, to.party_type)
            if peer.encrypt_cert is None:
                raise ValueError(f"no encryption certificate for party {peer.name} (PModeSet.with_pki?)")
            recipient_cert = peer.encrypt_cert
        if compress is None:
            compress = leg.compress if leg is not None else True
        creds = self.credentials
        packed = await self._cpu(lambda: as4msg.pack(user_message, payloads, sign_key=creds.sign.key,
                                                     sign_cert=creds.sign.cert, recipient_cert=recipient_cert,
                                                     suite=self.suite, compress=compress))
        assert isinstance(packed, as4msg.Packed)
        return packed

    async def send(
        self,
        user_message: UserMessage,
        payloads: Sequence[Attachment],
        *,
        url: str | None = None,
        leg: Leg | None = None,
    ) -> SendResult:
        """Pack per the leg, POST to the ``To`` party and wait for a valid receipt, resending per the
        leg's reception awareness. Raises :class:`MissingReceiptError` (EBMS:0301) when no receipt
        came back, the peer's :class:`EbmsError` when it answered with an error (``.attempts`` set),
        :class:`~.receipts.InvalidReceiptError` (EBMS:0302) for a receipt that does not hold, and
        :class:`~.routing.RoutingError` when the party has no endpoint.

        Without a leg for the message's service/action (negative tests) the message is compressed
        and sent once."""
        peer: Party | None
        if url is None:
            route = self.router.route(user_message)
            url, peer, leg = route.url, route.party, leg or route.leg
        else:  # an explicit URL (tests, proxies): no routing, the P-Mode still gives leg and signer
            to = user_message.to_party
            try:
                peer = self.pmodes.party_by_id(to.party_id, to.party_type)
            except EbmsError:
                peer = None
            if leg is None:
                try:
                    leg = self.pmodes.leg_for(user_message.service.value, user_message.service.type,
                                              user_message.action)
                except EbmsError:
                    leg = None
        packed = await self.pack(user_message, payloads, leg=leg)
        return await self.send_packed(packed, url, leg=leg, expected_signer=peer.sign_cert if peer else None)

    async def send_packed(
        self,
        packed: as4msg.Packed,
        url: str,
        *,
        leg: Leg | None = None,
        expected_signer: x509.Certificate | None = None,
    ) -> SendResult:
        """POST already packed bytes (resends reuse them: same MessageId) with reception awareness."""
        awareness = leg.reception_awareness if leg is not None else _SEND_ONCE
        offsets = awareness.retry_delays()
        attempts: list[Attempt] = []
        previous = 0.0
        for number in range(1, len(offsets) + 2):
            if number > 1:
                wait = offsets[number - 2] - previous
                previous = offsets[number - 2]
                await self.sleep(max(wait, 0.0))
            started = time.monotonic()
            status, rtype, rbody, failure = await self._post(url, packed.content_type, packed.body)
            if failure is None:
                try:
                    try:
                        receipt = await self._cpu(self._check_receipt, rtype, rbody, packed, expected_signer)
                    except EbmsError:
                        raise
                    except Exception as exc:  # hardening: an unreadable answer is not a receipt
                        raise InvalidReceiptError(f"unreadable response: {type(exc).__name__}: {exc}",
                                                  packed.message_id) from exc
                except EbmsError as err:
                    attempts.append(Attempt(number, url, status, str(err), time.monotonic() - started))
                    if isinstance(err, InvalidReceiptError) or err.code not in self.retry_codes:
                        err.attempts = attempts  # type: ignore[attr-defined]
                        raise
                    continue
                attempts.append(Attempt(number, url, status, None, time.monotonic() - started))
                assert isinstance(receipt, SignalMessage)
                return SendResult(packed.message_id, url, leg.name if leg else None, receipt, rtype or "",
                                  rbody or b"", packed, attempts)
            attempts.append(Attempt(number, url, status, failure, time.monotonic() - started))
            log.info("%s: attempt %d of %s to %s: %s", self.name, number, packed.message_id, url, failure)
        raise MissingReceiptError(
            f"no receipt after {len(attempts)} attempt(s); last: {attempts[-1].error}", packed.message_id, attempts)

    def _check_receipt(self, content_type: str, body: bytes, packed: as4msg.Packed,
                       expected_signer: x509.Certificate | None) -> SignalMessage:
        return as4msg.check_receipt_response(content_type, body, packed, trust=self.trust,
                                             expected_sender_cert=expected_signer, at=self._now(),
                                             limits=self.limits)

    async def _post(self, url: str, content_type: str, body: bytes
                    ) -> tuple[int | None, str | None, bytes | None, str | None]:
        """One POST: ``(status, content type, body, failure)``; ``failure`` (a reason) is set when no
        ebMS signal came back, which makes the attempt count as a missing receipt."""
        if self.wire_hook is not None:
            content_type, body = self.wire_hook(content_type, body)
        session = self._client_session()
        status = rtype = rbody = failure = tls_version = None
        try:
            ssl_arg: ssl.SSLContext | bool = self.client_ssl() if urlsplit(url).scheme == "https" else False
            async with session.post(url, data=body, headers={"Content-Type": content_type}, ssl=ssl_arg,
                                    timeout=aiohttp.ClientTimeout(total=self.send_timeout)) as resp:
                status = resp.status
                rtype = resp.headers.get("Content-Type", "")
                ssl_obj = resp.connection.transport.get_extra_info("ssl_object") \
                    if resp.connection is not None and resp.connection.transport is not None else None
                tls_version = ssl_obj.version() if ssl_obj is not None else None
                rbody = await self._read_response(resp)
        except (aiohttp.ClientError, asyncio.TimeoutError, ssl.SSLError, OSError, ValueError) as exc:
            failure = f"EBMS:0005 ConnectionFailure: {type(exc).__name__}: {exc}"
        else:
            media = parse_content_type(rtype or "")[0]
            if not rbody:
                failure = f"HTTP {status} with an empty body"
            elif media not in (SOAP12_CONTENT_TYPE, "multipart/related"):
                failure = f"HTTP {status} answered {media or 'untyped'} content, not an ebMS signal"
        if self.on_wire is not None:
            self._notify(WireEvent("out", url, content_type, body, status, rtype, rbody, tls_version, failure))
        return status, rtype, rbody, failure

    async def _read_response(self, resp: aiohttp.ClientResponse) -> bytes:
        buf = bytearray()
        async for chunk in resp.content.iter_chunked(64 * 1024):
            buf += chunk
            if len(buf) > self.max_body_size:
                raise ValueError(f"response exceeds the {self.max_body_size}-byte limit")
        return bytes(buf)

    def client_ssl(self) -> ssl.SSLContext:
        """The client TLS context: the one given, else trusting the PKI root (with ``client_cert``)."""
        if self._client_tls is None:
            self._client_tls = client_ssl_context([self.pki.root.cert], credential=self.client_cert)
        return self._client_tls

    def _client_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=32))
        return self._session


__all__ = [
    "AccessPoint", "Attempt", "DeliveryBackend", "DuplicateStore", "InMemoryBackend", "InboundOutcome",
    "MissingReceiptError", "MSH_PATHS", "SendResult", "TlsServer", "WireEvent", "client_ssl_context",
    "closed_port_url", "server_ssl_context", "tls_credential",
]
