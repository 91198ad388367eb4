"""S3 identities in compose and Kubernetes: the one grant table, keys never committed.

`mediaplane.storage.permissions` is the table; the local stack renders its
SeaweedFS config from it (libs/devstack/tests/test_s3_identities.py checks the
grants against the server), and deploy/seaweedfs/s3.json (compose) must be
exactly that rendering with placeholders for the keys.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from mediaplane.devstack import platform
from mediaplane.storage.permissions import (
    SERVICES,
    access_key_variable,
    config_template,
    secret_key_variable,
)

ROOT = Path(__file__).resolve().parents[2]
S3_JSON = ROOT / "deploy" / "seaweedfs" / "s3.json"
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
S3_USERS = {s.name for s in SERVICES}
REQUIRED = re.compile(r"^\$\{(MEDIAPLANE_[A-Z]*_?S3_(?:ACCESS|SECRET)_KEY):\?[^}]+\}$")


def keys_of(name: str | None) -> list[str]:
    return [access_key_variable(name), secret_key_variable(name)]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def test_every_identity_is_a_service_of_the_platform() -> None:
    assert {s.name for s in platform.SERVICES} >= S3_USERS


def test_the_committed_config_is_the_grant_tables_rendering() -> None:
    rendered = json.dumps(config_template(), indent=2) + "\n"
    assert S3_JSON.read_text() == rendered, "run: python -m mediaplane.storage s3-config"


def test_compose_seaweedfs_gets_every_key_its_config_names(compose: dict[str, Any]) -> None:
    seaweedfs = compose["services"]["seaweedfs"]
    assert "./deploy/seaweedfs/s3.json:/etc/seaweedfs/s3.json:ro" in seaweedfs["volumes"]
    assert "-s3.config=/tmp/s3.json" in seaweedfs["command"][0]
    named = set(re.findall(r"\$\{(\w+)\}", S3_JSON.read_text()))
    assert named == {v for name in (None, *S3_USERS) for v in keys_of(name)}
    for variable in named:
        match = REQUIRED.match(seaweedfs["environment"][variable])  # required: no default
        assert match is not None, variable
        assert match.group(1) == variable


def test_every_compose_service_gets_its_own_s3_keys_and_no_other(
    compose: dict[str, Any],
) -> None:
    assert not any("S3_ACCESS_KEY" in k or "S3_SECRET_KEY" in k for k in compose["x-env"])
    checked = 0
    for name, service in compose["services"].items():
        image = str(service.get("image", ""))
        if not image.startswith("mediaplane/"):
            continue
        owner = "gateway" if "upload-gateway" in image else image.split("/")[1].split(":")[0]
        keys = {k: v for k, v in service["environment"].items() if "_KEY" in k and "S3" in k}
        # The bucket job is the admin's; a service without storage has no keys at all.
        expected = keys_of(None) if name == "s3-init" else keys_of(owner) * (owner in S3_USERS)
        assert sorted(keys) == sorted(expected), name
        for variable in expected:
            assert REQUIRED.match(keys[variable]), name
        checked += 1
    assert checked >= sum(len(s.roles) for s in platform.SERVICES)


def test_the_buckets_come_first_from_the_admin(compose: dict[str, Any]) -> None:
    job = compose["services"]["s3-init"]
    assert job["entrypoint"] == ["python", "-m", "mediaplane.storage"]
    assert job["command"] == ["ensure-buckets", "originals", "renditions", "thumbnails", "variants"]
    assert compose["x-infra"]["s3-init"] == {"condition": "service_completed_successfully"}


def _containers(path: Path) -> list[dict[str, Any]]:
    found = []
    for doc in yaml.safe_load_all(path.read_text()):
        if doc and doc["kind"] == "Deployment":
            pod = doc["spec"]["template"]["spec"]
            found += pod["containers"] + pod.get("initContainers", [])
    return found


@pytest.mark.parametrize(("service", "file"), K8S_FILES.items())
def test_every_k8s_container_of_a_service_has_its_own_keys_from_the_secret(
    service: str, file: str
) -> None:
    for container in _containers(BASE / file):
        keys = {e["name"]: e for e in container.get("env", []) if "S3" in e["name"]}
        assert sorted(keys) == sorted(keys_of(service) * (service in S3_USERS)), file
        for variable, ref in keys.items():
            kind = "access" if "ACCESS" in variable else "secret"
            assert ref["valueFrom"]["secretKeyRef"] == {
                "name": "mediaplane-secrets",
                "key": f"{service}-s3-{kind}-key",
            }


def test_no_s3_key_is_committed_anywhere() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert "keys.json" not in {Path(f).name for f in tracked}
    literal = re.compile(r"S3_SECRET_KEY[\"']?\s*[:=]\s*[\"']?(?![$]|\s|$)[^\s\"'$]{6,}")
    for name in tracked:
        path = ROOT / name
        if path.suffix in {".yaml", ".yml", ".env", ".json"} and path.is_file():
            assert not literal.search(path.read_text(errors="replace")), name
