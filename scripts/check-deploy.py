#!/usr/bin/python3
"""Validates Spyglass's deployment files: deploy/kubernetes, deploy/systemd and the Containerfile.

    scripts/check-deploy.py [--binary PATH]

Needs Debian's python3-yaml and python3-jsonschema (run with /usr/bin/python3), and systemd-analyze when it is
installed. Checks:

Kubernetes (deploy/kubernetes/*.yaml)
  * every file parses as YAML; every object has apiVersion, kind and metadata.name; kustomization.yaml lists
    exactly the other files;
  * every object validates against deploy/schemas/kubernetes.schema.yaml (JSON Schemas written from the Kubernetes
    API reference and the ServiceMonitor CRD; unknown fields are errors);
  * references hold: namespaced objects live in the Namespace defined here; the DaemonSet's selector matches its
    pod labels and its ServiceAccount exists; the ClusterRoleBinding binds that ServiceAccount to the ClusterRole;
    the Service selects the pods and targets a named container port; the ServiceMonitor selects the Service and
    scrapes a port the Service names;
  * the agent's contract: hostNetwork, no hostPID, not privileged, capabilities drop ALL and add exactly BPF,
    NET_ADMIN, PERFMON, SYS_RESOURCE (SYS_ADMIN only with a comment saying why); /sys/fs/bpf, /sys/kernel/btf
    (read-only) and the export directory mounted from the host; requests and limits; liveness on
    /healthz and readiness on /readyz at 9965; args --hubble-metrics-server=:9965, --hubble-metrics=<the shipped value>,
    --hubble-export-file-path inside the export mount; the ClusterRole grants get/list/watch on pods, services,
    nodes, replicasets and jobs, and nothing that writes.
systemd (deploy/systemd)
  * `systemd-analyze verify` on the unit (ExecStart pointed at an existing binary) prints nothing; without
    systemd-analyze the unit is parsed and checked by hand;
  * hardening keys and values: ProtectSystem=strict, ProtectHome=yes, NoNewPrivileges=yes, CapabilityBoundingSet
    and AmbientCapabilities exactly CAP_BPF CAP_NET_ADMIN CAP_PERFMON, RestrictAddressFamilies exactly AF_INET
    AF_INET6 AF_NETLINK AF_UNIX, SystemCallArchitectures=native, ReadWritePaths holding the export directory;
  * spyglass.env parses, defines every variable ExecStart uses, and carries the shipped --hubble-metrics value.
Containerfile
  * instructions parse (continuations, JSON forms); a Swift 6.3 build stage and a Debian 12 slim runtime stage;
    every COPY --from names an earlier stage; every build-context COPY source exists; the runtime installs libbpf1;
    EXPOSE 9965; ENTRYPOINT in exec form; no ADD of URLs.
With --binary PATH (a built spyglass)
  * every --flag in the DaemonSet args and the unit's command line is one `spyglass run --help` lists, except the
    flags of PENDING_FLAGS (reported, not failed) that other branches are adding;
  * every shared library the binary needs, apart from the Swift runtime (linked statically in the image), comes
    from a package the runtime stage installs or that debian:12-slim already has.

Exit 0 when everything holds; otherwise 1 with one line per problem.
"""
import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

try:
    import yaml
    import jsonschema
except ImportError as e:  # pragma: no cover
    print(f"check-deploy: {e}: install python3-yaml and python3-jsonschema and run with /usr/bin/python3")
    sys.exit(2)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
K8S = os.path.join(ROOT, "deploy", "kubernetes")
SYSTEMD = os.path.join(ROOT, "deploy", "systemd")
SCHEMAS = os.path.join(ROOT, "deploy", "schemas", "kubernetes.schema.yaml")
CONTAINERFILE = os.path.join(ROOT, "Containerfile")

SEED_METRICS = ("dns drop tcp flow port-distribution icmp httpV2:exemplars=true;labelsContext=source_ip,"
                "source_namespace,source_workload,destination_ip,destination_namespace,destination_workload,"
                "traffic_direction")
