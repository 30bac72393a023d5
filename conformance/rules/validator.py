"""The OOTS message validator: one message (or a pair) through every layer, rule by rule.

Layers, in order: well-formedness and hardening -> XSD -> Schematron -> Genericode code lists -> the
harness's own checks. Each finding is tagged with its source layer.

    v = Validator()
    result = v.validate_bytes(data, "requete.xml")          # kind and EDM version detected
    result.conformant, [f.line() for f in result.findings]
"""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from lxml import etree

from . import registry, tdd
from .detect import KINDS, Detection, detect, normalise_version
from .findings import Finding, Severity, Source, ValidationResult
from .registry import MessageContext
from .xmlsafe import DEFAULT_MAX_BYTES, parse_bytes

LAYERS = ("xsd", "schematron", "codelist", "harness")
EDM_KINDS = {"request", "response", "exception"}
CS_KINDS = {"eb-response", "dsd-response", "lcm"}
RULESET_KINDS = EDM_KINDS | CS_KINDS
KNOWN_VERSIONS = {"v1.0", "v1.1", "v1.2", "v2.0"}
# Root elements each forced --kind accepts (a forced kind must still fit the document).
_ROOTS = {
    "request": {"QueryRequest"}, "response": {"QueryResponse"}, "exception": {"QueryResponse"},
    "eb-response": {"QueryResponse"}, "dsd-response": {"QueryResponse"},
    "lcm": {"SubmitObjectsRequest", "RegistryResponse", "RemoveObjectsRequest", "UpdateObjectsRequest"},
    "ebms-header": {"Messaging", "Envelope"}, "wsplugin-soap": {"Envelope"},
}


