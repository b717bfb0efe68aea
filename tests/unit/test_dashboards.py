"""The dashboards and alert rules name only metrics the code exports; promtool checks and unit-tests the rules."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

import streams.plumbing.app  # noqa: F401  (registers Faust's own sensors in the worker registry)
from api.metrics import ReadModelCollector
from api.metrics import registry as api_registry
from streams.plumbing.metrics import registry as worker_registry

DASHBOARDS = Path(__file__).parents[2] / "dashboards"
SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created"), "gauge": ("",)}
METRIC = re.compile(r"\b(rapidaid_[a-z_]+|up)\b")


def exported_names() -> set[str]:
    """Every series name the API and the worker can expose."""
    read_model = ReadModelCollector()
    read_model.snapshot = {"counters": {}, "open_by_colour": {}, "open_by_tier": {}}
    scratch = CollectorRegistry()
    scratch.register(read_model)
    names = {"up"}
    for registry in (api_registry, worker_registry, scratch):
        for family in registry.collect():
            names |= {family.name + suffix for suffix in SUFFIXES[family.type]}
    return names


def queries() -> list[str]:
    found = []
    for path in DASHBOARDS.glob("*.json"):
        found += [target["expr"] for panel in json.loads(path.read_text())["panels"] for target in panel["targets"]]
    rules = (DASHBOARDS / "alerts.yml").read_text()
    found += re.findall(r"expr: (.+)", rules)
    return found


def test_every_query_names_only_exported_metrics():
    known = exported_names()
    assert len(queries()) >= 15
    for query in queries():
        unknown = set(METRIC.findall(query)) - known
        assert not unknown, f"{query!r} names {unknown}"


@pytest.mark.skipif(not shutil.which("promtool"), reason="promtool not installed (make test installs Debian's prometheus as root)")
def test_alert_rules_pass_promtool():
    for args in (["check", "rules", "alerts.yml"], ["test", "rules", "alerts.test.yml"]):
        done = subprocess.run(["promtool", *args], cwd=DASHBOARDS, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
