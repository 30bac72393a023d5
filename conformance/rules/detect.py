"""Tell what an OOTS message is (kind) and which EDM version it declares, from its content alone."""
from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from .ns import NS, q, slot_text, xp

#: Message kinds the validator knows; ``auto`` asks for detection.
KINDS = (
    "request",        # EDM query:QueryRequest (ExecuteQueryRequest)
    "response",       # EDM query:QueryResponse, Success or Unavailable (ExecuteQueryResponse)
    "exception",      # EDM query:QueryResponse Failure with rs:Exception (ExceptionResponse)
    "ebms-header",    # eb:Messaging (alone, or as the header of a SOAP envelope)
    "eb-response",    # Evidence Broker query answer (success or EB:ERR)
    "dsd-response",   # Data Service Directory query answer (success or DSD:ERR)
    "lcm",            # Common Services LCM SubmitObjectsRequest / RegistryResponse
    "wsplugin-soap",  # Domibus WS-plugin SOAP envelope (submit / list / retrieve)
    "fragment",       # a bare SDG or RIM fragment (catalogue examples), not a message
    "pmode",          # a Domibus PMode configuration
    "document",       # anything else (e.g. an evidence document): not an OOTS message
)

_VERSION_RE = re.compile(r"^oots-(edm|cs):(v\d+\.\d+)$")


@dataclass
class Detection:
    kind: str
    version: str | None  # "v2.0", "v1.2", "v1.0" or None when the message does not say
    declared: str | None = None  # the raw SpecificationIdentifier / SpecificationId
    status: str | None = None  # local part of @status
    error_code: str | None = None
    reason: str = ""


def normalise_version(declared: str | None) -> str | None:
    """``oots-edm:v2.0`` -> ``v2.0``; ``oots-edm:v2.0.1`` -> ``v2.0``; unknown shapes -> None."""
    if not declared:
        return None
    m = re.match(r"^oots-(?:edm|cs):v(\d+)\.(\d+)", declared.strip())
    return f"v{m.group(1)}.{m.group(2)}" if m else None


def _regrep_kind(root: etree._Element) -> Detection:
    declared = slot_text(root, "SpecificationIdentifier")
    status = (root.get("status") or "").rsplit(":", 1)[-1] or None
    exc = root.find(q("rs", "Exception"))
    code = exc.get("code") if exc is not None else None
    version = normalise_version(declared)
    family = None
    if declared and declared.startswith("oots-edm"):
        family = "edm"
    elif declared and declared.startswith("oots-cs"):
        family = "cs"
    if code:
        if code.startswith("EDM:"):
            family = "edm"
        elif code.startswith(("EB:", "DSD:")):
            family = code.split(":")[0].lower()
    names = {s.get("name") for s in root.iter(q("rim", "Slot"))}
    if family == "edm" or {"EvidenceResponseIdentifier", "ErrorProvider"} & names:
        kind = "exception" if (status == "Failure" or exc is not None) else "response"
        return Detection(kind, version, declared, status, code, "EDM QueryResponse")
    if family == "eb" or (family != "dsd" and {"Requirement", "EvidenceTypeList", "ReferenceFramework"} & names):
        return Detection("eb-response", version, declared, status, code, "Evidence Broker answer")
    if family in ("dsd", "cs") or {"DataServiceEvidenceType", "ClassificationScheme"} & names \
            or xp(root, ".//sdg:DataServiceEvidenceType|.//sdg:AccessService"):
        return Detection("dsd-response", version, declared, status, code, "Data Service Directory answer")
    if exc is not None:
        return Detection("exception", version, declared, status, code, "QueryResponse with exception")
    return Detection("response", version, declared, status, code, "QueryResponse")


def detect(root: etree._Element) -> Detection:
    """Classify a parsed document."""
    tag = root.tag
    if tag == q("query", "QueryRequest"):
        declared = slot_text(root, "SpecificationIdentifier")
        return Detection("request", normalise_version(declared), declared, reason="EDM QueryRequest")
    if tag == q("query", "QueryResponse"):
        return _regrep_kind(root)
    if tag in (q("lcm", "SubmitObjectsRequest"), q("rs", "RegistryResponse"), q("lcm", "RemoveObjectsRequest"),
               q("lcm", "UpdateObjectsRequest")):
        status = (root.get("status") or "").rsplit(":", 1)[-1] or None
        exc = root.find(q("rs", "Exception"))
        return Detection("lcm", None, status=status, error_code=exc.get("code") if exc is not None else None,
                         reason="LCM message")
    if tag == q("eb", "Messaging"):
        return _ebms(root, "ebMS3 header")
    if tag in (q("S12", "Envelope"), q("S11", "Envelope")):
        body = root.find(q("S12", "Body"))
        if body is None:
            body = root.find(q("S11", "Body"))
        if body is not None and any(isinstance(c.tag, str) and c.tag.startswith("{" + NS["wsplugin"]) for c in body):
            messaging = xp(root, "./*[local-name()='Header']/eb:Messaging")
            d = _ebms(messaging[0], "Domibus WS-plugin envelope") if messaging else Detection("wsplugin-soap", None)
            d.kind = "wsplugin-soap"
            d.reason = "Domibus WS-plugin envelope"
            return d
        messaging = xp(root, "./*[local-name()='Header']/eb:Messaging")
        if messaging:
            return _ebms(messaging[0], "AS4 SOAP envelope")
        return Detection("document", None, reason="SOAP envelope without ebMS header")
    if tag == q("pmode", "configuration") or etree.QName(root).localname == "configuration" and \
            root.find("businessProcesses") is not None:
        return Detection("pmode", None, reason="Domibus PMode configuration")
    ns = etree.QName(root).namespace
    if ns in (NS["sdg"], NS["rim"]):
        return Detection("fragment", None, reason=f"bare {etree.QName(root).localname} fragment")
    return Detection("document", None, reason=f"not an OOTS message ({etree.QName(root).localname})")


def _ebms(messaging: etree._Element, reason: str) -> Detection:
    declared = None
    for p in xp(messaging, "./eb:UserMessage/eb:MessageProperties/eb:Property[@name='SpecificationId']"):
        declared = (p.text or "").strip()
    return Detection("ebms-header", normalise_version(declared), declared, reason=reason)
