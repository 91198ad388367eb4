"""The deployable roles as real processes: migrate, then worker and relay with health and
metrics, thumbnailing a file end to end and stopping cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import jwt
import pytest

from mediaplane.bus import Bus
from mediaplane.bus.testing import RecordingHandler, eventually
from mediaplane.contracts import MetadataExtracted, ThumbnailGenerated, build_registry
from mediaplane.devstack.pytest_plugin import free_ports
from mediaplane.devstack.settings import StackSettings
from mediaplane.eventlog.database import open_pool
from mediaplane.eventlog.migrator import EVENTLOG_MIGRATIONS
from mediaplane.servicekit.rate_limit import RATE_LIMIT_MIGRATIONS
from mediaplane.thumbnailer import testing
from mediaplane.thumbnailer.adapters import variant_store
from mediaplane.thumbnailer.app.bootstrap import THUMBNAILER_MIGRATIONS, apply_migrations
from mediaplane.thumbnailer.config import ThumbnailerSettings

pytestmark = pytest.mark.integration
JWT_SECRET = "test-secret-that-is-long-enough-for-hs256"

Verified = Callable[..., Any]


@pytest.fixture
def settings_for_processes(
    make_settings: Callable[..., ThumbnailerSettings],
) -> ThumbnailerSettings:
    # One block: the worker on P, the relay on P + 1, the api on P + 2.
    base = free_ports(3)
    return make_settings(ops_port=base, http_port=base + 2)


@pytest.fixture
def env(stack: StackSettings, settings_for_processes: ThumbnailerSettings) -> dict[str, str]:
    s = settings_for_processes
    return {
        **os.environ,
        "MEDIAPLANE_THUMBNAILER_DATABASE_URL": s.database_url,
        "MEDIAPLANE_NATS_URL": s.bus.url,
        "MEDIAPLANE_STREAM": s.bus.stream,
        "MEDIAPLANE_SUBJECT_ROOT": s.bus.subject_root,
        "MEDIAPLANE_DLQ_STREAM": s.bus.dlq_stream,
        "MEDIAPLANE_DLQ_SUBJECT_ROOT": s.bus.dlq_subject_root,
        "MEDIAPLANE_S3_ENDPOINT": stack.s3_endpoint,
        "MEDIAPLANE_THUMBNAILER_S3_ACCESS_KEY": stack.s3_admin.access_key,
        "MEDIAPLANE_THUMBNAILER_S3_SECRET_KEY": stack.s3_admin.secret_key,
        "MEDIAPLANE_S3_REGION": stack.s3_region,
        "MEDIAPLANE_THUMBNAILS_BUCKET": s.bucket,
        "MEDIAPLANE_ORIGINALS_BUCKET": s.originals_bucket,
        "MEDIAPLANE_THUMBNAILER_OPS_PORT": str(s.ops_port),
        "MEDIAPLANE_THUMBNAILER_CONCURRENCY": "2",
        # The test's own bucket (removed after it) also holds its variants.
        "MEDIAPLANE_VARIANTS_BUCKET": s.bucket,
        "MEDIAPLANE_THUMBNAILER_PORT": str(s.http_port),
        "MEDIAPLANE_JWT_SECRET": JWT_SECRET,
    }


def _migrate(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mediaplane.thumbnailer", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@asynccontextmanager
async def _role(
    name: str, env: dict[str, str], *, stopped: tuple[int, ...] = (0,)
) -> AsyncIterator[asyncio.subprocess.Process]:
    """The role running; on exit SIGTERM, and it must stop by itself with a `stopped` status
    (uvicorn shuts down cleanly, then re-raises the signal: -15 for the api role)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mediaplane.thumbnailer",
        name,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), 40)
    assert process.returncode in stopped, output.decode(errors="replace")[-3000:]


