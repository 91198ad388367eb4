"""One owner's jobs wait for a free slot while other owners' jobs run (real Postgres, JetStream).

With a limit of 1, alice's second job must not run while her first one does,
whichever worker takes it, and bob's job must not wait for hers. A worker's
ffmpeg is held at a gate (a wrapper script that waits for a file) so "while
her first job runs" is a fact of the test, not a matter of timing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from mediaplane.bus import Bus, Defer, read_dead_letters
from mediaplane.bus.testing import eventually
from mediaplane.contracts import FileVerified
from mediaplane.transcoder.adapters.jobs import Claimed
from mediaplane.transcoder.app.bootstrap import Resources
from mediaplane.transcoder.app.metrics import TranscoderMetrics
from mediaplane.transcoder.app.service import TranscodeService
from mediaplane.transcoder.app.transcode import Transcoder
from mediaplane.transcoder.config import TranscoderSettings
from mediaplane.transcoder.domain.owners import OwnerLimit
from mediaplane.transcoder.worker.consumer import register_transcoder

pytestmark = pytest.mark.integration

MakeClip = Callable[..., Path]
Upload = Callable[..., Awaitable[FileVerified]]
ONE = OwnerLimit(max_running=1, retry_after=0.2)


def worker(resources: Resources, worker_id: str, **overrides: Any) -> Transcoder:
    """Another replica on the same database: its own worker id and settings."""
    settings = dataclasses.replace(
        resources.settings, worker_id=worker_id, owner_limit=ONE, **overrides
    )
    service = TranscodeService(
        pool=resources.pool,
        store=resources.store,
        worker_id=worker_id,
        lease_seconds=settings.lease_seconds,
        owner_limit=ONE,
    )
    return Transcoder(
        service=service, objects=resources.objects, settings=settings, metrics=TranscoderMetrics()
    )


def gated_ffmpeg(directory: Path) -> tuple[Path, Path, Path]:
    """(ffmpeg wrapper, file it touches when it starts, file that lets it go on)."""
    started, gate = directory / "started", directory / "open"
    script = directory / "ffmpeg-gated"
    script.write_text(
        f"#!/bin/sh\ntouch {started}\nwhile [ ! -e {gate} ]; do sleep 0.05; done\n"
        'exec ffmpeg "$@"\n'
    )
    script.chmod(0o755)
    return script, started, gate


def positions(pg_url: str, file_id: uuid.UUID) -> dict[str, int]:
    """Where each of the job's events sits in the log (its global order)."""
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute(
            "SELECT type, position FROM event_log WHERE stream_id = %s",
            (f"transcode-{file_id}",),
        ).fetchall()
    return {row[0]: row[1] for row in rows}


def attempts(pg_url: str, file_id: uuid.UUID) -> int:
    with psycopg.connect(pg_url) as conn:
        row = conn.execute(
            "SELECT attempts FROM transcode_jobs WHERE file_id = %s", (file_id,)
        ).fetchone()
    assert row is not None
    return int(row[0])


async def test_an_owner_over_the_limit_waits_while_another_owner_runs(
    resources: Resources, make_clip: MakeClip, upload: Upload, pg_url: str, tmp_path: Path
) -> None:
    clip = make_clip(width=640, height=360)
    alice_1, alice_2 = await upload(clip, "alice"), await upload(clip, "alice")
    bob = await upload(clip, "bob")
    script, started, gate = gated_ffmpeg(tmp_path)
    held = worker(resources, "held", ffmpeg=str(script))
    free = worker(resources, "free")

    first = asyncio.create_task(held.handle(alice_1, last_attempt=False))
    await eventually(started.exists, within=60)  # alice's first job is in ffmpeg

    with pytest.raises(Defer, match="owner alice has 1 transcodes running"):
        await free.handle(alice_2, last_attempt=False)
    assert await free.handle(bob, last_attempt=False) == "completed"
    assert not first.done()  # bob did not wait for alice

    gate.touch()
    assert await first == "completed"
    assert await free.handle(alice_2, last_attempt=False) == "completed"

    assert (
        positions(pg_url, alice_2.file_id)["transcode.started.v1"]
        > (positions(pg_url, alice_1.file_id)["transcode.completed.v1"])
    )
    assert attempts(pg_url, alice_2.file_id) == 1  # waiting was not an attempt
    deferred = free.metrics.registry.get_sample_value(
        "mediaplane_transcoder_jobs_total", {"outcome": "deferred"}
    )
    assert deferred == 1


async def test_a_dead_workers_slot_frees_when_its_lease_runs_out(
    resources: Resources, make_clip: MakeClip, upload: Upload
) -> None:
    clip = make_clip(width=640, height=360)
    alice_1, alice_2 = await upload(clip, "alice"), await upload(clip, "alice")
    # A worker that claims alice's first job and dies: it never renews its lease.
    dead = TranscodeService(
        pool=resources.pool,
        store=resources.store,
        worker_id="dead",
        lease_seconds=0.5,
        owner_limit=ONE,
    )
    claimed = await dead.claim(
        file_id=alice_1.file_id, sha256=alice_1.sha256, event_id=alice_1.event_id, owner="alice"
    )
    assert isinstance(claimed, Claimed)
    free = worker(resources, "free")
    with pytest.raises(Defer):
        await free.handle(alice_2, last_attempt=False)

    await asyncio.sleep(0.6)  # at least the dead worker's lease
    assert await free.handle(alice_2, last_attempt=False) == "completed"


async def test_through_the_bus_waiting_jobs_are_redelivered_not_failed(
    resources: Resources,
    make_clip: MakeClip,
    upload: Upload,
    pg_url: str,
    wait_final: Callable[[uuid.UUID], Awaitable[object]],
) -> None:
    # One delivery allowed per failure: if waiting counted, alice's second job
    # would be dead-lettered instead of transcoded.
    settings: TranscoderSettings = dataclasses.replace(
        resources.settings, owner_limit=ONE, max_deliver=1
    )
    replicas = [worker(resources, name) for name in ("one", "two")]
    buses = [Bus(settings.bus, resources.registry, producer="transcoder") for _ in replicas]
    for bus, replica in zip(buses, replicas, strict=True):
        register_transcoder(bus, replica, settings)
    clip = make_clip(width=640, height=360)
    jobs = [await upload(clip, owner) for owner in ("alice", "alice", "bob", "alice")]

    async with buses[0].running(), buses[1].running():
        for verified in jobs:
            await buses[0].publish(verified)
        finals = [await wait_final(verified.file_id) for verified in jobs]
        js = buses[0].js
        assert await read_dead_letters(js, settings.bus) == []

    assert [getattr(final, "type", None) for final in finals] == ["transcode.completed.v1"] * 4
    alice = sorted(
        (positions(pg_url, v.file_id) for v in jobs if v.owner == "alice"),
        key=lambda p: p["transcode.started.v1"],
    )
    # Never two of alice's jobs at once: each starts after the one before completed.
    for earlier, later in itertools.pairwise(alice):
        assert later["transcode.started.v1"] > earlier["transcode.completed.v1"]
