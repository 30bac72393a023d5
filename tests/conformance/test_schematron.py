"""Schematron layer: our ISO Schematron -> XSLT 3.0 compiler against the pre-compiled ISO-skeleton XSLT of the
corpus (same failed asserts on every sample and on mutated copies), rule-file selection, cache, features."""
from __future__ import annotations

import collections
import copy
import itertools
import re
import threading
from pathlib import Path

import pytest
from lxml import etree

from conformance.rules import schematron as S
from conformance.rules.detect import Detection, detect
from conformance.rules.findings import Severity, Source
from conformance.rules.ns import NS, PREFIX, locate, q

GOV = "edm-v0.99-governikus"


# ------------------------------------------------------------------------------------------------ fixtures

@pytest.fixture(scope="module")
def rs10(tdd):
    rs = tdd.ruleset("v1.0")
    if rs is None or not rs.schematron or not rs.precompiled_xslt:
        pytest.skip("the v1.0 (Governikus 0.99) Schematron and its pre-compiled XSLT are not in the corpus")
    return rs


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("sch-cache")


@pytest.fixture(scope="module")
def layer(tdd, cache_dir):
    return S.SchematronLayer(tdd, cache_dir=cache_dir)


@pytest.fixture(scope="module")
def engines(rs10, cache_dir):
    """stem -> (ours, iso, iso location flavour) executables, all in the one Saxon runtime."""
    rt = S.SaxonRuntime.get()
    out = {}
    for sch in rs10.schematron:
        xslt = rs10.precompiled_xslt[sch.stem]
        text = xslt.read_text(encoding="utf-8")
        iso = rt.xslt.compile_stylesheet(stylesheet_text=text)
        ours = S.executable_for(S.compile_schematron(sch, cache_dir=cache_dir), cache_dir=cache_dir)
        # two skeleton flavours in the corpus: '*:X[namespace-uri()=..][n]' paths (attribute contexts located by
        # their *value*, a skeleton quirk) and '*[local-name()=..]' paths (attributes as a bare '/@name')
        flavour = "local" if "<xsl:text>*[local-name()='</xsl:text>" in text else "full"
        out[sch.stem] = (ours, iso, flavour)
    return out


@pytest.fixture(scope="module")
def samples(tdd):
    """Every corpus XML: (path, parsed root, detection)."""
    out = []
    for p in tdd.samples:
        root = etree.parse(str(p)).getroot()
        out.append((p, root, detect(root)))
    return out


# ------------------------------------------------------------------------------- location normalisation

_ISO_STEP = re.compile(
    r"/(?:\*:(?P<l1>[^\[/]+)\[namespace-uri\(\)='(?P<u1>[^']*)'\]\[(?P<i1>\d+)\]"
    r"|\*\[local-name\(\)='(?P<l2>[^']+)'\](?:\[(?P<i2>\d+)\])?"
    r"|@\*\[local-name\(\)='(?P<al>[^']+)' and namespace-uri\(\)='(?P<au>[^']*)'\]"
    r"|@(?P<an>[^/\[]+)"
    r"|(?P<l3>[^/\[@*]+)(?:\[(?P<i3>\d+)\])?)")


def iso_location(root, loc: str) -> str:
    """An ISO-skeleton location, either flavour, as the harness's readable path of the node it designates."""
    if not loc.startswith("/"):
        return "value:" + loc  # attribute context in the 'full' flavour: the skeleton prints the value
    steps = list(_ISO_STEP.finditer(loc))
    assert steps and "".join(m.group(0) for m in steps) == loc, f"unparsed ISO location {loc!r}"
    node = None
    for m in steps:
        if m.group("al") or m.group("an"):
            name, uri = m.group("al") or m.group("an"), m.group("au") or None
            if node is None:
                return "?/@" + name  # 'local' flavour: attribute without its element path
            pfx = PREFIX.get(uri, uri) if uri else None
            return f"{locate(node)}/@{pfx + ':' if pfx else ''}{name}"
        if m.group("l1"):
            tag, idx, bylocal = etree.QName(m.group("u1") or None, m.group("l1")).text, int(m.group("i1")), False
        elif m.group("l2"):
            tag, idx, bylocal = m.group("l2"), int(m.group("i2") or 1), True
        else:
            tag, idx, bylocal = m.group("l3"), int(m.group("i3") or 1), False
        cands = [root.getroottree().getroot()] if node is None else list(node)
        cands = [c for c in cands if isinstance(c.tag, str)
                 and (etree.QName(c).localname == tag if bylocal else c.tag == tag)]
        assert len(cands) >= idx, f"ISO location {loc!r} does not resolve"
        node = cands[idx - 1]
    return locate(node)


