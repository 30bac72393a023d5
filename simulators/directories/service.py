"""The mock Evidence Broker / Data Service Directory HTTP service (aiohttp, 127.0.0.1, free port).

``GET /rest/search`` (also ``/eb/rest/search`` and ``/dsd/rest/search``) answers the three queries of the
digest with HTTP 200 and the outcome in the body, signed like the Commission's services (``digest`` +
detached JWS ``oots-response-sig``, ``x5c`` chain under the harness PKI). The v2.0 form (``SpecificationIdentifier``
slot) only with ``Accept-Version: oots-cs:v2.0`` (CS-028). ``GET /trust-anchor.pem`` exports the anchor.
``GET /codelists/<Name>.gc`` serves the harness-generated Genericode lists of the Semantic Repository role
(:mod:`.codelists`: generated from the world file, not the official lists); ``GET /codelists/`` lists them.

Every query is journaled; faults are injected on demand::

    svc = DirectoryService(Catalogue.load(), PKI(7))
    await svc.start()
    svc.inject("wrong-digest", query_id=DSD_DATA_SERVICES)      # next DSD call only
    svc.inject("slow", delay=0.5, count=None)                    # every call until svc.clear_faults()
    ...
    await svc.stop()
"""
from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone

from aiohttp import web

from conformance.rules.cs_signature import DIGEST_HEADER, SIG_HEADER
from simulators.pki import PKI

from .answers import CS_V2
from .catalogue import Catalogue
from .codelists import LIST_NAMES, codelist
from .codelists import MEDIA_TYPE as GC_MEDIA_TYPE
from .queries import Outcome, respond
from .signing import CsSigner, cs_signer, trust_anchor_pem

MEDIA_TYPE = "application/x-ebrs+xml"
FAULTS = ("tampered-body", "wrong-digest", "untrusted-cert", "expired-cert", "missing-signature", "slow",
          "http-5xx", "empty-result")
MAX_DELAY = 10.0  # a slow answer never waits longer than this


@dataclass
class Fault:
    """One fault rule: ``kind`` for calls of ``query_id`` (None: any), ``count`` times (None: until cleared)."""

    kind: str
    query_id: str | None = None
    count: int | None = 1
    delay: float = 2.0  # slow
    status: int = 503  # http-5xx


@dataclass
class JournalEntry:
    """One query received: when, where, what (parameters in order, headers) and what was answered."""

    time: datetime
    path: str
    query_id: str | None
    params: list[tuple[str, str]]
    headers: dict[str, str]
    http_status: int = 200
    outcome: str | None = None  # "Success" or the EB:ERR / DSD:ERR code; None when no body was produced
    faults: list[str] = field(default_factory=list)

    @property
    def param_dict(self) -> dict[str, str]:
        return dict(self.params)