K8S_CAPS = {"BPF", "NET_ADMIN", "PERFMON", "SYS_RESOURCE"}
UNIT_CAPS = {"CAP_BPF", "CAP_NET_ADMIN", "CAP_PERFMON"}
ADDRESS_FAMILIES = {"AF_INET", "AF_INET6", "AF_NETLINK", "AF_UNIX"}
READ_VERBS = {"get", "list", "watch"}
WATCHED = {("", "pods"), ("", "services"), ("", "nodes"), ("apps", "replicasets"), ("batch", "jobs")}
# Flags the deployment uses that the agent on this branch does not accept yet (added by other branches).
PENDING_FLAGS = {"--hubble-export-file-path"}
# Shared-library packages debian:12-slim has without installing anything.
SLIM_BASE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g"}
SWIFT_RUNTIME = re.compile(r"^lib(swift|Foundation|FoundationEssentials|FoundationInternationalization|_Foundation|"
                           r"dispatch|BlocksRuntime|_Testing|XCTest|icu|_FoundationICU)")
# What the manifests and the unit ship: Hubble's seven default families with the options the shipped dashboards need (every
# panel has data: DashboardTests runs the demo with this value).
SHIPPED_METRICS = ("dns:query drop:labelsContext=source_namespace,source_workload,destination_namespace,"
                   "destination_workload tcp flow:labelsContext=source_namespace,source_workload,destination_namespace,"
                   "destination_workload port-distribution icmp flows-to-world:any-drop;port;labelsContext="
                   "source_namespace,source_workload httpV2:exemplars=true;labelsContext=source_ip,"
                   "source_namespace,source_workload,destination_ip,destination_namespace,destination_workload,"
                   "traffic_direction")

errors = []
notes = []


def err(msg):
    errors.append(msg)


def rel(path):
    return os.path.relpath(path, ROOT)


# ---------------------------------------------------------------------------------------------------------------
# Kubernetes

def load_objects():
    """The base (deploy/kubernetes) and every kustomize component under deploy/kubernetes/components/."""
    objects = load_dir(K8S)
    for comp in sorted(glob.glob(os.path.join(K8S, "components", "*"))):
        if os.path.isdir(comp):
            objects += load_dir(comp, component=True)
    return objects


def load_dir(directory, component=False):
    objects = []
    files = sorted(glob.glob(os.path.join(directory, "*.yaml")) + glob.glob(os.path.join(directory, "*.yml")))
    if not files:
        err(f"{rel(directory)}: no manifests")
    kustomization = None
    for path in files:
        try:
            with open(path, encoding="utf-8") as f:
                docs = [d for d in yaml.safe_load_all(f) if d is not None]
        except (OSError, yaml.YAMLError) as e:
            err(f"{rel(path)}: does not parse as YAML: {e}")
            continue
        if os.path.basename(path).startswith("kustomization."):
            kustomization = (path, docs[0] if docs else {})
            continue
        for i, d in enumerate(docs):
            where = f"{rel(path)}[{i}]"
            if not isinstance(d, dict):
                err(f"{where}: not a mapping")
                continue
            missing = [k for k in ("apiVersion", "kind") if not isinstance(d.get(k), str) or not d.get(k)]
            name = (d.get("metadata") or {}).get("name") if isinstance(d.get("metadata"), dict) else None
            if not name:
                missing.append("metadata.name")
            if missing:
                err(f"{where}: missing {', '.join(missing)}")
                continue
            objects.append((f"{rel(path)}: {d['kind']}/{name}", path, d))
    if component and (not kustomization or kustomization[1].get("kind") != "Component"):
        err(f"{rel(directory)}: needs a kustomization.yaml of kind Component")
    if kustomization:
        path, k = kustomization
        listed = set(k.get("resources") or [])
        present = {os.path.basename(p) for p in files if p != path}
        for r in sorted(listed - present):
            err(f"{rel(path)}: lists {r}, which does not exist")
        for r in sorted(present - listed):
            err(f"{rel(path)}: does not list {r}")
    return objects