def our_location(root, loc: str, flavour: str) -> str:
    """Our exact location, degraded to what the ISO flavour can express for attributes."""
    found = S.resolve_location(root, loc)
    assert found is not None, f"our location {loc!r} does not resolve"
    el, attr = found
    if attr is not None:
        return "value:" + el.get(attr) if flavour == "full" else "?/@" + etree.QName(attr).localname
    return S.readable_location(root, loc)


def results(exe, node, root, *, iso: bool, flavour: str) -> collections.Counter:
    rt = S.SaxonRuntime.get()
    out = collections.Counter()
    for r in S.parse_svrl(rt.run(exe, node)):
        loc = iso_location(root, r.location) if iso else our_location(root, r.location, flavour)
        out[(r.kind, r.id, loc)] += 1
    return out


def compare(engines, stem, root) -> tuple[collections.Counter, collections.Counter]:
    ours, iso, flavour = engines[stem]
    rt = S.SaxonRuntime.get()
    node = rt.parse(S._xml_text(root))
    return (results(ours, node, root, iso=False, flavour=flavour),
            results(iso, node, root, iso=True, flavour=flavour))


def applies(stem: str, root, det: Detection) -> bool:
    return bool(S.rule_files_for(det.kind, S.subkind(root, det), [Path(stem + ".sch")]))


# ----------------------------------------------------------------------------------------------- mutator

XSI_TYPE = f"{{{NS['xsi']}}}type"
_OTHER_TYPE = {"StringValueType": "AnyValueType", "AnyValueType": "StringValueType",
               "CollectionValueType": "AnyValueType", "DateTimeValueType": "StringValueType",
               "BooleanValueType": "StringValueType", "InternationalStringValueType": "StringValueType"}