class DirectoryService:
    """One mock EB + DSD (same instance, like the Commission's ``query`` host)."""

    def __init__(self, catalogue: Catalogue | None = None, pki: PKI | None = None, *, host: str = "127.0.0.1",
                 port: int = 0, strict_accept: bool = False, signer_seed: int | str | bytes | None = None) -> None:
        self.catalogue = catalogue or Catalogue.load()
        self.pki = pki or PKI(0)
        self.signer_seed = signer_seed  # seed of the ES256 keys (None: the PKI's public seed)
        self.host, self.port = host, port
        self.strict_accept = strict_accept  # True: a request without a usable Accept gets 406
        self.journal: list[JournalEntry] = []
        self.faults: list[Fault] = []
        self._signers: dict[str, CsSigner] = {}
        self._lock = threading.Lock()
        self._runner: web.AppRunner | None = None
        self.base_url: str | None = None

    # -- keys and trust --
    def signer(self, variant: str = "valid") -> CsSigner:
        with self._lock:
            if variant not in self._signers:
                self._signers[variant] = cs_signer(self.pki, variant,  # type: ignore[arg-type]
                                                   seed=self.signer_seed)
            return self._signers[variant]

    def trust_anchor_pem(self) -> bytes:
        """PEM of the root the target must configure to trust our answers."""
        return trust_anchor_pem(self.pki)

    # -- faults and journal --
    def inject(self, kind: str, *, query_id: str | None = None, count: int | None = 1, delay: float = 2.0,
               status: int = 503) -> Fault:
        """Add a fault rule (``FAULTS``); rules apply in the order added, several may apply to one call."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; one of {', '.join(FAULTS)}")
        if not 500 <= status <= 599:
            raise ValueError("http-5xx status must be 5xx")
        f = Fault(kind, query_id, count, min(max(delay, 0.0), MAX_DELAY), status)
        with self._lock:
            self.faults.append(f)
        return f

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def calls(self, query_id: str | None = None) -> list[JournalEntry]:
        """Journal entries (optionally of one query id), oldest first."""
        return [e for e in self.journal if query_id is None or e.query_id == query_id]

    def _take_faults(self, query_id: str | None) -> list[Fault]:
        taken = []
        with self._lock:
            for f in list(self.faults):
                if f.query_id not in (None, query_id) or any(t.kind == f.kind for t in taken):
                    continue
                taken.append(f)
                if f.count is not None:
                    f.count -= 1
                    if f.count <= 0:
                        self.faults.remove(f)
        return taken

    # -- HTTP --
    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/rest/search", self._search)
        app.router.add_get("/{family:eb|dsd}/rest/search", self._search)
        app.router.add_get("/trust-anchor.pem", self._anchor)
        app.router.add_get("/codelists/", self._codelist_index)
        app.router.add_get("/codelists/{name}.gc", self._codelist)
        return app

    async def start(self) -> str:
        """Bind and serve; returns the base URL (``http://127.0.0.1:<port>/``)."""
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://{self.host}:{port}/"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> DirectoryService:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    @contextmanager
    def running_in_thread(self) -> Iterator[str]:
        """Serve from a private event loop in a thread (for synchronous callers); yields the base URL."""
        loop = asyncio.new_event_loop()
        t = threading.Thread(target=loop.run_forever, name="directories", daemon=True)
        t.start()
        try:
            yield asyncio.run_coroutine_threadsafe(self.start(), loop).result(10)
        finally:
            asyncio.run_coroutine_threadsafe(self.stop(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
            t.join(10)
            loop.close()

    async def _anchor(self, request: web.Request) -> web.Response:
        return web.Response(body=self.trust_anchor_pem(), content_type="application/x-pem-file")

    async def _codelist(self, request: web.Request) -> web.Response:
        try:
            body = codelist(self.catalogue, request.match_info["name"])
        except KeyError:
            raise web.HTTPNotFound(text=f"no code list {request.match_info['name']!r}; "
                                        f"known: {', '.join(LIST_NAMES)}") from None
        return web.Response(body=body, content_type=GC_MEDIA_TYPE, headers={"X-Harness-Generated": "true"})

    async def _codelist_index(self, request: web.Request) -> web.Response:
        return web.Response(text="".join(f"{n}.gc\n" for n in LIST_NAMES), content_type="text/plain")

    async def _search(self, request: web.Request) -> web.Response:
        params = [(k, v) for k, v in request.query.items()]
        query_id = request.query.get("queryId")
        entry = JournalEntry(datetime.now(timezone.utc), request.path, query_id, params, dict(request.headers))
        self.journal.append(entry)
        faults = self._take_faults(query_id)
        entry.faults = [f.kind for f in faults]
        kinds = {f.kind: f for f in faults}
        if "slow" in kinds:
            await asyncio.sleep(kinds["slow"].delay)
        if "http-5xx" in kinds:
            entry.http_status = kinds["http-5xx"].status
            return web.Response(status=entry.http_status, text="Service temporarily unavailable")
        accept = request.headers.get("Accept", "")
        if self.strict_accept and not _accepts(accept):
            entry.http_status = 406
            return web.Response(status=406, text=f"Accept must allow {MEDIA_TYPE}")
        v2 = request.headers.get("Accept-Version", "").strip() == CS_V2
        out: Outcome = respond(self.catalogue, query_id, params, v2=v2,
                               path_family=request.match_info.get("family"), empty="empty-result" in kinds)
        entry.outcome = out.outcome
        body, headers = self._signed(out.body, kinds)
        return web.Response(status=200, body=body, headers=headers)

    def _signed(self, body: bytes, kinds: dict[str, Fault]) -> tuple[bytes, dict[str, str]]:
        variant = "untrusted" if "untrusted-cert" in kinds else "expired" if "expired-cert" in kinds else "valid"
        signer = self.signer(variant)
        if "wrong-digest" in kinds:
            # a validly signed digest of other bytes: only the digest check (CS-004) can catch it
            headers = signer.sign(body + b"\n<!-- not this body -->")
        else:
            headers = signer.sign(body)
        if "tampered-body" in kinds:
            body = tamper(body)
        if "missing-signature" in kinds:
            headers.pop(SIG_HEADER, None)
        headers["content-type"] = MEDIA_TYPE
        assert DIGEST_HEADER in headers
        return body, headers


def _accepts(accept: str) -> bool:
    if not accept:
        return False
    kinds = [a.split(";")[0].strip().lower() for a in accept.split(",")]
    return any(k in (MEDIA_TYPE, "application/*", "*/*") for k in kinds)


def tamper(body: bytes) -> bytes:
    """Change one byte of a text node (after the first half of the body when possible), keeping it well-formed."""
    for start in (len(body) // 2, 0):
        m = re.compile(rb">([^<>]*[A-Za-z0-9][^<>]*)<").search(body, start)
        if m:
            i = m.start(1) + next(j for j, c in enumerate(m.group(1)) if chr(c).isalnum())
            c = body[i]
            new = c ^ 0x20 if chr(c).isalpha() else (ord("0") + (c - ord("0") + 1) % 10)
            return body[:i] + bytes([new]) + body[i + 1:]
    i = body.find(b'message="')
    if i >= 0 and chr(body[i + 9]).isalpha():  # no text node: change the exception message instead
        return body[:i + 9] + bytes([body[i + 9] ^ 0x20]) + body[i + 10:]
    return body + b" "  # still one byte of difference, still well-formed
