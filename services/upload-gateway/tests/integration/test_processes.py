"""The deployable roles run as real processes: migrate, api (over real HTTP), relay, verifier."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mediaplane.devstack.pytest_plugin import NatsNamespace, free_ports, wait_until_ok
from mediaplane.devstack.settings import StackSettings
from mediaplane.eventlog.migrator import EVENTLOG_MIGRATIONS
from mediaplane.servicekit.rate_limit import RATE_LIMIT_MIGRATIONS
from mediaplane.upload_gateway.app.bootstrap import GATEWAY_MIGRATIONS

pytestmark = pytest.mark.integration


@pytest.fixture
def env(
    stack: StackSettings, pg_url: str, s3_bucket: str, nats_namespace: NatsNamespace
) -> dict[str, str]:
    return {
        **os.environ,
        "MEDIAPLANE_GATEWAY_DATABASE_URL": pg_url,
        "MEDIAPLANE_NATS_URL": nats_namespace.url,
        "MEDIAPLANE_STREAM": f"{nats_namespace.stream_prefix}_MEDIA",
        "MEDIAPLANE_SUBJECT_ROOT": f"{nats_namespace.subject_prefix}.media",
        "MEDIAPLANE_DLQ_STREAM": f"{nats_namespace.stream_prefix}_DLQ",
        "MEDIAPLANE_DLQ_SUBJECT_ROOT": f"{nats_namespace.subject_prefix}.dlq",
        "MEDIAPLANE_S3_ENDPOINT": stack.s3_endpoint,
        "MEDIAPLANE_GATEWAY_S3_ACCESS_KEY": stack.s3_admin.access_key,
        "MEDIAPLANE_GATEWAY_S3_SECRET_KEY": stack.s3_admin.secret_key,
        "MEDIAPLANE_S3_REGION": stack.s3_region,
        "MEDIAPLANE_CLAMD_URL": stack.clamd_url,
        "MEDIAPLANE_JWT_SECRET": "test-secret-that-is-long-enough-for-hs256",
        "MEDIAPLANE_ORIGINALS_BUCKET": s3_bucket,
        "MEDIAPLANE_GATEWAY_PORT": str(free_ports()),
        "MEDIAPLANE_GATEWAY_OPS_PORT": str(free_ports(2)),
    }


def _run(role: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mediaplane.upload_gateway", role],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def api(env: dict[str, str]) -> Iterator[str]:
    assert _run("migrate", env).returncode == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "mediaplane.upload_gateway", "api"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield f"http://127.0.0.1:{env['MEDIAPLANE_GATEWAY_PORT']}"
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=15)


async def _ready(url: str) -> httpx.Response:
    return await wait_until_ok(url)


def test_migrate_is_idempotent(env: dict[str, str]) -> None:
    first, second = _run("migrate", env), _run("migrate", env)
    assert first.returncode == 0, first.stderr
    shipped = sum(
        len(source.migrations())
        for source in (EVENTLOG_MIGRATIONS, RATE_LIMIT_MIGRATIONS, GATEWAY_MIGRATIONS)
    )
    assert f"applied {shipped} migrations" in first.stdout
    assert second.returncode == 0
    assert "applied 0 migrations" in second.stdout


async def test_the_api_process_answers_over_http_with_openapi_and_json_logs(
    api: str, auth: Any
) -> None:
    ready = await _ready(f"{api}/health/ready")
    assert ready.json()["checks"] == {"postgres": "up", "nats": "up", "s3": "up"}
    async with httpx.AsyncClient(base_url=api) as client:
        opened = await client.post(
            "/v1/uploads",
            headers=auth(),
            json={"filename": "a.png", "size": 10, "content_type": "image/png"},
        )
        schema = await client.get("/schema/openapi.json")
        metrics = await client.get("/metrics")
    assert opened.status_code == 201, opened.text
    assert opened.headers["x-request-id"]
    assert "/v1/uploads/{session_id}/complete" in schema.json()["paths"]
    assert "mediaplane_http_requests_total" in metrics.text


def test_the_verifier_refuses_to_start_without_clamd(env: dict[str, str]) -> None:
    env = {k: v for k, v in env.items() if k != "MEDIAPLANE_CLAMD_URL"}
    refused = _run("verifier", env)
    assert refused.returncode == 2, refused.stderr
    assert "no upload is verified without a malware scan" in refused.stderr
    bad = _run("verifier", {**env, "MEDIAPLANE_CLAMD_URL": "clamav:3310"})
    assert bad.returncode == 2, bad.stderr
    assert "tcp://host:port" in bad.stderr


@pytest.mark.parametrize("role", ["verifier", "relay"])
async def test_worker_processes_serve_health_and_stop_on_sigterm(
    env: dict[str, str], role: str
) -> None:
    assert _run("migrate", env).returncode == 0
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mediaplane.upload_gateway",
        role,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        port = int(env["MEDIAPLANE_GATEWAY_OPS_PORT"]) + (1 if role == "relay" else 0)
        ready = await _ready(f"http://127.0.0.1:{port}/health/ready")
        assert ready.json()["ready"] is True
        if role == "verifier":  # the verifier is ready only while clamd answers
            assert ready.json()["checks"]["clamd"] == "up"
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, output


def test_the_api_refuses_to_start_in_dev_mode_on_a_public_bind(env: dict[str, str]) -> None:
    public = {**env, "MEDIAPLANE_DEV_MODE": "1", "MEDIAPLANE_GATEWAY_HOST": "0.0.0.0"}
    refused = _run("api", public)
    assert refused.returncode == 2
    assert "refusing dev mode on MEDIAPLANE_GATEWAY_HOST=0.0.0.0" in refused.stderr
    assert "Traceback" not in refused.stderr
