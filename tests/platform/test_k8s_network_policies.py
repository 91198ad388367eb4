"""deploy/k8s: network policies deny by default; each role may reach only what it needs.

Evaluated the way Kubernetes does (no cluster needed): a pod selected by any
policy of a type is isolated for it, and the union of those policies' rules
is what it may do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

BASE = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "base"


@pytest.fixture(scope="module")
def documents() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    return [
        doc
        for resource in kustomization["resources"]
        for doc in yaml.safe_load_all((BASE / resource).read_text())
        if doc
    ]


def of_kind(documents: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in documents if d["kind"] == kind}


# The stores every service talks to (pod name, port), and DNS.
DATA = {("postgres", 5432), ("nats", 4222), ("seaweedfs", 8333)}
DNS = {("kube-dns", 53)}
CLAMD = {("clamav", 3310)}
SCRAPER = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
}


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values", [])
        matched = {
            "In": labels.get(key) in values,
            "NotIn": labels.get(key) not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[operator]
        if not matched:
            return False
    return True


def pod_labels(documents: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    return {
        name: d["spec"]["template"]["metadata"]["labels"]
        for name, d in of_kind(documents, "Deployment").items()
    }


def rules_for(
    documents: list[dict[str, Any]], labels: dict[str, str], kind: str
) -> list[dict[str, Any]] | None:
    """The rules of `kind` (ingress/egress) that apply to a pod; None if it is not isolated."""
    policy_type = kind.capitalize()
    selecting = [
        p["spec"]
        for p in of_kind(documents, "NetworkPolicy").values()
        if selects(p["spec"]["podSelector"], labels) and policy_type in p["spec"]["policyTypes"]
    ]
    if not selecting:
        return None
    return [rule for spec in selecting for rule in spec.get(kind, [])]


def egress_targets(rules: list[dict[str, Any]]) -> set[tuple[str, int]]:
    """(pod name or k8s-app, port) for every egress rule; refuses rules open to anything."""
    targets = set()
    for rule in rules:
        assert rule.get("to"), f"egress to anywhere: {rule}"
        for peer in rule["to"]:
            assert "ipBlock" not in peer, peer
            pod = peer["podSelector"]["matchLabels"]
            name = (
                pod.get("app.kubernetes.io/name")
                or pod.get("app.kubernetes.io/component")
                or pod.get("k8s-app")
            )
            for port in rule["ports"]:
                targets.add((name, port["port"]))
    return targets


def test_every_pod_is_denied_by_default(documents: list[dict[str, Any]]) -> None:
    deny = of_kind(documents, "NetworkPolicy")["mediaplane-default-deny"]["spec"]
    assert deny["podSelector"] == {}
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny
    assert "egress" not in deny


def test_workers_reach_only_the_data_stores_and_dns(documents: list[dict[str, Any]]) -> None:
    workers = {
        name: labels
        for name, labels in pod_labels(documents).items()
        if labels["app.kubernetes.io/component"] in ("worker", "verifier", "relay", "ingest")
    }
    assert {"transcoder-worker", "thumbnailer-worker", "janitor-worker"} <= set(workers)
    assert {"gateway-verifier", "gateway-relay", "catalog-ingest"} <= set(workers)
    for name, labels in workers.items():
        egress = rules_for(documents, labels, "egress")
        assert egress is not None, name
        # The verifier alone also reaches clamd: every upload is scanned.
        assert egress_targets(egress) == DATA | DNS | (
            CLAMD if name == "gateway-verifier" else set()
        ), name
        ingress = rules_for(documents, labels, "ingress")
        assert ingress is not None, name
        assert all(rule["from"] == [SCRAPER] for rule in ingress), name


def test_apis_take_client_traffic_only_from_the_edge(documents: list[dict[str, Any]]) -> None:
    apis = {
        name: labels
        for name, labels in pod_labels(documents).items()
        if labels["app.kubernetes.io/component"] == "api"
    }
    assert set(apis) == {
        "gateway-api",
        "catalog-api",
        "identity-api",
        "thumbnailer-api",
        "analytics-api",
    }
    edge = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "edge"}}}
    for name, labels in apis.items():
        ingress = rules_for(documents, labels, "ingress")
        assert ingress is not None, name
        sources = [peer for rule in ingress for peer in rule["from"]]
        assert edge in sources, name
        assert all(peer in (edge, SCRAPER) for peer in sources), name
        egress = rules_for(documents, labels, "egress")
        assert egress is not None, name
        # The stores, DNS, and HTTPS for the identity provider's JWKS.
        open_rules = [rule for rule in egress if not rule.get("to")]
        assert [rule["ports"] for rule in open_rules] == [[{"protocol": "TCP", "port": 443}]]
        closed = [rule for rule in egress if rule.get("to")]
        assert egress_targets(closed) == DATA | DNS, name


def test_clamd_answers_the_verifier_only_and_reaches_https_for_signatures(
    documents: list[dict[str, Any]],
) -> None:
    labels = pod_labels(documents)["clamav"]
    ingress = rules_for(documents, labels, "ingress")
    assert ingress is not None
    verifier = {
        "podSelector": {
            "matchLabels": {
                "app.kubernetes.io/name": "upload-gateway",
                "app.kubernetes.io/component": "verifier",
            }
        }
    }
    assert [peer for rule in ingress for peer in rule["from"]] == [verifier]
    egress = rules_for(documents, labels, "egress")
    assert egress is not None
    open_rules = [rule for rule in egress if not rule.get("to")]
    assert [rule["ports"] for rule in open_rules] == [[{"protocol": "TCP", "port": 443}]]
    assert egress_targets([rule for rule in egress if rule.get("to")]) == DNS


def test_only_the_edge_accepts_traffic_from_outside(documents: list[dict[str, Any]]) -> None:
    for name, labels in pod_labels(documents).items():
        ingress = rules_for(documents, labels, "ingress")
        assert ingress is not None, name
        open_to_all = [rule for rule in ingress if not rule.get("from")]
        if name == "edge":
            assert [rule["ports"] for rule in open_to_all] == [
                [{"protocol": "TCP", "port": "http"}]
            ]
            egress = rules_for(documents, labels, "egress")
            assert egress is not None
            assert egress_targets(egress) == {
                ("api", 8081), ("api", 8082), ("api", 8083), ("api", 8084),
                ("seaweedfs", 8333),
                ("kube-dns", 53),
            }  # fmt: skip
        else:
            assert open_to_all == [], name


def test_policies_name_ports_the_pods_have(documents: list[dict[str, Any]]) -> None:
    deployments = of_kind(documents, "Deployment") | of_kind(documents, "StatefulSet")
    for policy in of_kind(documents, "NetworkPolicy").values():
        for rule in policy["spec"].get("ingress", []):
            for port in rule.get("ports", []):
                if isinstance(port["port"], str):
                    selected = [
                        d for d in deployments.values()
                        if selects(policy["spec"]["podSelector"],
                                   d["spec"]["template"]["metadata"]["labels"])
                    ]  # fmt: skip
                    names = {
                        p["name"]
                        for d in selected
                        for c in d["spec"]["template"]["spec"]["containers"]
                        for p in c["ports"]
                    }
                    assert port["port"] in names, policy["metadata"]["name"]
