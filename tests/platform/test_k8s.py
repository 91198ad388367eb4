"""deploy/k8s: the kustomize base is complete and every workload is probed and sized."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mediaplane.devstack.platform import HTTP_PORTS, OPS_PORTS, SERVICES

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "deploy" / "k8s" / "base"


@pytest.fixture(scope="module")
def kustomization() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    return loaded


@pytest.fixture(scope="module")
def documents(kustomization: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        doc
        for resource in kustomization["resources"]
        for doc in yaml.safe_load_all((BASE / resource).read_text())
        if doc
    ]


def of_kind(documents: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in documents if d["kind"] == kind}


def test_every_resource_and_generated_file_exists(kustomization: dict[str, Any]) -> None:
    for resource in kustomization["resources"]:
        assert (BASE / resource).is_file(), resource
    for generator in kustomization["configMapGenerator"]:
        for file in generator["files"]:
            assert (BASE / file).is_file(), file
    listed = set(kustomization["resources"])
    on_disk = {p.name for p in BASE.glob("*.yaml")} - {"kustomization.yaml"}
    assert on_disk == listed, "a manifest is not listed in kustomization.yaml"


def test_the_edge_config_is_the_one_just_up_uses() -> None:
    # kustomize reads files under its own folder only, hence the copy.
    copy = (BASE / "edge" / "Caddyfile").read_text()
    assert copy == (ROOT / "deploy" / "edge" / "Caddyfile").read_text()


def test_one_deployment_and_service_per_role(documents: list[dict[str, Any]]) -> None:
    deployments = of_kind(documents, "Deployment")
    services = of_kind(documents, "Service")
    for service in SERVICES:
        for role in service.roles:
            name = f"{service.name}-{role}"
            container = deployments[name]["spec"]["template"]["spec"]["containers"][0]
            assert container["args"] == [role]
            port = container["ports"][0]["containerPort"]
            expected = (
                HTTP_PORTS[service.name]
                if role == "api"
                else OPS_PORTS[service.name] + (role == "relay")
            )
            assert port == expected
            assert services[name]["spec"]["ports"][0]["port"] == port
    assert "edge" in deployments
    assert "edge" in services


def test_every_container_is_probed_and_has_resources(documents: list[dict[str, Any]]) -> None:
    for name, deployment in of_kind(documents, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        for container in pod["containers"]:
            ports = {p["name"] for p in container["ports"]}
            for probe in ("livenessProbe", "readinessProbe"):
                check = container[probe]["httpGet"]
                assert check["port"] in ports, (name, probe)
            if name != "edge":
                assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
                assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        for container in pod["containers"] + pod.get("initContainers", []):
            resources = container["resources"]
            assert set(resources["requests"]) == {"cpu", "memory"}, name
            assert set(resources["limits"]) == {"cpu", "memory"}, name
        if name != "edge":
            assert pod["initContainers"][0]["args"] == ["migrate"]


def test_services_select_pods_and_config_references_resolve(
    documents: list[dict[str, Any]], kustomization: dict[str, Any]
) -> None:
    deployments = of_kind(documents, "Deployment")
    config_maps = set(of_kind(documents, "ConfigMap")) | {
        g["name"] for g in kustomization["configMapGenerator"]
    }
    for name, service in of_kind(documents, "Service").items():
        selector = service["spec"]["selector"]
        pod_labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= pod_labels.items(), name
        assert deployments[name]["spec"]["selector"]["matchLabels"] == selector
    readme = (ROOT / "deploy" / "k8s" / "README.md").read_text()
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        for volume in pod.get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in config_maps, name
        for container in pod["containers"] + pod.get("initContainers", []):
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] in config_maps, name
            for variable in container.get("env", []):
                ref = variable.get("valueFrom", {})
                if "secretKeyRef" in ref:
                    # The Secret is the operator's; its keys are documented.
                    assert f"{ref['secretKeyRef']['key']}=" in readme, ref
                if "configMapKeyRef" in ref:
                    assert ref["configMapKeyRef"]["name"] in config_maps, name


# Network policies, evaluated the way Kubernetes does: a pod selected by any
# policy of a type is isolated for it; the union of those policies' rules is
# what it may do. DATA: the stores every service talks to (pod name, port).
DATA = {("postgres", 5432), ("nats", 4222), ("seaweedfs", 8333)}
DNS = {("kube-dns", 53)}
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
        assert egress_targets(egress) == DATA | DNS, name
        ingress = rules_for(documents, labels, "ingress")
        assert ingress is not None, name
        assert all(rule["from"] == [SCRAPER] for rule in ingress), name


def test_apis_take_client_traffic_only_from_the_edge(documents: list[dict[str, Any]]) -> None:
    apis = {
        name: labels
        for name, labels in pod_labels(documents).items()
        if labels["app.kubernetes.io/component"] == "api"
    }
    assert set(apis) == {"gateway-api", "catalog-api"}
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
                ("api", 8081), ("api", 8082), ("seaweedfs", 8333), ("kube-dns", 53)
            }  # fmt: skip
        else:
            assert open_to_all == [], name


def test_policies_name_ports_the_pods_have(documents: list[dict[str, Any]]) -> None:
    deployments = of_kind(documents, "Deployment")
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
