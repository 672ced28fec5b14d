#!/usr/bin/python3
"""Structural check of the Grafana dashboards in dashboards/ (Python 3 standard library only).

    scripts/check-dashboards.py [--promtool PATH] [--queries] [FILE.json ...]

Checks, for every dashboard JSON model (default: dashboards/*.json):
  * it parses, and its top-level keys, panel keys, target keys and variable keys are in allow-lists taken from
    Grafana's dashboard schema (schemaVersion 36-41);
  * uid and title are set and unique across the files; schemaVersion is in range;
  * a template variable `datasource` of type `datasource` with query `prometheus` exists;
  * panel ids are unique (rows and the panels inside rows included); panel types are known;
  * gridPos is valid: integers, x >= 0, y >= 0, w >= 1, x + w <= 24, h >= 1, and no two panels overlap;
  * every non-row panel has datasource uid `${datasource}`, at least one target, and every target has a refId
    (unique in the panel), a non-empty `expr` and datasource uid `${datasource}`;
  * every template variable an expression uses is defined (or one of Grafana's built-ins), and is used only as a
    regex matcher value (`=~"$var"` / `!~"$var"`), so multi-value and "All" (`.*`) expansions stay valid PromQL;
  * brackets and quotes in each expression balance;
  * with --promtool: every expression, with variables substituted as below, parses as PromQL (`promtool check
    rules` on a generated rules file).

--queries prints, instead of the report, a JSON list of every panel query and variable query with variables
substituted ($__rate_interval -> 1m, $__interval -> 15s, $__range -> 5m, other variables -> .*), for tests that
run them against a real Prometheus.

Exit status: 0 when everything holds, 1 with one line per problem ("file: panel 7 'Title': message") otherwise.
"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Allow-lists, from Grafana's dashboard JSON model (kinds/dashboard schema, schemaVersion 36-41) and the panel
# plugins' saved models. Keys outside them are most likely typos, or leftovers of other Grafana versions.
TOP_LEVEL_KEYS = {
    "__inputs", "__elements", "__requires", "annotations", "description", "editable", "fiscalYearStartMonth",
    "gnetId", "graphTooltip", "id", "links", "liveNow", "panels", "refresh", "revision", "schemaVersion", "style",
    "tags", "templating", "time", "timepicker", "timezone", "title", "uid", "version", "weekStart",
}
REQUIRED_TOP_LEVEL = {"panels", "schemaVersion", "templating", "title", "uid", "time"}
PANEL_KEYS = {
    "cacheTimeout", "collapsed", "datasource", "description", "fieldConfig", "gridPos", "hideTimeOverride", "id",
    "interval", "libraryPanel", "links", "maxDataPoints", "maxPerRow", "options", "panels", "pluginVersion",
    "queryCachingTTL", "repeat", "repeatDirection", "targets", "timeFrom", "timeShift", "title", "transformations",
    "transparent", "type",
}
ROW_KEYS = {"collapsed", "datasource", "gridPos", "id", "panels", "repeat", "title", "type"}
PANEL_TYPES = {
    "bargauge", "barchart", "gauge", "heatmap", "histogram", "logs", "nodeGraph", "piechart", "row", "stat",
    "state-timeline", "status-history", "table", "text", "timeseries", "traces",
}
TARGET_KEYS = {
    "datasource", "editorMode", "exemplar", "expr", "format", "hide", "instant", "interval", "intervalFactor",
    "legendFormat", "range", "refId", "step",
}
VARIABLE_KEYS = {
    "allValue", "current", "datasource", "definition", "description", "hide", "includeAll", "label", "multi", "name",
    "options", "query", "refresh", "regex", "skipUrlSync", "sort", "type",
}
GRID_KEYS = {"x", "y", "w", "h", "static"}
BUILTIN_VARIABLES = {
    "__rate_interval", "__interval", "__interval_ms", "__range", "__range_s", "__range_ms", "__dashboard",
    "__from", "__to", "__org", "__user", "__name", "__value", "__field", "__series", "__data", "__cell", "timeFilter",
}
SUBSTITUTIONS = {"__rate_interval": "1m", "__interval": "15s", "__range": "5m", "__range_s": "300",
                 "__range_ms": "300000", "__interval_ms": "15000"}
DS_UID = "${datasource}"
VAR_RE = re.compile(r"\$\{(\w+)(?::[\w-]+)?\}|\$(\w+)|\[\[(\w+)(?::[\w-]+)?\]\]")


def substitute(expr):
    """Grafana's interpolation for a test run: built-ins get fixed values, every other variable `.*`."""
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        return SUBSTITUTIONS.get(name, ".*")
    return VAR_RE.sub(repl, expr)


def variables_in(expr):
    return [(m.group(1) or m.group(2) or m.group(3), m.start(), m.end()) for m in VAR_RE.finditer(expr)]