def _ops(root):
    """(name, function(copy) -> bool) candidates in a fixed order; a function edits its copy in place."""
    order = {el: i for i, el in enumerate(root.iter())}

    def at(i):  # an element of the original, found again in the copy by its document-order position
        return lambda cp: next(itertools.islice(cp.iter(), i, None), None)

    def path(el):
        return order[el]

    def drop(p):
        def f(cp):
            el = at(p)(cp)
            if el is None or el.getparent() is None:
                return False
            el.getparent().remove(el)
            return True
        return f

    def dup(p):
        def f(cp):
            el = at(p)(cp)
            if el is None or el.getparent() is None:
                return False
            el.addnext(copy.deepcopy(el))
            return True
        return f

    def set_attr(p, name, value):
        def f(cp):
            el = at(p)(cp)
            if el is None:
                return False
            if value is None:
                if name not in el.attrib:
                    return False
                del el.attrib[name]
            else:
                el.set(name, value)
            return True
        return f

    def retag(p, tag):
        def f(cp):
            el = at(p)(cp)
            if el is None:
                return False
            el.tag = tag
            return True
        return f

    def add_child(p, tag, **attrs):
        def f(cp):
            el = at(p)(cp)
            if el is None:
                return False
            etree.SubElement(el, tag, **attrs)
            return True
        return f

    ops = []
    top = path(root)
    ln = etree.QName(root).localname
    other_ns = NS["query"] if etree.QName(root).namespace != NS["query"] else NS["rs"]

    def wrap(cp):  # the message arrives inside an unexpected wrapper element
        wrapper = etree.Element("{urn:example:wrapper}Envelope")
        wrapper.append(copy.deepcopy(cp))
        cp.clear()
        cp.tag, cp.text = wrapper.tag, None
        for k in list(cp.attrib):
            del cp.attrib[k]
        cp.append(wrapper[0])
        return True

    ops += [("root-namespace", retag(top, f"{{urn:example:wrong}}{ln}")),
            ("root-other-regrep-namespace", retag(top, f"{{{other_ns}}}{ln}")),
            ("root-name", retag(top, f"{{{etree.QName(root).namespace}}}Wrong{ln}")),
            ("wrap-root", wrap)]
    for a in ("id", "requestId", "requestID"):
        if root.get(a) is not None:
            ops += [(f"bad-{a}", set_attr(top, a, "not-a-uuid")), (f"drop-{a}", set_attr(top, a, None))]
    if root.get("status"):
        for st in ("Success", "Failure", "Unavailable", "failure"):
            value = f"urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:{st}"
            if value != root.get("status"):
                ops.append((f"status-{st}", set_attr(top, "status", value)))
        ops.append(("drop-status", set_attr(top, "status", None)))
    for slot in [s for s in root if s.tag == q("rim", "Slot")]:
        p = path(slot)
        ops += [(f"drop-slot-{slot.get('name')}", drop(p)), (f"dup-slot-{slot.get('name')}", dup(p)),
                (f"rename-slot-{slot.get('name')}", set_attr(p, "name", f"{slot.get('name')}X"))]
    ops.append(("add-unknown-slot", add_child(top, q("rim", "Slot"), name="Unexpected")))
    for sv in root.iter(q("rim", "SlotValue"), q("rim", "Element")):
        t = (sv.get(XSI_TYPE) or "").split(":")[-1]
        if t in _OTHER_TYPE:
            ops.append((f"retype-{t}", set_attr(path(sv), XSI_TYPE, f"rim:{_OTHER_TYPE[t]}")))
    for tag in (q("query", "Query"), q("rim", "RegistryObjectList"), q("rs", "Exception"),
                q("query", "ResponseOption"), q("rim", "Classification"), q("rim", "RepositoryItemRef")):
        for el in list(root.iter(tag))[:2]:
            ops += [(f"drop-{etree.QName(tag).localname}", drop(path(el))),
                    (f"dup-{etree.QName(tag).localname}", dup(path(el)))]
    if root.find(q("rs", "Exception")) is None:
        ops.append(("add-exception", add_child(top, q("rs", "Exception"))))
    if root.find(q("rim", "RegistryObjectList")) is None:
        ops.append(("add-RegistryObjectList", add_child(top, q("rim", "RegistryObjectList"))))
    for exc in root.iter(q("rs", "Exception")):
        for a in ("code", "severity", "message", XSI_TYPE):
            ops.append((f"drop-exception-{etree.QName(a).localname}", set_attr(path(exc), a, None)))
    for cl in list(root.iter(q("rim", "Classification")))[:2]:
        ops += [("bad-classification-id", set_attr(path(cl), "id", "123")),
                ("bad-classification-scheme", set_attr(path(cl), "classificationScheme", "urn:wrong")),
                ("bad-classification-node", set_attr(path(cl), "classificationNode", "Wrong"))]
    for ro in list(root.iter(q("rim", "RegistryObject")))[:2]:
        ops += [("drop-registryobject-id", set_attr(path(ro), "id", None)),
                ("add-registryobject-slot", add_child(path(ro), q("rim", "Slot"), name="Extra"))]
    # namespace-qualified sdg children: drop the first child of the first sdg containers; move one out of sdg
    sdg_parents = [e for e in root.iter(f"{{{NS['sdg']}}}*") if any(c.tag.startswith(f"{{{NS['sdg']}}}")
                                                                    for c in e if isinstance(c.tag, str))]
    for e in sdg_parents[:8]:
        first = next(c for c in e if isinstance(c.tag, str))
        ops.append((f"drop-sdg-{etree.QName(first).localname}", drop(path(first))))
    for e in sdg_parents[:2]:
        ops.append((f"unqualify-sdg-{etree.QName(e).localname}", retag(path(e), etree.QName(e).localname)))
    return ops


def mutants(root, limit: int = 40):
    """Deterministic mutated copies of ``root``: (operator name, mutated root)."""
    out = []
    for name, op in _ops(root):
        cp = copy.deepcopy(root)
        if op(cp):
            out.append((name, cp))
        if len(out) >= limit:
            break
    return out


# ----------------------------------------------------------------------------------- equivalence tests

def test_compiled_matches_precompiled_on_every_corpus_document(engines, samples):
    """Every .sch on every corpus XML (applicable or not): same failed asserts, same reports, same nodes."""
    diffs, compared, total = [], 0, 0
    for p, root, _ in samples:
        for stem in engines:
            ours, iso = compare(engines, stem, root)
            compared += 1
            total += sum(iso.values())
            if ours != iso:
                diffs.append((p.name, stem, sorted((iso - ours).elements())[:3], sorted((ours - iso).elements())[:3]))
    assert compared >= 11 * 40 and total > 1000
    assert not diffs, diffs[:5]


@pytest.mark.parametrize("stem", ["evidence_request", "evidence_response", "evidence_exception",
                                  "dsd_query_response", "dsd_query_error", "eb_query_response",
                                  "eb_getfr_query_response", "eb_error_response", "dsd_lcm_submit",
                                  "cs_lcm_success", "cs_lcm_error"])
