"""Transient failures are retried and end as `internal`; a job over its budget is `timeout`."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from mediaplane.contracts import FileVerified
from mediaplane.storage import ObjectStore, StorageSettings, StorageUnavailable
from mediaplane.transcoder.app.bootstrap import Resources
from mediaplane.transcoder.app.metrics import TranscoderMetrics
from mediaplane.transcoder.app.transcode import Transcoder

pytestmark = pytest.mark.integration

MakeClip = Callable[..., Path]
Upload = Callable[[Path], Awaitable[FileVerified]]
ReadEvents = Callable[[uuid.UUID], list[Any]]


def _job(resources: Resources) -> tuple[str, int]:
    with psycopg.connect(resources.settings.database_url) as conn:
        row = conn.execute("SELECT status, attempts FROM transcode_jobs").fetchone()
    assert row is not None
    return row[0], row[1]


def _scratch(work_dir: Path) -> list[Path]:
    return list(work_dir.glob("transcode-*"))


def _without_storage(resources: Resources) -> Transcoder:
    """The same worker, with S3 unreachable (nothing listens on port 1)."""
    down = StorageSettings.from_urls(
        "http://127.0.0.1:1", access_key="k", secret_key="s", region="us-east-1"
    )
    return Transcoder(
        service=resources.service,
        objects=ObjectStore(down),
        settings=resources.settings,
        metrics=TranscoderMetrics(),
    )


async def test_a_storage_outage_is_retried_then_the_job_completes(
    resources: Resources, make_clip: MakeClip, upload: Upload, transcode_events: ReadEvents
) -> None:
    verified = await upload(make_clip(width=640, height=360))

    with pytest.raises(StorageUnavailable):
        await _without_storage(resources).handle(verified, last_attempt=False)
    # Handed back at once: the redelivery need not wait for the lease to run out.
    assert _job(resources) == ("queued", 1)

    assert await resources.transcoder.handle(verified, last_attempt=False) == "completed"
    assert _job(resources) == ("completed", 2)
    assert [e.type for e in transcode_events(verified.file_id)] == [
        "transcode.started.v1",
        "transcode.completed.v1",
    ]


async def test_a_transient_error_on_the_last_attempt_is_recorded_as_internal(
    resources: Resources, make_clip: MakeClip, upload: Upload, transcode_events: ReadEvents
) -> None:
    verified = await upload(make_clip(width=640, height=360))
    broken = _without_storage(resources)

    with pytest.raises(StorageUnavailable):
        await broken.handle(verified, last_attempt=False)
    assert await broken.handle(verified, last_attempt=True) == "failed"

    [failed] = transcode_events(verified.file_id)
    assert failed.type == "transcode.failed.v1"
    assert (failed.data["code"], failed.data["attempts"]) == ("internal", 2)
    assert "StorageUnavailable" in failed.data["detail"]
    assert _job(resources) == ("failed", 2)
    failures = broken.metrics.registry.get_sample_value(
        "mediaplane_transcoder_failures_total", {"code": "internal"}
    )
    assert failures == 1


async def test_ffmpeg_over_its_budget_is_killed_and_the_job_fails_as_timeout(
    resources: Resources,
    make_clip: MakeClip,
    upload: Upload,
    transcode_events: ReadEvents,
    tmp_path: Path,
) -> None:
    verified = await upload(make_clip(width=1280, height=720))
    # A budget of a few milliseconds for 2 s of video: ffmpeg cannot make it.
    hurried = Transcoder(
        service=resources.service,
        objects=resources.objects,
        settings=dataclasses.replace(resources.settings, timeout_base=0.05, timeout_per_second=0),
        metrics=TranscoderMetrics(),
    )

    assert await hurried.handle(verified, last_attempt=False) == "failed"

    started, failed = transcode_events(verified.file_id)
    assert started.type == "transcode.started.v1"
    assert (failed.type, failed.data["code"], failed.data["attempts"]) == (
        "transcode.failed.v1",
        "timeout",
        1,
    )
    assert _scratch(tmp_path) == []


async def test_ffmpeg_over_its_cpu_time_is_killed_and_the_job_fails_as_resource_limit(
    resources: Resources,
    make_clip: MakeClip,
    upload: Upload,
    transcode_events: ReadEvents,
    tmp_path: Path,
) -> None:
    # Four rungs of 4 s of 1080p take several CPU-seconds; the limit is one.
    verified = await upload(make_clip(width=1920, height=1080, seconds=4, fps=30))
    tools = dataclasses.replace(resources.settings.tools, cpu_base=1, cpu_per_second=0)
    starved = Transcoder(
        service=resources.service,
        objects=resources.objects,
        settings=dataclasses.replace(resources.settings, tools=tools),
        metrics=TranscoderMetrics(),
    )

    assert await starved.handle(verified, last_attempt=False) == "failed"

    # A loaded machine stretches the starved encode past the progress throttle's interval.
    started, failed = [
        e for e in transcode_events(verified.file_id) if e.type != "transcode.progress.v1"
    ]
    assert started.type == "transcode.started.v1"
    assert (failed.type, failed.data["code"]) == ("transcode.failed.v1", "resource_limit")
    assert "ffmpeg killed at its CPU-time limit of 1 s" in failed.data["detail"]
    assert _job(resources) == ("failed", 1)
    assert _scratch(tmp_path) == []


async def test_a_playlist_verified_as_video_fails_as_container_refused(
    resources: Resources, upload: Upload, transcode_events: ReadEvents, tmp_path: Path
) -> None:
    polyglot = tmp_path / "polyglot.mp4"
    polyglot.write_bytes(
        b"#EXTM3U\n#EXT-X-ftyp\niso2avc1mp41\n#EXT-X-TARGETDURATION:10\n"
        b"#EXTINF:2,\n/etc/hostname.ts\n#EXT-X-ENDLIST\n"
    )
    verified = await upload(polyglot)

    assert await resources.transcoder.handle(verified, last_attempt=False) == "failed"

    [failed] = transcode_events(verified.file_id)
    assert (failed.type, failed.data["code"]) == ("transcode.failed.v1", "container_refused")
    assert "M3U/HLS playlist" in failed.data["detail"]


async def test_an_original_that_is_not_the_verified_one_fails_and_makes_nothing(
    resources: Resources,
    make_clip: MakeClip,
    upload: Upload,
    transcode_events: ReadEvents,
    originals: ObjectStore,
    tmp_path: Path,
) -> None:
    verified = await upload(make_clip(width=640, height=360))
    # Other valid video bytes at the key after verification.
    other = make_clip(width=320, height=180)
    await originals.upload_file(verified.bucket, verified.object_key, other)

    assert await resources.transcoder.handle(verified, last_attempt=False) == "failed"

    [failed] = transcode_events(verified.file_id)
    assert (failed.type, failed.data["code"], failed.data["attempts"]) == (
        "transcode.failed.v1",
        "original_changed",
        1,
    )
    assert verified.sha256 in failed.data["detail"]
    stored = await resources.objects.list_objects(resources.settings.bucket, "")
    assert [o.key for o in stored if o.key.startswith(str(verified.file_id))] == []
    assert _scratch(tmp_path) == []
