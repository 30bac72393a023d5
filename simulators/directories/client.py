"""A strict client of the Common Services query interface, and the parser of its answers.

* :func:`parse_answer` reads any EB / DSD answer (ours or the real captures) by namespace URI (CS-029/030)
  into catalogue dataclasses (:class:`CsAnswer`).
* :func:`verify_answer` runs :func:`conformance.rules.cs_signature.verify_cs_response` against the trust anchors
  and raises :class:`CsSignatureError` naming the CS-004..009 findings (digest, signature, chain, form, alg).
* :class:`DirectoryClient` (``urllib``, synchronous) and :class:`AsyncDirectoryClient` (aiohttp) send
  ``GET <base>/rest/search`` with ``Accept`` and ``Accept-Version`` (CS-001/002), reject non-200 and unsigned or
  badly signed answers, and return refusals (``status=Failure``) as answers with their code (CS-003);
  ``answer.raise_for_refusal()`` turns them into :class:`CsRefusal`.
* :class:`SuccessCache` (optional, ``cache=`` on both clients, CS-012): verified successes keyed by base URL +
  query id + parameters + requested spec version (``Accept-Version``); refusals and failures are never cached,
  so a refused query is asked again next time.
"""
from __future__ import annotations

import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field, replace
from typing import Callable, Mapping

from lxml import etree

from conformance.rules.cs_signature import CsSignatureReport, verify_cs_response
from conformance.rules.xmlsafe import parse_bytes
from simulators.edm.model import (Address, Agent, DataServiceEvidenceType, DistributedAs, Identifier,
                                  LocalizedText, Requirement)

from .answers import CS_V2, NS, STATUS
from .catalogue import (AccessService, ClassificationConcept, DataService, EvidenceTypeList, EvidenceTypeRef,
                        Procedure, RequirementEntry)
from .queries import DSD_DATA_SERVICES, EB_EVIDENCE_TYPES, EB_REQUIREMENTS

MEDIA_TYPE = "application/x-ebrs+xml"


class CsClientError(Exception):
    """Base of every client failure; ``ids`` are the digest assertion ids concerned."""

    ids: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        return str(self)


class CsTransportError(CsClientError):
    """No usable HTTP answer: connection failure, timeout, non-200 status."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class CsSignatureError(CsClientError):
    """The answer's digest or detached signature does not verify: it must not be used."""

    def __init__(self, report: CsSignatureReport):
        self.report = report
        self.ids = tuple(dict.fromkeys(f.id for f in report.findings))
        detail = "; ".join(f"{f.id}: {f.message}" for f in report.findings)
        super().__init__(f"Common Services answer rejected ({', '.join(self.ids)}): {detail}")


class CsParseError(CsClientError):
    """The body is not a parsable RegRep QueryResponse."""


class CsRefusal(CsClientError):
    """A signed ``status=Failure`` answer (EB:ERR / DSD:ERR), raised on demand (CS-003)."""

    ids = ("CS-003",)

    def __init__(self, exc: CsException):
        self.exception = exc
        self.code = exc.code
        super().__init__(f"{exc.code}: {exc.message}")


@dataclass
class CsException:
    """``rs:Exception`` of a refusal; DSD:ERR:0005 adds the matching entry and the questions."""

    code: str
    type: str | None
    severity: str | None
    message: str | None
    detail: str | None = None
    data_service: DataService | None = None
    concepts: list[ClassificationConcept] = field(default_factory=list)


@dataclass
class CsAnswer:
    """A parsed (and, from a client, verified) answer."""

    status: str  # Success | Failure
    specification: str | None  # the SpecificationIdentifier slot (None: v1.0 shape)
    requirements: list[RequirementEntry] = field(default_factory=list)
    data_services: list[DataService] = field(default_factory=list)
    exception: CsException | None = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    signature: CsSignatureReport | None = None
    cached: bool = False  # served from a client SuccessCache (CS-012), not from the network

    @property
    def ok(self) -> bool:
        return self.status == "Success"

    @property
    def code(self) -> str | None:
        return self.exception.code if self.exception else None

    def raise_for_refusal(self) -> CsAnswer:
        if self.exception is not None:
            raise CsRefusal(self.exception)
        return self


# --------------------------------------------------------------------------- parsing (by namespace URI)

def _x(el, path: str) -> list[etree._Element]:
    return el.xpath(path, namespaces=NS)


