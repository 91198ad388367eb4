"""The deployable roles as real processes: migrate, sweep (--dry-run), worker and relay."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import nats
import pytest

from mediaplane.bus import Bus
from mediaplane.bus.testing import eventually
from mediaplane.devstack.pytest_plugin import free_ports, wait_until_ok
from mediaplane.devstack.settings import StackSettings
from mediaplane.janitor.app.bootstrap import Resources
from mediaplane.janitor.config import JanitorSettings
from mediaplane.storage import ObjectStore

pytestmark = pytest.mark.integration


@pytest.fixture
def env(stack: StackSettings, settings: JanitorSettings) -> dict[str, str]:
    return {
        **os.environ,
        "MEDIAPLANE_JANITOR_DATABASE_URL": settings.database_url,
        "MEDIAPLANE_NATS_URL": settings.bus.url,
        "MEDIAPLANE_STREAM": settings.bus.stream,
        "MEDIAPLANE_SUBJECT_ROOT": settings.bus.subject_root,
        "MEDIAPLANE_DLQ_STREAM": settings.bus.dlq_stream,
        "MEDIAPLANE_DLQ_SUBJECT_ROOT": settings.bus.dlq_subject_root,
        "MEDIAPLANE_S3_ENDPOINT": stack.s3_endpoint,
        "MEDIAPLANE_JANITOR_S3_ACCESS_KEY": stack.s3_admin.access_key,
        "MEDIAPLANE_JANITOR_S3_SECRET_KEY": stack.s3_admin.secret_key,
        "MEDIAPLANE_S3_REGION": stack.s3_region,
        "MEDIAPLANE_ORIGINALS_BUCKET": settings.originals_bucket,
        "MEDIAPLANE_RENDITIONS_BUCKET": settings.renditions_bucket,
        "MEDIAPLANE_THUMBNAILS_BUCKET": settings.thumbnails_bucket,
        "MEDIAPLANE_JANITOR_OPS_PORT": str(free_ports(2)),
        # The purge must follow file.deleted at once, not after this interval.
        "MEDIAPLANE_JANITOR_PURGE_INTERVAL": "3600",
    }


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mediaplane.janitor", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def _ready(url: str) -> httpx.Response:
    return await wait_until_ok(url)


def test_migrate_is_idempotent(env: dict[str, str]) -> None:
    # The `settings` fixture migrated already: a second run applies nothing.
    again = _run(env, "migrate")
    assert again.returncode == 0, again.stderr
    assert "applied 0 migrations" in again.stdout


async def test_sweep_dry_run_prints_json_lines_and_a_real_sweep_acts(
    env: dict[str, str],
    settings: JanitorSettings,
    objects: ObjectStore,
    projection: Bus,
    projected: Any,
    events: Any,
    janitor_events: Any,
) -> None:
    file_id = uuid.uuid4()
    await objects.put_bytes(settings.originals_bucket, f"alice/{file_id}", b"x" * 42)
    await projection.publish(events.uploaded(file_id, f"alice/{file_id}"))
    await projection.publish(events.deleted(file_id))
    await projected(2)

    dry = _run(env, "sweep", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    planned = [json.loads(line) for line in dry.stdout.splitlines()]
    assert planned == [
        {
            "kind": "purge_file",
            "subject": str(file_id),
            "dry_run": True,
            "objects": [
                {"bucket": settings.originals_bucket, "key": f"alice/{file_id}", "size": 42}
            ],
            "upload": None,
            "bytes_freed": 42,
        }
    ]
    assert janitor_events() == []

    real = _run(env, "sweep")
    assert real.returncode == 0, real.stderr
    assert [json.loads(line)["dry_run"] for line in real.stdout.splitlines()] == [False]
    assert await objects.list_objects(settings.originals_bucket) == []
    assert [kind for _, kind, _ in janitor_events()] == ["janitor.file.purged.v1"]


async def test_worker_purges_on_file_deleted_and_relay_publishes_the_event(
    env: dict[str, str],
    settings: JanitorSettings,
    objects: ObjectStore,
    make_janitor: Any,
    events: Any,
    janitor_events: Any,
) -> None:
    file_id = uuid.uuid4()
    await objects.put_bytes(settings.originals_bucket, f"alice/{file_id}", b"x" * 9)
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "mediaplane.janitor",
            role,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        for role in ("worker", "relay")
    ]
    try:
        port = int(env["MEDIAPLANE_JANITOR_OPS_PORT"])
        worker = await _ready(f"http://127.0.0.1:{port}/health/ready")
        relay = await _ready(f"http://127.0.0.1:{port + 1}/health/ready")
        assert worker.json()["checks"] == {"postgres": "up", "nats": "up", "s3": "up"}
        assert relay.json()["ready"] is True

        async with make_janitor() as janitor, publisher(janitor) as bus:
            await bus.publish(events.uploaded(file_id, f"alice/{file_id}"))
            await bus.publish(events.deleted(file_id))
        await eventually(lambda: len(janitor_events()) == 1, within=30)
        assert await objects.list_objects(settings.originals_bucket) == []

        subject = f"{settings.bus.subject_root}.janitor.file.purged.v1"
        nc = await nats.connect(settings.bus.url)
        try:
            js = nc.jetstream()
            await eventually(lambda: _has_message(js, settings.bus.stream, subject), within=30)
        finally:
            await nc.close()
        async with httpx.AsyncClient() as client:
            metrics = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
        assert "janitor_files_purged_total 1.0" in metrics
        assert 'janitor_bytes_freed_total{action="purge"} 9.0' in metrics
    finally:
        for proc in processes:
            proc.send_signal(signal.SIGTERM)
        for proc in processes:
            output, _ = await asyncio.wait_for(proc.communicate(), 30)
            assert proc.returncode == 0, output.decode()[-3000:]


def publisher(janitor: Resources) -> AbstractAsyncContextManager[Bus]:
    return Bus(janitor.settings.bus, janitor.registry, producer="test").running()


async def _has_message(js: Any, stream: str, subject: str) -> bool:
    try:
        await js.get_msg(stream, subject=subject)
    except nats.js.errors.NotFoundError:
        return False
    return True
