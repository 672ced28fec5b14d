#!/usr/bin/python3
"""Generates the Spyglass Grafana dashboards (dashboards/*.json) from this one description.

The JSON files are committed and importable as they are; this script only keeps them consistent (ids, layout,
datasource references). After editing it, run `dashboards/generate.py` and commit the JSON too;
`dashboards/generate.py --check` fails when a committed file differs from what the script produces.

Label names are exactly Hubble's (see the metric handlers in Sources/SpyglassMetrics/Handlers). Every template
variable is used with `=~` so that Grafana's multi-value / "All" expansion (`.*`) is always a valid matcher.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DS = {"type": "prometheus", "uid": "${datasource}"}
SCHEMA_VERSION = 39


# ---------------------------------------------------------------------------------------------------------------
# Building blocks

class Layout:
    """Places panels left to right in rows of 24 columns; `row()` starts a new Grafana row panel."""

    def __init__(self):
        self.panels = []
        self.x = 0
        self.y = 0
        self.line_h = 0
        self.next_id = 1

    def _id(self):
        i = self.next_id
        self.next_id += 1
        return i

    def newline(self):
        if self.x > 0:
            self.y += self.line_h
        self.x = 0
        self.line_h = 0

    def row(self, title):
        self.newline()
        self.panels.append({"id": self._id(), "type": "row", "title": title, "collapsed": False, "panels": [],
                            "gridPos": {"x": 0, "y": self.y, "w": 24, "h": 1}})
        self.y += 1

    def add(self, panel, w, h):
        if self.x + w > 24:
            self.newline()
        panel["id"] = self._id()
        panel["gridPos"] = {"x": self.x, "y": self.y, "w": w, "h": h}
        self.x += w
        self.line_h = max(self.line_h, h)
        self.panels.append(panel)


def target(expr, legend="__auto", ref="A", instant=False, fmt=None, exemplar=False):
    t = {"refId": ref, "datasource": dict(DS), "editorMode": "code", "expr": expr, "legendFormat": legend,
         "range": not instant, "instant": instant}
    if fmt:
        t["format"] = fmt
    if exemplar:
        t["exemplar"] = True
    return t


def _targets(exprs):
    """exprs: one expr string, a (expr, legend) pair, or a list of such pairs."""
    if isinstance(exprs, str):
        exprs = [(exprs, "__auto")]
    elif isinstance(exprs, tuple):
        exprs = [exprs]
    return [target(e, l, ref=chr(ord("A") + i)) for i, (e, l) in enumerate(exprs)]


def timeseries(title, description, exprs, unit="short", stack=False, min0=True):
    custom = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 20 if stack else 10, "showPoints": "never",
              "spanNulls": False, "stacking": {"mode": "normal" if stack else "none", "group": "A"}}
    defaults = {"unit": unit, "custom": custom, "color": {"mode": "palette-classic"}}
    if min0:
        defaults["min"] = 0
    return {"type": "timeseries", "title": title, "description": description, "datasource": dict(DS),
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": {"legend": {"displayMode": "table", "placement": "right", "showLegend": True,
                                   "calcs": ["mean", "lastNotNull"], "sortBy": "Mean", "sortDesc": True},
                        "tooltip": {"mode": "multi", "sort": "desc"}},
            "targets": _targets(exprs)}


def stat(title, description, expr, unit="short", thresholds=None, decimals=None):
    steps = [{"color": "green", "value": None}] + [{"color": c, "value": v} for v, c in (thresholds or [])]
    defaults = {"unit": unit, "color": {"mode": "thresholds"},
                "thresholds": {"mode": "absolute", "steps": steps}}
    if decimals is not None:
        defaults["decimals"] = decimals
    return {"type": "stat", "title": title, "description": description, "datasource": dict(DS),
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                        "colorMode": "value", "graphMode": "area", "justifyMode": "auto", "orientation": "auto",
                        "textMode": "auto"},
            "targets": [target(expr, "")]}


def bargauge(title, description, expr, legend, unit="short"):
    """A top-N list over the dashboard's time range (instant query)."""
    return {"type": "bargauge", "title": title, "description": description, "datasource": dict(DS),
            "fieldConfig": {"defaults": {"unit": unit, "min": 0, "color": {"mode": "continuous-BlYlRd"},
                                         "thresholds": {"mode": "absolute",
                                                        "steps": [{"color": "green", "value": None}]}},
                            "overrides": []},
            "options": {"orientation": "horizontal", "displayMode": "gradient", "showUnfilled": True,
                        "valueMode": "color", "namePlacement": "left", "sizing": "auto",
                        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}},
            "targets": [target(expr, legend, instant=True)]}


def table(title, description, exprs, overrides=()):
    """Instant queries in table format, merged into one row per label set."""
    return {"type": "table", "title": title, "description": description, "datasource": dict(DS),
            "fieldConfig": {"defaults": {"custom": {"align": "auto", "cellOptions": {"type": "auto"}}},
                            "overrides": list(overrides)},
            "options": {"showHeader": True, "cellHeight": "sm", "footer": {"show": False, "reducer": ["sum"]}},
            "transformations": [{"id": "merge", "options": {}},
                                {"id": "organize", "options": {"excludeByName": {"Time": True}}}],
            "targets": [target(e, "", ref=chr(ord("A") + i), instant=True, fmt="table")
                        for i, e in enumerate(exprs)]}


