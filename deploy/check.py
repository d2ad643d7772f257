#!/usr/bin/env python3
"""votebox's own checks on its Kubernetes files, after the JSON-schema validation.

Run by deploy/validate.sh (with the venv's Python, which has PyYAML):

    check.py [--dockerfile Dockerfile] --plain FILE... [--helm-defaults FILE] [--helm-all FILE]

The schemas say each object is well formed; this says the objects fit together and fit votebox:
  * every Deployment: 2+ replicas, a rolling update that keeps them all ready, readiness on
    /healthz/ready and liveness on /healthz/live at the port the Dockerfile exposes, a memory
    limit that holds VOTEBOX_KDF_CONCURRENCY KDFs (150 MiB + n × 640 MiB, see
    deploy/kubernetes/deployment.yaml), a grace period longer than votebox's own, `votebox
    migrate` before serving; the ConfigMap and Secret it reads exist and hold Elekto's keys;
  * the Service, PodDisruptionBudget and Ingress select and name what exists;
  * the Helm chart rendered with its defaults gives the same objects as deploy/kubernetes/
    (Helm's own labels and annotations aside), and rendered with everything on, the same Ingress
    and migration Job as the examples.
Exit status 1 with one line per problem.
"""

import argparse
import copy
import re
import sys

import yaml

KDF_BASE_MIB = 150
KDF_EACH_MIB = 640
CONFIG_KEYS = [
    "APP_URL", "APP_PORT", "DB_CONNECTION", "DB_HOST", "DB_PORT", "DB_DATABASE",
    "META_REPO", "ELECTION_DIR",
]
SECRET_KEYS = [
    "APP_KEY", "DB_USERNAME", "DB_PASSWORD", "META_SECRET", "GITHUB_CLIENT_ID",
    "GITHUB_CLIENT_SECRET",
]
HELM_LABELS = {"app.kubernetes.io/version", "app.kubernetes.io/managed-by", "helm.sh/chart"}

problems = []


def problem(where, text):
    line = f"{where}: {text}"
    if line not in problems:
        problems.append(line)


def load(paths):
    objects = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for doc in yaml.safe_load_all(f):
                if doc:
                    doc["__file__"] = path
                    objects.append(doc)
    return objects


def name_of(obj):
    return f"{obj['__file__']}: {obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


