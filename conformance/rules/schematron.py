"""Schematron layer: our own ISO Schematron -> XSLT 3.0 compiler, run by Saxon-HE (saxonche), read as SVRL.

The compiler covers what OOTS Schematron uses: ``sch:ns``, ``sch:let`` (schema, phase, pattern, rule),
patterns, rules, ``sch:assert`` / ``sch:report`` with ``@id @flag @role @subject @diagnostics``,
``sch:value-of`` / ``sch:name`` / ``sch:emph|dir|span`` in messages, ``sch:include``, abstract rules
(``sch:extends``), abstract patterns (``@is-a`` + ``sch:param``), ``sch:phase`` and top-level
``xsl:function`` / ``xsl:key``. Semantics follow the ISO skeleton: every pattern is its own mode walking the whole
document (elements and attributes); within a pattern a node fires at most the first rule whose context matches.

The generated SVRL gives ``@location`` as an exact, prefix-free XPath (``/Q{uri}QueryRequest[1]/@id``), which
the layer turns into the harness's readable form (``/query:QueryRequest/rim:Slot[@name='X']``).

    layer = SchematronLayer(repo)
    findings = layer.validate(root, detection, ruleset)      # every rule file that applies to the kind
    compile_to_file("EDM-REQ-S.sch", "EDM-REQ-S.xsl")         # for ``oots-harness schematron compile``

Generated XSLT is cached on disk (``tdd.CACHE_DIR / "schematron"``) keyed by the schema's content (includes
too), the phase and the compiler version; Saxon executables are kept in memory, one processor per process.
"""
from __future__ import annotations

import copy
import hashlib
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from . import tdd
from .detect import Detection
from .findings import Finding, Severity, Source
from .ns import PREFIX, locate, q
from .xmlsafe import make_parser, parse_bytes

COMPILER_VERSION = "1"

SCH = "http://purl.oclc.org/dsdl/schematron"
SVRL = "http://purl.oclc.org/dsdl/svrl"
XSL = "http://www.w3.org/1999/XSL/Transform"
XS = "http://www.w3.org/2001/XMLSchema"
OH = "urn:oots-harness:schematron"  # our own names in the generated stylesheet (functions, modes, attributes)

_QUERY_BINDINGS = {"", "xslt", "xslt2", "xslt3", "xpath", "xpath2", "xpath3", "xpath31"}
_MAX_INCLUDE_DEPTH = 8
_SEVERITY_WORDS = {"fatal", "error", "err", "warning", "warn", "caution", "info", "information", "informational"}

#: Counters for tests and benchmarks: XSLT generations, disk cache hits, Saxon compilations.
STATS = {"generated": 0, "disk_hits": 0, "saxon_compiled": 0}


class SchematronError(ValueError):
    """A Schematron file that cannot be compiled (bad structure, unsupported binding, missing include)."""


def _s(local: str) -> str:
    return f"{{{SCH}}}{local}"


def _x(local: str) -> str:
    return f"{{{XSL}}}{local}"


def _v(local: str) -> str:
    return f"{{{SVRL}}}{local}"


# ---------------------------------------------------------------------------------------------------------
# Loading: includes, abstract patterns, abstract rules
# ---------------------------------------------------------------------------------------------------------

@dataclass
class LoadedSchema:
    """An expanded Schematron document and the key of everything it was built from."""

    path: Path
    root: etree._Element
    key: str  # sha256 of compiler version + file name + phase + bytes of the file and of every include
    phase: str | None = None


def _read_xml(path: Path) -> tuple[etree._Element, bytes]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SchematronError(f"cannot read {path}: {exc.strerror or exc}") from exc
    doc = parse_bytes(data)
    if doc.root is None:
        raise SchematronError(f"{path.name}: " + "; ".join(f.message for f in doc.findings))
    return doc.root, data


def _resolve_href(href: str, base: Path) -> tuple[Path, str | None]:
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", href) and not href.startswith("file://"):
        raise SchematronError(f"include of a remote resource is refused: {href}")
    ref, _, frag = href.partition("#")
    ref = ref.removeprefix("file://")
    target = (base.parent / ref) if ref else base
    return target.resolve(), (frag or None)


def _expand_includes(el: etree._Element, base: Path, parts: list[bytes], depth: int) -> None:
    """Replace ``sch:include`` (and ``sch:extends/@href``) by the referenced element, recursively."""
    if depth > _MAX_INCLUDE_DEPTH:
        raise SchematronError(f"includes nested deeper than {_MAX_INCLUDE_DEPTH} levels (cycle?) at {base.name}")
    for inc in list(el.iter(_s("include"), _s("extends"))):
        href = inc.get("href")
        if not href or inc.getparent() is None:
            continue
        target, frag = _resolve_href(href, base)
        root, data = _read_xml(target)
        parts.append(target.name.encode() + b"\0" + data)
        if frag:
            found = root.xpath("//*[@id=$i or @xml:id=$i]", i=frag)
            if not found:
                raise SchematronError(f"{href}: no element with id {frag!r}")
            root = found[0]
        root = copy.deepcopy(root)
        _expand_includes(root, target, parts, depth + 1)
        parent = inc.getparent()
        idx = parent.index(inc)
        if inc.tag == _s("extends") or root.tag == _s("schema"):
            # extends/@href brings in a rule's content; an included schema contributes its children
            repl = [c for c in root if isinstance(c.tag, str) and (root.tag != _s("schema")
                                                                   or c.tag != _s("title"))]
        else:
            repl = [root]
        tail = inc.tail
        parent.remove(inc)
        for i, node in enumerate(repl):
            parent.insert(idx + i, node)
        if tail and repl:
            repl[-1].tail = (repl[-1].tail or "") + tail