def _t(el, path: str) -> str | None:
    found = _x(el, path)
    return (found[0].text or "").strip() if found else None


def _lt(el, path: str) -> list[LocalizedText]:
    return [LocalizedText((e.text or "").strip(), e.get("lang")) for e in _x(el, path)]


def _jur(el, local: str = "Jurisdiction") -> str | None:
    return _t(el, f"./sdg:{local}/sdg:AdminUnitLevel1")


def _ident(el) -> Identifier | None:
    found = _x(el, "./sdg:Identifier")
    return Identifier((found[0].text or "").strip(), found[0].get("schemeID")) if found else None


def _requirement(el, requirement_uri_hint: str | None = None) -> RequirementEntry:
    uri = _t(el, "./sdg:Identifier") or ""
    req = Requirement(uri, _lt(el, "./sdg:Name"), _lt(el, "./sdg:Description"))
    frameworks = [Procedure(_t(rf, "./sdg:Identifier") or "", _t(rf, "./sdg:RelatedTo/sdg:Identifier") or "",
                            _jur(rf) or "", _lt(rf, "./sdg:Title"), _lt(rf, "./sdg:Description"), [uri])
                  for rf in _x(el, "./sdg:ReferenceFramework")]
    lists = [EvidenceTypeList(_t(lst, "./sdg:Identifier") or "", uri, _jur(lst) or "", _lt(lst, "./sdg:Name"),
                              [EvidenceTypeRef(_t(et, "./sdg:EvidenceTypeClassification") or "",
                                               _lt(et, "./sdg:Title"), _lt(et, "./sdg:Description"))
                               for et in _x(lst, "./sdg:EvidenceType")])
             for lst in _x(el, "./sdg:EvidenceTypeList")]
    return RequirementEntry(req, frameworks, lists)


def _access_service(el) -> AccessService:
    pub = (_x(el, "./sdg:Publisher") or [None])[0]
    agent = Agent(Identifier(""), LocalizedText(""))
    descriptions: list[LocalizedText] = []
    if pub is not None:
        names = _lt(pub, "./sdg:Name")
        agent = Agent(_ident(pub) or Identifier(""), names[0] if names else LocalizedText(""),
                      Address(admin_unit_level1=_jur(pub, "Address") or _jur(pub)), "EP")
        descriptions = _lt(pub, "./sdg:Description")
    names = _lt(el, "./sdg:Name")
    return AccessService(_ident(el) or Identifier(""), names[0] if names else None,
                         [(c.text or "").strip() for c in _x(el, "./sdg:ConformsTo")], agent, {}, descriptions)


def _data_service(el) -> DataService:
    dset = DataServiceEvidenceType(
        _t(el, "./sdg:Identifier") or "", _t(el, "./sdg:EvidenceTypeClassification") or "",
        _lt(el, "./sdg:Title"), _lt(el, "./sdg:Description"),
        [DistributedAs(_t(d, "./sdg:Format") or "", _t(d, "./sdg:ConformsTo"),
                       languages=[(x.text or "").strip() for x in _x(d, "./sdg:Language")])
         for d in _x(el, "./sdg:DistributedAs")])
    services = [_access_service(a) for a in _x(el, "./sdg:AccessService")]
    return DataService(dset, services, None, _t(el, "./sdg:AuthenticationLevelOfAssurance"))


def _concept(el) -> ClassificationConcept:
    ident = _t(el, "./sdg:Identifier") or ""
    return ClassificationConcept(ident, ident, _t(el, "./sdg:Type"), _t(el, "./sdg:ValueExpression"),
                                 _lt(el, "./sdg:Description"))