def validate_schemas(objects):
    with open(SCHEMAS, encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    defs = spec["$defs"]
    validator_cls = jsonschema.Draft202012Validator
    validator_cls.check_schema({"$defs": defs})
    for where, _, d in objects:
        key = f"{d['apiVersion']}/{d['kind']}"
        name = spec["kinds"].get(key)
        if not name:
            err(f"{where}: no schema for {key} (add one to {rel(SCHEMAS)})")
            continue
        v = validator_cls({"$ref": f"#/$defs/{name}", "$defs": defs})
        for e in sorted(v.iter_errors(d), key=lambda e: list(e.absolute_path)):
            path = ".".join(str(p) for p in e.absolute_path) or "(root)"
            # For oneOf/anyOf failures, the most specific sub-error is the useful one.
            detail = e.message
            if e.context:
                best = jsonschema.exceptions.best_match(e.context)
                detail = f"{best.message} (at {'.'.join(str(p) for p in best.absolute_path) or path})"
            err(f"{where}: {path}: {detail}")


def one(objects, kind):
    found = [(w, p, d) for w, p, d in objects if d["kind"] == kind]
    if len(found) != 1:
        err(f"deploy/kubernetes: expected exactly one {kind}, found {len(found)}")
        return None, None, {}
    return found[0]


def selector_matches(selector, labels):
    ml = (selector or {}).get("matchLabels") or {}
    return bool(ml) and all(labels.get(k) == v for k, v in ml.items())


def check_references(objects):
    ns_w, _, ns = one(objects, "Namespace")
    namespace = (ns.get("metadata") or {}).get("name")
    for w, _, d in objects:
        if d["kind"] in ("Namespace", "ClusterRole", "ClusterRoleBinding"):
            continue
        if d["metadata"].get("namespace") != namespace:
            err(f"{w}: namespace {d['metadata'].get('namespace')!r} is not the Namespace {namespace!r} defined here")
    ds_w, ds_path, ds = one(objects, "DaemonSet")
    sa_w, _, sa = one(objects, "ServiceAccount")
    cr_w, _, cr = one(objects, "ClusterRole")
    crb_w, _, crb = one(objects, "ClusterRoleBinding")
    # The metrics Service (port 'metrics'); other Services (e.g. hubble-peer) must select the agent and name its ports.
    services = [(w, p, d) for w, p, d in objects if d["kind"] == "Service"]
    metrics_svcs = [x for x in services if any(q.get("name") == "metrics" for q in (x[2].get("spec", {}).get("ports") or []))]
    svc_w, _, svc = metrics_svcs[0] if len(metrics_svcs) == 1 else one(objects, "Service")
    sm_w, _, sm = one(objects, "ServiceMonitor")
    if not ds:
        return
    spec = ds.get("spec", {})
    pod_labels = (spec.get("template", {}).get("metadata") or {}).get("labels") or {}
    pod = spec.get("template", {}).get("spec", {})
    if not selector_matches(spec.get("selector"), pod_labels):
        err(f"{ds_w}: spec.selector does not match the pod template's labels")
    sa_name = (sa.get("metadata") or {}).get("name")
    if pod.get("serviceAccountName") != sa_name:
        err(f"{ds_w}: serviceAccountName {pod.get('serviceAccountName')!r} is not the ServiceAccount {sa_name!r}")
    if crb:
        if (crb.get("roleRef") or {}).get("name") != (cr.get("metadata") or {}).get("name"):
            err(f"{crb_w}: roleRef does not name the ClusterRole {cr.get('metadata', {}).get('name')!r}")
        subjects = crb.get("subjects") or []
        if not any(s.get("kind") == "ServiceAccount" and s.get("name") == sa_name and s.get("namespace") == namespace
                   for s in subjects):
            err(f"{crb_w}: does not bind ServiceAccount {namespace}/{sa_name}")
    containers = pod.get("containers") or []
    port_names = {p.get("name"): p.get("containerPort") for c in containers for p in c.get("ports") or []}
    for w, _, other in services:
        if other is svc:
            continue
        osel = other.get("spec", {}).get("selector") or {}
        if not osel or not all(pod_labels.get(k) == v for k, v in osel.items()):
            err(f"{w}: spec.selector {osel} does not select the DaemonSet's pods {pod_labels}")
        for p in other.get("spec", {}).get("ports") or []:
            tp = p.get("targetPort", p.get("port"))
            if (isinstance(tp, str) and tp not in port_names) or (isinstance(tp, int) and tp not in port_names.values()):
                err(f"{w}: targetPort {tp!r} is not a container port")
    if svc:
        sspec = svc.get("spec", {})
        sel = sspec.get("selector") or {}
        if not sel or not all(pod_labels.get(k) == v for k, v in sel.items()):
            err(f"{svc_w}: spec.selector {sel} does not select the DaemonSet's pods {pod_labels}")
        names = set()
        for p in sspec.get("ports") or []:
            names.add(p.get("name"))
            tp = p.get("targetPort", p.get("port"))
            if isinstance(tp, str) and tp not in port_names:
                err(f"{svc_w}: targetPort {tp!r} is not a container port name ({sorted(port_names)})")
            if isinstance(tp, int) and tp not in port_names.values():
                err(f"{svc_w}: targetPort {tp} is not a container port")
        if not any(p.get("name") == "metrics" and p.get("port") == 9965 for p in sspec.get("ports") or []):
            err(f"{svc_w}: needs port 9965 named 'metrics'")
        if sm:
            smspec = sm.get("spec", {})
            if not selector_matches(smspec.get("selector"), (svc.get("metadata") or {}).get("labels") or {}):
                err(f"{sm_w}: spec.selector does not match the Service's labels")
            ns_sel = smspec.get("namespaceSelector") or {}
            if not ns_sel.get("any") and namespace not in (ns_sel.get("matchNames") or [namespace]):
                err(f"{sm_w}: namespaceSelector does not include {namespace!r}")
            for e in smspec.get("endpoints") or []:
                if "port" in e and e["port"] not in names:
                    err(f"{sm_w}: endpoint port {e['port']!r} is not a Service port name ({sorted(names)})")
    check_agent(ds_w, ds_path, pod, containers)
    if cr:
        check_rbac(cr_w, cr)
    # `kubectl apply -k deploy/kubernetes` must work without any CRD: custom resources live in components.
    for w, path, d in objects:
        if "." in d["apiVersion"].split("/")[0] and not d["apiVersion"].startswith(("apps/", "rbac.authorization.k8s.io/")) \
                and os.path.dirname(path) == K8S:
            err(f"{w}: {d['apiVersion']} needs a CRD; move it to a component under deploy/kubernetes/components/")
    # system-node-critical outside kube-system is admitted only with a ResourceQuota naming the class.
    pcn = pod.get("priorityClassName")
    if pcn in ("system-node-critical", "system-cluster-critical") and namespace != "kube-system":
        quotas = [d for _, p, d in objects if d["kind"] == "ResourceQuota" and os.path.dirname(p) == K8S]
        if not any(pcn in (e.get("values") or []) and e.get("scopeName") == "PriorityClass" and e.get("operator") == "In"
                   for q in quotas for e in ((q.get("spec") or {}).get("scopeSelector") or {}).get("matchExpressions") or []):
            err(f"{ds_w}: priorityClassName {pcn} in namespace {namespace!r} needs a ResourceQuota with a PriorityClass scope naming it")
    # Prometheus set-ups without the Operator find the agents by the annotations Cilium's chart sets.
    if svc:
        ann = (svc.get("metadata") or {}).get("annotations") or {}
        if ann.get("prometheus.io/scrape") != "true" or ann.get("prometheus.io/port") != "9965":
            err(f"{svc_w}: needs annotations prometheus.io/scrape: \"true\" and prometheus.io/port: \"9965\"")


def check_agent(where, path, pod, containers):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if pod.get("hostNetwork") is not True:
        err(f"{where}: hostNetwork must be true (the tc programs attach to the node's interfaces)")
    if pod.get("hostPID"):
        err(f"{where}: hostPID must be false (nothing needs the host's process namespace)")
    if len(containers) != 1:
        err(f"{where}: expected one container, found {len(containers)}")
        return
    c = containers[0]
    sc = c.get("securityContext") or {}
    if sc.get("privileged"):
        err(f"{where}: the container must not be privileged")
    caps = sc.get("capabilities") or {}
    if "ALL" not in (caps.get("drop") or []):
        err(f"{where}: capabilities.drop must contain ALL")
    added = set(caps.get("add") or [])
    extra = added - K8S_CAPS - {"SYS_ADMIN"}
    if extra:
        err(f"{where}: capabilities not needed: {sorted(extra)}")
    if K8S_CAPS - added:
        err(f"{where}: capabilities missing: {sorted(K8S_CAPS - added)}")
    if "SYS_ADMIN" in added and not re.search(r"#.*SYS_ADMIN.*(because|needed|required|unavoidable)", text):
        err(f"{where}: SYS_ADMIN is added without a comment saying why")
    mounts = {m.get("name"): m for m in c.get("volumeMounts") or []}
    volumes = {v.get("name"): v for v in pod.get("volumes") or []}
    host_mounts = {}
    for name, m in mounts.items():
        v = volumes.get(name)
        if v is None:
            err(f"{where}: volumeMount {name!r} has no volume")
            continue
        if "hostPath" in v:
            host_mounts[v["hostPath"]["path"]] = m
    for name in volumes:
        if name not in mounts:
            err(f"{where}: volume {name!r} is not mounted")
    if "/sys/fs/bpf" not in host_mounts:
        err(f"{where}: /sys/fs/bpf must be mounted from the host")
    btf = host_mounts.get("/sys/kernel/btf")
    if not btf or not btf.get("readOnly"):
        err(f"{where}: /sys/kernel/btf must be mounted from the host, read-only")
    args = c.get("args") or []
    values = {}
    for a in args:
        if a.startswith("--") and "=" in a:
            k, v = a.split("=", 1)
            values[k] = v
    if values.get("--hubble-metrics-server") != ":9965":
        err(f"{where}: args need --hubble-metrics-server=:9965")
    if values.get("--hubble-metrics") != SHIPPED_METRICS:
        err(f"{where}: --hubble-metrics must be the shipped value {SHIPPED_METRICS!r}, not {values.get('--hubble-metrics')!r}")
    export = values.get("--hubble-export-file-path")
    if not export:
        err(f"{where}: args need --hubble-export-file-path")
    else:
        mount = next((m for p, m in host_mounts.items() if export.startswith(m["mountPath"].rstrip("/") + "/")), None)
        if not mount or mount.get("readOnly"):
            err(f"{where}: the export file {export} is not in a writable hostPath mount")
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        hg = (c.get(probe) or {}).get("httpGet") or {}
        if hg.get("path") != path or hg.get("port") not in (9965, "metrics"):
            err(f"{where}: {probe} must be httpGet {path} on 9965")
    res = c.get("resources") or {}
    for kind in ("requests", "limits"):
        if not {"cpu", "memory"} <= set(res.get(kind) or {}):
            err(f"{where}: resources.{kind} needs cpu and memory")
    if not any(p.get("containerPort") == 9965 for p in c.get("ports") or []):
        err(f"{where}: container port 9965 is not declared")
    return args


def check_rbac(where, cr):
    granted = set()
    for r in cr.get("rules") or []:
        verbs = set(r.get("verbs") or [])
        if verbs - READ_VERBS:
            err(f"{where}: rule {r.get('resources')} grants more than get/list/watch: {sorted(verbs - READ_VERBS)}")
        if "*" in (r.get("resources") or []) or "*" in (r.get("apiGroups") or []):
            err(f"{where}: wildcard resources or apiGroups")
        if READ_VERBS <= verbs:
            for g in r.get("apiGroups") or []:
                for res in r.get("resources") or []:
                    granted.add((g, res))
    for g, res in sorted(WATCHED - granted):
        err(f"{where}: no get/list/watch on {res} ({g or 'core'})")


# ---------------------------------------------------------------------------------------------------------------
# systemd

def parse_unit(path):
    sections, current = {}, None
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if not line or line.startswith(("#", ";")):
            continue
        while line.endswith("\\") and i < len(lines):
            line = line[:-1] + " " + lines[i].strip()
            i += 1
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            sections.setdefault(current, {})
            continue
        if "=" not in line or current is None:
            err(f"{rel(path)}: cannot parse line {line!r}")
            continue
        k, v = line.split("=", 1)
        sections[current].setdefault(k.strip(), []).append(v.strip())
    return sections


def parse_env(path):
    env = {}
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith(("#", ";")):
                continue
            m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", line)
            if not m:
                err(f"{rel(path)}:{n}: not KEY=VALUE: {line!r}")
                continue
            value = m.group(2)
            if value[:1] and value[0] in "\"'":
                if len(value) < 2 or value[-1] != value[0]:
                    err(f"{rel(path)}:{n}: unbalanced quotes")
                    continue
                value = value[1:-1]
            env[m.group(1)] = value
    return env


def check_systemd(binary):
    unit_path = os.path.join(SYSTEMD, "spyglass.service")
    env_path = os.path.join(SYSTEMD, "spyglass.env")
    for p in (unit_path, env_path):
        if not os.path.exists(p):
            err(f"{rel(p)}: missing")
            return None
    unit = parse_unit(unit_path)
    svc = unit.get("Service", {})
    for section in ("Unit", "Service", "Install"):
        if section not in unit:
            err(f"{rel(unit_path)}: no [{section}] section")

    def single(key):
        v = svc.get(key)
        if not v:
            err(f"{rel(unit_path)}: [Service] {key}= is missing")
            return None
        return v[-1]

    # A configuration error exits 64 (README "Operating the agent"): no restart loop; reload is SIGHUP.
    for key, want in (("ProtectSystem", "strict"), ("ProtectHome", "yes"), ("NoNewPrivileges", "yes"),
                      ("SystemCallArchitectures", "native"), ("RestartPreventExitStatus", "64"),
                      ("ExecReload", "/bin/kill -HUP $MAINPID")):
        v = single(key)
        if v is not None and v != want:
            err(f"{rel(unit_path)}: {key}={v}, want {want}")
    for key in ("CapabilityBoundingSet", "AmbientCapabilities"):
        v = single(key)
        if v is not None and set(v.split()) != UNIT_CAPS:
            err(f"{rel(unit_path)}: {key}={v}, want exactly {' '.join(sorted(UNIT_CAPS))}")
    v = single("RestrictAddressFamilies")
    if v is not None and set(v.split()) != ADDRESS_FAMILIES:
        err(f"{rel(unit_path)}: RestrictAddressFamilies={v}, want exactly {' '.join(sorted(ADDRESS_FAMILIES))}")
    for key in ("PrivateTmp", "ProtectKernelTunables", "ProtectKernelModules", "ProtectControlGroups",
                "RestrictNamespaces", "RestrictSUIDSGID", "LockPersonality"):
        if (svc.get(key) or ["no"])[-1] != "yes":
            err(f"{rel(unit_path)}: {key}=yes is missing")

    env = parse_env(env_path)
    exec_start = single("ExecStart") or ""
    used = set(re.findall(r"\$\{(\w+)\}|\$(\w+)", exec_start))
    used = {a or b for a, b in used}
    for var in sorted(used - set(env)):
        err(f"{rel(env_path)}: does not define {var}, which ExecStart uses")
    if env.get("SPYGLASS_HUBBLE_METRICS") != SHIPPED_METRICS:
        err(f"{rel(env_path)}: SPYGLASS_HUBBLE_METRICS must be the shipped value")
    # Expand ExecStart the way systemd does: ${VAR} stays one word, $VAR splits on whitespace.
    words = []
    for w in shlex.split(exec_start):
        if re.fullmatch(r"\$(\w+)", w):
            words += env.get(w[1:], "").split()
        else:
            words.append(re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), ""), w))
    flags = {w.split("=", 1)[0]: (w.split("=", 1)[1] if "=" in w else None) for w in words if w.startswith("--")}
    export = flags.get("--hubble-export-file-path")
    rw = " ".join(svc.get("ReadWritePaths") or []).split()
    if not export:
        err(f"{rel(unit_path)}: ExecStart has no --hubble-export-file-path")
    elif not any(export.startswith(p.lstrip("-").rstrip("/") + "/") for p in rw):
        err(f"{rel(unit_path)}: ReadWritePaths={' '.join(rw)} does not hold the export file {export}")
    if flags.get("--hubble-metrics-server") != ":9965":
        err(f"{rel(unit_path)}: --hubble-metrics-server is {flags.get('--hubble-metrics-server')!r}, want :9965")

    analyze = shutil.which("systemd-analyze")
    if analyze:
        target = binary if binary and os.access(binary, os.X_OK) else "/bin/true"
        with tempfile.TemporaryDirectory() as d:
            copy = os.path.join(d, "spyglass.service")
            with open(unit_path, encoding="utf-8") as f:
                text = f.read()
            exe = shlex.split(exec_start)[0]
            with open(copy, "w", encoding="utf-8") as f:
                f.write(text.replace(f"ExecStart={exe}", f"ExecStart={target}"))
            r = subprocess.run([analyze, "verify", copy], capture_output=True, text=True, timeout=60)
            out = "\n".join(l for l in (r.stdout + r.stderr).splitlines() if l.strip())
            if r.returncode != 0 or out:
                for line in out.splitlines() or [f"exit {r.returncode}"]:
                    err(f"{rel(unit_path)}: systemd-analyze verify: {line.replace(copy, 'spyglass.service')}")
        notes.append("systemd unit verified with systemd-analyze")
    else:
        notes.append("systemd-analyze not available: unit checked by parsing only")
    return words