async def _ready(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    async def answers() -> bool:
        try:
            return (await client.get(url)).status_code == 200
        except httpx.TransportError:
            return False

    await eventually(answers, within=40)
    body: dict[str, Any] = (await client.get(url)).json()
    return body


def test_migrate_is_idempotent(env: dict[str, str]) -> None:
    first, second = _migrate(env), _migrate(env)
    assert first.returncode == 0, first.stderr
    shipped = sum(
        len(source.migrations())
        for source in (EVENTLOG_MIGRATIONS, RATE_LIMIT_MIGRATIONS, THUMBNAILER_MIGRATIONS)
    )
    assert f"applied {shipped} migrations" in first.stdout
    assert "0001_thumbnail_jobs.sql" in first.stdout
    assert second.returncode == 0, second.stderr
    assert "applied 0 migrations" in second.stdout


async def test_worker_and_relay_processes_thumbnail_a_file(
    env: dict[str, str], settings_for_processes: ThumbnailerSettings, verified: Verified
) -> None:
    settings = settings_for_processes
    await apply_migrations(settings)  # the migrate role has its own test
    worker_ops = f"http://127.0.0.1:{settings.ops_port}"
    relay_ops = f"http://127.0.0.1:{settings.ops_port + 1}"
    bus = Bus(settings.bus, build_registry(settings.bus.subject_root), producer="upload-gateway")
    outcomes = RecordingHandler()
    bus.consumer("test-thumbnail-outcomes", events=[ThumbnailGenerated, MetadataExtracted])(
        outcomes
    )
    event = await verified(testing.encode(testing.photo(640, 480), "PNG"), "image/png", "image")

    async with (
        _role("worker", env),
        _role("relay", env),
        httpx.AsyncClient(timeout=10) as client,
        bus.running(),
    ):
        worker = await _ready(client, f"{worker_ops}/health/ready")
        assert worker["checks"] == {"postgres": "up", "nats": "up", "s3": "up", "ffmpeg": "up"}
        relay = await _ready(client, f"{relay_ops}/health/ready")
        assert relay["checks"] == {"postgres": "up", "nats": "up", "s3": "up"}
        assert (await client.get(f"{worker_ops}/health/live")).json() == {"status": "live"}

        await bus.publish(event)
        # Both consumers of the worker role: thumbnails and metadata.
        await eventually(lambda: len(outcomes.events) == 2, within=60)
        by_type = {type(e): e for e in outcomes.events}
        generated, extracted = by_type[ThumbnailGenerated], by_type[MetadataExtracted]
        assert isinstance(generated, ThumbnailGenerated)
        assert generated.file_id == event.file_id
        assert isinstance(extracted, MetadataExtracted)
        assert extracted.image is not None
        assert (extracted.image.width, extracted.image.height) == (640, 480)

        worker_metrics = (await client.get(f"{worker_ops}/metrics")).text
        assert (
            'mediaplane_thumbnailer_jobs_total{kind="image",outcome="generated"} 1.0'
            in worker_metrics
        )
        assert 'mediaplane_thumbnailer_job_seconds_count{kind="image"} 1.0' in worker_metrics

        async def relay_published_both() -> bool:
            # The relay counts after JetStream's ack, which may follow our delivery.
            metrics = (await client.get(f"{relay_ops}/metrics")).text
            return "eventlog_relay_published_total 2.0" in metrics

        await eventually(relay_published_both, within=30)


async def test_the_api_role_serves_variants_and_refuses_to_start_without_token_settings(
    env: dict[str, str], settings_for_processes: ThumbnailerSettings, verified: Verified
) -> None:
    settings = settings_for_processes
    await apply_migrations(settings)
    event = await verified(testing.encode(testing.photo(640, 480), "PNG"), "image/png", "image")
    async with await open_pool(settings.database_url, min_size=1, max_size=1) as pool:
        await variant_store.project(pool, [event])
    base = f"http://127.0.0.1:{settings.http_port}"
    token = jwt.encode({"sub": "alice", "exp": int(time.time()) + 60}, JWT_SECRET, "HS256")
    async with (
        _role("api", env, stopped=(0, -signal.SIGTERM)),
        httpx.AsyncClient(timeout=30) as client,
    ):
        ready = await _ready(client, f"{base}/health/ready")
        assert ready["checks"] == {"postgres": "up", "nats": "up", "s3": "up", "ffmpeg": "up"}
        answer = await client.get(
            f"{base}/v1/files/{event.file_id}/variants/small",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 302, answer.text
        assert answer.headers["variant-spec"] == "fit-320x320-q80.webp"

    without = {k: v for k, v in env.items() if k != "MEDIAPLANE_JWT_SECRET"}
    refused = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mediaplane.thumbnailer",
        "api",
        env=without,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(refused.communicate(), 60)
    assert refused.returncode == 2
    assert b"refusing to start" in stderr
    assert b"MEDIAPLANE_JWT_SECRET" in stderr