def test_compiled_matches_precompiled_on_mutants(engines, samples, stem):
    """Mutated copies of every sample the file applies to: same results, and the mutations do make asserts fail."""
    if stem not in engines:
        pytest.skip(f"{stem}.sch not in the corpus")
    targets = [(p, root) for p, root, det in samples if applies(stem, root, det)]
    assert targets, f"no corpus sample is selected for {stem}"
    diffs, breaking, tried = [], set(), 0
    for p, root in targets:
        base_ours, _ = compare(engines, stem, root)
        base = collections.Counter(k[1] for k in base_ours.elements() if k[0] == "failed-assert")
        for name, mutant in mutants(root):
            ours, iso = compare(engines, stem, mutant)
            tried += 1
            if ours != iso:
                diffs.append((p.name, name, sorted((iso - ours).elements())[:3], sorted((ours - iso).elements())[:3]))
            failed = collections.Counter(k[1] for k in ours.elements() if k[0] == "failed-assert")
            if failed - base:
                breaking.add((p.name, name))
    assert not diffs, diffs[:5]
    assert len(breaking) >= 10, f"only {len(breaking)} of {tried} mutants of {stem} samples make an assert fail"


# ------------------------------------------------------------------------------------------- selection

def test_rule_files_follow_official_tdd_names():
    names = [Path(f"{n}.sch") for n in (
        "EDM-REQ-S", "EDM-REQ-C", "EDM-RESP-S", "EDM-RESP-C", "EDM-ERR-S", "EDM-ERR-C", "DSD-RESP-S", "DSD-RESP-C",
        "DSD-ERR-S", "DSD-ERR-C", "DSD-SUB-S", "DSD-SUB-C", "EB-REQ-S", "EB-REQ-C", "EB-EVI-S", "EB-EVI-C",
        "EB-ERR", "EB-SUB-S", "EB-SUB-C", "LCM-SUC", "LCM-ERR", "EDM-ebMS")]

    def stems(kind, sub=None):
        return [p.stem for p in S.rule_files_for(kind, sub, names)]

    assert stems("request") == ["EDM-REQ-S", "EDM-REQ-C"]
    assert stems("response") == ["EDM-RESP-S", "EDM-RESP-C"]
    assert stems("exception") == ["EDM-ERR-S", "EDM-ERR-C"]
    assert stems("dsd-response", "success") == ["DSD-RESP-S", "DSD-RESP-C"]
    assert stems("dsd-response", "failure") == ["DSD-ERR-S", "DSD-ERR-C"]
    assert stems("eb-response", "requirements") == ["EB-REQ-S", "EB-REQ-C"]
    assert stems("eb-response", "evidence-types") == ["EB-EVI-S", "EB-EVI-C"]
    assert stems("eb-response", "failure") == ["EB-ERR"]
    assert stems("lcm", "submit-dsd") == ["DSD-SUB-S", "DSD-SUB-C"]
    assert stems("lcm", "submit-eb") == ["EB-SUB-S", "EB-SUB-C"]
    assert stems("lcm", "success") == ["LCM-SUC"] and stems("lcm", "failure") == ["LCM-ERR"]
    assert stems("ebms-header") == ["EDM-ebMS"]
    assert stems("wsplugin-soap") == [] and stems("lcm", None) == []


# Governikus sample -> the rule file it is checked with (decided from its content)
EXPECTED_SELECTION = {
    "oots_request.xml": "evidence_request", "oots_request1_preview.xml": "evidence_request",
    "oots_request2_after_preview.xml": "evidence_request", "oots_response.xml": "evidence_response",
    "oots_exception_preview.xml": "evidence_exception", "DSDQueryResponse.xml": "dsd_query_response",
    "DSDQueryErrorResponse.xml": "dsd_query_error", "DSD-exception-2.xml": "dsd_query_error",
    "Response_for_Get_List_of_Requirements_Query.xml": "eb_query_response",
    "Response_for_Get_Evidence_Type_for_Requirement_Query.xml": "eb_getfr_query_response",
    "Query_Error_Response.xml": "eb_error_response", "LCM-Bulk-RegistryResponse.xml": "cs_lcm_success",
    "LCM-Bulk-RegistryError.xml": "cs_lcm_error", "LCM-DSD-Bulk-SubmitObjects.xml": "dsd_lcm_submit",
    "LCM_DSDRegistryObjectEP.xml": "dsd_lcm_submit", "LCM-EB-Bulk-SubmitObjects.xml": None,  # EB-SUB: absent
}

