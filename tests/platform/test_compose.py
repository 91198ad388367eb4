"""compose.yaml, read as Docker Compose would (no Docker engine runs here).

Every service role of the local platform is a container built from its
service's Dockerfile; dependencies, ports, health checks and volumes are
consistent; the edge and Prometheus point at services that exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mediaplane.devstack.platform import HTTP_PORTS, OPS_PORTS, SERVICES

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILES = {
    "gateway": "services/upload-gateway/Dockerfile",
    "catalog": "services/catalog/Dockerfile",
    "transcoder": "services/transcoder/Dockerfile",
    "thumbnailer": "services/thumbnailer/Dockerfile",
    "janitor": "services/janitor/Dockerfile",
    "identity": "services/identity/Dockerfile",
    "analytics": "services/analytics/Dockerfile",
}
NATS_NODES = ("nats-1", "nats-2", "nats-3")
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def role_services() -> list[tuple[str, str]]:
    return [(s.name, role) for s in SERVICES for role in s.roles]


@pytest.mark.parametrize(("service", "role"), role_services())
def test_every_role_runs_from_its_services_dockerfile(
    compose: dict[str, Any], service: str, role: str
) -> None:
    container = compose["services"][f"{service}-{role}"]
    build = container["build"]
    assert (ROOT / build["context"]).resolve() == ROOT
    assert build["dockerfile"] == DOCKERFILES[service]
    assert (ROOT / build["dockerfile"]).is_file()
    assert container["command"] == [role]
    env = container["environment"]
    assert env[f"MEDIAPLANE_{service.upper()}_DATABASE_URL"].endswith(f"/{service}")
    # Every node of the NATS cluster, and streams kept on all three.
    assert env["MEDIAPLANE_NATS_URL"].split(",") == [f"nats://{n}:4222" for n in NATS_NODES]
    assert env["MEDIAPLANE_STREAM_REPLICAS"] == str(len(NATS_NODES))
    # Started only after its own migrations ran, and with its dependencies healthy.
    depends = container["depends_on"]
    assert depends[f"{service}-migrate"]["condition"] == "service_completed_successfully"
    for node in NATS_NODES:
        assert depends[node]["condition"] == "service_healthy"


@pytest.mark.parametrize(("service", "role"), role_services())
def test_every_role_is_health_checked_on_its_own_port(
    compose: dict[str, Any], service: str, role: str
) -> None:
    container = compose["services"][f"{service}-{role}"]
    url = container["healthcheck"]["test"][-1]
    port = int(url.rsplit(":", 1)[1].split("/", 1)[0])
    assert url.endswith("/health/ready")
    assert container["expose"] == [str(port)]
    # The services' default ports, as `just up` uses them (relays: ops port + 1).
    if role == "api":
        assert port == HTTP_PORTS[service]
    else:
        assert port == OPS_PORTS[service] + (role == "relay")


def test_migrations_and_databases_come_first(compose: dict[str, Any]) -> None:
    services = compose["services"]
    init = services["db-init"]
    script = init["command"][-1]
    for service in DOCKERFILES:
        assert service in script
        migrate = services[f"{service}-migrate"]
        assert migrate["command"] == ["migrate"]
        assert migrate["restart"] == "no"
        assert migrate["depends_on"]["db-init"]["condition"] == "service_completed_successfully"
    assert init["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_dependencies_resolve_and_long_running_services_are_checked(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    for name, container in services.items():
        for dependency, spec in container.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            assert spec["condition"] in CONDITIONS
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck"
        one_shot = container.get("restart") == "no"
        observability = "observability" in container.get("profiles", [])
        if not one_shot and not observability:
            assert "healthcheck" in container, f"{name} has no healthcheck"


def test_ports_volumes_and_mounted_files(compose: dict[str, Any]) -> None:
    published: list[str] = []
    for name, container in compose["services"].items():
        for mapping in container.get("ports", []):
            host, guest = mapping.rsplit(":", 2)[-2:]
            assert int(host) > 0, name
            assert int(guest) > 0, name
            published.append(host)
        for volume in container.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                # The web UI's build may not exist yet: the edge then says so.
                if source != "./services/web-ui/dist":
                    assert (ROOT / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in compose["volumes"], f"{name} uses undeclared volume {source}"
    assert len(published) == len(set(published)), "a host port is published twice"
    assert "8080" in published  # the edge: the one public base URL


def test_the_edge_routes_to_services_that_exist(compose: dict[str, Any]) -> None:
    services = compose["services"]
    edge = services["edge"]
    assert edge["volumes"][0].startswith("./deploy/edge/Caddyfile:")
    env = edge["environment"]
    upstreams = ("GATEWAY", "CATALOG", "IDENTITY")
    for variable in (f"MEDIAPLANE_{name}_UPSTREAM" for name in upstreams):
        host, port = env[variable].split(":")
        assert services[host]["expose"] == [port]
    assert env["MEDIAPLANE_S3_UPSTREAM"] == "seaweedfs:8333"
    # Presigned URLs are signed for the edge's public address.
    shared = services["gateway-api"]["environment"]
    assert shared["MEDIAPLANE_S3_PUBLIC_ENDPOINT"].endswith(":8080}")


def test_prometheus_scrapes_every_role(compose: dict[str, Any]) -> None:
    config = yaml.safe_load((ROOT / "deploy/observability/prometheus.yml").read_text())
    targets = {
        target
        for job in config["scrape_configs"]
        for group in job["static_configs"]
        for target in group["targets"]
    }
    services = compose["services"]
    for target in targets:
        host, port = target.split(":")
        assert port in services[host]["expose"], target
    scraped = {t.split(":")[0] for t in targets}
    assert {f"{service}-{role}" for service, role in role_services()} <= scraped


# `${NAME:?why}`: Compose refuses to start without NAME and says why.
REQUIRED = re.compile(r"\$\{(MEDIAPLANE_[A-Z0-9_]+):\?[^}]+\}")
SECRET_NAME = re.compile(r"SECRET|PASSWORD|ACCESS_KEY|TOKEN|CREDENTIAL", re.IGNORECASE)


def environments(compose: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    for name, container in compose["services"].items():
        for variable, value in (container.get("environment") or {}).items():
            yield name, variable, str(value)


def test_dev_mode_is_off_and_tokens_come_from_an_identity_provider(
    compose: dict[str, Any],
) -> None:
    for name, variable, value in environments(compose):
        # Neither the dev token route nor its HS256 secret: nothing to mint tokens with.
        assert variable not in ("MEDIAPLANE_DEV_MODE", "MEDIAPLANE_JWT_SECRET"), (name, value)
    shared = compose["services"]["gateway-api"]["environment"]
    for variable in ("MEDIAPLANE_JWKS_URL", "MEDIAPLANE_JWT_ISSUER", "MEDIAPLANE_JWT_AUDIENCE"):
        required = REQUIRED.fullmatch(shared[variable])
        assert required is not None, variable
        assert required.group(1) == variable


def test_no_secret_is_committed(compose: dict[str, Any]) -> None:
    for name, variable, value in environments(compose):
        if SECRET_NAME.search(variable):
            assert REQUIRED.fullmatch(value), f"{name}: {variable} has a committed value"
        if variable.endswith("DATABASE_URL"):
            password = value.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
            assert REQUIRED.fullmatch(password), f"{name}: {variable} has a committed password"
    text = (ROOT / "compose.yaml").read_text()
    for leaked in ("dev-secret", "change-me", "mediaplane@postgres"):
        assert leaked not in text
    # `just compose-env` writes the values to .env, which git ignores.
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_only_the_edge_is_published_beyond_this_host(compose: dict[str, Any]) -> None:
    public = []
    for name, container in compose["services"].items():
        for mapping in container.get("ports", []):
            if not mapping.startswith("127.0.0.1:"):
                public.append((name, mapping))
    assert public == [("edge", "8080:8080")]


def test_grafana_has_no_anonymous_access_and_no_committed_admin_password(
    compose: dict[str, Any],
) -> None:
    grafana = compose["services"]["grafana"]["environment"]
    assert grafana.get("GF_AUTH_ANONYMOUS_ENABLED", "false") == "false"
    assert "GF_AUTH_ANONYMOUS_ORG_ROLE" not in grafana
    assert REQUIRED.fullmatch(grafana["GF_SECURITY_ADMIN_PASSWORD"])


def test_nats_is_a_three_node_cluster_whose_routes_log_in(compose: dict[str, Any]) -> None:
    services = compose["services"]
    volumes = set(compose["volumes"])
    host_ports = set()
    for node in NATS_NODES:
        nats = services[node]
        env = nats["environment"]
        assert env["NATS_NODE"] == node
        assert set(env["NATS_PEERS"].split()) == set(NATS_NODES) - {node}
        assert env["MEDIAPLANE_ROUTE_NATS_PASSWORD"].startswith(
            "${MEDIAPLANE_ROUTE_NATS_PASSWORD:?"
        )
        script = nats["command"][0]
        # The route listener and every route carry the login; the shell expands it.
        assert '--cluster "nats://route:$$MEDIAPLANE_ROUTE_NATS_PASSWORD@0.0.0.0:6222"' in script
        assert "nats://route:$$MEDIAPLANE_ROUTE_NATS_PASSWORD@$$peer:6222" in script
        assert '-n "$$NATS_NODE"' in script
        assert "-c /etc/nats/auth.conf -js -sd /data" in script
        assert f"{node}:/data" in nats["volumes"]
        assert node in volumes
        assert "js-enabled-only=true" in nats["healthcheck"]["test"][-1]
        host_ports |= {p.split(":")[1] for p in nats["ports"]}
        assert all(p.startswith("127.0.0.1:") for p in nats["ports"])
    assert host_ports == {"24222", "24223", "24224", "28222", "28223", "28224"}
    assert "nats" not in services