# ---------------------------------------------------------------------------------------------------------------
# Containerfile

def parse_containerfile(path):
    with open(path, encoding="utf-8") as f:
        raw = f.read().split("\n")
    instructions, buf, start = [], "", 0
    for n, line in enumerate(raw, 1):
        s = line.strip()
        if not buf and (not s or s.startswith("#")):
            continue
        if buf and s.startswith("#"):
            continue
        if not buf:
            start = n
        if s.endswith("\\"):
            buf += s[:-1] + " "
            continue
        buf += s
        m = re.match(r"(\w+)\s*(.*)", buf)
        instructions.append((start, m.group(1).upper(), m.group(2).strip()) if m else (start, "", buf))
        buf = ""
    if buf:
        err(f"{rel(path)}: ends inside a line continuation")
    return instructions


KNOWN_INSTRUCTIONS = {"FROM", "RUN", "COPY", "ADD", "WORKDIR", "ENV", "ARG", "EXPOSE", "ENTRYPOINT", "CMD", "USER",
                      "LABEL", "VOLUME", "STOPSIGNAL", "HEALTHCHECK", "SHELL", "ONBUILD"}


def check_containerfile():
    where = rel(CONTAINERFILE)
    if not os.path.exists(CONTAINERFILE):
        err(f"{where}: missing")
        return []
    stages, runtime_packages = [], set()
    for line, instr, args in parse_containerfile(CONTAINERFILE):
        at = f"{where}:{line}"
        if instr not in KNOWN_INSTRUCTIONS:
            err(f"{at}: unknown instruction {instr!r}")
            continue
        if instr != "ARG" and instr != "FROM" and not stages:
            err(f"{at}: {instr} before the first FROM")
            continue
        if instr == "FROM":
            m = re.fullmatch(r"(--platform=\S+\s+)?(\S+)(\s+AS\s+(\S+))?", args, re.I)
            if not m:
                err(f"{at}: cannot parse FROM {args!r}")
                continue
            stages.append({"image": m.group(2), "name": m.group(4), "line": line, "copies": [], "runs": [],
                           "instr": []})
            continue
        stage = stages[-1]
        stage["instr"].append(instr)
        if instr in ("COPY", "ADD"):
            words = shlex.split(args)
            opts = [w for w in words if w.startswith("--")]
            paths = [w for w in words if not w.startswith("--")]
            if args.lstrip().startswith("["):
                paths = json.loads(args)
            if len(paths) < 2:
                err(f"{at}: {instr} needs a source and a destination")
                continue
            frm = next((o.split("=", 1)[1] for o in opts if o.startswith("--from=")), None)
            if instr == "ADD" and any(re.match(r"https?://|git@", p) for p in paths[:-1]):
                err(f"{at}: ADD of a URL: download in a RUN step with checksums instead")
            if frm is not None:
                earlier = {s["name"] for s in stages[:-1] if s["name"]} | {str(i) for i in range(len(stages) - 1)}
                if frm not in earlier:
                    err(f"{at}: COPY --from={frm} does not name an earlier stage")
            else:
                for src in paths[:-1]:
                    matches = glob.glob(os.path.join(ROOT, src))
                    if not matches:
                        err(f"{at}: COPY source {src!r} does not exist in the build context")
        if instr == "RUN":
            stage["runs"].append(args)
        if instr in ("ENTRYPOINT",):
            try:
                v = json.loads(args)
                if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                    raise ValueError
            except ValueError:
                err(f"{at}: ENTRYPOINT must be in exec (JSON array) form so signals reach the agent")
        if instr == "EXPOSE":
            stage["expose"] = args.split()
    if len(stages) < 2:
        err(f"{where}: expected a build stage and a runtime stage, found {len(stages)} FROM")
        return []
    if not re.fullmatch(r"(docker\.io/(library/)?)?swift:6\.3([.-]\S*)?", stages[0]["image"]):
        err(f"{where}:{stages[0]['line']}: the build stage should use a Swift 6.3 image, not {stages[0]['image']}")
    last = stages[-1]
    if not re.fullmatch(r"(docker\.io/(library/)?)?debian:(12|bookworm)[-.]?\S*slim\S*", last["image"]):
        err(f"{where}:{last['line']}: the runtime stage should be debian:12-slim, not {last['image']}")
    for run in last["runs"]:
        for m in re.finditer(r"apt-get\s+install\s+([^&|;]*)", run):
            runtime_packages |= {w for w in m.group(1).split() if not w.startswith("-")}
    if "libbpf1" not in runtime_packages:
        err(f"{where}: the runtime stage does not install libbpf1")
    if "9965" not in " ".join(last.get("expose", [])):
        err(f"{where}: the runtime stage does not EXPOSE 9965")
    if "ENTRYPOINT" not in last["instr"]:
        err(f"{where}: the runtime stage has no ENTRYPOINT")
    if not any("swift build" in r and "spyglass" in r for s in stages[:-1] for r in s["runs"]):
        err(f"{where}: no build stage runs `swift build` for the spyglass product")
    return runtime_packages