# Failed FATAL asserts that correct-looking 0.99 samples do raise with the right file: each is explained.
KNOWN_DEFECTS = {
    # sample defects
    "DSD-LCM-Bulk-SubmitObjects.xml": {"DSD-SUB-S004",  # id="1234-5678-9012-4543" is not a UUID
                                       "DSD-SUB-S007",  # RegistryObject id="3" has no rim:Classification
                                       "DSD-SUB-S009",  # Classification id="123"
                                       "DSD-SUB-S012"},  # scheme urn:oots:classification:dsd (no 'fdc')
    "LCM-DSD-Bulk-SubmitObjects.xml": {"DSD-SUB-S009",  # urn:uuid:a1be6e74-efgh-... ('efgh' is not hex)
                                       "DSD-SUB-S012"},  # scheme urn:oots:classification:dsd
    "LCM_DSDRegistryObject.xml": {"DSD-SUB-S004", "DSD-SUB-S009"},  # ids '1234-5678-9012-4543' and '123'
    "LCM_DSDRegistryObjectEP.xml": {"DSD-SUB-S004"},  # id '1234-5678-9012-4543'
    # rule defect: cs_lcm_success tests @requestID, RegRep 4 (rs.xsd) spells the attribute requestId
    "LCM-Bulk-RegistryResponse.xml": {"R-LCM-SUC-003"},
}


def test_each_governikus_sample_gets_the_right_rule_file(layer, rs10, samples):
    seen = {}
    for p, root, det in samples:
        if GOV not in str(p) or det.kind not in S.SchematronLayer.RULE_KINDS:
            continue
        files = [f.stem for f in layer.rule_files(root, det, rs10)]
        assert len(files) <= 1, (p.name, files)
        seen[p.name] = files[0] if files else None
    for name, stem in EXPECTED_SELECTION.items():
        assert seen.get(name, "missing") == stem, (name, seen.get(name, "missing"))


def test_correct_samples_raise_only_known_defects(layer, rs10, samples):
    """With the selected file, a sample raises no FATAL assert except the explained defects."""
    checked = 0
    for p, root, det in samples:
        if GOV not in str(p) or det.kind not in S.SchematronLayer.RULE_KINDS or det.kind == "ebms-header":
            continue
        findings = layer.validate(root, det, rs10)
        fatal = {f.id for f in findings if f.severity is Severity.FATAL}
        assert fatal == KNOWN_DEFECTS.get(p.name, set()), (p.name, sorted(fatal))
        checked += 1
    assert checked >= 25


def test_no_applicable_rule_file_is_a_caution(layer, rs10, corpus):
    root = etree.fromstring(corpus(f"{GOV}/xml/LCM/LCM-EB-Bulk-SubmitObjects.xml"))
    det = detect(root)
    [f] = layer.validate(root, det, rs10)
    assert (f.id, f.severity, f.source) == ("TDD-004", Severity.CAUTION, Source.SCHEMATRON)
    assert "EB-SUB" in f.message and "lcm/submit-eb" in f.message


# --------------------------------------------------------------------------------- findings from the layer

REQ = f"{GOV}/xml/Request-Response Samples/Birth Certificate/oots_request.xml"


def _without_slot(data: bytes, name: str, parent: str = "query:QueryRequest") -> bytes:
    root = etree.fromstring(data)
    host = root if parent == "query:QueryRequest" else root.find(q(*parent.split(":")))
    for s in [s for s in host if s.tag == q("rim", "Slot") and s.get("name") == name]:
        host.remove(s)
    return etree.tostring(root)


@pytest.mark.case("EDM-REQ-004", ref="R-EDM-REQ-S009")
def test_missing_possibility_for_preview_is_fatal(layer, rs10, corpus):
    data = _without_slot(corpus(REQ), "PossibilityForPreview")
    found = [f for f in layer.validate(data, detect(etree.fromstring(data)), rs10) if f.id == "R-EDM-REQ-S009"]
    assert len(found) == 1
    f = found[0]
    assert f.severity is Severity.FATAL and f.source is Source.SCHEMATRON and f.location == "/query:QueryRequest"
    assert "PossibilityForPreview" in f.message and "PossibilityForPreview" in f.expected
    assert f.ref.startswith("evidence_request.sch")


@pytest.mark.case("EDM-REQ-011", ref="R-EDM-REQ-S016")
def test_natural_and_legal_person_together_is_fatal(layer, rs10, corpus):
    root = etree.fromstring(corpus(REQ))
    query = root.find(q("query", "Query"))
    person = next(s for s in query if s.get("name") == "NaturalPerson")
    legal = copy.deepcopy(person)
    legal.set("name", "LegalPerson")
    person.addnext(legal)
    ids = {(f.id, f.location) for f in layer.validate(root, detect(root), rs10)}
    assert ("R-EDM-REQ-S016", "/query:QueryRequest/query:Query") in ids