_PARAM_ATTRS = ("context", "test", "select", "value", "path", "subject")


def _instantiate_abstract_patterns(schema: etree._Element) -> None:
    abstract = {p.get("id"): p for p in schema.findall(_s("pattern")) if p.get("abstract") == "true"}
    for inst in schema.findall(_s("pattern")):
        is_a = inst.get("is-a")
        if not is_a:
            continue
        if is_a not in abstract:
            raise SchematronError(f"pattern {inst.get('id')!r}: abstract pattern {is_a!r} not found")
        params = {p.get("name"): p.get("value", "") for p in inst.findall(_s("param"))}
        new = copy.deepcopy(abstract[is_a])
        del new.attrib["abstract"]
        for k in ("id", "name"):
            if inst.get(k) is not None:
                new.set(k, inst.get(k))
            elif k in new.attrib:
                del new.attrib[k]
        names = sorted(params, key=len, reverse=True)
        for node in new.iter():
            for attr in _PARAM_ATTRS:
                val = node.get(attr)
                if val is None:
                    continue
                for n in names:
                    val = re.sub(r"\$" + re.escape(n) + r"(?![\w.\-])", lambda _m, n=n: params[n], val)
                node.set(attr, val)
        new.tail = inst.tail
        schema.replace(inst, new)
    for p in abstract.values():
        schema.remove(p)


def _expand_abstract_rules(schema: etree._Element) -> None:
    abstract = {r.get("id"): r for r in schema.iter(_s("rule")) if r.get("abstract") == "true"}
    for _ in range(_MAX_INCLUDE_DEPTH):
        pending = [e for e in schema.iter(_s("extends")) if e.get("rule")]
        if not pending:
            break
        for ext in pending:
            src = abstract.get(ext.get("rule"))
            if src is None:
                raise SchematronError(f"sch:extends: abstract rule {ext.get('rule')!r} not found")
            parent = ext.getparent()
            idx = parent.index(ext)
            parent.remove(ext)
            for i, c in enumerate(c for c in src if isinstance(c.tag, str)):
                parent.insert(idx + i, copy.deepcopy(c))
    else:
        raise SchematronError("sch:extends nested too deeply (cycle?)")
    for r in abstract.values():
        r.getparent().remove(r)


def load_schema(path: str | Path, phase: str | None = None) -> LoadedSchema:
    """Read a ``.sch`` file and expand includes and abstract constructs; compute its cache key."""
    path = Path(path).resolve()
    root, data = _read_xml(path)
    if root.tag != _s("schema"):
        raise SchematronError(f"{path.name}: root element is {root.tag}, expected sch:schema (ISO namespace {SCH})")
    parts = [COMPILER_VERSION.encode(), path.name.encode(), (phase or "").encode(), data]
    _expand_includes(root, path, parts, 1)
    _instantiate_abstract_patterns(root)
    _expand_abstract_rules(root)
    h = hashlib.sha256()
    for p in parts:
        h.update(len(p).to_bytes(8, "big"))
        h.update(p)
    return LoadedSchema(path, root, h.hexdigest(), phase)


# ---------------------------------------------------------------------------------------------------------
# Code generation: expanded Schematron -> XSLT 3.0 producing SVRL
# ---------------------------------------------------------------------------------------------------------

