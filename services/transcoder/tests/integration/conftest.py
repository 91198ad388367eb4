"""Fixtures of the process tests: the roles' environment, and spawning them."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from mediaplane.devstack.pytest_plugin import free_ports
from mediaplane.devstack.settings import StackSettings
from mediaplane.transcoder.config import TranscoderSettings


@pytest.fixture
def env(
    stack: StackSettings, make_settings: Callable[..., TranscoderSettings], tmp_path: Path
) -> dict[str, str]:
    """The environment of every role; the database is migrated by tests that ask for
    `settings`, and left empty for the migrate test."""
    settings = make_settings()
    bus = settings.bus
    return {
        **os.environ,
        "MEDIAPLANE_TRANSCODER_DATABASE_URL": settings.database_url,
        "MEDIAPLANE_NATS_URL": bus.url,
        "MEDIAPLANE_STREAM": bus.stream,
        "MEDIAPLANE_SUBJECT_ROOT": bus.subject_root,
        "MEDIAPLANE_DLQ_STREAM": bus.dlq_stream,
        "MEDIAPLANE_DLQ_SUBJECT_ROOT": bus.dlq_subject_root,
        "MEDIAPLANE_S3_ENDPOINT": stack.s3_endpoint,
        "MEDIAPLANE_TRANSCODER_S3_ACCESS_KEY": stack.s3_admin.access_key,
        "MEDIAPLANE_TRANSCODER_S3_SECRET_KEY": stack.s3_admin.secret_key,
        "MEDIAPLANE_S3_REGION": stack.s3_region,
        "MEDIAPLANE_RENDITIONS_BUCKET": settings.bucket,
        "MEDIAPLANE_ORIGINALS_BUCKET": settings.originals_bucket,
        "MEDIAPLANE_TRANSCODER_WORK_DIR": str(tmp_path),
        "MEDIAPLANE_TRANSCODER_SEGMENT_SECONDS": "1",
        "MEDIAPLANE_TRANSCODER_CHUNK_PREROLL": "0.5",  # shorter than those segments
        # A dead worker's message comes back after 2 s instead of a minute.
        "MEDIAPLANE_TRANSCODER_ACK_WAIT": "2",
        "MEDIAPLANE_TRANSCODER_BACKOFF": "0.5",
        "MEDIAPLANE_TRANSCODER_OPS_PORT": str(free_ports(2)),
    }


Spawn = Callable[..., Awaitable[asyncio.subprocess.Process]]


@pytest.fixture
async def spawn(
    env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Spawn]:
    """Start `python -m mediaplane.transcoder <role>`; whatever still runs is killed after.
    Each process logs to its own file (named in a failing assertion's output)."""
    started: list[asyncio.subprocess.Process] = []
    logs = tmp_path_factory.mktemp("logs")

    async def start(role: str, **extra_env: str) -> asyncio.subprocess.Process:
        with (logs / f"{role}-{len(started)}.log").open("wb") as log:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "mediaplane.transcoder",
                role,
                env={**env, **extra_env},
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
        started.append(proc)
        return proc

    yield start
    for log in sorted(logs.iterdir()):
        print(f"--- {log.name}\n{log.read_text()[-5000:]}")  # shown when a test fails
    for proc in started:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
