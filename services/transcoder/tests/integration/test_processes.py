"""The deployable roles as real processes: migrate, worker (killed and stopped mid-job), relay."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import nats
import nats.js.errors
import psycopg
import pytest

from mediaplane.bus import Bus
from mediaplane.contracts import FileVerified, build_registry
from mediaplane.devstack.pytest_plugin import wait_until_ok
from mediaplane.transcoder.config import TranscoderSettings

from .conftest import Spawn

pytestmark = pytest.mark.integration

MakeClip = Callable[..., Path]
Upload = Callable[[Path], Awaitable[FileVerified]]
ReadEvents = Callable[[uuid.UUID], list[Any]]
WaitFinal = Callable[[uuid.UUID], Awaitable[Any]]


def _migrate(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mediaplane.transcoder", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def _ready(url: str) -> httpx.Response:
    return await wait_until_ok(url)


def _encoders(work_dir: Path) -> list[int]:
    """Pids of ffmpeg processes writing into `work_dir` (this test's scratch space)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"ffmpeg") and any(str(work_dir).encode() in a for a in argv):
            pids.append(int(entry.name))
    return pids


def _scratch(work_dir: Path, pattern: str = "transcode-*") -> list[Path]:
    return list(work_dir.glob(pattern))


def _job(database_url: str) -> tuple[str, int, str | None]:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT status, attempts, worker FROM transcode_jobs").fetchone()
    assert row is not None
    return row[0], row[1], row[2]


async def _until(check: Callable[[], bool], within: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} did not happen within {within} s")
        await asyncio.sleep(0.05)


async def _publish(settings: TranscoderSettings, event: FileVerified) -> None:
    bus = Bus(settings.bus, build_registry(settings.bus.subject_root), producer="upload-gateway")
    async with bus.running():
        await bus.publish(event)


async def _encoding_job(
    settings: TranscoderSettings, work_dir: Path, make_clip: MakeClip, upload: Upload
) -> FileVerified:
    """Publish a job whose encode lasts long enough (a second or more) to be interrupted."""
    verified = await upload(make_clip(width=1280, height=720, seconds=3.0, fps=15))
    await _publish(settings, verified)
    return verified


def test_migrate_is_idempotent(env: dict[str, str]) -> None:
    first, second = _migrate(env), _migrate(env)
    assert first.returncode == 0, first.stderr
    assert "applied 8 migrations" in first.stdout  # eventlog 4 + transcoder 4
    assert "0001_transcode_jobs" in first.stdout
    assert "0004_retired_generations" in first.stdout
    assert second.returncode == 0
    assert "applied 0 migrations" in second.stdout


async def test_a_worker_killed_mid_job_is_replaced_and_the_job_completes(
    env: dict[str, str],
    settings: TranscoderSettings,
    spawn: Spawn,
    make_clip: MakeClip,
    upload: Upload,
    wait_final: WaitFinal,
    transcode_events: ReadEvents,
    tmp_path: Path,
) -> None:
    first = await spawn("worker")
    verified = await _encoding_job(settings, tmp_path, make_clip, upload)
    await _until(lambda: bool(_encoders(tmp_path)), 60, "ffmpeg starting")
    killed_encoders = _encoders(tmp_path)
    assert _job(settings.database_url)[0] == "running"

    first.kill()  # SIGKILL: no cleanup, no NAK, the lease just stops being renewed
    await first.wait()
    # ffmpeg dies with its worker instead of encoding on as an orphan.
    await _until(lambda: not set(killed_encoders) & set(_encoders(tmp_path)), 60, "ffmpeg exit")
    assert _scratch(tmp_path, f"transcode-{first.pid}-*")

    second = await spawn("worker")
    final = await wait_final(verified.file_id)

    assert final.type == "transcode.completed.v1", final.data
    assert len(final.data["renditions"]) == 3
    status, attempts, _ = _job(settings.database_url)
    assert (status, attempts) == ("completed", 2)
    # The retry did not announce the job a second time (each attempt may report progress,
    # always between the one start and the completion).
    types = [e.type for e in transcode_events(verified.file_id)]
    assert [t for t in types if t != "transcode.progress.v1"] == [
        "transcode.started.v1",
        "transcode.completed.v1",
    ]
    assert types[0] == "transcode.started.v1"
    assert types[-1] == "transcode.completed.v1"
    # The new worker removed the dead one's scratch files; its own are gone after the job.
    assert _scratch(tmp_path) == []
    second.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(second.wait(), 30) == 0


async def test_a_stopped_worker_kills_ffmpeg_and_hands_the_job_back(
    env: dict[str, str],
    settings: TranscoderSettings,
    spawn: Spawn,
    make_clip: MakeClip,
    upload: Upload,
    wait_final: WaitFinal,
    tmp_path: Path,
) -> None:
    ops = f"http://127.0.0.1:{env['MEDIAPLANE_TRANSCODER_OPS_PORT']}"
    first = await spawn("worker")
    ready = await _ready(f"{ops}/health/ready")
    assert ready.json()["checks"] == {
        "postgres": "up",
        "nats": "up",
        "s3": "up",
        "ffmpeg": "up",
    }
    verified = await _encoding_job(settings, tmp_path, make_clip, upload)
    await _until(lambda: bool(_encoders(tmp_path)), 60, "ffmpeg starting")

    first.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(first.wait(), 30) == 0

    assert _encoders(tmp_path) == []
    assert _scratch(tmp_path) == []
    status, attempts, worker = _job(settings.database_url)
    assert (status, attempts, worker) == ("queued", 1, None)

    # The NAK makes the message available at once: a new worker finishes the job,
    # and the relay publishes the job's events to JetStream.
    await spawn("worker")
    relay = await spawn("relay")
    final = await wait_final(verified.file_id)
    assert final.type == "transcode.completed.v1", final.data
    await _ready(f"http://127.0.0.1:{int(env['MEDIAPLANE_TRANSCODER_OPS_PORT']) + 1}/health/ready")
    nc = await nats.connect(settings.bus.url)
    try:
        js = nc.jetstream()
        subject = f"{settings.bus.subject_root}.transcode.completed.v1"
        for _ in range(600):  # patience for a loaded machine
            try:
                message = await js.get_last_msg(settings.bus.stream, subject)
                break
            except nats.js.errors.NotFoundError:
                await asyncio.sleep(0.1)
        else:
            raise AssertionError("the relay never published transcode.completed")
    finally:
        await nc.close()
    assert str(verified.file_id).encode() in (message.data or b"")

    async with httpx.AsyncClient() as client:
        metrics = (await client.get(f"{ops}/metrics")).text
    assert 'mediaplane_transcoder_jobs_total{outcome="completed"} 1.0' in metrics
    assert "mediaplane_transcoder_encode_seconds_count 1.0" in metrics
    relay.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(relay.wait(), 30) == 0