_PATH_FUNCTIONS = f"""<xsl:stylesheet xmlns:xsl="{XSL}" xmlns:xs="{XS}" xmlns:oh="{OH}">
<xsl:function name="oh:path" as="xs:string">
  <xsl:param name="n" as="node()"/>
  <xsl:sequence select="if ($n instance of document-node()) then '/' else
      string-join(for $a in $n/ancestor-or-self::node()[not(. instance of document-node())] return oh:step($a), '')"/>
</xsl:function>
<xsl:function name="oh:step" as="xs:string">
  <xsl:param name="n" as="node()"/>
  <xsl:variable name="qn" select="if ($n instance of element() or $n instance of attribute())
      then (if (namespace-uri($n) = '') then local-name($n) else concat('Q{{', namespace-uri($n), '}}', local-name($n)))
      else ''"/>
  <xsl:choose>
    <xsl:when test="$n instance of element()">
      <xsl:sequence select="concat('/', $qn, '[',
          1 + count($n/preceding-sibling::*[node-name(.) eq node-name($n)]), ']')"/>
    </xsl:when>
    <xsl:when test="$n instance of attribute()"><xsl:sequence select="concat('/@', $qn)"/></xsl:when>
    <xsl:when test="$n instance of text()">
      <xsl:sequence select="concat('/text()[', 1 + count($n/preceding-sibling::text()), ']')"/>
    </xsl:when>
    <xsl:when test="$n instance of comment()">
      <xsl:sequence select="concat('/comment()[', 1 + count($n/preceding-sibling::comment()), ']')"/>
    </xsl:when>
    <xsl:when test="$n instance of processing-instruction()">
      <xsl:sequence select="concat('/processing-instruction(', local-name($n), ')[',
          1 + count($n/preceding-sibling::processing-instruction()[local-name() eq local-name($n)]), ']')"/>
    </xsl:when>
    <xsl:otherwise><xsl:sequence select="concat('/namespace::', local-name($n))"/></xsl:otherwise>
  </xsl:choose>
</xsl:function>
</xsl:stylesheet>"""


def _avt(value: str) -> str:
    """Escape a literal for an attribute value template."""
    return value.replace("{", "{{").replace("}", "}}")


@dataclass
class _Gen:
    name: str
    diagnostics: dict = field(default_factory=dict)
    ordinal: int = 0  # assertions numbered in schema order: the fallback id of an assertion without @id


def _check_binding(schema: etree._Element, name: str) -> str:
    qb = (schema.get("queryBinding") or "").strip().lower()
    if qb not in _QUERY_BINDINGS:
        raise SchematronError(f"{name}: queryBinding {qb!r} is not supported (use xslt2 or xslt3)")
    return qb or "xslt"


def _active_patterns(schema: etree._Element, phase: str | None, name: str):
    """(active patterns, phase lets, phase id) for ``phase`` (None/#DEFAULT: @defaultPhase, else #ALL)."""
    patterns = [p for p in schema.findall(_s("pattern")) if p.get("abstract") != "true"]
    if not phase or phase == "#DEFAULT":
        phase = schema.get("defaultPhase") or "#ALL"
    if phase == "#ALL":
        return patterns, [], "#ALL"
    ph = next((p for p in schema.findall(_s("phase")) if p.get("id") == phase), None)
    if ph is None:
        raise SchematronError(f"{name}: phase {phase!r} not defined")
    active = {a.get("pattern") for a in ph.findall(_s("active"))}
    return [p for p in patterns if p.get("id") in active], ph.findall(_s("let")), phase


def _let(parent: etree._Element, let: etree._Element, *, param: bool = False) -> None:
    tag = _x("param") if param else _x("variable")
    v = etree.SubElement(parent, tag, name=let.get("name"))
    if param:
        v.set("tunnel", "yes")
        return
    if let.get("value") is not None:
        v.set("select", let.get("value"))
    else:  # 2016: content of sch:let is the value (a temporary tree)
        for c in let:
            v.append(copy.deepcopy(c))
        v.text = let.text


def _message(parent: etree._Element, src: etree._Element) -> None:
    """Copy assertion content into ``parent``: text, value-of, name; other markup contributes its text."""
    def text(t):
        if t:
            etree.SubElement(parent, _x("text")).text = t

    text(src.text)
    for c in src:
        if c.tag == _s("value-of"):
            etree.SubElement(parent, _x("value-of"), select=c.get("select", "."))
        elif c.tag == _s("name"):
            etree.SubElement(parent, _x("value-of"), select=f"name({c.get('path') or '.'})")
        elif isinstance(c.tag, str):
            _message(parent, c)
        text(c.tail)


def _assertion(g: _Gen, tpl: etree._Element, a: etree._Element, rule: etree._Element) -> None:
    g.ordinal += 1
    report = a.tag == _s("report")
    test = a.get("test")
    if test is None:
        raise SchematronError(f"{g.name}: sch:{etree.QName(a).localname} without @test "
                              f"(rule context {rule.get('context')!r})")
    cond = etree.SubElement(tpl, _x("if"), test=f"({test})" if report else f"not(({test}))")
    res = etree.SubElement(cond, _v("successful-report" if report else "failed-assert"))
    res.set("test", _avt(test))
    for k in ("id", "flag", "role"):
        if a.get(k) is not None:
            res.set(k, _avt(a.get(k)))
    res.set(f"{{{OH}}}n", str(g.ordinal))
    subject = a.get("subject") or rule.get("subject")
    loc = f"oh:path((({subject}), .)[1])" if subject else "oh:path(.)"
    etree.SubElement(res, _x("attribute"), name="location", select=loc)
    for d in (a.get("diagnostics") or "").split():
        diag = g.diagnostics.get(d)
        if diag is None:
            raise SchematronError(f"{g.name}: diagnostic {d!r} not defined")
        ref = etree.SubElement(res, _v("diagnostic-reference"), diagnostic=d)
        _message(etree.SubElement(ref, _v("text")), diag)
    _message(etree.SubElement(res, _v("text")), a)


