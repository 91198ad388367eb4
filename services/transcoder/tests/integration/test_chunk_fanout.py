"""Chunks of one long video shared by two worker processes through the `transcoder-chunks`
queue, and a worker SIGKILLed mid-chunk costing that chunk only (real processes, ffmpeg,
Postgres, JetStream, SeaweedFS)."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from mediaplane.bus import Bus
from mediaplane.contracts import FileVerified, build_registry
from mediaplane.devstack.pytest_plugin import free_ports, wait_until_ok
from mediaplane.transcoder.config import TranscoderSettings

from .conftest import Spawn

pytestmark = pytest.mark.integration

MakeClip = Callable[..., Path]
Upload = Callable[[Path], Awaitable[FileVerified]]
ReadEvents = Callable[[uuid.UUID], list[Any]]
WaitFinal = Callable[..., Awaitable[Any]]

# 12 s of 640x360 at 15 fps, 1 s segments, 2 segments a chunk: 6 chunks of two rungs.
CHUNKED = {
    "MEDIAPLANE_TRANSCODER_CHUNK_THRESHOLD": "5",
    "MEDIAPLANE_TRANSCODER_CHUNK_SEGMENTS": "2",
    "MEDIAPLANE_TRANSCODER_LADDER": "360:500:96,180:200:64",
}
PLANNED = 6


def _worker_id(pid: int) -> str:
    return f"{socket.gethostname()}-{pid}"


async def _until(check: Callable[[], bool], within: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} did not happen within {within} s")
        await asyncio.sleep(0.02)


async def _start(settings: TranscoderSettings, make_clip: MakeClip, upload: Upload) -> uuid.UUID:
    verified = await upload(make_clip(width=640, height=360, seconds=12.0, fps=15))
    bus = Bus(settings.bus, build_registry(settings.bus.subject_root), producer="upload-gateway")
    async with bus.running():
        await bus.publish(verified)
    return verified.file_id


async def _workers(spawn: Spawn, count: int) -> list[tuple[asyncio.subprocess.Process, int]]:
    """`count` workers (each with its own ops port) and one relay, all ready."""
    started = []
    for _ in range(count):
        port = free_ports(2)
        proc = await spawn("worker", MEDIAPLANE_TRANSCODER_OPS_PORT=str(port), **CHUNKED)
        started.append((proc, port))
    relay_port = free_ports(2)
    await spawn("relay", MEDIAPLANE_TRANSCODER_OPS_PORT=str(relay_port - 1))
    for _, port in started:
        await wait_until_ok(f"http://127.0.0.1:{port}/health/ready")
    await wait_until_ok(f"http://127.0.0.1:{relay_port}/health/ready")
    return started


def _chunks_done(events: list[Any]) -> list[dict[str, Any]]:
    return [e.data for e in events if e.type == "transcode.chunk_done.v1"]


def _chunk_encoders(parent: int) -> dict[int, int]:
    """The chunk ffmpegs `parent` runs: pid -> chunk index (from its `.chunks/NNNNN` folder)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid != parent or not argv or not argv[0].endswith(b"ffmpeg"):
            continue
        for arg in argv:
            if b"/.chunks/" in arg:
                found[int(entry.name)] = int(arg.split(b"/.chunks/")[1][:5])
                break
    return found


def _coordinator(database_url: str) -> str | None:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT worker FROM transcode_jobs WHERE status = 'running'").fetchone()
    return None if row is None else str(row[0])


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


async def test_two_workers_share_the_chunks_of_one_video(
    settings: TranscoderSettings,
    spawn: Spawn,
    make_clip: MakeClip,
    upload: Upload,
    wait_final: WaitFinal,
    transcode_events: ReadEvents,
) -> None:
    workers = await _workers(spawn, 2)
    file_id = await _start(settings, make_clip, upload)
    final = await wait_final(file_id, 300.0)

    assert final.type == "transcode.completed.v1", final.data
    events = transcode_events(file_id)
    done = _chunks_done(events)
    requested = [e.data for e in events if e.type == "transcode.chunk_requested.v1"]
    assert len(requested) == PLANNED
    assert sorted(d["index"] for d in done) == list(range(PLANNED))  # each chunk once
    # Both replicas took chunks of the one file.
    assert {d["worker"] for d in done} == {_worker_id(p.pid) for p, _ in workers}
    # One valid ladder: every rung whole (the worker checked playlists, segments and
    # their alignment before completing), audio as its own renditions.
    renditions = {r["name"]: r for r in final.data["renditions"]}
    assert set(renditions) == {"360p", "180p", "audio_96k", "audio_64k"}
    assert renditions["360p"]["segment_count"] == renditions["180p"]["segment_count"] == 12
    assert final.data["duration"] == pytest.approx(12.0, abs=0.1)
    ready = [e.data for e in events if e.type == "transcode.segments_ready.v1"]
    assert ready[-1]["ended"]
    assert ready[-1]["chunks_done"] == ready[-1]["chunks_planned"] == PLANNED


async def test_a_worker_killed_mid_chunk_costs_that_chunk_only(
    settings: TranscoderSettings,
    spawn: Spawn,
    make_clip: MakeClip,
    upload: Upload,
    wait_final: WaitFinal,
    transcode_events: ReadEvents,
) -> None:
    workers = await _workers(spawn, 2)
    file_id = await _start(settings, make_clip, upload)
    by_id = {_worker_id(p.pid): (p, port) for p, port in workers}
    await _until(lambda: _coordinator(settings.database_url) is not None, 120, "a job claimed")
    coordinator = _coordinator(settings.database_url)
    survivor, survivor_port = by_id.pop(str(coordinator))
    [(victim, _)] = by_id.values()
    # The other worker (not the job's) is killed while it encodes a chunk.
    await _until(lambda: bool(_chunk_encoders(victim.pid)), 120, "the victim encoding a chunk")
    [killed_chunk] = _chunk_encoders(victim.pid).values()
    victim.kill()  # SIGKILL: no NAK, no cleanup; its in-progress acks just stop
    await victim.wait()
    done_before_kill = {
        d["index"] for d in _chunks_done(transcode_events(file_id)) if d["worker"] != coordinator
    }

    final = await wait_final(file_id, 300.0)

    assert final.type == "transcode.completed.v1", final.data
    events = transcode_events(file_id)
    done = _chunks_done(events)
    assert sorted(d["index"] for d in done) == list(range(PLANNED))
    assert not [e for e in events if e.type == "transcode.chunk_failed.v1"]
    assert killed_chunk not in done_before_kill
    by_index = {d["index"]: d["worker"] for d in done}
    assert by_index[killed_chunk] == coordinator  # redelivered to the survivor
    # The victim's finished chunks were not encoded again: the survivor encoded exactly
    # the others, the killed one among them.
    async with httpx.AsyncClient() as client:
        metrics = (await client.get(f"http://127.0.0.1:{survivor_port}/metrics")).text
    encoded = _metric(metrics, 'mediaplane_transcoder_chunks_total{outcome="done"}')
    assert encoded == PLANNED - len(done_before_kill)
    assert survivor.returncode is None
