"""The worker role as `python -m mediaplane.analytics worker` runs it: file facts from the
event stream, then beacons from the API folded into the file's analytics."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from mediaplane.analytics.__main__ import _worker
from mediaplane.analytics.adapters.rollups import apply_batches
from mediaplane.analytics.config import AnalyticsSettings
from mediaplane.bus import Bus
from mediaplane.contracts import (
    Beacon,
    EventContext,
    FileVerified,
    PlaybackBeacons,
    TranscodeCompleted,
    build_registry,
    new_event,
)
from mediaplane.eventlog.database import Pool

pytestmark = pytest.mark.integration


async def test_the_worker_learns_files_and_folds_beacons(
    settings: AnalyticsSettings, client: AsyncTestClient[Litestar], auth: Any
) -> None:
    file_id, now = uuid.uuid4(), datetime.now(UTC)
    context = EventContext(producer="test", correlation_id="c")
    sha = "0" * 64
    events = [
        new_event(FileVerified, stream_id=f"file-{file_id}", context=context, occurred_at=now,
                  file_id=file_id, owner="alice", bucket="originals",
                  object_key=f"alice/{file_id}/original", sha256=sha, size=10,
                  media_type="video/mp4", kind="video"),
        new_event(TranscodeCompleted, stream_id=f"transcode-{file_id}", context=context,
                  occurred_at=now, file_id=file_id, job_id=uuid.uuid4(), bucket="renditions",
                  master_playlist_key=f"{file_id}/m.m3u8", renditions=[], duration=8.0,
                  elapsed=1.0),
    ]  # fmt: skip
    publisher = Bus(settings.bus, build_registry(settings.bus.subject_root), producer="test")
    async with publisher.running():
        for event in events:
            await publisher.publish(event)
    stop = asyncio.Event()
    worker = asyncio.create_task(_worker(settings, argparse.Namespace(), stop))
    try:
        start = now - timedelta(seconds=10)
        body = {
            "view_id": str(uuid.uuid4()),
            "file_id": str(file_id),
            "beacons": [
                {"kind": "view_start", "at": start.isoformat(), "position": 0, "rendition": "360p"},
                {
                    "kind": "view_end",
                    "at": (start + timedelta(seconds=8)).isoformat(),
                    "position": 8,
                },
            ],
        }
        path = "/v1/analytics/beacons"
        while (await client.post(path, json=body, headers=auth("alice"))).status_code == 404:  # noqa: ASYNC110
            await asyncio.sleep(0.1)  # the worker has not read the file's events yet
        views = 0
        while views == 0:
            await asyncio.sleep(0.1)
            answer = await client.get(f"/v1/analytics/files/{file_id}", headers=auth("alice"))
            views = answer.json()["totals"]["views"]
        assert answer.json()["totals"]["watch_seconds"] == 8.0
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await worker


def _view(started: datetime) -> PlaybackBeacons:
    """A ten-second view that started at `started` (folded directly, as the rollup would)."""
    return new_event(
        PlaybackBeacons, stream_id="view",
        context=EventContext(producer="test", correlation_id="c"),
        occurred_at=started, view_id=uuid.uuid4(), file_id=uuid.uuid4(), owner="alice",
        viewer="bob",
        beacons=[Beacon(kind="view_start", at=started, position=0),
                 Beacon(kind="view_end", at=started + timedelta(seconds=10), position=10)],
    )  # fmt: skip


async def test_the_worker_prunes_old_views_and_keeps_their_day_totals(
    settings: AnalyticsSettings, pool: Pool
) -> None:
    now = datetime.now(UTC)
    old, recent = _view(now - timedelta(days=100)), _view(now - timedelta(hours=1))
    async with pool.connection() as conn, conn.transaction():
        await apply_batches(conn, [old, recent])
        # The old batch's id was applied longer ago than the beacon stream keeps it.
        await conn.execute(
            "UPDATE applied_batches SET applied_at = now() - interval '40 days'"
            " WHERE event_id = %s",
            (old.event_id,),
        )

    async def count(sql: str, *args: object) -> int:
        async with pool.connection() as conn:
            row = await (await conn.execute(sql, args)).fetchone()
        return int(row[0]) if row else 0

    stop = asyncio.Event()
    running = dataclasses.replace(settings, prune_interval=0.2)
    worker = asyncio.create_task(_worker(running, argparse.Namespace(), stop))
    try:
        while await count("SELECT count(*) FROM views WHERE view_id = %s", old.view_id):  # noqa: ASYNC110
            await asyncio.sleep(0.1)  # the worker's first prune runs as it starts
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
    assert await count("SELECT count(*) FROM views WHERE view_id = %s", recent.view_id) == 1
    assert (
        await count("SELECT count(*) FROM applied_batches WHERE event_id = %s", old.event_id) == 0
    )
    assert (
        await count("SELECT count(*) FROM applied_batches WHERE event_id = %s", recent.event_id)
        == 1
    )
    old_day = (now - timedelta(days=100)).date()
    for table in ("file_day", "owner_day", "platform_day"):
        kept = await count(f"SELECT sum(views) FROM {table} WHERE day = %s", old_day)
        assert kept == 1, f"{table} lost the pruned view's day total"