def generate_xslt(loaded: LoadedSchema) -> bytes:
    """Generate the XSLT 3.0 stylesheet (bytes) for an expanded schema (in its phase)."""
    schema, name, phase = loaded.root, loaded.path.name, loaded.phase
    qb = _check_binding(schema, name)
    g = _Gen(name)
    nsmap = {"xsl": XSL, "svrl": SVRL, "xs": XS, "oh": OH}
    for ns in schema.findall(_s("ns")):
        prefix, uri = ns.get("prefix"), ns.get("uri")
        if not prefix or uri is None:
            raise SchematronError(f"{name}: sch:ns needs @prefix and @uri")
        if prefix in ("xsl", "svrl", "oh") and uri != nsmap[prefix]:
            raise SchematronError(f"{name}: prefix {prefix!r} is reserved by the compiler")
        nsmap[prefix] = uri
    for d in schema.iter(_s("diagnostic")):
        g.diagnostics[d.get("id")] = d
    patterns, phase_lets, phase_id = _active_patterns(schema, phase, name)

    ss = etree.Element(_x("stylesheet"), nsmap=nsmap)
    ss.set("version", "3.0")
    ss.set("exclude-result-prefixes", "#all")
    ss.set(f"{{{OH}}}compiler", COMPILER_VERSION)
    ss.set(f"{{{OH}}}key", loaded.key)
    ss.append(etree.Comment(f" generated by oots-harness schematron compiler v{COMPILER_VERSION} from {name} "
                            f"(queryBinding {qb}, phase {phase_id}); do not edit "))
    etree.SubElement(ss, _x("output"), method="xml", indent="no", encoding="UTF-8").set("omit-xml-declaration", "yes")
    for f in etree.fromstring(_PATH_FUNCTIONS, etree.XMLParser(remove_blank_text=True)):
        ss.append(copy.deepcopy(f))
    for c in schema:  # foreign XSLT allowed by the xslt2/xslt3 bindings
        if c.tag in (_x("function"), _x("key")):
            ss.append(copy.deepcopy(c))
    # schema-level and phase lets are global variables (context: the document node)
    globals_ = schema.findall(_s("let")) + list(phase_lets)
    names = [l.get("name") for l in globals_]
    for l in globals_:
        _let(ss, l)
    # pattern lets: global when their name is unique (so rule contexts may use them), else tunnel parameters
    pattern_let_names = [l.get("name") for p in patterns for l in p.findall(_s("let"))]

    root_tpl = etree.Element(_x("template"), match="/")
    out = etree.SubElement(root_tpl, _v("schematron-output"))
    title = schema.find(_s("title"))
    out.set("title", _avt(" ".join("".join(title.itertext()).split())) if title is not None else "")
    out.set("schemaVersion", _avt(schema.get("schemaVersion", "")))
    if phase_id != "#ALL":
        out.set("phase", _avt(phase_id))
    for ns in schema.findall(_s("ns")):
        etree.SubElement(out, _v("ns-prefix-in-attribute-values"), prefix=ns.get("prefix"), uri=ns.get("uri"))
    ss.append(root_tpl)

    for i, pat in enumerate(patterns, 1):
        mode = f"oh:M{i}"
        ap = etree.SubElement(out, _v("active-pattern"))
        for k in ("id", "name"):
            if pat.get(k) is not None:
                ap.set(k, _avt(pat.get(k)))
        tunnel = []
        for l in pat.findall(_s("let")):
            if pattern_let_names.count(l.get("name")) == 1 and l.get("name") not in names:
                _let(ss, l)
            else:
                tunnel.append(l)
        if tunnel:
            etree.SubElement(out, _x("call-template"), name=f"oh:P{i}")
            start = etree.SubElement(ss, _x("template"), name=f"oh:P{i}")
            for l in tunnel:
                _let(start, l)
            at = etree.SubElement(start, _x("apply-templates"), select="/", mode=mode)
            for l in tunnel:
                etree.SubElement(at, _x("with-param"), name=l.get("name"), select=f"${l.get('name')}",
                                 tunnel="yes")
        else:
            etree.SubElement(out, _x("apply-templates"), select="/", mode=mode)
        rules = [r for r in pat.findall(_s("rule")) if r.get("abstract") != "true"]
        for j, rule in enumerate(rules):
            ctx = rule.get("context")
            if not ctx:
                raise SchematronError(f"{name}: a concrete sch:rule has no @context")
            # the first rule of a pattern whose context matches wins: priorities follow rule order
            tpl = etree.SubElement(ss, _x("template"), match=ctx, mode=mode, priority=str(len(rules) - j))
            for l in tunnel:
                _let(tpl, l, param=True)
            fired = etree.SubElement(tpl, _v("fired-rule"), context=_avt(ctx))
            for k in ("id", "role", "flag"):
                if rule.get(k) is not None:
                    fired.set(k, _avt(rule.get(k)))
            for c in rule:
                if c.tag == _s("let"):
                    _let(tpl, c)
            for c in rule:
                if c.tag in (_s("assert"), _s("report")):
                    _assertion(g, tpl, c, rule)
            etree.SubElement(tpl, _x("apply-templates"), select="@*|*", mode=mode)
        walk_doc = etree.SubElement(ss, _x("template"), match="/", mode=mode, priority="-2")
        etree.SubElement(walk_doc, _x("apply-templates"), select="node()", mode=mode)
        walk = etree.SubElement(ss, _x("template"), match="@*|node()", mode=mode, priority="-3")
        etree.SubElement(walk, _x("apply-templates"), select="@*|*", mode=mode)
    STATS["generated"] += 1
    return etree.tostring(ss, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# ---------------------------------------------------------------------------------------------------------
# Compile with a disk cache
# ---------------------------------------------------------------------------------------------------------

@dataclass
class CompiledSchematron:
    """A Schematron file compiled to XSLT 3.0 (text kept, ready for Saxon)."""

    source: Path
    key: str
    xslt: bytes
    from_cache: bool = False
    phase: str | None = None

    @property
    def name(self) -> str:
        return self.source.name


def default_cache_dir() -> Path:
    return tdd.CACHE_DIR / "schematron"


def _cache_valid(data: bytes, key: str) -> bool:
    try:
        root = etree.fromstring(data, make_parser())
    except etree.XMLSyntaxError:
        return False
    return (root.tag == _x("stylesheet") and root.get(f"{{{OH}}}key") == key
            and root.get(f"{{{OH}}}compiler") == COMPILER_VERSION)


def _cache_file(cache_dir: str | Path | None, loaded: LoadedSchema) -> Path:
    cdir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return cdir / f"{loaded.path.stem}.{loaded.key[:24]}.xsl"


def _write_cache(cfile: Path, xslt: bytes) -> None:
    try:
        cfile.parent.mkdir(parents=True, exist_ok=True)
        tmp = cfile.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(xslt)
        os.replace(tmp, cfile)
    except OSError:
        pass  # a read-only cache only costs a regeneration next time


def compile_schematron(sch: str | Path, *, phase: str | None = None,
                       cache_dir: str | Path | None = None) -> CompiledSchematron:
    """Compile ``sch`` to XSLT 3.0, reusing the disk cache when the schema (and its includes) did not change.

    A cache file that is unreadable or was not produced for this key is regenerated.
    """
    loaded = load_schema(sch, phase)
    cfile = _cache_file(cache_dir, loaded)
    try:
        data = cfile.read_bytes()
        if _cache_valid(data, loaded.key):
            STATS["disk_hits"] += 1
            return CompiledSchematron(loaded.path, loaded.key, data, from_cache=True, phase=phase)
    except OSError:
        pass
    xslt = generate_xslt(loaded)
    _write_cache(cfile, xslt)
    return CompiledSchematron(loaded.path, loaded.key, xslt, phase=phase)


def compile_to_file(sch: str | Path, out: str | Path, *, phase: str | None = None) -> Path:
    """Compile ``sch`` and write the XSLT 3.0 stylesheet to ``out`` (no cache involved)."""
    out = Path(out)
    xslt = generate_xslt(load_schema(sch, phase))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(xslt)
    return out


# ---------------------------------------------------------------------------------------------------------
# Running: one Saxon processor per process, executables kept in memory
# ---------------------------------------------------------------------------------------------------------

class SaxonRuntime:
    """The process's Saxon processor and compiled executables. Calls are serialised: saxonche objects are
    not thread-safe. After a fork the child builds its own processor."""

    _lock = threading.RLock()
    _instance: "SaxonRuntime | None" = None

    def __init__(self):
        import saxonche
        self.pid = os.getpid()
        self.proc = saxonche.PySaxonProcessor(license=False)
        # documents and rules may not reach files or the network (doc(), unparsed-text(), external entities)
        self.proc.set_configuration_property("http://saxon.sf.net/feature/allowedProtocols", "")
        self.xslt = self.proc.new_xslt30_processor()
        self.executables: dict[str, object] = {}
        self.error = saxonche.PySaxonApiError

    @classmethod
    def _after_fork(cls) -> None:
        cls._lock = threading.RLock()  # a lock held by another thread at fork time would never be released
        cls._instance = None

    @classmethod
    def get(cls) -> "SaxonRuntime":
        with cls._lock:
            if cls._instance is None or cls._instance.pid != os.getpid():
                cls._instance = cls()
            return cls._instance

    def executable(self, key: str, xslt: bytes, label: str):
        """The Saxon executable for a stylesheet (compiled once per process and key)."""
        with self._lock:
            exe = self.executables.get(key)
            if exe is None:
                try:
                    exe = self.xslt.compile_stylesheet(stylesheet_text=xslt.decode("utf-8"))
                except self.error as exc:
                    raise SchematronError(f"{label}: XSLT does not compile: {exc}") from exc
                if exe is None:
                    raise SchematronError(f"{label}: XSLT does not compile")
                STATS["saxon_compiled"] += 1
                self.executables[key] = exe
            return exe

    def parse(self, xml_text: str):
        with self._lock:
            return self.proc.parse_xml(xml_text=xml_text)

    def run(self, exe, node) -> str:
        with self._lock:
            return exe.transform_to_string(xdm_node=node)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=SaxonRuntime._after_fork)


