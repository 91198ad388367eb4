"""deploy/k8s/autoscaling: KEDA scales the transcoder and thumbnailer on their queue depth."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from mediaplane.bus import BusSettings
from mediaplane.thumbnailer.worker.consumer import DURABLE as THUMBNAILER_DURABLE
from mediaplane.transcoder.worker.consumer import CHUNKS_DURABLE, TRANSCODER_DURABLE

ROOT = Path(__file__).resolve().parents[2]
OVERLAY = ROOT / "deploy" / "k8s" / "autoscaling"
# Each worker's durables: the transcoder also takes the chunks of long videos from its queue.
WORKERS = {
    "transcoder-worker": (TRANSCODER_DURABLE, CHUNKS_DURABLE),
    "thumbnailer-worker": (THUMBNAILER_DURABLE,),
}


def load(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


@pytest.fixture(scope="module")
def documents() -> list[dict[str, Any]]:
    """The overlay's own resources and the base's, as kustomize lists them."""
    kustomization = yaml.safe_load((OVERLAY / "kustomization.yaml").read_text())
    assert kustomization["resources"][0] == "../base"
    base = OVERLAY.parent / "base"
    base_resources = yaml.safe_load((base / "kustomization.yaml").read_text())["resources"]
    return [
        *(doc for name in base_resources for doc in load(base / name)),
        *(doc for name in kustomization["resources"][1:] for doc in load(OVERLAY / name)),
    ]


def of_kind(documents: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in documents if d["kind"] == kind}


def test_each_worker_scales_on_its_own_durable_consumers_lag(
    documents: list[dict[str, Any]],
) -> None:
    scaled = of_kind(documents, "ScaledObject")
    deployments = of_kind(documents, "Deployment")
    nats = of_kind(documents, "Service")["nats-cluster"]
    assert nats["spec"]["clusterIP"] == "None"  # KEDA asks the leader by its pod name
    monitor = {p["name"]: p["port"] for p in nats["spec"]["ports"]}["monitor"]
    assert set(scaled) == set(WORKERS)
    for name, durables in WORKERS.items():
        spec = scaled[name]["spec"]
        assert spec["scaleTargetRef"]["name"] in deployments
        assert 1 <= spec["minReplicaCount"] < spec["maxReplicaCount"]
        triggers = spec["triggers"]
        assert [t["metadata"]["consumer"] for t in triggers] == list(durables)
        for trigger in triggers:
            assert trigger["type"] == "nats-jetstream"
            meta = trigger["metadata"]
            assert meta["stream"] == BusSettings().stream
            assert meta["account"] == "$G"  # auth.conf defines users, no accounts
            assert meta["natsServerMonitoringEndpoint"] == (
                f"nats-cluster.mediaplane.svc.cluster.local:{monitor}"
            )
            assert int(meta["lagThreshold"]) >= 1
            assert all(isinstance(value, str) for value in meta.values())  # KEDA wants strings


def test_keda_may_read_the_nats_monitoring_port_and_nothing_else(
    documents: list[dict[str, Any]],
) -> None:
    policy = of_kind(documents, "NetworkPolicy")["mediaplane-nats-keda"]["spec"]
    assert policy["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "nats"}
    (rule,) = policy["ingress"]
    (source,) = rule["from"]
    assert source["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "keda"}
    assert rule["ports"] == [{"protocol": "TCP", "port": "monitor"}]
    nats = of_kind(documents, "StatefulSet")["nats"]
    ports = {p["name"] for p in nats["spec"]["template"]["spec"]["containers"][0]["ports"]}
    assert "monitor" in ports


def test_the_overlay_builds_with_kustomize() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        message = (
            "kubectl is not installed (apt-get install kubectl): its kustomize builds the overlay"
        )
        if os.environ.get("MEDIAPLANE_KUBECTL_REQUIRED") == "1":
            pytest.fail(message)  # CI installs it: a missing one there is a broken setup
        pytest.skip(message)
    built = subprocess.run(
        [kubectl, "kustomize", str(OVERLAY)], capture_output=True, text=True, check=False
    )
    assert built.returncode == 0, built.stderr
    kinds = {(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(built.stdout) if d}
    assert {("ScaledObject", name) for name in WORKERS} <= kinds
    assert ("Deployment", "transcoder-worker") in kinds
    for doc in yaml.safe_load_all(built.stdout):
        if doc and doc["kind"] == "ScaledObject":
            assert doc["metadata"]["namespace"] == "mediaplane"
