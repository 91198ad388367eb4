"""NATS identities in compose and Kubernetes: the one permission table, passwords never committed.

`mediaplane.bus.permissions` is the table; the local stack renders its
nats-server config from it, and deploy/nats/auth.conf (compose, and the copy
kustomize reads) must be exactly that rendering.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from mediaplane.analytics.worker.consumers import FILES_DURABLE, ROLLUP_DURABLE
from mediaplane.bus.permissions import (
    ADMIN,
    DEAD_LETTERS,
    SERVICES,
    identity,
    password_variable,
    render_auth_config,
)
from mediaplane.catalog.config import IngestSettings
from mediaplane.devstack import platform
from mediaplane.devstack.servers import binary
from mediaplane.janitor.config import PROJECTION_DURABLE
from mediaplane.thumbnailer.worker.accounts import DURABLE as THUMBNAILER_ACCOUNTS_DURABLE
from mediaplane.thumbnailer.worker.consumer import DURABLE as THUMBNAILER_DURABLE
from mediaplane.thumbnailer.worker.metadata import METADATA_DURABLE
from mediaplane.thumbnailer.worker.sources import DURABLE as VARIANT_SOURCES_DURABLE
from mediaplane.transcoder.worker.consumer import CHUNKS_DURABLE, TRANSCODER_DURABLE
from mediaplane.upload_gateway.worker.accounts import ACCOUNTS_DURABLE
from mediaplane.upload_gateway.worker.verifier import VERIFIER_DURABLE

ROOT = Path(__file__).resolve().parents[2]
AUTH_CONF = ROOT / "deploy" / "nats" / "auth.conf"
BASE = ROOT / "deploy" / "k8s" / "base"
K8S_FILES = {
    "gateway": "upload-gateway.yaml",
    "catalog": "catalog.yaml",
    "transcoder": "transcoder.yaml",
    "thumbnailer": "thumbnailer.yaml",
    "janitor": "janitor.yaml",
    "identity": "identity.yaml",
    "analytics": "analytics.yaml",
}
# The admin dead-letter API (the gateway's api role) holds a second login, and no one else.
DEAD_LETTER_ROLE = "gateway-api"
REQUIRED = re.compile(r"^\$\{(MEDIAPLANE_[A-Z]+_NATS_PASSWORD):\?[^}]+\}$")


def test_every_service_of_the_platform_has_an_identity() -> None:
    assert [s.name for s in platform.SERVICES] == [s.name for s in SERVICES]
    assert set(K8S_FILES) == {s.name for s in SERVICES}


def test_the_table_names_the_durables_the_services_run() -> None:
    assert {s.name: s.durables for s in SERVICES} == {
        "gateway": (VERIFIER_DURABLE, ACCOUNTS_DURABLE),
        "catalog": (IngestSettings().durable,),
        "transcoder": (TRANSCODER_DURABLE, CHUNKS_DURABLE),
        "thumbnailer": (
            THUMBNAILER_DURABLE,
            VARIANT_SOURCES_DURABLE,
            METADATA_DURABLE,
            THUMBNAILER_ACCOUNTS_DURABLE,
        ),
        "janitor": (PROJECTION_DURABLE,),
        "identity": (),  # publishes its outbox, consumes nothing
        "analytics": (FILES_DURABLE,),  # and ROLLUP_DURABLE on its own stream
    }
    assert identity("analytics").side_durables == (ROLLUP_DURABLE,)
    assert identity("janitor").reads_by_sequence  # its progress reads the stream by sequence
    assert identity("catalog").replays  # `python -m mediaplane.catalog replay`


def test_the_committed_config_is_the_permission_tables_rendering() -> None:
    rendered = render_auth_config()
    assert AUTH_CONF.read_text() == rendered, "run: python -m mediaplane.bus auth-config"
    # kustomize reads files under its own folder only, hence the copy.
    assert (BASE / "nats" / "auth.conf").read_text() == rendered


def test_the_config_names_passwords_by_variable_and_nats_server_accepts_it(
    tmp_path: Path,
) -> None:
    text = AUTH_CONF.read_text()
    assert "password: $" in text
    assert not re.search(r"password:\s*[^$\s]", text), "a literal password is committed"
    names = (ADMIN, DEAD_LETTERS, *(s.name for s in SERVICES))
    env = {password_variable(n): f"p{n}" for n in names}
    check = subprocess.run(
        [binary("nats-server"), "-c", str(AUTH_CONF), "-t"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    missing = subprocess.run(
        [binary("nats-server"), "-c", str(AUTH_CONF), "-t"],
        env={k: v for k, v in os.environ.items() if not k.endswith("_NATS_PASSWORD")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode != 0  # no password, no server


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def test_compose_nats_runs_with_the_config_and_every_password_is_required(
    compose: dict[str, Any],
) -> None:
    names = (ADMIN, DEAD_LETTERS, *(s.name for s in SERVICES))
    for node in ("nats-1", "nats-2", "nats-3"):
        nats = compose["services"][node]
        assert "exec nats-server -c /etc/nats/auth.conf " in nats["command"][0]
        assert "./deploy/nats/auth.conf:/etc/nats/auth.conf:ro" in nats["volumes"]
        passwords = {k: v for k, v in nats["environment"].items() if k.endswith("_PASSWORD")}
        assert set(passwords) == {password_variable(n) for n in names} | {
            "MEDIAPLANE_ROUTE_NATS_PASSWORD"
        }
        for variable, value in passwords.items():
            match = REQUIRED.match(value)  # required: no default
            assert match is not None, value
            assert match.group(1) == variable


def test_every_compose_service_gets_its_own_nats_password_and_no_other(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    checked = 0
    for name, service in services.items():
        image = str(service.get("image", ""))
        if not image.startswith("mediaplane/") or name == "s3-init":  # S3 admin's, no bus
            continue
        owner = "gateway" if "upload-gateway" in image else image.split("/")[1].split(":")[0]
        passwords = {k: v for k, v in service["environment"].items() if "NATS_PASSWORD" in k}
        expected = [password_variable(owner)]
        if name == DEAD_LETTER_ROLE:
            expected.append(password_variable(DEAD_LETTERS))
        assert sorted(passwords) == sorted(expected), name
        for variable in expected:
            assert REQUIRED.match(passwords[variable]), name
        assert not any("NATS_USER" in k for k in service["environment"]), name
        checked += 1
    assert checked >= sum(len(s.roles) for s in platform.SERVICES)


def _containers(path: Path) -> list[tuple[str, str, dict[str, Any]]]:
    """(deployment, main or init, container) of every Deployment in the file."""
    found = []
    for doc in yaml.safe_load_all(path.read_text()):
        if doc and doc["kind"] == "Deployment":
            name, pod = doc["metadata"]["name"], doc["spec"]["template"]["spec"]
            found += [(name, "main", c) for c in pod["containers"]]
            found += [(name, "init", c) for c in pod.get("initContainers", [])]
    return found


@pytest.mark.parametrize(("service", "file"), K8S_FILES.items())
def test_every_k8s_container_of_a_service_has_its_own_password_from_the_secret(
    service: str, file: str
) -> None:
    for deployment, kind, container in _containers(BASE / file):
        nats = {e["name"]: e for e in container.get("env", []) if "NATS" in e["name"]}
        if kind == "init":  # migrate talks to Postgres only
            assert nats == {}
            continue
        logins = [service] + ([DEAD_LETTERS] if deployment == DEAD_LETTER_ROLE else [])
        assert sorted(nats) == sorted(password_variable(n) for n in logins), container["name"]
        for login in logins:
            ref = nats[password_variable(login)]
            assert "value" not in ref
            assert ref["valueFrom"]["secretKeyRef"] == {
                "name": "mediaplane-secrets",
                "key": f"{login}-nats-password",
            }


def test_no_nats_password_is_committed_anywhere() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert "passwords.json" not in {Path(f).name for f in tracked}
    literal = re.compile(r"NATS_PASSWORD[\"']?\s*[:=]\s*[\"']?(?![$]|\s|$)[^\s\"'$]{6,}")
    for name in tracked:
        path = ROOT / name
        if path.suffix in {".yaml", ".yml", ".conf", ".env", ".json"} and path.is_file():
            assert not literal.search(path.read_text(errors="replace")), name