def executable_for(sch: str | Path | CompiledSchematron, *, cache_dir=None):
    """Compile (with caches) and return the Saxon executable for a Schematron file."""
    comp = sch if isinstance(sch, CompiledSchematron) else compile_schematron(sch, cache_dir=cache_dir)
    rt = SaxonRuntime.get()
    try:
        return rt.executable(comp.key, comp.xslt, comp.name)
    except SchematronError:
        if not comp.from_cache:
            raise
    # a cached stylesheet that Saxon refuses is regenerated once
    loaded = load_schema(comp.source, comp.phase)
    xslt = generate_xslt(loaded)
    _write_cache(_cache_file(cache_dir, loaded), xslt)
    return rt.executable(comp.key, xslt, comp.name)


@dataclass(frozen=True)
class SvrlResult:
    """One ``svrl:failed-assert`` or ``svrl:successful-report``."""

    kind: str  # "failed-assert" | "successful-report"
    id: str | None
    flag: str | None
    role: str | None
    location: str
    test: str
    text: str
    ordinal: int | None = None  # position of the assertion in the expanded schema (our compiler only)
    diagnostics: tuple[str, ...] = ()


def parse_svrl(svrl: str | bytes) -> list[SvrlResult]:
    """Read failed asserts and successful reports from an SVRL document (ours or the ISO skeleton's)."""
    root = etree.fromstring(svrl.encode("utf-8") if isinstance(svrl, str) else svrl, make_parser())
    out = []
    for el in root.iter(_v("failed-assert"), _v("successful-report")):
        n = el.get(f"{{{OH}}}n")
        out.append(SvrlResult(
            etree.QName(el).localname, el.get("id"), el.get("flag"), el.get("role"), el.get("location", ""),
            el.get("test", ""), " ".join("".join(t.itertext()) for t in el.findall(_v("text"))).strip(),
            int(n) if n and n.isdigit() else None,
            tuple(" ".join("".join(d.itertext()).split()) for d in el.findall(_v("diagnostic-reference")))))
    return out


