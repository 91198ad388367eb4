"""The Grafana dashboard shows the key metrics, and every metric it names exists."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "observability" / "grafana" / "dashboards" / "mediaplane.json"
SOURCES = [ROOT / "libs", ROOT / "services"]
# Metrics that are not ours: the NATS exporter's.
FOREIGN = re.compile(r"^jetstream_")


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def expressions(dashboard: dict[str, Any]) -> dict[str, list[str]]:
    return {
        panel["title"]: [target["expr"] for target in panel["targets"]]
        for panel in dashboard["panels"]
        if panel["type"] != "row"
    }


def test_the_key_metrics_have_panels(dashboard: dict[str, Any]) -> None:
    panels = expressions(dashboard)
    text = json.dumps(panels)
    assert any("/complete" in e for e in panels["Upload rate"])
    assert "eventlog_outbox_lag_seconds" in " ".join(panels["Event lag"])
    assert "_job_seconds_bucket" in " ".join(panels["Job duration p50 / p95"])
    assert "failures_total" in " ".join(panels["Failures"])
    assert 'stream_name=\\"DLQ\\"' in json.dumps(panels["DLQ depth"])
    assert "jetstream_consumer_num_pending" in text


def test_every_metric_it_names_is_exported_somewhere(dashboard: dict[str, Any]) -> None:
    code = "\n".join(
        path.read_text()
        for folder in SOURCES
        for path in folder.rglob("*.py")
        if ".venv" not in path.parts and "tests" not in path.parts
    )
    names = {
        name
        for exprs in expressions(dashboard).values()
        for expr in exprs
        # A metric is followed by its labels, a range or a closing parenthesis;
        # `by (...)` lists labels, not metrics.
        for name in re.findall(r"\b([a-z_]+)(?:\{|\[|\))", re.sub(r"by \([^)]*\)", "", expr))
    }
    assert names
    for name in names:
        if FOREIGN.match(name):
            continue
        # Counters are declared without `_total`, histograms without `_bucket`.
        declared = re.sub(r"_(total|bucket)$", "", name)
        assert f'"{declared}"' in code or f'"{name}"' in code, f"{name} is exported nowhere"


def test_panels_have_unique_ids_and_use_the_provisioned_datasource(
    dashboard: dict[str, Any],
) -> None:
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "prometheus"
    provisioned = (
        ROOT / "deploy/observability/grafana/provisioning/datasources/prometheus.yml"
    ).read_text()
    assert "uid: prometheus" in provisioned