@pytest.mark.case("EDM-REQ-001", ref="R-EDM-REQ-S004")
def test_attribute_context_reports_value_and_attribute_location(layer, rs10, corpus):
    root = etree.fromstring(corpus(REQ))
    root.set("id", "not-a-uuid")
    [f] = [f for f in layer.validate(root, detect(root), rs10) if f.id == "R-EDM-REQ-S004"]
    assert f.location == "/query:QueryRequest/@id" and f.actual == "not-a-uuid"
    assert f.severity is Severity.FATAL  # flag='ERROR'


def test_role_info_and_missing_ids_map_to_caution_with_stable_ids(layer, rs10, corpus):
    root = etree.fromstring(corpus(REQ))
    found = layer.validate(root, detect(root), rs10)
    assert found and all(f.severity is Severity.CAUTION for f in found)  # MAY-slots asserted with role="info"
    assert "R-EDM-REQ-S008" in {f.id for f in found}
    noid = [f for f in found if f.id.startswith("evidence_request#")]
    assert len(noid) == 1 and "AuthorizedRepresentative" in noid[0].message


def test_bytes_with_a_dtd_never_reach_saxon(layer, rs10):
    data = b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/hostname">]><query:QueryRequest ' \
           b'xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:4.0">&x;</query:QueryRequest>'
    found = layer.validate(data, Detection("request", "v1.0"), rs10)
    assert [f.id for f in found] == ["XML-002"]