def heatmap(title, description, expr):
    return {"type": "heatmap", "title": title, "description": description, "datasource": dict(DS),
            "fieldConfig": {"defaults": {"custom": {"hideFrom": {"legend": False, "tooltip": False, "viz": False},
                                                    "scaleDistribution": {"type": "linear"}}},
                            "overrides": []},
            "options": {"calculate": False, "cellGap": 1, "color": {"mode": "scheme", "scheme": "Oranges",
                                                                    "exponent": 0.5, "steps": 64, "fill": "dark-orange",
                                                                    "scale": "exponential", "reverse": False},
                        "yAxis": {"axisPlacement": "left", "unit": "s", "reverse": False},
                        "rowsFrame": {"layout": "auto"}, "cellValues": {"unit": "short"},
                        "tooltip": {"mode": "single", "yHistogram": True, "showColorScale": False},
                        "legend": {"show": True}, "exemplars": {"color": "rgba(255,0,255,0.7)"},
                        "filterValues": {"le": 1e-9}},
            "targets": [dict(target(expr, "{{le}}", fmt="heatmap"))]}


def ds_var(name, label, plugin, description):
    return {"name": name, "label": label, "type": "datasource", "query": plugin, "description": description,
            "current": {}, "hide": 0, "includeAll": False, "multi": False, "options": [], "refresh": 1,
            "regex": "", "skipUrlSync": False}


def query_var(name, label, query, description):
    """A multi-value variable from label_values(); "All" expands to `.*` (also matches an empty label)."""
    return {"name": name, "label": label, "type": "query", "description": description,
            "datasource": dict(DS), "definition": query,
            "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery", "qryType": 1},
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "hide": 0, "includeAll": True, "allValue": ".*", "multi": True, "options": [], "refresh": 2,
            "regex": "", "skipUrlSync": False, "sort": 1}


def instance_var(metric):
    return query_var("instance", "Instance", f"label_values({metric}, instance)",
                     "Spyglass agents (Prometheus scrape targets)")


DATASOURCE_VAR = ds_var("datasource", "Prometheus", "prometheus", "Prometheus that scrapes Spyglass on :9965")