def mib(quantity):
    """A Kubernetes memory quantity in MiB."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?", str(quantity))
    if not m:
        raise ValueError(f"memory quantity {quantity!r}")
    units = {None: 1, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
             "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
    return float(m.group(1)) * units[m.group(2)] / 2**20


def dockerfile_port(path):
    text = open(path, encoding="utf-8").read()
    expose = re.search(r"^EXPOSE\s+(\d+)", text, re.M)
    app_port = re.search(r"APP_PORT=(\d+)", text)
    if not expose or not app_port or expose.group(1) != app_port.group(1):
        problem(path, "no EXPOSE equal to the image's APP_PORT")
        return None
    return int(expose.group(1))


def selected(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def env_value(container, name):
    for e in container.get("env") or []:
        if e.get("name") == name:
            return e.get("value")
    return None


def check_set(objects, port, label):
    by_kind = {}
    for o in objects:
        by_kind.setdefault(o["kind"], []).append(o)
    configmaps = {o["metadata"]["name"]: o for o in by_kind.get("ConfigMap", [])}
    secrets = {o["metadata"]["name"]: o for o in by_kind.get("Secret", [])}
    deployments = by_kind.get("Deployment", [])
    if not deployments:
        problem(label, "no Deployment")
    services = {o["metadata"]["name"]: o for o in by_kind.get("Service", [])}
    for kind in ("Service", "PodDisruptionBudget", "ConfigMap", "Secret"):
        if kind not in by_kind:
            problem(label, f"no {kind}")

    for d in deployments:
        where = name_of(d)
        spec = d["spec"]
        pod = spec["template"]["spec"]
        labels = spec["template"]["metadata"].get("labels", {})
        if spec.get("replicas", 1) < 2:
            problem(where, f"replicas {spec.get('replicas', 1)}: votebox runs 2 or more")
        strategy = spec.get("strategy", {})
        if strategy.get("type") != "RollingUpdate":
            problem(where, "strategy must be RollingUpdate")
        elif strategy.get("rollingUpdate", {}).get("maxUnavailable") not in (0, "0", "0%"):
            problem(where, "rollingUpdate.maxUnavailable must be 0")
        if not selected(spec["selector"].get("matchLabels"), labels):
            problem(where, "selector does not match the pod template's labels")
        containers = {c["name"]: c for c in pod["containers"]}
        c = containers.get("votebox")
        if c is None:
            problem(where, "no container named votebox")
            continue
        ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
        if ports.get("http") != port:
            problem(where, f"container port http is {ports.get('http')}, the image listens on {port}")
        for probe, path in (("readinessProbe", "/healthz/ready"), ("livenessProbe", "/healthz/live"),
                            ("startupProbe", "/healthz/live")):
            get = (c.get(probe) or {}).get("httpGet")
            if not get:
                problem(where, f"no {probe} httpGet")
                continue
            if get.get("path") != path:
                problem(where, f"{probe} path {get.get('path')!r}, want {path!r}")
            if get.get("port") not in ("http", port):
                problem(where, f"{probe} port {get.get('port')!r} is not the http port")
        if c.get("args") not in (["entrypoint"], None):
            problem(where, f"votebox container args {c.get('args')}, want [entrypoint]")
        # Memory sized with the KDF concurrency.
        conc = env_value(c, "VOTEBOX_KDF_CONCURRENCY")
        limits = (c.get("resources") or {}).get("limits") or {}
        requests = (c.get("resources") or {}).get("requests") or {}
        try:
            n = int(conc)
            if n < 1:
                raise ValueError
        except (TypeError, ValueError):
            problem(where, f"VOTEBOX_KDF_CONCURRENCY must be set to a positive integer, is {conc!r}")
            n = None
        if "memory" not in limits:
            problem(where, "no memory limit")
        elif n is not None:
            need = KDF_BASE_MIB + n * KDF_EACH_MIB
            have = mib(limits["memory"])
            if have < need:
                problem(where, f"memory limit {limits['memory']} ({have:.0f} MiB) cannot hold "
                        f"{n} KDFs: {KDF_BASE_MIB} + {n} x {KDF_EACH_MIB} = {need} MiB")
            if requests.get("memory") != limits["memory"]:
                problem(where, "memory request must equal the limit")
        grace = int(env_value(c, "VOTEBOX_SHUTDOWN_GRACE_SECONDS") or 30)
        pre = ((c.get("lifecycle") or {}).get("preStop") or {}).get("exec", {}).get("command", [])
        pause = int(pre[1]) if len(pre) == 2 and pre[0] == "sleep" else 0
        if pod.get("terminationGracePeriodSeconds", 30) <= grace + pause:
            problem(where, f"terminationGracePeriodSeconds must exceed {grace} + {pause} s")
        inits = pod.get("initContainers") or []
        if not any(i.get("args") == ["migrate"] for i in inits):
            problem(where, "no init container running `votebox migrate`")
        for cont in [c] + inits:
            for ref in cont.get("envFrom", []):
                if "configMapRef" in ref:
                    cm = configmaps.get(ref["configMapRef"]["name"])
                    if cm is None:
                        problem(where, f"ConfigMap {ref['configMapRef']['name']} not defined")
                        continue
                    missing = [k for k in CONFIG_KEYS if k not in cm.get("data", {})]
                    if missing:
                        problem(name_of(cm), f"lacks {', '.join(missing)}")
                    if str(cm.get("data", {}).get("APP_PORT")) != str(port):
                        problem(name_of(cm), f"APP_PORT must be {port}")
                    if str(cm.get("data", {}).get("APP_URL", "")).startswith("http://"):
                        problem(name_of(cm), "APP_URL must be the public https:// origin")
                if "secretRef" in ref:
                    s = secrets.get(ref["secretRef"]["name"])
                    if s is None:
                        problem(where, f"Secret {ref['secretRef']['name']} not defined")
                        continue
                    keys = set(s.get("stringData", {})) | set(s.get("data", {}))
                    missing = [k for k in SECRET_KEYS if k not in keys]
                    if missing:
                        problem(name_of(s), f"lacks {', '.join(missing)}")

        for svc in services.values():
            if not selected(svc["spec"].get("selector"), labels):
                problem(name_of(svc), f"selector does not select {where}'s pods")
            for p in svc["spec"]["ports"]:
                if p.get("targetPort") not in ports and p.get("targetPort") not in ports.values():
                    problem(name_of(svc), f"targetPort {p.get('targetPort')!r} is no container port")
        for pdb in by_kind.get("PodDisruptionBudget", []):
            if not selected(pdb["spec"]["selector"].get("matchLabels"), labels):
                problem(name_of(pdb), f"selector does not select {where}'s pods")
            if int(pdb["spec"].get("minAvailable", 0)) >= spec.get("replicas", 1):
                problem(name_of(pdb), "minAvailable must be below replicas (or no node drains)")

    for ing in by_kind.get("Ingress", []):
        for rule in ing["spec"].get("rules", []):
            for p in rule["http"]["paths"]:
                svc = p["backend"]["service"]
                target = services.get(svc["name"])
                if target is None:
                    problem(name_of(ing), f"backend Service {svc['name']} not defined")
                elif svc["port"].get("name") not in [q.get("name") for q in target["spec"]["ports"]]:
                    problem(name_of(ing), f"backend port {svc['port']} not on Service {svc['name']}")
    for job in by_kind.get("Job", []):
        cs = job["spec"]["template"]["spec"]["containers"]
        if [c.get("args") for c in cs] != [["migrate"]]:
            problem(name_of(job), "the Job must run `votebox migrate` only")
        jl = job["spec"]["template"]["metadata"].get("labels", {})
        for svc in services.values():
            if selected(svc["spec"].get("selector"), jl):
                problem(name_of(job), f"its pod would join Service {svc['metadata']['name']}")
    return by_kind


def strip(obj):
    """An object without what Helm adds (its labels, annotations, checksums) or we add."""
    o = copy.deepcopy(obj)
    o.pop("__file__", None)

    def walk(x):
        if isinstance(x, dict):
            if "labels" in x and isinstance(x["labels"], dict):
                x["labels"] = {k: v for k, v in x["labels"].items() if k not in HELM_LABELS}
            x.pop("annotations", None)
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(o)
    if o.get("kind") == "Secret":
        # Values differ (placeholders against CI's); the keys must not.
        o["stringData"] = sorted((o.get("stringData") or {}).keys())
    return o


def diff(a, b, path, out):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a:
                out.append(f"{path}.{k}: only in the chart")
            elif k not in b:
                out.append(f"{path}.{k}: only in deploy/kubernetes")
            else:
                diff(a[k], b[k], f"{path}.{k}", out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, f"{path}[{i}]", out)
    elif a != b:
        out.append(f"{path}: {a!r} in deploy/kubernetes, {b!r} in the chart")


def compare(plain, chart, kinds, label):
    for kind in kinds:
        ps = {o["metadata"]["name"]: o for o in plain.get(kind, [])}
        cs = {o["metadata"]["name"]: o for o in chart.get(kind, [])}
        if set(ps) != set(cs):
            problem(label, f"{kind} names differ: {sorted(ps)} in deploy/kubernetes, {sorted(cs)} in the chart")
        for name in sorted(set(ps) & set(cs)):
            out = []
            a, b = strip(ps[name]), strip(cs[name])
            if kind == "Ingress":
                a, b = a["spec"], b["spec"]
            diff(a, b, f"{kind}/{name}", out)
            for line in out:
                problem(label, f"not the same defaults: {line}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dockerfile", default="Dockerfile")
    ap.add_argument("--plain", nargs="+", required=True)
    ap.add_argument("--helm-defaults")
    ap.add_argument("--helm-all")
    args = ap.parse_args()
    port = dockerfile_port(args.dockerfile)
    plain = check_set(load(args.plain), port, "deploy/kubernetes")
    if args.helm_defaults:
        chart = check_set(load([args.helm_defaults]), port, "chart (defaults)")
        compare(plain, chart, ["Deployment", "Service", "PodDisruptionBudget", "ConfigMap", "Secret"],
                "chart (defaults)")
        if chart.get("Ingress") or chart.get("Job"):
            problem("chart (defaults)", "the Ingress and the hook Job must be off by default")
    if args.helm_all:
        chart_all = check_set(load([args.helm_all]), port, "chart (all on)")
        compare(plain, chart_all, ["Ingress", "Job"], "chart (all on)")
    for p in problems:
        print(f"check: {p}", file=sys.stderr)
    if problems:
        print(f"check: FAILED: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print("check: deployments, services, budgets, ingresses, jobs, config keys and the chart's defaults agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