def test_validation_is_safe_from_several_threads(layer, rs10, corpus):
    root = etree.fromstring(_without_slot(corpus(REQ), "EvidenceRequester"))
    det = detect(root)
    expected = sorted(f.line() for f in layer.validate(root, det, rs10))
    got, errors = [], []

    def work():
        try:
            for _ in range(10):
                got.append(sorted(f.line() for f in layer.validate(root, det, rs10)))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    ts = [threading.Thread(target=work) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors and len(got) == 40 and all(g == expected for g in got)
    assert any("R-EDM-REQ-S012" in line for line in expected)


# ---------------------------------------------------------------------------------------- compile cache

def test_second_load_uses_the_disk_cache_and_corrupt_cache_is_rebuilt(rs10, tmp_path):
    sch = next(p for p in rs10.schematron if p.stem == "evidence_request")
    before = dict(S.STATS)
    first = S.compile_schematron(sch, cache_dir=tmp_path)
    assert not first.from_cache and S.STATS["generated"] == before["generated"] + 1
    [cached] = list(tmp_path.glob("evidence_request.*.xsl"))
    mtime = cached.stat().st_mtime_ns
    second = S.compile_schematron(sch, cache_dir=tmp_path)
    assert second.from_cache and second.xslt == first.xslt
    assert S.STATS["generated"] == before["generated"] + 1 and cached.stat().st_mtime_ns == mtime
    cached.write_bytes(b"<xsl:stylesheet garbage")
    third = S.compile_schematron(sch, cache_dir=tmp_path)
    assert not third.from_cache and third.xslt == first.xslt and cached.read_bytes() == first.xslt
    assert S.STATS["generated"] == before["generated"] + 2
    # well-formed but foreign content (another key) is not trusted either
    cached.write_bytes(b'<xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="3.0"/>')
    assert not S.compile_schematron(sch, cache_dir=tmp_path).from_cache


def test_cached_stylesheet_that_saxon_refuses_is_regenerated(tmp_path):
    sch = tmp_path / "refused.sch"
    sch.write_text(_sch('<sch:pattern><sch:rule context="t:j"><sch:report test="true()" id="R"/></sch:rule>'
                        '</sch:pattern><sch:let name="unique" value="\'%s\'"/>' % tmp_path.name))
    first = S.compile_schematron(sch, cache_dir=tmp_path / "c")
    [cached] = list((tmp_path / "c").glob("refused.*.xsl"))
    cached.write_bytes(first.xslt.replace(b'test="(true())"', b'test="(true("'))  # same key, broken XPath
    again = S.compile_schematron(sch, cache_dir=tmp_path / "c")
    assert again.from_cache and again.xslt != first.xslt
    before = S.STATS["generated"]
    exe = S.executable_for(again, cache_dir=tmp_path / "c")
    assert S.STATS["generated"] == before + 1 and cached.read_bytes() == first.xslt
    rt = S.SaxonRuntime.get()
    assert [r.id for r in S.parse_svrl(rt.run(exe, rt.parse(DOC.decode())))] == ["R"]


def test_cache_key_follows_includes_and_phase(tmp_path):
    inc = tmp_path / "inc.sch"
    inc.write_text(f'<sch:pattern xmlns:sch="{S.SCH}"><sch:rule context="a"><sch:assert test="b" id="X1">b'
                   '</sch:assert></sch:rule></sch:pattern>')
    main = tmp_path / "main.sch"
    main.write_text(f'<sch:schema xmlns:sch="{S.SCH}" queryBinding="xslt2"><sch:include href="inc.sch"/>'
                    '</sch:schema>')
    k1 = S.load_schema(main).key
    assert S.load_schema(main).key == k1 and S.load_schema(main, "p").key != k1
    inc.write_text(inc.read_text().replace("X1", "X2"))
    assert S.load_schema(main).key != k1


def test_compile_to_file_gives_a_runnable_stylesheet(rs10, tmp_path, corpus):
    sch = next(p for p in rs10.schematron if p.stem == "evidence_request")
    out = S.compile_to_file(sch, tmp_path / "out" / "evidence_request.xsl")
    rt = S.SaxonRuntime.get()
    exe = rt.xslt.compile_stylesheet(stylesheet_text=out.read_text(encoding="utf-8"))
    root = etree.fromstring(_without_slot(corpus(REQ), "IssueDateTime"))
    ids = {r.id for r in S.parse_svrl(rt.run(exe, rt.parse(S._xml_text(root))))}
    assert "R-EDM-REQ-S006" in ids


# ------------------------------------------------------------------------------- compiler features

def _sch(body: str, binding: str = "xslt2", extra_ns: str = "") -> str:
    return (f'<sch:schema xmlns:sch="{S.SCH}" xmlns:xsl="{S.XSL}" queryBinding="{binding}">'
            f'<sch:ns prefix="t" uri="urn:t"/>{extra_ns}{body}</sch:schema>')


DOC = b'<t:r xmlns:t="urn:t" a="1"><t:i n="1"/><t:i n="2"/><t:j/><!-- c --></t:r>'


def _run(tmp_path, body: str, doc: bytes = DOC, name: str = "s.sch", **kw):
    p = tmp_path / name
    p.write_text(_sch(body, **kw))
    root = etree.fromstring(doc)
    return [(r.kind, r.id, S.readable_location(root, r.location), r.location, r.text, r.flag, r.role)
            for r in S.parse_svrl(S.run_svrl(p, root, cache_dir=tmp_path / "c"))]


def test_first_matching_rule_wins_within_a_pattern_and_all_patterns_run(tmp_path):
    out = _run(tmp_path, """
      <sch:pattern id="p1">
        <sch:rule context="t:i[@n='1']"><sch:report test="true()" id="FIRST"/></sch:rule>
        <sch:rule context="t:i"><sch:report test="true()" id="SECOND"/></sch:rule>
        <sch:rule context="@n"><sch:report test=". = '2'" id="ATTR"/></sch:rule>
      </sch:pattern>
      <sch:pattern id="p2"><sch:rule context="t:i"><sch:report test="true()" id="OTHER"/></sch:rule></sch:pattern>""")
    i1, i2 = "/Q{urn:t}r[1]/Q{urn:t}i[1]", "/Q{urn:t}r[1]/Q{urn:t}i[2]"
    assert [(i, raw) for _, i, _, raw, *_ in out] == [
        ("FIRST", i1), ("SECOND", i2), ("ATTR", i2 + "/@n"), ("OTHER", i1), ("OTHER", i2)]


def test_lets_at_every_level_messages_and_flags(tmp_path):
    out = _run(tmp_path, """
      <sch:let name="g" value="count(//t:i)"/>
      <sch:pattern id="p">
        <sch:let name="root" value="local-name(/*)"/>
        <sch:rule context="t:j">
          <sch:let name="here" value="name()"/>
          <sch:assert test="$g = 3" id="A1" flag="warning">there are <sch:value-of select="$g"/> items in
            <sch:value-of select="$root"/>, at <sch:name/> (<sch:emph>sic</sch:emph>) and {braces}</sch:assert>
          <sch:assert test="$here = 't:j'" id="A2" role="info">never</sch:assert>
        </sch:rule>
      </sch:pattern>""")
    assert len(out) == 1
    kind, fid, loc, raw, text, flag, role = out[0]
    assert (kind, fid, flag) == ("failed-assert", "A1", "warning")
    assert " ".join(text.split()) == "there are 2 items in r, at t:j (sic) and {braces}"


def test_same_let_name_in_two_patterns_is_pattern_scoped(tmp_path):
    out = _run(tmp_path, """
      <sch:pattern><sch:let name="v" value="'one'"/>
        <sch:rule context="t:j"><sch:report test="$v = 'one'" id="P1"/></sch:rule></sch:pattern>
      <sch:pattern><sch:let name="v" value="count(//t:i)"/>
        <sch:rule context="t:j"><sch:report test="$v = 2" id="P2"/></sch:rule></sch:pattern>""")
    assert [i for _, i, *_ in out] == ["P1", "P2"]


def test_include_abstract_rules_abstract_patterns_phases_and_diagnostics(tmp_path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "inc.sch").write_text(
        f'<sch:pattern xmlns:sch="{S.SCH}" id="included"><sch:rule context="t:j">'
        '<sch:report test="true()" id="INC"/></sch:rule></sch:pattern>')
    body = """
      <sch:phase id="only-abs"><sch:active pattern="inst"/></sch:phase>
      <sch:include href="rules/inc.sch"/>
      <sch:pattern id="ab">
        <sch:rule abstract="true" id="has-n">
          <sch:assert test="@n" id="EXT" diagnostics="d1">no n</sch:assert></sch:rule>
        <sch:rule context="t:i | t:j"><sch:extends rule="has-n"/></sch:rule>
      </sch:pattern>
      <sch:pattern abstract="true" id="count-of"><sch:rule context="$parent">
        <sch:assert test="count($child) = $n" id="CNT">count of <sch:value-of select="name()"/></sch:assert>
      </sch:rule></sch:pattern>
      <sch:pattern is-a="count-of" id="inst">
        <sch:param name="parent" value="t:r"/><sch:param name="child" value="t:i"/><sch:param name="n" value="3"/>
      </sch:pattern>
      <sch:diagnostics><sch:diagnostic id="d1">element <sch:name/> lacks @n</sch:diagnostic></sch:diagnostics>"""
    out = _run(tmp_path, body)
    assert sorted(i for _, i, *_ in out) == ["CNT", "EXT", "INC"]
    p = tmp_path / "s.sch"
    res = S.parse_svrl(S.run_svrl(S.compile_schematron(p, phase="only-abs", cache_dir=tmp_path / "c"),
                                  etree.fromstring(DOC)))
    assert [r.id for r in res] == ["CNT"]
    full = S.parse_svrl(S.run_svrl(p, etree.fromstring(DOC), cache_dir=tmp_path / "c"))
    assert [r.diagnostics for r in full if r.id == "EXT"] == [("element t:j lacks @n",)]


def test_bad_schemas_are_refused_clearly(tmp_path):
    p = tmp_path / "bad.sch"
    p.write_text(_sch("<sch:pattern/>", binding="exslt"))
    with pytest.raises(S.SchematronError, match="queryBinding"):
        S.compile_schematron(p, cache_dir=tmp_path)
    p.write_text(_sch('<sch:include href="http://127.0.0.1:9/x.sch"/>'))
    with pytest.raises(S.SchematronError, match="remote"):
        S.compile_schematron(p, cache_dir=tmp_path)
    p.write_text(_sch('<sch:pattern><sch:rule context="t:i"><sch:assert test="(" id="X"/></sch:rule></sch:pattern>'))
    with pytest.raises(S.SchematronError, match="does not compile"):
        S.executable_for(p, cache_dir=tmp_path)


def test_dynamic_errors_and_file_access_become_findings(tmp_path):
    from conformance.rules.tdd import RuleSet
    p = tmp_path / "EDM-REQ-S.sch"
    p.write_text(_sch("""<sch:pattern><sch:rule context="t:r">
        <sch:assert test="string-length(unparsed-text('file:///etc/hostname')) = 0" id="READ"/>
      </sch:rule></sch:pattern>"""))
    rs = RuleSet("v9.9", "synthetic", tmp_path, schematron=[p])
    found = S.SchematronLayer(None, cache_dir=tmp_path / "c").validate(etree.fromstring(DOC),
                                                                       Detection("request", "v9.9"), rs)
    assert [(f.id, f.severity) for f in found] == [("SCH-RUNTIME", Severity.FATAL)]
    assert "prohibited" in found[0].message


def test_the_equivalence_check_catches_a_wrong_compiler(engines, rs10, corpus):
    """A compiler whose walk skips attributes loses attribute-context rules: the comparison must see it."""
    sch = next(p for p in rs10.schematron if p.stem == "evidence_request")
    broken = S.generate_xslt(S.load_schema(sch)).replace(b'select="@*|*"', b'select="*"')
    rt = S.SaxonRuntime.get()
    exe = rt.xslt.compile_stylesheet(stylesheet_text=broken.decode())
    root = etree.fromstring(corpus(REQ))
    root.set("id", "not-a-uuid")
    _, iso, flavour = engines["evidence_request"]
    node = rt.parse(S._xml_text(root))
    got = results(exe, node, root, iso=False, flavour=flavour)
    want = results(iso, node, root, iso=True, flavour=flavour)
    assert got != want and ("failed-assert", "R-EDM-REQ-S004", "value:not-a-uuid") in want - got
