#!/usr/bin/env python3
"""Checks the Spyglass alert rules with Prometheus's own tool: `promtool check rules` on the rule groups of the
PrometheusRule (deploy/kubernetes/components/prometheus-operator/prometheusrule.yaml) and `promtool test rules`
with deploy/prometheus/alerts.test.yaml. Needs python3-yaml and promtool (scripts/install-deps.sh --test).
Exit status 0 when both pass; promtool's output otherwise."""
import os
import shutil
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RULE = os.path.join(ROOT, "deploy/kubernetes/components/prometheus-operator/prometheusrule.yaml")
TESTS = os.path.join(ROOT, "deploy/prometheus/alerts.test.yaml")


def main() -> int:
    promtool = shutil.which("promtool")
    if promtool is None:
        print("check-alerts: promtool not found (install Debian's prometheus package: scripts/install-deps.sh --test)")
        return 2
    with open(RULE) as f:
        rule = yaml.safe_load(f)
    if rule.get("kind") != "PrometheusRule" or "groups" not in rule.get("spec", {}):
        print(f"check-alerts: {RULE} is not a PrometheusRule with spec.groups")
        return 1
    with tempfile.TemporaryDirectory(prefix="spyglass-alerts-") as tmp:
        rules = os.path.join(tmp, "spyglass.rules.yaml")
        with open(rules, "w") as f:
            yaml.safe_dump({"groups": rule["spec"]["groups"]}, f, sort_keys=False)
        shutil.copy(TESTS, os.path.join(tmp, "alerts.test.yaml"))
        for args in (["check", "rules", rules], ["test", "rules", "alerts.test.yaml"]):
            p = subprocess.run([promtool] + args, cwd=tmp, capture_output=True, text=True)
            print(f"$ promtool {' '.join(args)}\n{p.stdout}{p.stderr}", end="")
            if p.returncode != 0:
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
