"""Namespaces and small XPath helpers shared by the validator's layers and checks.

Bind namespace URIs, never prefixes: real Domibus output and Common Services answers change prefixes.
"""
from __future__ import annotations

from lxml import etree

NS = {
    "query": "urn:oasis:names:tc:ebxml-regrep:xsd:query:4.0",
    "rim": "urn:oasis:names:tc:ebxml-regrep:xsd:rim:4.0",
    "rs": "urn:oasis:names:tc:ebxml-regrep:xsd:rs:4.0",
    "lcm": "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:4.0",
    "sdg": "http://data.europa.eu/p4s",
    "xlink": "http://www.w3.org/1999/xlink",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "eb": "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/",
    "S12": "http://www.w3.org/2003/05/soap-envelope",
    "S11": "http://schemas.xmlsoap.org/soap/envelope/",
    "wsse": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
    "wsu": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "xenc": "http://www.w3.org/2001/04/xmlenc#",
    "wsplugin": "http://eu.domibus.wsplugin/",
    "pmode": "http://domibus.eu/configuration",
    "xml": "http://www.w3.org/XML/1998/namespace",
}
PREFIX = {uri: p for p, uri in NS.items()}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


def q(prefix: str, local: str) -> str:
    """Clark name: ``q('rim', 'Slot')`` -> ``{urn:...rim:4.0}Slot``."""
    return f"{{{NS[prefix]}}}{local}"


def xp(el: etree._Element, path: str):
    """XPath with the harness prefixes."""
    return el.xpath(path, namespaces=NS)


def local_type(el: etree._Element) -> str | None:
    """Local part of ``xsi:type`` (``rim:StringValueType`` -> ``StringValueType``)."""
    t = el.get(XSI_TYPE)
    return t.split(":")[-1] if t else None


def text(el: etree._Element | None) -> str | None:
    if el is None:
        return None
    return (el.text or "").strip()


def slots(el: etree._Element, name: str | None = None) -> list[etree._Element]:
    """Direct ``rim:Slot`` children of ``el`` (optionally with ``@name``)."""
    out = [c for c in el if c.tag == q("rim", "Slot")]
    return [s for s in out if s.get("name") == name] if name else out


def slot_value(slot: etree._Element) -> etree._Element | None:
    """The ``rim:SlotValue`` of a slot."""
    return slot.find(q("rim", "SlotValue"))


def slot_text(el: etree._Element, name: str) -> str | None:
    """String/DateTime/Boolean value of the first slot ``name`` under ``el`` (``rim:Value`` text)."""
    for s in slots(el, name):
        v = slot_value(s)
        if v is None:
            return None
        val = v.find(q("rim", "Value"))
        if val is not None:
            return text(val)
        ls = v.find(f"{q('rim', 'Value')}/{q('rim', 'LocalizedString')}")
        if ls is None:
            ls = v.find(f".//{q('rim', 'LocalizedString')}")
        return ls.get("value") if ls is not None else None
    return None


def locate(el: etree._Element) -> str:
    """A readable absolute path with harness prefixes and slot names: ``/query:QueryRequest/rim:Slot[@name='X']``."""
    parts = []
    node = el
    while node is not None and isinstance(node.tag, str):
        qn = etree.QName(node)
        name = f"{PREFIX.get(qn.namespace, qn.namespace or '')}:{qn.localname}" if qn.namespace else qn.localname
        parent = node.getparent()
        if node.tag == q("rim", "Slot") and node.get("name"):
            name += f"[@name='{node.get('name')}']"
        elif parent is not None:
            same = [c for c in parent if c.tag == node.tag]
            if len(same) > 1:
                name += f"[{same.index(node) + 1}]"
        parts.append(name)
        node = parent
    return "/" + "/".join(reversed(parts))