def _xml_text(root: etree._Element) -> str:
    """Serialise once for Saxon: the whole document (top-level comments/PIs kept), never a DOCTYPE."""
    tree = root.getroottree()
    if tree.getroot() is root and not tree.docinfo.doctype and tree.docinfo.internalDTD is None:
        return etree.tostring(tree, encoding="unicode")
    return etree.tostring(root, encoding="unicode", with_tail=False)


def run_svrl(sch: str | Path | CompiledSchematron, document: etree._Element | bytes, *,
             cache_dir=None) -> str:
    """Run one Schematron file on a document and return the SVRL text."""
    if isinstance(document, (bytes, bytearray)):
        doc = parse_bytes(bytes(document))
        if doc.root is None:
            raise ValueError("; ".join(f.message for f in doc.findings))
        document = doc.root
    rt = SaxonRuntime.get()
    exe = executable_for(sch, cache_dir=cache_dir)
    return rt.run(exe, rt.parse(_xml_text(document)))


# ---------------------------------------------------------------------------------------------------------
# Locations: exact SVRL path -> element of the lxml tree -> readable harness path
# ---------------------------------------------------------------------------------------------------------

_STEP = re.compile(r"/(@)?(?:Q\{([^}]*)\})?([^/\[{]+(?:\([^)]*\))?)(?:\[(\d+)\])?")


def resolve_location(root: etree._Element, path: str) -> tuple[etree._Element | None, str | None] | None:
    """Find the node an SVRL path of our compiler designates in ``root``'s tree.

    Returns ``(element, attribute Clark name or None)``; ``(None, None)`` is the document node; text, comment
    and PI steps resolve to their parent element. ``None`` when the path does not resolve.
    """
    if not path or path == "/":
        return None, None
    steps = list(_STEP.finditer(path))
    if not steps or "".join(m.group(0) for m in steps) != path:
        return None
    node = None  # the document node
    top = root.getroottree().getroot()
    for i, m in enumerate(steps):
        at, uri, local, idx = m.group(1), m.group(2), m.group(3), m.group(4)
        if at:
            qn = etree.QName(uri, local).text if uri else local
            if i != len(steps) - 1 or node is None or node.get(qn) is None:
                return None
            return node, qn
        if local.endswith(")"):  # text(), comment(), processing-instruction(x)
            return (node, None) if i == len(steps) - 1 else None
        tag = etree.QName(uri, local).text if uri else local
        n = int(idx or 1)
        kids = [top] if node is None else [c for c in node if c.tag == tag]
        if node is None and (tag != top.tag or n != 1) or len(kids) < n:
            return None
        node = kids[n - 1]
    return node, None


