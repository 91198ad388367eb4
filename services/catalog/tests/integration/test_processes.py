"""The catalog's roles as processes: migrate, ingest (health, SIGTERM), operator commands."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys

import nats
import pytest

from mediaplane.bus import BusSettings, provision
from mediaplane.bus.testing import eventually
from mediaplane.catalog.app.bootstrap import CATALOG_MIGRATIONS
from mediaplane.catalog.testing import FileStory
from mediaplane.contracts import build_registry
from mediaplane.devstack.pytest_plugin import NatsNamespace, free_ports, wait_until_ok
from mediaplane.devstack.settings import StackSettings
from mediaplane.servicekit.rate_limit import RATE_LIMIT_MIGRATIONS

pytestmark = pytest.mark.integration


@pytest.fixture
def env(stack: StackSettings, pg_url: str, nats_namespace: NatsNamespace) -> dict[str, str]:
    return {
        **os.environ,
        "MEDIAPLANE_CATALOG_DATABASE_URL": pg_url,
        "MEDIAPLANE_NATS_URL": nats_namespace.url,
        "MEDIAPLANE_STREAM": f"{nats_namespace.stream_prefix}_MEDIA",
        "MEDIAPLANE_SUBJECT_ROOT": f"{nats_namespace.subject_prefix}.media",
        "MEDIAPLANE_DLQ_STREAM": f"{nats_namespace.stream_prefix}_DLQ",
        "MEDIAPLANE_DLQ_SUBJECT_ROOT": f"{nats_namespace.subject_prefix}.dlq",
        "MEDIAPLANE_S3_ENDPOINT": stack.s3_endpoint,
        "MEDIAPLANE_CATALOG_S3_ACCESS_KEY": stack.s3_admin.access_key,
        "MEDIAPLANE_CATALOG_S3_SECRET_KEY": stack.s3_admin.secret_key,
        "MEDIAPLANE_S3_REGION": stack.s3_region,
        "MEDIAPLANE_JWT_SECRET": "test-secret-that-is-long-enough-for-hs256",
        "MEDIAPLANE_CATALOG_OPS_PORT": str(free_ports()),
    }


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mediaplane.catalog", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_ingest_runs_until_sigterm_and_the_commands_report_on_stdout(
    env: dict[str, str], nats_namespace: NatsNamespace
) -> None:
    migrated = _run(env, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    # The shared rate-limit table first, then the catalog's own (its eventlog tables live
    # in the same files), each set in number order.
    shipped = [
        f"{m.namespace}/{m.name}"
        for source in (RATE_LIMIT_MIGRATIONS, CATALOG_MIGRATIONS)
        for m in source.migrations()
    ]
    assert migrated.stdout.splitlines()[-1] == f"applied {len(shipped)} migrations: " + ", ".join(
        shipped
    )

    bus = BusSettings(
        url=env["MEDIAPLANE_NATS_URL"],
        stream=env["MEDIAPLANE_STREAM"],
        subject_root=env["MEDIAPLANE_SUBJECT_ROOT"],
        dlq_stream=env["MEDIAPLANE_DLQ_STREAM"],
        dlq_subject_root=env["MEDIAPLANE_DLQ_SUBJECT_ROOT"],
    )
    registry = build_registry(bus.subject_root)
    story = FileStory(owner="alice").opened()
    nc = await nats.connect(bus.url)
    js = nc.jetstream()
    await provision(js, bus)
    for event in story.events:
        await js.publish(registry.subject_of(event), registry.encode(event))
    await nc.close()

    ingest = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mediaplane.catalog",
        "ingest",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        ops = f"http://127.0.0.1:{env['MEDIAPLANE_CATALOG_OPS_PORT']}"
        ready = await wait_until_ok(f"{ops}/health/ready")
        assert ready.json()["checks"] == {"postgres": "up", "nats": "up"}

        def ledger_events() -> int:
            stats = _run(env, "ledger", "stats")
            assert stats.returncode == 0, stats.stderr
            return int(json.loads(stats.stdout)["events"])

        await eventually(lambda: ledger_events() == len(story.events), within=30)
    finally:
        if ingest.returncode is None:
            ingest.send_signal(signal.SIGTERM)
        output, _ = await ingest.communicate()
    assert ingest.returncode == 0, output.decode(errors="replace")[-3000:]

    checksums = _run(env, "projections", "checksum")
    assert checksums.returncode == 0, checksums.stderr
    assert "upload_sessions" in json.loads(checksums.stdout)  # stdout is the report alone

    replayed = _run(env, "ingest", "--from-seq", "1")
    assert replayed.returncode == 0, replayed.stderr
    report = json.loads(replayed.stdout)  # logs went to stderr
    assert (report["read"], report["inserted"], report["duplicates"]) == (
        len(story.events),
        0,
        len(story.events),
    )
