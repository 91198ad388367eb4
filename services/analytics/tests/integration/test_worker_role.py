"""The worker role as `python -m mediaplane.analytics worker` runs it: file facts from the
event stream, then beacons from the API folded into the file's analytics."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from mediaplane.analytics.__main__ import _worker
from mediaplane.analytics.config import AnalyticsSettings
from mediaplane.bus import Bus
from mediaplane.contracts import (
    EventContext,
    FileVerified,
    TranscodeCompleted,
    build_registry,
    new_event,
)

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