def balanced(expr):
    """Returns an error message when brackets or quotes do not balance, else None."""
    stack, pairs, quote, i = [], {")": "(", "]": "[", "}": "{"}, None, 0
    while i < len(expr):
        c = expr[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in "\"'`":
            quote = c
        elif c in "([{":
            stack.append(c)
        elif c in ")]}":
            if not stack or stack.pop() != pairs[c]:
                return f"unbalanced '{c}' at offset {i}"
        i += 1
    if quote:
        return f"unterminated {quote}string"
    if stack:
        return f"unclosed '{stack[-1]}'"
    return None


def ds_uid(ds):
    if isinstance(ds, dict):
        return ds.get("uid")
    return ds


def walk_panels(panels):
    """Yields (panel, parent_row_or_None) for every panel, rows' nested panels included."""
    for p in panels:
        yield p, None
        for child in p.get("panels", []) or []:
            yield child, p


class Checker:
    def __init__(self):
        self.errors = []
        self.queries = []
        self.uids = {}
        self.titles = {}

    def err(self, where, msg):
        self.errors.append(f"{where}: {msg}")

    def check_file(self, path):
        name = os.path.relpath(path, ROOT)
        try:
            with open(path, encoding="utf-8") as f:
                d = json.load(f)
        except (OSError, ValueError) as e:
            self.err(name, f"does not parse as JSON: {e}")
            return
        if not isinstance(d, dict):
            self.err(name, "the model is not a JSON object")
            return
        for k in sorted(set(d) - TOP_LEVEL_KEYS):
            self.err(name, f"unknown top-level key '{k}'")
        for k in sorted(REQUIRED_TOP_LEVEL - set(d)):
            self.err(name, f"missing top-level key '{k}'")
        sv = d.get("schemaVersion")
        if not isinstance(sv, int) or not 36 <= sv <= 41:
            self.err(name, f"schemaVersion {sv!r} is not between 36 and 41")
        for key, seen in (("uid", self.uids), ("title", self.titles)):
            v = d.get(key)
            if not isinstance(v, str) or not v:
                self.err(name, f"'{key}' must be a non-empty string")
            elif v in seen:
                self.err(name, f"{key} '{v}' is also used by {seen[v]}")
            else:
                seen[v] = name
        if isinstance(d.get("uid"), str) and len(d["uid"]) > 40:
            self.err(name, f"uid '{d['uid']}' is longer than 40 characters")

        variables = self.check_variables(name, d)
        panels = d.get("panels")
        if not isinstance(panels, list):
            self.err(name, "'panels' must be a list")
            return
        self.check_panels(name, d, panels, variables)

    def check_variables(self, name, d):
        templating = d.get("templating")
        vlist = templating.get("list") if isinstance(templating, dict) else None
        if not isinstance(vlist, list):
            self.err(name, "'templating.list' must be a list")
            return {}
        variables = {}
        for v in vlist:
            vname = v.get("name") if isinstance(v, dict) else None
            where = f"{name}: variable {vname!r}"
            if not isinstance(vname, str) or not re.fullmatch(r"\w+", vname):
                self.err(name, f"variable without a valid name: {v!r:.80}")
                continue
            if vname in variables:
                self.errors.append(f"{where}: defined twice")
            variables[vname] = v
            for k in sorted(set(v) - VARIABLE_KEYS):
                self.errors.append(f"{where}: unknown key '{k}'")
            vtype = v.get("type")
            if vtype not in {"datasource", "query", "custom", "constant", "interval", "textbox", "adhoc"}:
                self.errors.append(f"{where}: unknown type {vtype!r}")
            if vtype == "query":
                if ds_uid(v.get("datasource")) != DS_UID:
                    self.errors.append(f"{where}: datasource must be {DS_UID}, not {v.get('datasource')!r}")
                q = v.get("query")
                qtext = q.get("query") if isinstance(q, dict) else q
                if not isinstance(qtext, str) or not qtext.strip():
                    self.errors.append(f"{where}: empty query")
                    continue
                for used, _, _ in variables_in(qtext):
                    if used not in variables and used not in BUILTIN_VARIABLES:
                        self.errors.append(f"{where}: uses ${used}, which is not defined before it")
                m = re.fullmatch(r"\s*label_values\((?:(.*),\s*)?(\w+)\)\s*", qtext, re.S)
                if m:
                    self.queries.append({"dashboard": name, "panel": f"variable {vname}", "kind": "label_values",
                                         "label": m.group(2), "match": substitute(m.group(1) or ""),
                                         "raw": qtext, "families": families(m.group(1) or "")})
                elif not re.fullmatch(r"\s*(label_names|metrics|query_result)\(.*\)\s*", qtext, re.S):
                    self.errors.append(f"{where}: query '{qtext}' is not a Grafana Prometheus variable function")
        ds = variables.get("datasource")
        if ds is None:
            self.err(name, "no template variable named 'datasource'")
        elif ds.get("type") != "datasource" or ds.get("query") != "prometheus":
            self.err(name, "variable 'datasource' must have type 'datasource' and query 'prometheus'")
        return variables

    def check_panels(self, name, d, panels, variables):
        ids = {}
        top_rects = []
        row_children = {}
        for p, parent in walk_panels(panels):
            if not isinstance(p, dict):
                self.err(name, f"panel is not an object: {p!r:.60}")
                continue
            pid = p.get("id")
            title = p.get("title", "")
            where = f"{name}: panel {pid} {title!r}"
            if not isinstance(pid, int) or isinstance(pid, bool):
                self.errors.append(f"{where}: id must be an integer")
            elif pid in ids:
                self.errors.append(f"{where}: id {pid} is also used by panel {ids[pid]!r}")
            else:
                ids[pid] = title
            ptype = p.get("type")
            if ptype not in PANEL_TYPES:
                self.errors.append(f"{where}: unknown panel type {ptype!r}")
            allowed = ROW_KEYS if ptype == "row" else PANEL_KEYS
            for k in sorted(set(p) - allowed):
                self.errors.append(f"{where}: unknown panel key '{k}'")
            if ptype == "row" and parent is not None:
                self.errors.append(f"{where}: a row cannot be nested in a row")
            if ptype != "row" and p.get("panels"):
                self.errors.append(f"{where}: only rows can contain panels")
            rect = self.check_grid(where, p.get("gridPos"))
            if rect:
                if parent is None:
                    top_rects.append((rect, where))
                else:
                    row_children.setdefault(id(parent), []).append((rect, where))
            if ptype == "row":
                if not p.get("collapsed") and p.get("panels"):
                    self.errors.append(f"{where}: an expanded row must not hold panels (they belong at top level)")
                continue
            if ptype == "text":
                continue
            self.check_targets(name, where, p, variables)
        self.check_overlaps(top_rects)
        for rects in row_children.values():
            self.check_overlaps(rects)

    def check_grid(self, where, g):
        if not isinstance(g, dict):
            self.errors.append(f"{where}: missing gridPos")
            return None
        for k in sorted(set(g) - GRID_KEYS):
            self.errors.append(f"{where}: unknown gridPos key '{k}'")
        vals = {}
        for k in ("x", "y", "w", "h"):
            v = g.get(k)
            if not isinstance(v, int) or isinstance(v, bool):
                self.errors.append(f"{where}: gridPos.{k} must be an integer, not {v!r}")
                return None
            vals[k] = v
        x, y, w, h = vals["x"], vals["y"], vals["w"], vals["h"]
        ok = True
        if x < 0:
            self.errors.append(f"{where}: gridPos.x = {x} < 0"); ok = False
        if y < 0:
            self.errors.append(f"{where}: gridPos.y = {y} < 0"); ok = False
        if w < 1:
            self.errors.append(f"{where}: gridPos.w = {w} < 1"); ok = False
        if h < 1:
            self.errors.append(f"{where}: gridPos.h = {h} < 1"); ok = False
        if x + w > 24:
            self.errors.append(f"{where}: gridPos.x + w = {x + w} > 24"); ok = False
        return (x, y, w, h) if ok else None

    def check_overlaps(self, rects):
        for i, ((x1, y1, w1, h1), a) in enumerate(rects):
            for (x2, y2, w2, h2), b in rects[i + 1:]:
                if x1 < x2 + w2 and x2 < x1 + w1 and y1 < y2 + h2 and y2 < y1 + h1:
                    self.errors.append(f"{a}: overlaps {b.split(': ', 1)[1]} "
                                       f"(x={x1},y={y1},w={w1},h={h1} vs x={x2},y={y2},w={w2},h={h2})")

    def check_targets(self, name, where, p, variables):
        if ds_uid(p.get("datasource")) != DS_UID:
            self.errors.append(f"{where}: panel datasource must be {{\"uid\": \"{DS_UID}\"}}, "
                               f"not {p.get('datasource')!r}")
        targets = p.get("targets")
        if not isinstance(targets, list) or not targets:
            self.errors.append(f"{where}: no targets")
            return
        refs = set()
        for t in targets:
            if not isinstance(t, dict):
                self.errors.append(f"{where}: target is not an object")
                continue
            ref = t.get("refId")
            tw = f"{where} target {ref}"
            if not isinstance(ref, str) or not ref:
                self.errors.append(f"{tw}: missing refId")
            elif ref in refs:
                self.errors.append(f"{tw}: refId used twice")
            refs.add(ref)
            for k in sorted(set(t) - TARGET_KEYS):
                self.errors.append(f"{tw}: unknown target key '{k}'")
            if ds_uid(t.get("datasource")) != DS_UID:
                self.errors.append(f"{tw}: datasource must be {{\"uid\": \"{DS_UID}\"}}, not {t.get('datasource')!r}")
            expr = t.get("expr")
            if not isinstance(expr, str) or not expr.strip():
                self.errors.append(f"{tw}: missing expr")
                continue
            problem = balanced(expr)
            if problem:
                self.errors.append(f"{tw}: {problem} in {expr!r}")
            for var, start, end in variables_in(expr):
                if var in BUILTIN_VARIABLES:
                    continue
                if var not in variables:
                    self.errors.append(f"{tw}: uses ${var}, which is not a template variable")
                    continue
                if not re.search(r'[=!]~\s*"[^"]*$', expr[:start]):
                    self.errors.append(f"{tw}: ${var} must be used inside a regex matcher value (=~\"${var}\")")
            if "${datasource}" in expr:
                self.errors.append(f"{tw}: expr must not reference the datasource variable")
            self.queries.append({"dashboard": name, "panel": f"{p.get('id')} {p.get('title', '')!r}",
                                 "title": p.get("title", ""), "refId": ref, "kind": "query",
                                 "instant": bool(t.get("instant")) and not t.get("range", False),
                                 "exemplar": bool(t.get("exemplar")), "raw": expr, "expr": substitute(expr),
                                 "families": families(expr)})


# Metric names in an expression: identifiers followed by `{` or `[`, or standing alone, minus PromQL keywords and
# functions; histogram suffixes fold into the family name.
PROMQL_WORDS = {
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile",
    "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool", "and", "or", "unless", "le",
    "inf", "nan", "atan2",
}


def families(expr):
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)          # drop string literals
    text = re.sub(r"\{[^}]*\}", "{}", text)                   # drop matchers
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    out = []
    for m in re.finditer(r"(?<![\w.$])([a-zA-Z_:][\w:]*)\b(?!\s*\()", text):
        word = m.group(1)
        if word in PROMQL_WORDS or re.fullmatch(r"\d+\w*", word):
            continue
        fam = re.sub(r"_(bucket|sum|count)$", "", word) if word.endswith(("_bucket", "_sum", "_count")) else word
        if fam not in out:
            out.append(fam)
    return out