# ---------------------------------------------------------------------------------------------------------------
# Against a built binary

def check_binary(binary, ds_args, unit_words, runtime_packages):
    r = subprocess.run([binary, "run", "--help"], capture_output=True, text=True, timeout=30)
    known = set(re.findall(r"(--[a-z0-9][a-z0-9-]*)", r.stdout + r.stderr))
    if r.returncode != 0 or not known:
        err(f"{binary} run --help failed: {r.stderr.strip()[:200]}")
        return
    for source, words in (("deploy/kubernetes/daemonset.yaml args", ds_args), ("deploy/systemd ExecStart", unit_words)):
        for w in words or []:
            if not w.startswith("--"):
                continue
            flag = w.split("=", 1)[0]
            if flag in known:
                continue
            if flag in PENDING_FLAGS:
                notes.append(f"{source}: {flag} is not accepted by this build yet (pending on another branch)")
            else:
                err(f"{source}: {flag} is not a `spyglass run` flag")
    readelf = shutil.which("readelf") or shutil.which("objdump")
    dpkg = shutil.which("dpkg")
    if not readelf or not dpkg:
        notes.append("readelf/dpkg missing: shared libraries not checked")
        return
    out = subprocess.run([readelf, "-d", binary] if readelf.endswith("readelf") else [readelf, "-p", binary],
                         capture_output=True, text=True, timeout=30).stdout
    needed = re.findall(r"(?:Shared library: \[|NEEDED\s+)([^\]\s]+)", out)
    runtime = set(runtime_packages) | SLIM_BASE_PACKAGES
    for lib in needed:
        if SWIFT_RUNTIME.match(lib):
            continue
        r = subprocess.run(["sh", "-c", f"dpkg -S '*/{lib}' 2>/dev/null | head -1"], capture_output=True, text=True)
        pkg = r.stdout.split(":", 1)[0].strip()
        if not pkg:
            err(f"{binary}: needs {lib}, which no installed Debian package provides")
        elif pkg not in runtime:
            err(f"Containerfile: the binary needs {lib} from {pkg}, which the runtime stage does not install")


def main(argv):
    binary = None
    if "--binary" in argv:
        binary = argv[argv.index("--binary") + 1]
    objects = load_objects()
    ds_args = []
    if objects:
        validate_schemas(objects)
        check_references(objects)
        ds = next((d for _, _, d in objects if d["kind"] == "DaemonSet"), {})
        cs = ds.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or [{}]
        ds_args = cs[0].get("args") or []
    unit_words = check_systemd(binary)
    runtime_packages = check_containerfile()
    if binary:
        check_binary(binary, ds_args, unit_words, runtime_packages)
    for n in notes:
        print(f"note: {n}")
    if errors:
        print("\n".join(errors))
        print(f"check-deploy: {len(errors)} problem(s)")
        return 1
    print(f"check-deploy: {len(objects)} Kubernetes objects, systemd unit, Containerfile: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