class Validator:
    """Validates OOTS messages against the TDD artefacts found in ``repo`` and the harness's own checks."""

    def __init__(self, repo: tdd.TddRepository | None = None, *, layers=LAYERS,
                 max_bytes: int = DEFAULT_MAX_BYTES, severities: dict[str, Severity] | None = None):
        if repo is None:
            try:
                repo = tdd.get_repository()
            except tdd.TddNotFound:
                repo = None
        self.repo = repo
        self.layers = tuple(layers)
        self.max_bytes = max_bytes
        self.severities = severities or {}
        self._xsd = self._sch = self._cl = None

    # -- layers (created lazily: Saxon starts only when Schematron is needed) --
    @property
    def xsd(self):
        if self._xsd is None and self.repo is not None:
            from .xsd import XsdLayer
            self._xsd = XsdLayer(self.repo)
        return self._xsd

    @property
    def schematron(self):
        if self._sch is None and self.repo is not None:
            from .schematron import SchematronLayer
            self._sch = SchematronLayer(self.repo)
        return self._sch

    @property
    def codelists(self):
        if self._cl is None and self.repo is not None:
            from .codelists import CodelistLayer
            self._cl = CodelistLayer(self.repo)
        return self._cl

    # -- public API --
    def validate_file(self, path: str | Path, **kw) -> ValidationResult:
        p = Path(path)
        try:
            data = p.read_bytes()
        except OSError as exc:
            return ValidationResult(str(path), tool_error=f"cannot read {path}: {exc.strerror or exc}")
        return self.validate_bytes(data, str(path), **kw)

    def validate_bytes(self, data: bytes, name: str = "<message>", *, kind: str = "auto", edm: str = "auto",
                       header: etree._Element | None = None, extra: dict | None = None) -> ValidationResult:
        t0 = time.perf_counter()
        res = ValidationResult(name)
        doc = parse_bytes(data, max_bytes=self.max_bytes)
        res.layers_run.append("parser")
        res.findings.extend(doc.findings)
        if doc.root is not None:
            self._validate_root(doc.root, res, kind=kind, edm=edm, header=header, extra=extra or {})
            if res.kind in ("eb-response", "dsd-response") and (extra or {}).get("http_headers") is not None:
                self._layer(res, "signature", lambda: self._cs_signature(data, extra["http_headers"], res))
        res.duration_s = time.perf_counter() - t0
        return res

    def validate_element(self, root: etree._Element, name: str = "<message>", **kw) -> ValidationResult:
        """Validate an already parsed (and trusted-parser-produced) element."""
        t0 = time.perf_counter()
        res = ValidationResult(name)
        self._validate_root(root, res, kind=kw.pop("kind", "auto"), edm=kw.pop("edm", "auto"),
                            header=kw.pop("header", None), extra=kw.pop("extra", {}))
        res.duration_s = time.perf_counter() - t0
        return res

    def context(self, root: etree._Element, name: str = "<message>", *, kind: str = "auto",
                edm: str = "auto", header=None, extra=None) -> tuple[MessageContext, list[Finding]]:
        """Detect kind/version (honouring forced values) and build the check context."""
        det = detect(root)
        findings: list[Finding] = []
        if kind != "auto":
            if kind not in KINDS:
                raise ValueError(f"unknown kind {kind!r}")
            if etree.QName(root).localname not in _ROOTS.get(kind, {etree.QName(root).localname}):
                findings.append(Finding("DETECT-003", Severity.FATAL, "document does not have the root element "
                                        f"of a {kind} message", Source.DETECT, "/",
                                        " or ".join(sorted(_ROOTS[kind])), etree.QName(root).localname))
            elif det.kind != kind:
                findings.append(Finding("DETECT-004", Severity.CAUTION, f"validated as {kind} as asked; content "
                                        f"looks like {det.kind}", Source.DETECT, "/", kind, det.kind))
            det = replace(det, kind=kind)
        if det.declared and det.version is None:
            findings.append(Finding("DETECT-002", Severity.FATAL, "unrecognised specification identifier",
                                    Source.DETECT, "/", "oots-edm:vX.Y or oots-cs:vX.Y", det.declared))
        elif det.version and det.version not in KNOWN_VERSIONS:
            findings.append(Finding("DETECT-002", Severity.FATAL, "unknown OOTS specification version",
                                    Source.DETECT, "/", ", ".join(sorted(KNOWN_VERSIONS)), det.declared))
        if edm != "auto":
            forced = normalise_version(f"oots-edm:{edm}") or edm
            if det.version and det.version != forced:
                findings.append(Finding("DETECT-005", Severity.WARNING, f"validated as {forced} as asked; the "
                                        f"message declares {det.declared}", Source.DETECT, "/", forced,
                                        det.declared))
            det = replace(det, version=forced)
        elif det.version is None and det.kind in CS_KINDS and not det.declared:
            det = replace(det, version="v1.0", reason=det.reason + "; no SpecificationIdentifier: v1.0 shape")
        return MessageContext(root, det, name, header=header, extra=extra or {}), findings

    def _validate_root(self, root, res: ValidationResult, *, kind, edm, header, extra) -> None:
        try:
            ctx, det_findings = self.context(root, res.name, kind=kind, edm=edm, header=header, extra=extra)
        except ValueError as exc:
            res.tool_error = str(exc)
            return
        det: Detection = ctx.detection
        res.kind, res.version = det.kind, det.version
        res.findings.extend(det_findings)
        res.layers_run.append("detect")
        if det.kind in ("document", "fragment", "pmode"):
            res.findings.append(Finding("DETECT-001", Severity.CAUTION, f"not an OOTS message: {det.reason}; "
                                        "only well-formedness was checked", Source.DETECT, "/"))
            return
        if self.repo is None:
            res.findings.append(Finding("TDD-000", Severity.CAUTION, "no TDD artefacts loaded: XSD, Schematron "
                                        "and code-list layers skipped (set OOTS_TDD_DIR)", Source.DETECT, "/"))
        ruleset = self.repo.ruleset(det.version) if self.repo is not None else None
        if "xsd" in self.layers and self.xsd is not None and self.xsd.handles(det.kind):
            self._layer(res, "xsd", lambda: self.xsd.validate(root, det, ruleset))
        if det.kind in RULESET_KINDS and self.repo is not None and ("schematron" in self.layers
                                                                      or "codelist" in self.layers):
            if ruleset is None:
                have = ", ".join(sorted(self.repo.rulesets)) or "none"
                which = det.declared or det.version or "an undeclared version"
                res.findings.append(Finding(
                    "TDD-001", Severity.CAUTION,
                    f"no rule set (Schematron, code lists, profile XSD) for {which} is loaded (loaded: {have}); "
                    "those layers were skipped rather than reporting another version's rules", Source.DETECT, "/"))
            else:
                if "schematron" in self.layers:
                    self._layer(res, "schematron", lambda: self.schematron.validate(root, det, ruleset))
                if "codelist" in self.layers:
                    self._layer(res, "codelist", lambda: self.codelists.validate(root, det, ruleset))
        if "harness" in self.layers:
            res.layers_run.append("harness")
            ran, found = registry.run_single(ctx, severities=self.severities)
            res.checks_run.extend(ran)
            res.findings.extend(found)
        if det.kind == "wsplugin-soap":
            self._layer(res, "embedded", lambda: self._validate_embedded(root, res, edm=edm) or [])

    @staticmethod
    def _cs_signature(body: bytes, headers: dict, res: ValidationResult) -> list[Finding]:
        """Detached JWS + ``digest`` header of a Common Services answer (CS-004..CS-009)."""
        from .cs_signature import verify_cs_response
        rep = verify_cs_response(body, headers)
        res.checks_run.extend(i for i in ("CS-004", "CS-005", "CS-007", "CS-008", "CS-009")
                              if i not in res.checks_run)
        notes = [Finding("CS-SIG-NOTE", Severity.CAUTION, n, Source.SIGNATURE, "/") for n in rep.notes]
        return list(rep.findings) + notes

    @staticmethod
    def _layer(res: ValidationResult, name: str, run) -> None:
        """Run one layer; a layer that fails is a tool error on this message, not a crash of the run."""
        res.layers_run.append(name)
        try:
            res.findings.extend(run())
        except Exception as exc:  # noqa: BLE001 - reported, never swallowed
            res.tool_error = f"{name} layer failed: {type(exc).__name__}: {exc}"

    def _validate_embedded(self, envelope, res: ValidationResult, *, edm: str) -> None:
        """Validate the EDM payloads a WS-plugin envelope carries, and each against its ebMS header."""
        from .checks.wsplugin import extract_payloads, find_messaging
        header = find_messaging(envelope)
        try:
            payloads = extract_payloads(envelope)
        except ValueError as exc:
            res.findings.append(Finding("WSP-PAYLOAD", Severity.FATAL, f"payload cannot be decoded: {exc}",
                                        Source.HARNESS, "/"))
            return
        for cid, ctype, data in payloads:
            if "xml" not in (ctype or "xml") and not data.lstrip().startswith(b"<"):
                continue  # binary evidence: not validated here
            sub = self.validate_bytes(data, f"{res.name}#cid:{cid}", edm=edm, header=header)
            res.findings.extend(replace(f, location=f"cid:{cid}!{f.location}") for f in sub.findings)
            res.checks_run.extend(c for c in sub.checks_run if c not in res.checks_run)
            if header is not None and sub.kind in EDM_KINDS:
                pair = self.validate_pair_elements(etree.fromstring(data, _SAFE), header,
                                                   a_name=f"cid:{cid}", b_name="eb:Messaging")
                res.findings.extend(pair.findings)  # already located as cid:<id>!<path>
                res.checks_run.extend(c for c in pair.checks_run if c not in res.checks_run)

    def validate_pair(self, a: bytes, b: bytes, *, a_name: str = "a", b_name: str = "b") -> ValidationResult:
        """Cross-message validation of ``a`` against ``b`` (e.g. a response against its request)."""
        t0 = time.perf_counter()
        res = ValidationResult(f"{a_name} ~ {b_name}")
        da, db = parse_bytes(a, max_bytes=self.max_bytes), parse_bytes(b, max_bytes=self.max_bytes)
        for d, n in ((da, a_name), (db, b_name)):
            res.findings.extend(replace(f, location=f"{n}!{f.location}") for f in d.findings
                                if f.severity is Severity.FATAL)
        if da.root is None or db.root is None:
            res.tool_error = "pair not checked: a message of the pair is not well-formed"
            return res
        out = self.validate_pair_elements(da.root, db.root, a_name=a_name, b_name=b_name)
        out.duration_s = time.perf_counter() - t0
        return out

    def validate_pair_elements(self, a, b, *, a_name="a", b_name="b") -> ValidationResult:
        """Cross-message checks on parsed elements; the pair is put in check order first."""
        from .pairs import validate_pair
        res = ValidationResult(f"{a_name} ~ {b_name}")
        det_a = detect(a)
        res.kind, res.version = f"{det_a.kind}~{detect(b).kind}", det_a.version
        res.layers_run.append("pair")
        ran, found = validate_pair(a, b, a_name=a_name, b_name=b_name, severities=self.severities)
        res.checks_run.extend(ran)
        res.findings.extend(found)
        return res


from .xmlsafe import make_parser as _make_parser  # noqa: E402

_SAFE = _make_parser()