def promtool_check(promtool, queries):
    """Parses every substituted expression with promtool (as recording rules). Returns error lines."""
    exprs = [q for q in queries if q["kind"] == "query"]
    lines = ["groups:", "  - name: dashboards", "    rules:"]
    for i, q in enumerate(exprs):
        lines.append(f"      - record: dashboard_query_{i}")
        lines.append(f"        expr: {json.dumps(q['expr'])}")
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        f.write("\n".join(lines) + "\n")
        path = f.name
    try:
        r = subprocess.run([promtool, "check", "rules", path], capture_output=True, text=True, timeout=60)
    finally:
        os.unlink(path)
    if r.returncode == 0:
        return []
    errors = []
    for line in (r.stdout + r.stderr).splitlines():
        m = re.search(r'"dashboard_query_(\d+)": (.*)', line)
        if m and int(m.group(1)) < len(exprs):
            q = exprs[int(m.group(1))]
            errors.append(f"{q['dashboard']}: panel {q['panel']} target {q['refId']}: {m.group(2)} in {q['expr']!r}")
        elif "dashboard_query_" in line or "error" in line.lower():
            errors.append(f"promtool: {line.strip()}")
    return errors or [f"promtool check rules failed: {r.stdout.strip()} {r.stderr.strip()}"]


def main(argv):
    promtool = None
    want_queries = False
    files = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--promtool":
            i += 1
            promtool = argv[i]
        elif a == "--queries":
            want_queries = True
        elif a in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            files.append(a)
        i += 1
    if not files:
        files = sorted(glob.glob(os.path.join(ROOT, "dashboards", "*.json")))
    if not files:
        print("check-dashboards: no dashboards found")
        return 1
    c = Checker()
    for f in files:
        c.check_file(f)
    if promtool and not c.errors:
        c.errors += promtool_check(promtool, c.queries)
    if want_queries:
        if c.errors:
            print("\n".join(c.errors), file=sys.stderr)
            return 1
        json.dump(c.queries, sys.stdout, indent=1)
        print()
        return 0
    if c.errors:
        print("\n".join(c.errors))
        print(f"check-dashboards: {len(c.errors)} problem(s) in {len(files)} dashboard(s)")
        return 1
    n = sum(1 for q in c.queries if q["kind"] == "query")
    print(f"check-dashboards: {len(files)} dashboards, {n} queries"
          f"{', all parsed by promtool' if promtool else ''}: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
