"""Text, JSON and JUnit renderings of an :class:`EventStream`."""
from __future__ import annotations

import json
from collections import defaultdict

from lxml import etree

from conformance.rules.findings import Severity, ValidationResult

from .events import EventStream, summary


def _verdict(r: ValidationResult) -> str:
    if r.tool_error:
        return "ERROR"
    return "CONFORMANT" if r.conformant else "NOT CONFORMANT"


def render_text(stream: EventStream, *, min_severity: Severity = Severity.CAUTION) -> str:
    order = list(Severity)
    keep = set(order[: order.index(min_severity) + 1])
    out = []
    for r in stream.results:
        what = f"{r.kind or '?'} {r.version or ''}".strip()
        out.append(f"{_verdict(r):<15} {r.name}  [{what}]  ({r.duration_s * 1000:.1f} ms)")
        if r.tool_error:
            out.append(f"    tool error: {r.tool_error}")
        for f in sorted(r.findings, key=lambda f: (order.index(f.severity), f.id)):
            if f.severity in keep:
                out.append("    " + f.line() + (f"  [{f.ref}]" if f.ref else ""))
    s = summary(stream.results)
    out.append("")
    out.append(f"{s['messages']} messages: {s['conformant']} conformant, {s['not_conformant']} not conformant, "
               f"{s['tool_errors']} tool errors; findings: "
               + ", ".join(f"{k} {v}" for k, v in s["findings"].items()))
    return "\n".join(out) + "\n"


def render_json(stream: EventStream) -> str:
    return json.dumps({"meta": stream.meta, "summary": summary(stream.results),
                       "results": [r.to_dict() for r in stream.results]}, indent=2, ensure_ascii=False) + "\n"


def render_junit(stream: EventStream) -> str:
    """One testsuite per message, one testcase per rule id run or violated; FATAL findings fail it."""
    suites = etree.Element("testsuites", name=stream.meta.get("tool", "oots-harness"))
    for r in stream.results:
        by_id: dict[str, list] = defaultdict(list)
        for f in r.findings:
            by_id[f.id].append(f)
        ids = list(dict.fromkeys([*r.checks_run, *by_id]))
        suite = etree.SubElement(suites, "testsuite", name=r.name, time=f"{r.duration_s:.6f}")
        failures = errors = 0
        if r.tool_error:
            errors += 1
            tc = etree.SubElement(suite, "testcase", classname=r.name, name="validate")
            etree.SubElement(tc, "error", message=r.tool_error)
        for cid in ids:
            tc = etree.SubElement(suite, "testcase", classname=f"{r.kind or 'message'}.{r.name}", name=cid)
            fatal = [f for f in by_id.get(cid, []) if f.severity is Severity.FATAL]
            other = [f for f in by_id.get(cid, []) if f.severity is not Severity.FATAL]
            if fatal:
                failures += 1
                el = etree.SubElement(tc, "failure", message=fatal[0].message[:500], type=fatal[0].source.value)
                el.text = "\n".join(f.line() for f in fatal)
            if other:
                etree.SubElement(tc, "system-out").text = "\n".join(f.line() for f in other)
        suite.set("tests", str(len(ids) + (1 if r.tool_error else 0)))
        suite.set("failures", str(failures))
        suite.set("errors", str(errors))
    return etree.tostring(suites, pretty_print=True, xml_declaration=True, encoding="UTF-8").decode()


WRITERS = {"text": render_text, "json": render_json, "junit": render_junit}
