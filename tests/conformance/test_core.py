"""The validator's own machinery: hardened parsing, detection, TDD layouts, orchestration, reports, CLI."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from lxml import etree

from conformance.report.events import EventStream
from conformance.report.writers import render_json, render_junit, render_text
from conformance.rules import tdd as tdd_mod
from conformance.rules.detect import detect
from conformance.rules.findings import Severity
from conformance.rules.validator import Validator
from conformance.rules.xmlsafe import parse_bytes
from simulators.cli import main as cli

REQ = "edm-v2.0-oots-france/xml/reference/messages/requete.xml"
RESP = "edm-v2.0-oots-france/xml/reference/messages/reponse.xml"
REQ12 = "edm-v1.2-pyregrep/xml/EDM_Ferst_Request.xml"

HOSTILE = {
    "xxe": b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
    "billion-laughs": b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
                      b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
                      b']><r>&d;&d;&d;&d;&d;&d;&d;&d;</r>',
    "external-dtd": b'<!DOCTYPE r SYSTEM "http://127.0.0.1:9/x.dtd"><r/>',
    "deep-nesting": b"<a>" * 100_000 + b"</a>" * 100_000,
    "bad-encoding": '<?xml version="1.0" encoding="UTF-8"?><r>\xe9</r>'.encode("latin-1"),
    "unknown-encoding": b'<?xml version="1.0" encoding="x-nope"?><r/>',
    "truncated": b"<query:QueryRequest xmlns:query='urn:oasis:names:tc:ebxml-regrep:xsd:query:4.0'><a>",
    "empty": b"",
    "binary": bytes(range(256)) * 10,
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input_gets_a_clear_finding_fast(name):
    t0 = time.perf_counter()
    res = Validator().validate_bytes(HOSTILE[name], name)
    assert time.perf_counter() - t0 < 5  # a guard against hangs, not a speed target
    assert not res.conformant and res.tool_error is None
    ids = res.ids(Severity.FATAL)
    assert ids & {"XML-001", "XML-002"}, res.findings
    if name in ("xxe", "billion-laughs", "external-dtd"):
        assert "XML-002" in ids


def test_oversize_document_is_refused_before_parsing():
    res = Validator(max_bytes=1000).validate_bytes(b"<r>" + b"x" * 2000 + b"</r>")
    assert res.ids() == {"XML-003"}


def test_non_utf8_encoding_is_a_warning_only():
    doc = parse_bytes('<?xml version="1.0" encoding="ISO-8859-1"?><r>\xe9</r>'.encode("latin-1"))
    assert doc.ok and [f.id for f in doc.findings] == ["XML-004"]
    assert doc.findings[0].severity is Severity.WARNING


def test_every_corpus_file_is_classified(tdd):
    kinds = {}
    for p in tdd.samples:
        kinds[p.name] = detect(etree.parse(str(p)).getroot()).kind
    assert kinds["requete.xml"] == "request" and kinds["reponse.xml"] == "response"
    assert kinds["erreur.xml"] == "exception" and kinds["requete.entete.xml"] == "ebms-header"
    assert kinds["dsd_data_services_fi.xml"] == "dsd-response"
    assert kinds["eb_requirements_fr.xml"] == "eb-response"
    assert kinds["recuperationMessage.xml"] == "wsplugin-soap"
    assert kinds["configuration_PMode_Domibus.xml"] == "pmode"
    assert kinds["LCM-Bulk-RegistryResponse.xml"] == "lcm"
    assert kinds["BirthEvidence.xml"] == "document"


def test_versions_detected_from_content(corpus):
    v = Validator()
    assert v.validate_bytes(corpus(REQ)).version == "v2.0"
    assert v.validate_bytes(corpus(REQ12)).version == "v1.2"
    hdr = v.validate_bytes(corpus("edm-v2.0-oots-france/xml/reference/messages/requete.entete.xml"))
    assert (hdr.kind, hdr.version) == ("ebms-header", "v2.0")


def test_missing_rule_set_gives_one_notice_not_a_wall_of_failures(corpus):
    res = Validator().validate_bytes(corpus(REQ))
    notices = [f for f in res.findings if f.id == "TDD-001"]
    assert len(notices) == 1 and notices[0].severity is Severity.CAUTION
    assert "v2.0" in notices[0].message and not any(f.source.value == "schematron" for f in res.findings)


def test_unknown_declared_version_is_fatal(corpus):
    data = corpus(REQ).replace(b"oots-edm:v2.0", b"oots-edm:v9.9")
    assert "DETECT-002" in Validator().validate_bytes(data).ids(Severity.FATAL)


def test_forced_kind_that_does_not_fit_the_root(corpus):
    res = Validator().validate_bytes(corpus(REQ), kind="ebms-header")
    assert "DETECT-003" in res.ids(Severity.FATAL)


def test_forced_edm_version_is_used_and_reported(corpus):
    res = Validator().validate_bytes(corpus(REQ), edm="v1.2")
    assert res.version == "v1.2" and "DETECT-005" in res.ids()


def test_xsd_layer_flags_the_known_v12_sample_defect(corpus):
    # PROVENANCE: the pyRegRep v1.2 samples use xsi:lang where xml:lang is expected.
    res = Validator().validate_bytes(corpus(REQ12))
    xsd = [f for f in res.findings if f.id == "XSD"]
    assert xsd and all("xsi:lang" in f.message for f in xsd)
    assert xsd[0].location.startswith("/query:QueryRequest")


def test_xsd_layer_flags_a_broken_regrep_structure(corpus):
    data = corpus(REQ).replace(b"<query:ResponseOption", b"<query:ResponseOptionX", 1) \
        .replace(b"</query:ResponseOption>", b"</query:ResponseOptionX>", 1)
    if b"<query:ResponseOptionX" in data and b"/>" in data:
        data = data  # self-closing form is handled by the first replacement alone
    res = Validator(layers=("xsd",)).validate_bytes(data)
    assert "XSD" in res.ids(Severity.FATAL)


def test_unreadable_file_is_a_tool_error(tmp_path):
    res = Validator().validate_file(tmp_path / "nope.xml")
    assert res.tool_error and not res.conformant


def test_writers_render_one_stream(corpus):
    v = Validator()
    stream = EventStream()
    stream.start("test")
    stream.result(v.validate_bytes(corpus(REQ), "good.xml"))
    stream.result(v.validate_bytes(HOSTILE["xxe"], "bad.xml"))
    stream.finish()
    text = render_text(stream)
    assert "CONFORMANT      good.xml" in text and "NOT CONFORMANT  bad.xml" in text and "XML-002" in text
    data = json.loads(render_json(stream))
    assert data["summary"]["messages"] == 2 and data["summary"]["not_conformant"] == 1
    assert data["results"][1]["findings"][0]["tier"] == "strict"
    junit = etree.fromstring(render_junit(stream).encode())
    suites = junit.findall("testsuite")
    assert [s.get("name") for s in suites] == ["good.xml", "bad.xml"]
    assert suites[1].get("failures") == "1" and suites[1].find("testcase/failure") is not None


def test_official_tdd_layout_is_indexed(tmp_path, tdd):
    """A tdd_chapters-shaped checkout is found and keyed by its version."""
    root = tmp_path / "tdd_chapters"
    (root / "OOTS-EDM" / "xsd" / "sdg").mkdir(parents=True)
    (root / "OOTS-EDM" / "sch").mkdir()
    (root / "OOTS-EDM" / "codelists" / "OOTS").mkdir(parents=True)
    (root / "OOTS-EDM" / "xml").mkdir()
    (root / "OOTS-EDM" / "xsd" / "sdg" / "SDG-GenericMetadataProfile-v2.0.1.xsd").write_text("<x/>")
    (root / "OOTS-EDM" / "sch" / "EDM-REQ-S.sch").write_text("<x/>")
    (root / "OOTS-EDM" / "codelists" / "OOTS" / "EDMErrorCodes-CodeList.gc").write_text("<x/>")
    repo = tdd_mod.load([root, *tdd.roots])
    assert set(repo.rulesets) >= {"v2.0", "v1.0"}
    rs = repo.rulesets["v2.0"]
    assert rs.sdg_xsd.name.endswith("v2.0.1.xsd") and len(rs.schematron) == 1 and len(rs.codelists) == 1


def test_no_tdd_found_says_how_to_fix(tmp_path):
    with pytest.raises(tdd_mod.TddNotFound, match="OOTS_TDD_DIR"):
        tdd_mod.load([tmp_path / "missing"])


def test_cli_exit_codes(tmp_path, corpus_path, capsys):
    assert cli(["validate", str(corpus_path(REQ))]) == 0
    bad = tmp_path / "bad.xml"
    bad.write_bytes(HOSTILE["xxe"])
    assert cli(["validate", str(bad)]) == 2
    assert cli(["validate", str(tmp_path / "missing.xml")]) == 1
    out = tmp_path / "r.json"
    assert cli(["validate", "--format", "json", "-o", str(out), str(corpus_path(REQ))]) == 0
    assert json.loads(out.read_text())["summary"]["conformant"] == 1
    capsys.readouterr()


def test_console_script_runs(corpus_path):
    proc = subprocess.run([sys.executable, "-m", "simulators.cli", "validate", "--format", "junit",
                           str(corpus_path(REQ))], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("<?xml")


def test_fetch_tdd_says_clearly_when_it_cannot(tmp_path, capsys):
    rc = cli(["fetch-tdd", "--version", "2.0.1", "--url", f"file://{tmp_path}/no-such-repo",
              "--dest", str(tmp_path / "out"), "--timeout", "30"])
    assert rc == 1
    assert "not reachable" in capsys.readouterr().err