def readable_location(root: etree._Element, path: str) -> str:
    """An SVRL path of our compiler in the harness's readable form.

    ``/Q{urn:..query:4.0}QueryRequest[1]/Q{..rim:4.0}Slot[3]/@id`` -> ``/query:QueryRequest/rim:Slot[@name='X']/@id``.

    Falls back to the SVRL path when it does not resolve in ``root``'s tree.
    """
    found = resolve_location(root, path)
    if found is None:
        return path
    el, attr = found
    base = locate(el) if el is not None else ""
    if attr is None:
        return base or "/"
    qn = etree.QName(attr)
    pfx = PREFIX.get(qn.namespace, qn.namespace) if qn.namespace else None
    return f"{base}/@{pfx + ':' if pfx else ''}{qn.localname}"


# ---------------------------------------------------------------------------------------------------------
# The layer: which rule files apply to which message
# ---------------------------------------------------------------------------------------------------------

#: (kind, sub-kind) -> rule file families. An official TDD file applies when its stem is the family or the
#: family followed by a suffix (``EDM-REQ-S``, ``EDM-REQ-C``); the pre-1.0 Governikus names match exactly.
RULE_FILES: dict[tuple[str, str | None], tuple[str, ...]] = {
    ("request", None): ("EDM-REQ", "evidence_request"),
    ("response", None): ("EDM-RESP", "evidence_response"),
    ("exception", None): ("EDM-ERR", "evidence_exception"),
    ("dsd-response", "success"): ("DSD-RESP", "dsd_query_response"),
    ("dsd-response", "failure"): ("DSD-ERR", "dsd_query_error"),
    ("eb-response", "requirements"): ("EB-REQ", "eb_query_response"),
    ("eb-response", "evidence-types"): ("EB-EVI", "eb_getfr_query_response"),
    ("eb-response", "failure"): ("EB-ERR", "eb_error_response"),
    ("lcm", "submit-dsd"): ("DSD-SUB", "dsd_lcm_submit"),
    ("lcm", "submit-eb"): ("EB-SUB",),
    ("lcm", "success"): ("LCM-SUC", "cs_lcm_success"),
    ("lcm", "failure"): ("LCM-ERR", "cs_lcm_error"),
    ("ebms-header", None): ("EDM-ebMS",),
}

_EB_SLOTS = {"Requirement", "EvidenceTypeList", "EvidenceType", "ReferenceFramework", "Procedure"}


def _failed(root: etree._Element, detection: Detection | None) -> bool:
    status = (detection.status if detection and detection.status else
              (root.get("status") or "").rsplit(":", 1)[-1])
    return status == "Failure" or root.find(q("rs", "Exception")) is not None


def subkind(root: etree._Element, detection: Detection) -> str | None:
    """The sub-kind that picks rule files inside a kind (see :data:`RULE_FILES`), decided from content.

    * dsd-response / eb-response / LCM RegistryResponse: ``failure`` (status Failure or an rs:Exception)
      or ``success``; an EB success is ``evidence-types`` when it carries an ``sdg:EvidenceTypeList``
      (Get Evidence Types for Requirement), else ``requirements`` (Get List of Requirements);
    * LCM SubmitObjectsRequest: ``submit-eb`` when it registers EB objects (an ``urn:…:classification:eb``
      classification or EB slots), else ``submit-dsd``.
    """
    kind = detection.kind
    if kind == "dsd-response":
        return "failure" if _failed(root, detection) else "success"
    if kind == "eb-response":
        if _failed(root, detection):
            return "failure"
        return "evidence-types" if root.find(f".//{q('sdg', 'EvidenceTypeList')}") is not None else "requirements"
    if kind == "lcm":
        local = etree.QName(root).localname
        if local == "SubmitObjectsRequest":
            schemes = {c.get("classificationScheme", "") for c in root.iter(q("rim", "Classification"))}
            slots = {s.get("name") for s in root.iter(q("rim", "Slot"))}
            return "submit-eb" if any(s.endswith(":eb") for s in schemes) or slots & _EB_SLOTS else "submit-dsd"
        if local == "RegistryResponse":
            return "failure" if _failed(root, None) else "success"
        return None
    return None


def family_matches(stem: str, family: str) -> bool:
    """``EDM-REQ-S`` and ``EDM-REQ-C`` belong to ``EDM-REQ``; ``EDM-RESP-S`` does not."""
    return re.fullmatch(re.escape(family) + r"(?:[-_.].*)?", stem, flags=re.IGNORECASE) is not None


def rule_files_for(kind: str, sub: str | None, files: list[Path]) -> list[Path]:
    """The files among ``files`` that apply to (kind, sub-kind)."""
    families = RULE_FILES.get((kind, sub), ())
    return [p for p in files if any(family_matches(p.stem, f) for f in families)]


