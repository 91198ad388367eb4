"""deploy/k8s: the kustomize base is complete and every workload is probed and sized."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from mediaplane.devstack.platform import HTTP_PORTS, OPS_PORTS, SERVICES
from mediaplane.devstack.servers import CLAMD_STREAM_MAX, clamd_config
from mediaplane.upload_gateway.config import GatewaySettings

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


def test_clamd_limits_are_the_ones_the_verifier_and_the_local_clamd_use() -> None:
    config = (ROOT / "deploy" / "clamav" / "clamd.conf").read_text()
    assert (BASE / "clamav" / "clamd.conf").read_text() == config
    options = dict(
        line.split(None, 1) for line in config.splitlines() if line and not line.startswith("#")
    )
    assert options["AlertExceedsMax"] == "yes"
    for limit in ("StreamMaxLength", "MaxFileSize", "MaxScanSize"):
        assert options[limit] == "1000M"
    # clamd's M is MiB: the verifier's default and the local stack's clamd agree.
    assert CLAMD_STREAM_MAX == 1000 * 1024 * 1024
    assert GatewaySettings.__dataclass_fields__["clamd_stream_max"].default == CLAMD_STREAM_MAX
    local = clamd_config(Path("/x"), 3310, CLAMD_STREAM_MAX)
    assert f"StreamMaxLength {CLAMD_STREAM_MAX}" in local
    assert "AlertExceedsMax yes" in local


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
        if name == "clamav":  # the official image: its own readiness script, no migrations
            (clamd,) = pod["containers"]
            assert clamd["readinessProbe"]["exec"]["command"] == ["clamdcheck.sh"]
            assert clamd["livenessProbe"]["tcpSocket"]["port"] == "clamd"
            assert set(clamd["resources"]["limits"]) == {"cpu", "memory"}
            continue
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
    stateful = of_kind(documents, "StatefulSet")
    workloads = {**deployments, **stateful}
    # A StatefulSet's headless Service is named by its serviceName.
    headless = {s["spec"]["serviceName"]: s for s in stateful.values()}
    config_maps = set(of_kind(documents, "ConfigMap")) | {
        g["name"] for g in kustomization["configMapGenerator"]
    }
    for name, service in of_kind(documents, "Service").items():
        selector = service["spec"]["selector"]
        workload = workloads.get(name) or headless[name]
        pod_labels = workload["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= pod_labels.items(), name
        assert workload["spec"]["selector"]["matchLabels"] == selector
    readme = (ROOT / "deploy" / "k8s" / "README.md").read_text()
    for name, deployment in workloads.items():
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


SECRET_NAME = re.compile(r"SECRET|PASSWORD|ACCESS_KEY|TOKEN|CREDENTIAL|DATABASE_URL", re.I)


def test_dev_mode_is_off_and_no_secret_value_is_in_the_manifests(
    documents: list[dict[str, Any]],
) -> None:
    config = of_kind(documents, "ConfigMap")["mediaplane-config"]["data"]
    for variable in config:
        assert not SECRET_NAME.search(variable), f"{variable} belongs in mediaplane-secrets"
    assert "MEDIAPLANE_DEV_MODE" not in config
    assert "MEDIAPLANE_JWT_SECRET" not in config
    # Tokens from the identity provider: JWKS mode needs all three.
    for variable in ("MEDIAPLANE_JWKS_URL", "MEDIAPLANE_JWT_ISSUER", "MEDIAPLANE_JWT_AUDIENCE"):
        assert config[variable], variable
    assert of_kind(documents, "Secret") == {}, "the Secret is the operator's, never committed"
    for name, deployment in of_kind(documents, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        for container in pod["containers"] + pod.get("initContainers", []):
            for variable in container.get("env", []):
                assert variable["name"] not in ("MEDIAPLANE_DEV_MODE", "MEDIAPLANE_JWT_SECRET")
                if SECRET_NAME.search(variable["name"]):
                    assert "secretKeyRef" in variable.get("valueFrom", {}), (name, variable)


def test_nats_is_a_three_node_statefulset_whose_routes_log_in(
    documents: list[dict[str, Any]],
) -> None:
    nats = of_kind(documents, "StatefulSet")["nats"]
    spec = nats["spec"]
    assert spec["replicas"] == 3
    headless = of_kind(documents, "Service")[spec["serviceName"]]["spec"]
    assert headless["clusterIP"] == "None"
    container = spec["template"]["spec"]["containers"][0]
    args = container["args"]
    flag = {a: args[i + 1] for i, a in enumerate(args[:-1]) if a.startswith("-")}
    assert flag["-c"] == "/etc/nats/auth.conf"
    assert flag["-n"] == "$(POD_NAME)"  # JetStream needs a unique name per node
    login = "nats://route:$(MEDIAPLANE_ROUTE_NATS_PASSWORD)@"
    assert flag["--cluster"] == f"{login}0.0.0.0:6222"
    assert flag["--routes"].split(",") == [
        f"{login}nats-{i}.{spec['serviceName']}:6222" for i in range(3)
    ]
    env = {e["name"]: e["valueFrom"] for e in container["env"]}
    assert env["MEDIAPLANE_ROUTE_NATS_PASSWORD"]["secretKeyRef"]["key"] == "route-nats-password"
    config = of_kind(documents, "ConfigMap")["mediaplane-config"]["data"]
    assert config["MEDIAPLANE_STREAM_REPLICAS"] == "3"
    assert config["MEDIAPLANE_NATS_URL"] == "nats://nats:4222"


def test_nats_has_every_password_its_auth_config_names(documents: list[dict[str, Any]]) -> None:
    # nats-server refuses to start when auth.conf names a variable its environment lacks.
    named = set(
        re.findall(r"\$(MEDIAPLANE_\w+_NATS_PASSWORD)", (BASE / "nats" / "auth.conf").read_text())
    )
    container = of_kind(documents, "StatefulSet")["nats"]["spec"]["template"]["spec"]["containers"][
        0
    ]
    env = {e["name"] for e in container["env"]}
    assert named, "auth.conf names no password: the pattern is stale"
    assert named <= env, f"missing from the nats StatefulSet: {sorted(named - env)}"