def parse_answer(body: bytes) -> CsAnswer:
    """Parse an EB / DSD answer (hardened parser; prefixes are irrelevant). Raises :class:`CsParseError`."""
    doc = parse_bytes(body)
    root = doc.root
    if root is None:
        raise CsParseError("answer is not well-formed XML: " + "; ".join(f.message for f in doc.findings))
    if root.tag != f"{{{NS['query']}}}QueryResponse":
        raise CsParseError(f"answer root is {etree.QName(root).text}, not query:QueryResponse")
    status = root.get("status") or ""
    if not status.startswith(STATUS) or status[len(STATUS):] not in ("Success", "Failure"):
        raise CsParseError(f"unexpected QueryResponse status {status!r}")
    ans = CsAnswer(status[len(STATUS):],
                   _t(root, "./rim:Slot[@name='SpecificationIdentifier']/rim:SlotValue/rim:Value"), body=body)
    for v in _x(root, "./rim:RegistryObjectList/rim:RegistryObject/rim:Slot/rim:SlotValue/*"):
        local = etree.QName(v).localname
        if local == "Requirement":
            ans.requirements.append(_requirement(v))
        elif local == "DataServiceEvidenceType":
            ans.data_services.append(_data_service(v))
    excs = _x(root, "./rs:Exception")
    if excs:
        e = excs[0]
        t = e.get(f"{{{NS['xsi']}}}type")
        dset = _x(e, "./rim:Slot[@name='DataServiceEvidenceType']/rim:SlotValue/sdg:DataServiceEvidenceType")
        ans.exception = CsException(
            e.get("code") or "", t.split(":")[-1] if t else None, e.get("severity"), e.get("message"),
            e.get("detail"), _data_service(dset[0]) if dset else None,
            [_concept(c) for c in _x(e, "./rim:Slot[@name='UserRequestedClassificationConcepts']/rim:SlotValue/"
                                        "rim:Element/sdg:EvidenceProviderClassification")])
    if ans.status == "Failure" and ans.exception is None:
        raise CsParseError("Failure answer without rs:Exception")
    return ans


# --------------------------------------------------------------------------- verification

def verify_answer(body: bytes, headers: Mapping[str, str], trust_roots, **kw) -> CsSignatureReport:
    """Strict check of digest + detached JWS + chain to ``trust_roots``; raises :class:`CsSignatureError`."""
    if not trust_roots:
        raise ValueError("a strict verifier needs trust anchors")
    report = verify_cs_response(body, headers, trust_roots=trust_roots, **kw)
    if not report.ok:
        raise CsSignatureError(report)
    return report


def process(status: int, headers: Mapping[str, str], body: bytes, trust_roots) -> CsAnswer:
    """Turn one HTTP exchange into a verified, parsed answer (or raise a :class:`CsClientError`)."""
    if status != 200:
        raise CsTransportError(f"HTTP {status} from the Common Services (they always answer 200)", status)
    hdrs = {k.lower(): v for k, v in headers.items()}
    report = verify_answer(body, hdrs, trust_roots)
    ans = parse_answer(body)
    ans.headers, ans.signature = hdrs, report
    return ans


def request_headers(accept_version: str | None = CS_V2) -> dict[str, str]:
    h = {"Accept": MEDIA_TYPE}
    if accept_version:
        h["Accept-Version"] = accept_version
    return h


def search_url(base_url: str, query_id: str, params: Mapping[str, str | None]) -> str:
    pairs = [("queryId", query_id)] + [(k, v) for k, v in params.items() if v is not None]
    return base_url.rstrip("/") + "/rest/search?" + urllib.parse.urlencode(pairs)


def _dsd_params(classification, country_code, specification, answers) -> dict[str, str | None]:
    return {"evidence-type-classification": classification, "country-code": country_code,
            "specification": specification, **(answers or {})}


CacheKey = tuple[str, str, tuple[tuple[str, str], ...], str]


class SuccessCache:
    """Client-side cache of verified successful answers (CS-012).

    Key: base URL (without trailing ``/``) + ``queryId`` + the parameters actually sent (order-insensitive,
    ``None`` values dropped) + the requested spec version (``Accept-Version``; ``""`` for the v1.0 shape).
    Only ``status=Success`` answers are stored: a refusal (EB:ERR / DSD:ERR), a transport error or a bad
    signature is never cached. ``ttl`` seconds (None: no expiry), ``max_entries`` (oldest dropped first).
    """

    def __init__(self, ttl: float | None = None, max_entries: int = 1024,
                 clock: Callable[[], float] = time.monotonic):
        self.ttl, self.max_entries, self.clock = ttl, max_entries, clock
        self._d: dict[CacheKey, tuple[float, CsAnswer]] = {}
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @staticmethod
    def key(base_url: str, query_id: str, params: Mapping[str, str | None],
            accept_version: str | None) -> CacheKey:
        return (base_url.rstrip("/"), query_id, tuple(sorted((k, v) for k, v in params.items() if v is not None)),
                accept_version or "")

    def get(self, key: CacheKey) -> CsAnswer | None:
        with self._lock:
            found = self._d.get(key)
            if found is not None and self.ttl is not None and self.clock() - found[0] > self.ttl:
                del self._d[key]
                found = None
            if found is None:
                self.misses += 1
                return None
            self.hits += 1
            return replace(found[1], cached=True)

    def put(self, key: CacheKey, answer: CsAnswer) -> bool:
        """Store ``answer`` if it is a success; returns whether it was stored."""
        if not answer.ok or answer.exception is not None:
            return False
        with self._lock:
            self._d.pop(key, None)
            self._d[key] = (self.clock(), answer)
            while len(self._d) > self.max_entries:
                del self._d[next(iter(self._d))]
        return True

    def clear(self) -> None:
        with self._lock:
            self._d.clear()

    def __len__(self) -> int:
        return len(self._d)