def _severity(flag: str | None, role: str | None) -> Severity:
    for v in (flag, role):
        if v and v.strip().lower() in _SEVERITY_WORDS:
            return Severity.from_flag(v)
    return Severity.from_flag(flag or role)


class SchematronLayer:
    """Runs every Schematron rule file of a rule set that applies to a message's kind."""

    RULE_KINDS = frozenset(k for k, _ in RULE_FILES)

    def __init__(self, repo: tdd.TddRepository | None = None, *, cache_dir: str | Path | None = None):
        self.repo = repo
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._compiled: dict[tuple[str, float], CompiledSchematron] = {}
        self._lock = threading.Lock()

    def compiled(self, path: Path) -> CompiledSchematron:
        """The compiled form of a rule file (memoised on path and mtime)."""
        try:
            mtime = path.stat().st_mtime
        except OSError as exc:
            raise SchematronError(f"cannot read {path}: {exc.strerror or exc}") from exc
        k = (str(path), mtime)
        with self._lock:
            comp = self._compiled.get(k)
        if comp is None:
            comp = compile_schematron(path, cache_dir=self.cache_dir)
            with self._lock:
                self._compiled[k] = comp
        return comp

    def rule_files(self, root: etree._Element, detection: Detection, ruleset: tdd.RuleSet | None) -> list[Path]:
        if ruleset is None:
            return []
        return rule_files_for(detection.kind, subkind(root, detection), list(ruleset.schematron))

    def run(self, root: etree._Element, files: list[Path]) -> list[tuple[Path, list[SvrlResult] | Exception]]:
        """SVRL results per rule file; the document is handed to Saxon once."""
        rt = SaxonRuntime.get()
        node = rt.parse(_xml_text(root))
        out = []
        for p in files:
            exe = executable_for(self.compiled(p), cache_dir=self.cache_dir)
            try:
                out.append((p, parse_svrl(rt.run(exe, node))))
            except rt.error as exc:
                out.append((p, exc))
        return out

    def validate(self, root_or_bytes: etree._Element | bytes, detection: Detection,
                 ruleset: tdd.RuleSet | None) -> list[Finding]:
        """Findings of every applicable rule file (failed asserts and successful reports)."""
        if isinstance(root_or_bytes, (bytes, bytearray)):
            doc = parse_bytes(bytes(root_or_bytes))
            if doc.root is None:
                return list(doc.findings)
            root = doc.root
        else:
            root = root_or_bytes
        sub = subkind(root, detection)
        label = detection.kind + (f"/{sub}" if sub else "")
        if ruleset is None:
            return [Finding("TDD-004", Severity.CAUTION, f"Schematron skipped for {label}: no rule set loaded",
                            Source.SCHEMATRON)]
        files = rule_files_for(detection.kind, sub, list(ruleset.schematron))
        if not files:
            wanted = " or ".join(RULE_FILES.get((detection.kind, sub), ("(none defined)",)))
            return [Finding("TDD-004", Severity.CAUTION, f"no Schematron rule file for {label} in rule set "
                            f"{ruleset.version} ({ruleset.label}); expected {wanted}", Source.SCHEMATRON,
                            expected=wanted, actual=", ".join(p.name for p in ruleset.schematron) or "none")]
        findings: list[Finding] = []
        for path, res in self.run(root, files):
            if isinstance(res, Exception):
                findings.append(Finding("SCH-RUNTIME", Severity.FATAL, f"{path.name} cannot be evaluated on this "
                                        f"message (XPath dynamic error): {' '.join(str(res).split())[:500]}",
                                        Source.SCHEMATRON, "/", ref=path.name))
                continue
            for r in res:
                fid = r.id or f"{path.stem}#{r.ordinal if r.ordinal is not None else '?'}"
                msg = " ".join(r.text.split()) or f"{r.kind}: {r.test}"
                if r.diagnostics:
                    msg += " [" + "; ".join(r.diagnostics) + "]"
                expected = r.test if r.kind == "failed-assert" else f"not({r.test})"
                node = resolve_location(root, r.location)
                actual = node[0].get(node[1]) if node and node[1] else None  # attribute contexts: the value
                findings.append(Finding(fid, _severity(r.flag, r.role), msg, Source.SCHEMATRON,
                                        readable_location(root, r.location), expected=expected, actual=actual,
                                        ref=f"{path.name} ({ruleset.label})"))
        return findings

    def handles(self, kind: str) -> bool:
        return kind in self.RULE_KINDS


__all__ = [
    "COMPILER_VERSION", "CompiledSchematron", "RULE_FILES", "STATS", "SaxonRuntime", "SchematronError",
    "SchematronLayer", "SvrlResult", "compile_schematron", "compile_to_file", "executable_for",
    "family_matches", "generate_xslt", "load_schema", "parse_svrl", "readable_location", "resolve_location",
    "rule_files_for",
    "run_svrl", "subkind",
]