def dashboard(uid, title, description, tags, variables, layout, links=()):
    return {
        "annotations": {"list": [{"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                                  "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
                                  "name": "Annotations & Alerts", "type": "dashboard"}]},
        "description": description,
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [{"title": "Spyglass", "type": "dashboards", "tags": ["spyglass"], "asDropdown": True,
                   "includeVars": True, "keepTime": True, "icon": "external link", "targetBlank": False,
                   "tooltip": "", "url": ""}] + list(links),
        "liveNow": False,
        "panels": layout.panels,
        "refresh": "30s",
        "schemaVersion": SCHEMA_VERSION,
        "tags": ["spyglass", "hubble"] + tags,
        "templating": {"list": [DATASOURCE_VAR] + variables},
        "time": {"from": "now-1h", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "title": title,
        "uid": uid,
        "version": 1,
        "weekStart": "",
    }


R = "[$__rate_interval]"


# ---------------------------------------------------------------------------------------------------------------
# Network overview

def overview():
    I = 'instance=~"$instance"'
    F = f'{I}, protocol=~"$protocol"'
    L = Layout()
    L.row("Flows")
    L.add(stat("Flows / s", "Flows processed by Hubble's metric handlers (hubble_flows_processed_total).",
               f"sum(rate(hubble_flows_processed_total{{{F}}}{R}))", unit="ops"), 6, 4)
    L.add(stat("Dropped flows / s", "Flows with verdict DROPPED.",
               f'sum(rate(hubble_flows_processed_total{{{F}, verdict="DROPPED"}}{R})) or vector(0)', unit="ops",
               thresholds=[(1, "orange")]), 6, 4)
    L.add(stat("Forwarded ratio", "Share of flows with verdict FORWARDED.",
               f'(sum(rate(hubble_flows_processed_total{{{F}, verdict="FORWARDED"}}{R})) or vector(0))'
               f" / sum(rate(hubble_flows_processed_total{{{F}}}{R}))", unit="percentunit", decimals=1), 6, 4)
    L.add(stat("Drops / s (all reasons)", "hubble_drop_total: every dropped flow, by any kernel reason.",
               f"sum(rate(hubble_drop_total{{{F}}}{R}))", unit="ops", thresholds=[(1, "orange")]), 6, 4)
    L.add(timeseries("Flows by verdict", "hubble_flows_processed_total by verdict.",
                     (f"sum by (verdict) (rate(hubble_flows_processed_total{{{F}}}{R}))", "{{verdict}}"),
                     unit="ops", stack=True), 12, 8)
    L.add(timeseries("Flows by type / subtype",
                     "hubble_flows_processed_total by event type (Trace, Drop, L7) and subtype "
                     "(observation point such as to-endpoint, or the L7 protocol).",
                     (f"sum by (type, subtype) (rate(hubble_flows_processed_total{{{F}}}{R}))",
                      "{{type}} {{subtype}}"), unit="ops", stack=True), 12, 8)
    L.add(timeseries("Flows by protocol", "hubble_flows_processed_total by flow protocol.",
                     (f"sum by (protocol) (rate(hubble_flows_processed_total{{{F}}}{R}))", "{{protocol}}"),
                     unit="ops", stack=True), 12, 8)
    L.add(timeseries("Flows by protocol and verdict", "hubble_flows_processed_total by protocol and verdict.",
                     (f"sum by (protocol, verdict) (rate(hubble_flows_processed_total{{{F}}}{R}))",
                      "{{protocol}} {{verdict}}"), unit="ops"), 12, 8)

    L.row("Drops")
    L.add(timeseries("Drops by reason",
                     "hubble_drop_total by reason: Hubble's DropReason name where the kernel reason means the same "
                     "(POLICY_DENIED, FIB_LOOKUP_FAILED, ...), otherwise the kernel's own name (NO_SOCKET, ...).",
                     (f"sum by (reason) (rate(hubble_drop_total{{{F}}}{R}))", "{{reason}}"), unit="ops",
                     stack=True), 12, 8)
    L.add(timeseries("Drops by reason and protocol", "hubble_drop_total by reason and protocol.",
                     (f"sum by (reason, protocol) (rate(hubble_drop_total{{{F}}}{R}))", "{{reason}} {{protocol}}"),
                     unit="ops"), 12, 8)
    L.add(timeseries("Drops by workload",
                     "hubble_drop_total by source and destination workload. The workload labels exist only when "
                     "the drop metric has them, e.g. --hubble-metrics 'drop:labelsContext=source_namespace,"
                     "source_workload,destination_namespace,destination_workload'; without them all drops form "
                     "one series.",
                     (f"sum by (source_namespace, source_workload, destination_namespace, destination_workload) "
                      f"(rate(hubble_drop_total{{{F}}}{R}))",
                      "{{source_namespace}}/{{source_workload}} → {{destination_namespace}}/{{destination_workload}}"),
                     unit="ops"), 12, 8)
    L.add(bargauge("Top drop reasons (time range)", "hubble_drop_total increase over the selected time range.",
                   f"topk(10, sum by (reason) (increase(hubble_drop_total{{{F}}}[$__range])))", "{{reason}}"), 12, 8)

    L.row("TCP and ICMP")
    L.add(timeseries("TCP flags", "hubble_tcp_flags_total by flag (SYN, SYN-ACK, FIN, RST) and IP family.",
                     (f"sum by (flag, family) (rate(hubble_tcp_flags_total{{{I}}}{R}))", "{{flag}} {{family}}"),
                     unit="ops"), 12, 8)
    L.add(timeseries("TCP resets and unanswered SYNs",
                     "RST per SYN, and SYN-ACK per SYN (below 1: connection attempts without an answer).",
                     [(f'(sum(rate(hubble_tcp_flags_total{{{I}, flag="RST"}}{R})) or vector(0))'
                       f' / sum(rate(hubble_tcp_flags_total{{{I}, flag="SYN"}}{R}))', "RST / SYN"),
                      (f'(sum(rate(hubble_tcp_flags_total{{{I}, flag="SYN-ACK"}}{R})) or vector(0))'
                       f' / sum(rate(hubble_tcp_flags_total{{{I}, flag="SYN"}}{R}))', "SYN-ACK / SYN")],
                     unit="percentunit"), 12, 8)
    L.add(timeseries("ICMP messages by type", "hubble_icmp_total by family and type (EchoRequest, "
                     "DestinationUnreachable(Port), ...). Drops included.",
                     (f"sum by (family, type) (rate(hubble_icmp_total{{{I}}}{R}))", "{{family}} {{type}}"),
                     unit="ops"), 12, 8)
    L.add(bargauge("Top ICMP types (time range)", "hubble_icmp_total increase over the selected time range.",
                   f"topk(10, sum by (family, type) (increase(hubble_icmp_total{{{I}}}[$__range])))",
                   "{{family}} {{type}}"), 12, 8)

    L.row("Destination ports")
    L.add(bargauge("Top destination ports (time range)",
                   "hubble_port_distribution_total: forwarded, non-reply flows by destination port, over the "
                   "selected time range. ICMP counts as port 0.",
                   f"topk(15, sum by (protocol, port) (increase(hubble_port_distribution_total{{{F}}}[$__range])))",
                   "{{protocol}}/{{port}}"), 12, 10)
    L.add(timeseries("Top destination ports", "The 10 busiest destination ports (hubble_port_distribution_total).",
                     (f"topk(10, sum by (protocol, port) (rate(hubble_port_distribution_total{{{F}}}{R})))",
                      "{{protocol}}/{{port}}"), unit="ops"), 12, 10)

    # As Cilium's Hubble dashboards: per namespace and workload (labelsContext on flow, drop, flows-to-world, as
    # the shipped --hubble-metrics sets them), and the "missing replies" signals.
    W = 'source_namespace=~"$namespace", source_workload=~"$workload"'
    L.row("Workloads (namespace and workload variables)")
    L.add(bargauge("Top talkers (time range)",
                   "The 10 busiest source → destination workload pairs by flows (hubble_flows_processed_total "
                   "with flow:labelsContext=source_namespace,source_workload,destination_namespace,"
                   "destination_workload).",
                   f"topk(10, sum by (source_namespace, source_workload, destination_namespace, destination_workload) "
                   f"(increase(hubble_flows_processed_total{{{I}, {W}}}[$__range])))",
                   "{{source_namespace}}/{{source_workload}} → {{destination_namespace}}/{{destination_workload}}"),
            12, 8)
    L.add(timeseries("Flows by source workload", "hubble_flows_processed_total by source namespace and workload.",
                     (f"sum by (source_namespace, source_workload) (rate(hubble_flows_processed_total{{{I}, {W}}}{R}))",
                      "{{source_namespace}}/{{source_workload}}"), unit="ops", stack=True), 12, 8)
    L.add(timeseries("Drop reasons by workload",
                     "hubble_drop_total by source workload and reason (drop:labelsContext=source_namespace,"
                     "source_workload,...).",
                     (f"sum by (source_namespace, source_workload, reason) (rate(hubble_drop_total{{{I}, {W}}}{R}))",
                      "{{source_namespace}}/{{source_workload}} {{reason}}"), unit="ops"), 12, 8)
    L.add(timeseries("Flows to the world",
                     "hubble_flows_to_world_total: flows whose destination is outside every known endpoint "
                     "(reserved:world), by source workload, protocol and port (flows-to-world:any-drop;port).",
                     (f"sum by (source_namespace, source_workload, protocol, port, verdict) "
                      f"(rate(hubble_flows_to_world_total{{{I}, {W}}}{R}))",
                      "{{source_namespace}}/{{source_workload}} {{protocol}}/{{port}} {{verdict}}"), unit="ops"), 12, 8)

    L.row("Missing replies")
    L.add(timeseries("Missing DNS responses",
                     "DNS queries per second without a matching response rate (queries − responses; "
                     "hubble_dns_queries_total, hubble_dns_responses_total).",
                     (f"clamp_min(sum(rate(hubble_dns_queries_total{{{I}}}{R}))"
                      f" - (sum(rate(hubble_dns_responses_total{{{I}}}{R})) or vector(0)), 0)", "missing responses"),
                     unit="ops"), 8, 8)
    L.add(timeseries("Missing TCP SYN-ACKs",
                     "SYNs per second not answered by a SYN-ACK (hubble_tcp_flags_total SYN − SYN-ACK): refused, "
                     "dropped or unreachable connection attempts.",
                     (f'clamp_min(sum(rate(hubble_tcp_flags_total{{{I}, flag="SYN"}}{R}))'
                      f' - (sum(rate(hubble_tcp_flags_total{{{I}, flag="SYN-ACK"}}{R})) or vector(0)), 0)',
                      "missing SYN-ACKs"), unit="ops"), 8, 8)
    L.add(timeseries("Missing ICMP echo replies",
                     "Echo requests per second without an echo reply (hubble_icmp_total EchoRequest − EchoReply).",
                     (f'clamp_min(sum(rate(hubble_icmp_total{{{I}, type="EchoRequest"}}{R}))'
                      f' - (sum(rate(hubble_icmp_total{{{I}, type="EchoReply"}}{R})) or vector(0)), 0)',
                      "missing echo replies"), unit="ops"), 8, 8)

    variables = [
        instance_var("hubble_flows_processed_total"),
        query_var("protocol", "Protocol", 'label_values(hubble_flows_processed_total{instance=~"$instance"}, protocol)',
                  "Flow protocol (TCP, UDP, ICMPv4, ...)"),
        query_var("namespace", "Namespace",
                  'label_values(hubble_flows_processed_total{instance=~"$instance"}, source_namespace)',
                  "Source namespace (flow:labelsContext=source_namespace,...)"),
        query_var("workload", "Workload",
                  'label_values(hubble_flows_processed_total{instance=~"$instance", source_namespace=~"$namespace"}, '
                  'source_workload)',
                  "Source workload in the selected namespaces"),
    ]
    return dashboard("spyglass-network-overview", "Spyglass / Network overview",
                     "Flows, drops, TCP flags, ICMP and destination ports from Spyglass's Hubble metrics.",
                     ["network"], variables, L)


# ---------------------------------------------------------------------------------------------------------------
# DNS

def dns():
    I = 'instance=~"$instance", qtypes=~"$qtypes"'
    L = Layout()
    L.row("DNS")
    L.add(stat("Queries / s", "hubble_dns_queries_total: DNS requests (and policy-denied queries).",
               f"sum(rate(hubble_dns_queries_total{{{I}}}{R}))", unit="ops"), 6, 4)
    L.add(stat("Responses / s", "hubble_dns_responses_total: DNS responses.",
               f"sum(rate(hubble_dns_responses_total{{{I}}}{R}))", unit="ops"), 6, 4)
    L.add(stat("Failed responses", "Share of responses whose rcode is not 'No Error'.",
               f'(sum(rate(hubble_dns_responses_total{{{I}, rcode!="No Error"}}{R})) or vector(0))'
               f" / sum(rate(hubble_dns_responses_total{{{I}}}{R}))", unit="percentunit", decimals=1,
               thresholds=[(0.05, "orange"), (0.2, "red")]), 6, 4)
    L.add(stat("Unanswered queries", "1 − responses / queries over the interval (queries without a response seen).",
               f"clamp_min(1 - sum(rate(hubble_dns_responses_total{{{I}}}{R}))"
               f" / sum(rate(hubble_dns_queries_total{{{I}}}{R})), 0)", unit="percentunit", decimals=1,
               thresholds=[(0.05, "orange"), (0.2, "red")]), 6, 4)
    L.add(timeseries("Queries by type", "hubble_dns_queries_total by qtypes (A, AAAA, A,AAAA, ...). "
                     "rcode is empty for requests and 'Policy denied' for dropped queries.",
                     (f"sum by (qtypes, rcode) (rate(hubble_dns_queries_total{{{I}}}{R}))", "{{qtypes}} {{rcode}}"),
                     unit="ops", stack=True), 12, 8)
    L.add(timeseries("Responses by rcode", "hubble_dns_responses_total by rcode ('No Error', "
                     "'Non-Existent Domain', 'Server Failure', ...).",
                     (f"sum by (rcode) (rate(hubble_dns_responses_total{{{I}}}{R}))", "{{rcode}}"),
                     unit="ops", stack=True), 12, 8)
    L.add(timeseries("Response record types", "hubble_dns_response_types_total by resource-record type in the "
                     "answers (A, AAAA, CNAME, ...).",
                     (f"sum by (type) (rate(hubble_dns_response_types_total{{{I}}}{R}))", "{{type}}"),
                     unit="ops", stack=True), 12, 8)
    L.add(timeseries("Answers per response", "hubble_dns_responses_total by ips_returned (number of addresses "
                     "in the answer).",
                     (f"sum by (ips_returned) (rate(hubble_dns_responses_total{{{I}}}{R}))", "{{ips_returned}} IPs"),
                     unit="ops"), 12, 8)
    L.row("Names (needs dns:query)")
    L.add(bargauge("Top failing names (time range)",
                   "Names with the most non-'No Error' responses over the time range; names without failures are "
                   "listed with 0. The query label exists only with --hubble-metrics 'dns:query'.",
                   f'topk(15, sum by (query) (increase(hubble_dns_responses_total{{{I}, rcode!="No Error"}}[$__range]))'
                   f" or sum by (query) (increase(hubble_dns_responses_total{{{I}}}[$__range])) * 0)",
                   "{{query}}"), 12, 10)
    L.add(bargauge("Top queried names (time range)",
                   "Most queried names over the time range (needs 'dns:query').",
                   f"topk(15, sum by (query) (increase(hubble_dns_queries_total{{{I}}}[$__range])))",
                   "{{query}}"), 12, 10)
    L.add(table("Responses by name and rcode (time range)",
                "Responses per name and rcode over the time range (needs 'dns:query' for the name).",
                [f"sum by (query, rcode) (increase(hubble_dns_responses_total{{{I}}}[$__range]))"]), 24, 8)
    variables = [
        instance_var("hubble_dns_queries_total"),
        query_var("qtypes", "Query types", 'label_values(hubble_dns_queries_total{instance=~"$instance"}, qtypes)',
                  "DNS question types (qtypes label)"),
    ]
    return dashboard("spyglass-dns", "Spyglass / DNS",
                     "DNS queries, responses by rcode, answer types and failing names from Spyglass's Hubble dns "
                     "metrics.", ["dns"], variables, L)


# ---------------------------------------------------------------------------------------------------------------
# HTTP

def http():
    F = ('instance=~"$instance", destination_namespace=~"$destination_namespace", '
         'destination_workload=~"$destination_workload", source_workload=~"$source_workload", '
         'reporter=~"$reporter"')
    W = "destination_namespace, destination_workload"
    WL = "{{destination_namespace}}/{{destination_workload}}"
    REQ = f"hubble_http_requests_total{{{F}}}"
    BUCKET = f"hubble_http_request_duration_seconds_bucket{{{F}}}"

    def err_ratio(by, status):
        by_clause = f"sum by ({by}) " if by else "sum "
        return (f'({by_clause}(rate(hubble_http_requests_total{{{F}, status=~"{status}"}}{R}))'
                f" or {by_clause}(rate({REQ}{R})) * 0) / {by_clause}(rate({REQ}{R}))")

    def quantile(q, by):
        return f"histogram_quantile({q}, sum by (le{', ' + by if by else ''}) (rate({BUCKET}{R})))"

    trace_link = {
        "title": "Trace ${__value.raw}", "url": "",
        "internal": {"datasourceUid": "${tracing_datasource}", "datasourceName": "${tracing_datasource}",
                     "query": {"query": "${__value.raw}", "queryType": "traceql"}},
    }
    L = Layout()
    L.row("Golden signals")
    L.add(stat("Requests / s", "hubble_http_requests_total (httpV2 counts one request per response seen).",
               f"sum(rate({REQ}{R}))", unit="reqps"), 6, 4)
    L.add(stat("Error ratio (5xx)", "Share of requests answered with a 5xx status.", err_ratio("", "5.."),
               unit="percentunit", decimals=2, thresholds=[(0.01, "orange"), (0.05, "red")]), 6, 4)
    L.add(stat("p95 latency", "95th percentile of hubble_http_request_duration_seconds.", quantile(0.95, ""),
               unit="s", thresholds=[(0.5, "orange"), (1, "red")]), 6, 4)
    L.add(stat("p99 latency", "99th percentile of hubble_http_request_duration_seconds.", quantile(0.99, ""),
               unit="s", thresholds=[(1, "orange"), (2.5, "red")]), 6, 4)
    L.add(timeseries("Request rate by destination workload", "hubble_http_requests_total by destination workload "
                     "(httpV2 reports from the request's point of view).",
                     (f"sum by ({W}) (rate({REQ}{R}))", WL), unit="reqps"), 12, 8)
    L.add(timeseries("Request rate by status", "hubble_http_requests_total by HTTP status code.",
                     (f"sum by (status) (rate({REQ}{R}))", "{{status}}"), unit="reqps", stack=True), 12, 8)
    L.add(timeseries("Error ratio by destination workload", "5xx and 4xx shares of requests per destination workload.",
                     [(err_ratio(W, "5.."), "5xx " + WL), (err_ratio(W, "4.."), "4xx " + WL)],
                     unit="percentunit"), 12, 8)
    latency = timeseries(
        "Latency p50 / p95 / p99 by destination workload",
        "Quantiles of hubble_http_request_duration_seconds per destination workload. Exemplars (traceID) are shown "
        "when the agent runs httpV2 with exemplars=true and requests carry trace context; each exemplar links to "
        "the trace in ${tracing_datasource}.",
        [(quantile(0.5, W), "p50 " + WL), (quantile(0.95, W), "p95 " + WL), (quantile(0.99, W), "p99 " + WL)],
        unit="s")
    latency["targets"][2]["exemplar"] = True
    latency["fieldConfig"]["overrides"].append(
        {"matcher": {"id": "byName", "options": "traceID"}, "properties": [{"id": "links", "value": [trace_link]}]})
    latency["links"] = [{"title": "Explore traces in ${tracing_datasource}", "targetBlank": True,
                         "url": "/explore?left=%7B%22datasource%22:%22${tracing_datasource}%22%7D"}]
    L.add(latency, 24, 9)
    L.row("Details")
    L.add(heatmap("Latency distribution", "hubble_http_request_duration_seconds buckets (classic histogram, "
                  "DefBuckets).", f"sum by (le) (increase({BUCKET}{R}))"), 12, 9)
    L.add(timeseries("Requests by method and reporter", "hubble_http_requests_total by method and reporter "
                     "(client: seen on egress, server: seen on ingress).",
                     (f"sum by (method, reporter) (rate({REQ}{R}))", "{{method}} {{reporter}}"), unit="reqps"), 12, 9)
    L.add(timeseries("Traffic between workloads", "hubble_http_requests_total by source and destination workload.",
                     (f"sum by (source_namespace, source_workload, {W}) (rate({REQ}{R}))",
                      "{{source_namespace}}/{{source_workload}} → " + WL), unit="reqps"), 12, 9)
    L.add(table("Per-workload summary (now)", "Request rate, 5xx ratio and p95 latency per destination workload.",
                [f"sum by ({W}) (rate({REQ}{R}))", err_ratio(W, "5.."), quantile(0.95, W)],
                overrides=[
                    {"matcher": {"id": "byName", "options": "Value #A"},
                     "properties": [{"id": "displayName", "value": "req/s"}, {"id": "unit", "value": "reqps"}]},
                    {"matcher": {"id": "byName", "options": "Value #B"},
                     "properties": [{"id": "displayName", "value": "5xx ratio"}, {"id": "unit", "value": "percentunit"}]},
                    {"matcher": {"id": "byName", "options": "Value #C"},
                     "properties": [{"id": "displayName", "value": "p95"}, {"id": "unit", "value": "s"}]},
                ]), 12, 9)
    variables = [
        ds_var("tracing_datasource", "Traces", "tempo",
               "Tracing data source the latency exemplars (traceID) link to"),
        instance_var("hubble_http_requests_total"),
        query_var("destination_namespace", "Destination namespace",
                  'label_values(hubble_http_requests_total{instance=~"$instance"}, destination_namespace)',
                  "destination_namespace (httpV2 labelsContext)"),
        query_var("destination_workload", "Destination workload",
                  'label_values(hubble_http_requests_total{instance=~"$instance", '
                  'destination_namespace=~"$destination_namespace"}, destination_workload)',
                  "destination_workload (httpV2 labelsContext)"),
        query_var("source_workload", "Source workload",
                  'label_values(hubble_http_requests_total{instance=~"$instance"}, source_workload)',
                  "source_workload (httpV2 labelsContext)"),
        query_var("reporter", "Reporter", 'label_values(hubble_http_requests_total{instance=~"$instance"}, reporter)',
                  "client (seen on egress) or server (seen on ingress); both when Spyglass sees both ends"),
    ]
    return dashboard("spyglass-http", "Spyglass / HTTP",
                     "HTTP golden signals per workload from Spyglass's httpV2 metrics, with latency exemplars linked "
                     "to traces. Per-workload panels need httpV2:labelsContext=source_ip,source_namespace,"
                     "source_workload,destination_ip,destination_namespace,destination_workload,traffic_direction.",
                     ["http"], variables, L)


# ---------------------------------------------------------------------------------------------------------------
# Agent health

def health():
    I = 'instance=~"$instance"'
    L = Layout()
    L.row("Losses")
    L.add(stat("Lost events / s", "hubble_lost_events_total, all sources: events the pipeline lost.",
               f"sum(rate(hubble_lost_events_total{{{I}}}{R}))", unit="ops", thresholds=[(0.001, "red")]), 6, 4)
    L.add(stat("Event queue depth", "spyglass_event_queue_depth: batches waiting for the flow pipeline.",
               f"max(spyglass_event_queue_depth{{{I}}})", thresholds=[(8, "orange"), (32, "red")]), 6, 4)
    L.add(stat("Live series", "spyglass_metrics_series summed over all Hubble families.",
               f"sum(spyglass_metrics_series{{{I}}})"), 6, 4)
    L.add(stat("Agents up", "Prometheus scrape targets up (up == 1).", f"sum(up{{{I}}})"), 6, 4)
    L.add(timeseries("Lost events by source", "hubble_lost_events_total by source: perf_event_ring_buffer "
                     "(kernel ring buffer full), observer_events_queue (flow pipeline fell behind).",
                     (f"sum by (source) (rate(hubble_lost_events_total{{{I}}}{R}))", "{{source}}"), unit="ops"), 12, 8)
    L.add(timeseries("Event queue", "spyglass_event_queue_depth (batches waiting) and spyglass_event_queue_lost_total "
                     "(events dropped because the pipeline fell behind) by kind.",
                     [(f"max by (instance) (spyglass_event_queue_depth{{{I}}})", "depth {{instance}}"),
                      (f"sum by (kind) (rate(spyglass_event_queue_lost_total{{{I}}}{R}))", "lost/s {{kind}}")]),
          12, 8)
    L.add(timeseries("Decode errors", "spyglass_decode_errors_total: ring-buffer records that failed validation.",
                     (f"sum by (reason) (rate(spyglass_decode_errors_total{{{I}}}{R}))", "{{reason}}"), unit="ops"),
          12, 8)
    L.add(timeseries("Flows processed", "spyglass_flows_processed_total: flows handed to the metric handlers.",
                     (f"sum by (instance) (rate(spyglass_flows_processed_total{{{I}}}{R}))", "{{instance}}"),
                     unit="ops"), 12, 8)

    L.row("Datapath")
    L.add(timeseries("Datapath packets and events",
                     "Packets the tc programs ran on; events written to the ring buffer; packets folded into a "
                     "connection report (monitor aggregation); non-IP frames.",
                     [(f"sum(rate(spyglass_datapath_packets_total{{{I}}}{R}))", "packets"),
                      (f"sum(rate(spyglass_datapath_events_total{{{I}}}{R}))", "events"),
                      (f"sum(rate(spyglass_datapath_aggregated_packets_total{{{I}}}{R}))", "aggregated"),
                      (f"sum(rate(spyglass_datapath_non_ip_packets_total{{{I}}}{R}))", "non-IP")], unit="pps"), 12, 8)
    L.add(timeseries("Events per packet", "Ring-buffer events per packet: the reduction monitor aggregation achieves.",
                     (f"sum(rate(spyglass_datapath_events_total{{{I}}}{R})) / "
                      f"sum(rate(spyglass_datapath_packets_total{{{I}}}{R}))", "events / packet"),
                     unit="percentunit"), 12, 8)
    L.add(timeseries("Datapath capacity",
                     "Events the kernel could not write (ring buffer full) and packets whose connection state did "
                     "not fit the connection table. Anything above 0 means lost detail.",
                     [(f"sum(rate(spyglass_datapath_ring_buffer_full_total{{{I}}}{R}))", "trace ring buffer full"),
                      (f"sum(rate(spyglass_datapath_drop_ring_buffer_full_total{{{I}}}{R}))", "drop ring buffer full"),
                      (f"sum(rate(spyglass_datapath_connection_table_full_total{{{I}}}{R}))", "connection table full")],
                     unit="ops"), 24, 8)

    L.row("Kernel drops")
    L.add(timeseries("Kernel drops by reason", "spyglass_drops_total: every packet the kernel dropped, by the "
                     "kernel's reason name (including suppressed ones).",
                     (f"sum by (reason) (rate(spyglass_drops_total{{{I}}}{R}))", "{{reason}}"), unit="pps"), 12, 8)
    L.add(timeseries("Suppressed drops by reason", "spyglass_drops_suppressed_total: drops counted but not reported "
                     "as flows because of --drop-rate-limit.",
                     (f"sum by (reason) (rate(spyglass_drops_suppressed_total{{{I}}}{R}))", "{{reason}}"),
                     unit="pps"), 12, 8)
    L.add(timeseries("Drop events", "Drop events written to the ring buffer, and drops of non-IP packets (not "
                     "reported).",
                     [(f"sum(rate(spyglass_datapath_drop_events_total{{{I}}}{R}))", "drop events"),
                      (f"sum(rate(spyglass_datapath_drops_non_ip_total{{{I}}}{R}))", "non-IP drops")],
                     unit="ops"), 24, 8)

    L.row("Metric series")
    L.add(timeseries("Series per metric", "spyglass_metrics_series: live series per Hubble metric family.",
                     (f"sum by (metric) (spyglass_metrics_series{{{I}}})", "{{metric}}")), 12, 8)
    L.add(timeseries("Refused series", "spyglass_metrics_series_refused_total: label sets refused because the family "
                     "reached --hubble-metrics-max-series.",
                     (f"sum by (metric) (rate(spyglass_metrics_series_refused_total{{{I}}}{R}))", "{{metric}}"),
                     unit="ops"), 12, 8)

    L.row("Scrapes")
    L.add(timeseries("Scrape latency", "hubble_metrics_http_handler_request_duration_seconds quantiles.",
                     [(f"histogram_quantile(0.5, sum by (le) (rate("
                       f"hubble_metrics_http_handler_request_duration_seconds_bucket{{{I}}}{R})))", "p50"),
                      (f"histogram_quantile(0.99, sum by (le) (rate("
                       f"hubble_metrics_http_handler_request_duration_seconds_bucket{{{I}}}{R})))", "p99"),
                      (f"sum(rate(hubble_metrics_http_handler_request_duration_seconds_sum{{{I}}}{R})) / "
                       f"sum(rate(hubble_metrics_http_handler_request_duration_seconds_count{{{I}}}{R}))", "mean")],
                     unit="s"), 12, 8)
    L.add(timeseries("Scrapes by status code", "hubble_metrics_http_handler_requests_total by HTTP code.",
                     (f"sum by (code) (rate(hubble_metrics_http_handler_requests_total{{{I}}}{R}))", "{{code}}"),
                     unit="reqps"), 12, 8)
    L.add(timeseries("Scrape size and duration (Prometheus)", "Samples per scrape and scrape duration as Prometheus "
                     "sees them.",
                     [(f"max by (instance) (scrape_samples_scraped{{{I}}})", "samples {{instance}}"),
                      (f"max by (instance) (scrape_duration_seconds{{{I}}})", "duration s {{instance}}")]), 24, 8)

    L.row("Flow export")
    L.add(timeseries("Events written", "spyglass_export_events_written_total by exporter (static or dynamic:<name>).",
                     (f"sum by (exporter) (rate(spyglass_export_events_written_total{{{I}}}{R}))", "{{exporter}}"),
                     unit="ops"), 8, 8)
    L.add(timeseries("Events not written", "spyglass_export_dropped_total by exporter and reason (queue_full, "
                     "no_space, write_error, too_large, open_error).",
                     (f"sum by (exporter, reason) (rate(spyglass_export_dropped_total{{{I}}}{R}))",
                      "{{exporter}} {{reason}}"), unit="ops"), 8, 8)
    L.add(timeseries("Export queue", "spyglass_export_queue_length: events waiting for a flow log writer.",
                     (f"max by (exporter) (spyglass_export_queue_length{{{I}}})", "{{exporter}}")), 8, 8)

    L.row("Endpoint watcher")
    L.add(stat("Endpoint source synced", "spyglass_endpoints_source_synced: 1 when the endpoint source has a "
               "complete, current view.", f"min(spyglass_endpoints_source_synced{{{I}}})"), 6, 8)
    L.add(timeseries("Known objects", "spyglass_endpoints_objects by kind.",
                     (f"sum by (kind) (spyglass_endpoints_objects{{{I}}})", "{{kind}}")), 9, 8)
    L.add(timeseries("Endpoint source errors", "spyglass_endpoints_errors_total by reason.",
                     (f"sum by (reason) (rate(spyglass_endpoints_errors_total{{{I}}}{R}))", "{{reason}}"),
                     unit="ops"), 9, 8)

    return dashboard("spyglass-health", "Spyglass / Agent health",
                     "Spyglass's own health: lost events, event queue, datapath counters, kernel drops and their "
                     "suppression, metric series, scrape latency and flow export.",
                     ["health"], [instance_var("spyglass_flows_processed_total")], L)


DASHBOARDS = {
    "spyglass-network-overview.json": overview,
    "spyglass-dns.json": dns,
    "spyglass-http.json": http,
    "spyglass-health.json": health,
}


def render(fn):
    return json.dumps(fn(), indent=2, ensure_ascii=False) + "\n"


CONFIGMAP_DIR = os.path.join(os.path.dirname(HERE), "deploy", "kubernetes", "components", "grafana-dashboards")


def configmap(name, text):
    """One ConfigMap per dashboard for Grafana's dashboard sidecar (kube-prometheus-stack's default label
    grafana_dashboard=1): well under the 256 KiB that `kubectl apply` can keep in its last-applied annotation."""
    stem = name[:-len(".json")]
    body = "\n".join(("    " + line) if line else "" for line in text.rstrip("\n").split("\n"))
    return (f"# Generated by dashboards/generate.py from dashboards/{name}. Do not edit.\n"
            "apiVersion: v1\n"
            "kind: ConfigMap\n"
            "metadata:\n"
            f"  name: {stem}-dashboard\n"
            "  namespace: spyglass\n"
            "  labels:\n"
            "    app.kubernetes.io/name: spyglass\n"
            "    grafana_dashboard: \"1\"\n"
            "  annotations:\n"
            "    grafana_folder: Spyglass\n"
            "data:\n"
            f"  {name}: |-\n{body}\n")


KUSTOMIZATION = """# Grafana dashboards as ConfigMaps for Grafana's dashboard sidecar (kube-prometheus-stack: sidecar.dashboards
# enabled, label grafana_dashboard=1, searchNamespace covering "spyglass" or ALL). Generated by dashboards/generate.py.
# Use it from an overlay: components: [../deploy/kubernetes/components/grafana-dashboards]
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
resources:
"""


def outputs():
    """Every generated file: path -> text."""
    files = {}
    for name, fn in DASHBOARDS.items():
        text = render(fn)
        files[os.path.join(HERE, name)] = text
        files[os.path.join(CONFIGMAP_DIR, name[:-len(".json")] + ".yaml")] = configmap(name, text)
    files[os.path.join(CONFIGMAP_DIR, "kustomization.yaml")] = KUSTOMIZATION + "".join(
        f"  - {name[:-len('.json')]}.yaml\n" for name in DASHBOARDS)
    return files


def main(argv):
    check = "--check" in argv
    stale = []
    for path, text in outputs().items():
        if check:
            try:
                with open(path, encoding="utf-8") as f:
                    if f.read() != text:
                        stale.append(os.path.relpath(path, os.path.dirname(HERE)))
            except FileNotFoundError:
                stale.append(os.path.relpath(path, os.path.dirname(HERE)))
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
    if stale:
        print("dashboards out of date with dashboards/generate.py (run it and commit): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
