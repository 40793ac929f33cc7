#!/usr/bin/env python3
"""Checks that the Grafana dashboard and the alert rules only use metrics dialplane exports.

Usage: check_dashboard.py [--dashboard FILE] [--rules FILE] [--metrics-url URL | --metrics-file FILE]

Without --metrics-url the exported names are read from service/app/observability/metrics.cpp (`.Name("...")` of each
family; histograms also export _bucket, _sum and _count). With --metrics-url (a running dialplane's /metrics)
the names are the `# TYPE` families it serves. Every panel (rows aside) must have at least one query, every
query must name at least one metric, and every `dialplane_*` name must be exported. Exit 1 on a problem.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
METRIC = re.compile(r"\b(dialplane_[a-z0-9_]+)\b")
FAMILY = re.compile(r'Build(Counter|Gauge|Histogram|Summary)\(\)\s*\.Name\("([a-z0-9_]+)"\)')
TYPE_LINE = re.compile(r"^# TYPE (\S+) (\S+)", re.M)


def exported_from_source(path: Path) -> set[str]:
    names: set[str] = set()
    for kind, name in FAMILY.findall(path.read_text()):
        names.add(name)
        if kind in ("Histogram", "Summary"):
            names |= {name + "_sum", name + "_count"}
        if kind == "Histogram":
            names.add(name + "_bucket")
    return names


def exported_from_text(text: str) -> set[str]:
    names: set[str] = set()
    for name, kind in TYPE_LINE.findall(text):
        names.add(name)
        if kind in ("histogram", "summary"):
            names |= {name + "_sum", name + "_count"}
        if kind == "histogram":
            names.add(name + "_bucket")
    return names


def panels(dash: dict) -> list[dict]:
    out = []
    for p in dash.get("panels", []):
        if p.get("type") == "row":
            out.extend(p.get("panels", []))
        else:
            out.append(p)
    return out


def check(dashboard: Path, rules: Path | None, exported: set[str]) -> list[str]:
    problems: list[str] = []
    try:
        dash = json.loads(dashboard.read_text())
    except ValueError as e:
        return [f"{dashboard}: not valid JSON: {e}"]
    ps = panels(dash)
    if not ps:
        problems.append(f"{dashboard}: no panels")
    for p in ps:
        title = p.get("title", f"panel {p.get('id')}")
        exprs = [t.get("expr", "") for t in p.get("targets", [])]
        if not exprs or not all(e.strip() for e in exprs):
            problems.append(f"panel {title!r}: has no query")
            continue
        for e in exprs:
            names = METRIC.findall(e)
            if not names:
                problems.append(f"panel {title!r}: query names no dialplane metric: {e}")
            for n in names:
                if n not in exported:
                    problems.append(f"panel {title!r}: {n} is not exported by dialplane")
    if rules is not None:
        for n in sorted(set(METRIC.findall(rules.read_text()))):
            if n not in exported:
                problems.append(f"{rules.name}: {n} is not exported by dialplane")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dashboard", type=Path, default=ROOT / "deploy/grafana/dashboards/dialplane.json")
    ap.add_argument("--rules", type=Path, default=ROOT / "deploy/prometheus/alerts.yml")
    ap.add_argument("--metrics-url")
    ap.add_argument("--metrics-file", type=Path)
    a = ap.parse_args()
    if a.metrics_url:
        with urllib.request.urlopen(a.metrics_url, timeout=5) as r:
            exported = exported_from_text(r.read().decode())
        source = a.metrics_url
    elif a.metrics_file:
        exported = exported_from_text(a.metrics_file.read_text())
        source = str(a.metrics_file)
    else:
        exported = exported_from_source(ROOT / "service/app/observability/metrics.cpp")
        source = "service/app/observability/metrics.cpp"
    if not any(n.startswith("dialplane_") for n in exported):
        print(f"no dialplane metrics found in {source}", file=sys.stderr)
        return 1
    problems = check(a.dashboard, a.rules, exported)
    for p in problems:
        print(p, file=sys.stderr)
    n = len(panels(json.loads(a.dashboard.read_text()))) if not problems or a.dashboard.exists() else 0
    print(f"dashboard: {n} panels checked against {len([x for x in exported if x.startswith('dialplane_')])} "
          f"dialplane metric names from {source}: {'OK' if not problems else f'{len(problems)} problem(s)'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