class _Queries:
    """The three queries of the digest on top of ``query``."""

    cache: SuccessCache | None = None

    def _cache_key(self, query_id: str, params: Mapping[str, str | None]) -> CacheKey:
        return SuccessCache.key(self.base_url, query_id, params, self.accept_version)  # type: ignore[attr-defined]

    def _cached(self, query_id: str, params: Mapping[str, str | None]) -> CsAnswer | None:
        return self.cache.get(self._cache_key(query_id, params)) if self.cache is not None else None

    def _remember(self, query_id: str, params: Mapping[str, str | None], answer: CsAnswer) -> CsAnswer:
        if self.cache is not None:
            self.cache.put(self._cache_key(query_id, params), answer)
        return answer

    def requirements(self, procedure_id: str | None = None, country_code: str | None = None):
        return self.query(EB_REQUIREMENTS, {"procedure-id": procedure_id, "country-code": country_code})

    def evidence_types(self, requirement_id: str, country_code: str | None = None):
        return self.query(EB_EVIDENCE_TYPES, {"requirement-id": requirement_id, "country-code": country_code})

    def data_services(self, classification: str, country_code: str, specification: str | None = None,
                      answers: Mapping[str, str] | None = None):
        return self.query(DSD_DATA_SERVICES, _dsd_params(classification, country_code, specification, answers))


class DirectoryClient(_Queries):
    """Synchronous client (``urllib``); every answer is verified against ``trust_roots`` before parsing."""

    def __init__(self, base_url: str, trust_roots, *, accept_version: str | None = CS_V2, timeout: float = 10.0,
                 cache: SuccessCache | None = None):
        self.base_url, self.trust_roots = base_url, trust_roots
        self.accept_version, self.timeout, self.cache = accept_version, timeout, cache

    def query(self, query_id: str, params: Mapping[str, str | None]) -> CsAnswer:
        hit = self._cached(query_id, params)
        if hit is not None:
            return hit
        req = urllib.request.Request(search_url(self.base_url, query_id, params),
                                     headers=request_headers(self.accept_version), method="GET")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 - http(s) base URL
                status, headers, body = resp.status, dict(resp.headers.items()), resp.read()
        except urllib.error.HTTPError as exc:
            raise CsTransportError(f"HTTP {exc.code} from the Common Services (they always answer 200)",
                                   exc.code) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise CsTransportError(f"no answer from {self.base_url}: {exc}") from None
        return self._remember(query_id, params, process(status, headers, body, self.trust_roots))


class AsyncDirectoryClient(_Queries):
    """aiohttp client with the same checks as :class:`DirectoryClient`."""

    def __init__(self, base_url: str, trust_roots, *, accept_version: str | None = CS_V2, timeout: float = 10.0,
                 cache: SuccessCache | None = None):
        self.base_url, self.trust_roots = base_url, trust_roots
        self.accept_version, self.timeout, self.cache = accept_version, timeout, cache

    async def query(self, query_id: str, params: Mapping[str, str | None]) -> CsAnswer:
        import asyncio

        hit = self._cached(query_id, params)
        if hit is not None:
            return hit

        import aiohttp
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout)) as s:
                async with s.get(search_url(self.base_url, query_id, params),
                                 headers=request_headers(self.accept_version)) as resp:
                    status, headers, body = resp.status, dict(resp.headers.items()), await resp.read()
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise CsTransportError(f"no answer from {self.base_url}: {type(exc).__name__} {exc}") from None
        return self._remember(query_id, params, process(status, headers, body, self.trust_roots))
