"""An admin's re-run of a transcode (`file.reprocess_requested.v2`, target `transcode`): a
new generation of renditions under a job folder of its own, recorded as a second
`transcode.completed`, after which the first generation is retired: its objects stay for a
grace period (a viewer may be in the middle of it), and the worker's sweep deletes them
once it is over. Real ffmpeg, Postgres, JetStream and SeaweedFS, through the worker's
consumer; a tiny clip."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from mediaplane.bus import Bus
from mediaplane.contracts import (
    EventContext,
    FileReprocessRequestedV2,
    FileVerified,
    new_event,
    utc_now,
)
from mediaplane.transcoder.adapters import generations, jobs
from mediaplane.transcoder.app.bootstrap import Resources
from mediaplane.transcoder.app.generations import GenerationSweeper

pytestmark = pytest.mark.integration

MakeClip = Callable[..., Path]
Upload = Callable[..., Awaitable[FileVerified]]
ReadEvents = Callable[[uuid.UUID], list[Any]]


def rerun(file: FileVerified, target: str = "transcode") -> FileReprocessRequestedV2:
    return new_event(
        FileReprocessRequestedV2,
        occurred_at=utc_now(),
        stream_id=f"file-{file.file_id}",
        context=EventContext(producer="upload-gateway", correlation_id="rerun"),
        file_id=file.file_id,
        owner=file.owner,
        target=target,
        requested_by="root",
        bucket=file.bucket,
        object_key=file.object_key,
        sha256=file.sha256,
        size=file.size,
        media_type=file.media_type,
        kind=file.kind,
    )


async def completions(read: ReadEvents, file_id: uuid.UUID, count: int) -> list[Any]:
    """The file's `transcode.completed` events once there are `count` (or a failure)."""
    deadline = asyncio.get_running_loop().time() + 180
    while asyncio.get_running_loop().time() < deadline:
        events = read(file_id)
        failed = [e for e in events if e.type == "transcode.failed.v1"]
        assert not failed, failed[0].data
        done = [e for e in events if e.type == "transcode.completed.v1"]
        if len(done) >= count:
            return done
        await asyncio.sleep(0.2)
    raise AssertionError(f"{file_id} has not {count} completed transcodes within 180 s")


async def keys(resources: Resources, file_id: uuid.UUID) -> set[str]:
    stored = await resources.objects.list_objects(resources.settings.bucket, f"{file_id}/")
    return {o.key for o in stored}


async def test_a_transcode_rerun_retires_the_old_generation_until_its_grace_is_over(
    worker: Bus,
    resources: Resources,
    make_clip: MakeClip,
    upload: Upload,
    transcode_events: ReadEvents,
) -> None:
    file = await upload(make_clip(width=320, height=180, seconds=2.0))
    await worker.publish(file)
    [first] = await completions(transcode_events, file.file_id, 1)
    old_job = first.data["job_id"]
    old = await keys(resources, file.file_id)
    assert first.data["master_playlist_key"] in old
    assert first.data["mp4"]["key"] in old
    assert all(k.startswith(f"{file.file_id}/{old_job}/") for k in old)
    sweeper = resources.sweeper
    assert await sweeper.retired(file.file_id) == []  # a first generation supersedes none

    # Another worker's target is not the transcoder's business.
    await worker.publish(rerun(file, "thumbnails"))
    request = rerun(file)
    await worker.publish(request)
    first_again, second = await completions(transcode_events, file.file_id, 2)
    new_job = second.data["job_id"]
    assert first_again.data["job_id"] == old_job != new_job
    stored = await keys(resources, file.file_id)
    new = stored - old
    assert second.data["master_playlist_key"] in new
    assert second.data["mp4"]["key"] in new
    assert {r["playlist_key"] for r in second.data["renditions"]} <= new
    assert all(k.startswith(f"{file.file_id}/{new_job}/") for k in new)
    # The old generation is retired, not deleted: a viewer in the middle of it goes on.
    assert old <= stored
    [retired] = await sweeper.retired(file.file_id)
    assert (str(retired.job_id), retired.prefix) == (old_job, f"{file.file_id}/{old_job}/")
    grace = resources.settings.retirement.grace
    assert retired.delete_after - retired.retired_at == timedelta(seconds=grace)

    # A redelivered request, or the verification, makes nothing more, and no second row.
    assert await resources.transcoder.handle(request, last_attempt=False) == "skipped"
    assert await resources.transcoder.handle(file, last_attempt=False) == "skipped"
    types = [e.type for e in transcode_events(file.file_id)]
    assert types.count("transcode.started.v1") == types.count("transcode.completed.v1") == 2
    # Even the completion's transaction run again (later) neither duplicates the row nor
    # moves its deadline.
    await retire_again(resources, file.file_id, uuid.UUID(new_job), later=timedelta(hours=1))
    assert await sweeper.retired(file.file_id) == [retired]

    # Before the grace is over, the sweep deletes nothing.
    assert await sweeper.sweep(retired.delete_after - timedelta(seconds=1)) == []
    assert await keys(resources, file.file_id) == stored
    # After it, exactly the old folder goes, and its row; the new generation stays.
    [swept] = await sweeper.sweep(retired.delete_after)
    assert swept.prefix == retired.prefix
    assert await keys(resources, file.file_id) == new
    assert await sweeper.retired(file.file_id) == []
    # A swept generation is never retired again (no row for a folder that is gone).
    await retire_again(resources, file.file_id, uuid.UUID(new_job), later=timedelta(days=1))
    assert await sweeper.retired(file.file_id) == []
    assert await sweeper.sweep(retired.delete_after + timedelta(days=30)) == []
    assert await keys(resources, file.file_id) == new


async def retire_again(
    resources: Resources, file_id: uuid.UUID, current: uuid.UUID, *, later: timedelta
) -> None:
    """What recording `current`'s completion does in its transaction, done again `later`."""
    now = utc_now() + later
    async with resources.pool.connection() as conn:
        await generations.retire_others(
            conn,
            file_id=file_id,
            current=current,
            retired_at=now,
            delete_after=resources.settings.retirement.delete_after(now),
        )


async def test_concurrent_sweeps_delete_each_retired_folder_once(resources: Resources) -> None:
    """Two replicas' sweeps at once, in small batches: every folder is deleted by exactly
    one of them, without errors; a folder the janitor purged first just loses its row."""
    file_id, sha256 = uuid.uuid4(), "cd" * 32
    service, objects, bucket = resources.service, resources.objects, resources.settings.bucket
    job_ids = []
    for _ in range(7):  # six old generations and the current one, one after the other
        request = uuid.uuid4()
        claimed = await service.claim(
            file_id=file_id, sha256=sha256, event_id=request, owner="alice", request_id=request
        )
        job_ids.append(claimed.job_id)
        for name in ("master.m3u8", "360p/index.m3u8", "360p/seg_00000.ts"):
            await objects.put_bytes(bucket, f"{file_id}/{claimed.job_id}/{name}", b"x")
        async with resources.pool.connection() as conn:
            await jobs.finish(conn, job_id=claimed.job_id, status="completed")
    *old_jobs, current = job_ids
    await retire_again(resources, file_id, current, later=timedelta(0))
    retired = await resources.sweeper.retired(file_id)
    assert sorted(r.job_id for r in retired) == sorted(old_jobs)
    # The janitor purged one folder meanwhile: deleting what is already gone is no error.
    purged = f"{file_id}/{old_jobs[0]}/"
    await objects.delete_many(bucket, await keys_under(resources, purged))

    sweepers = [
        GenerationSweeper(pool=resources.pool, objects=objects, bucket=bucket, batch=2)
        for _ in range(2)
    ]
    due = max(r.delete_after for r in retired)
    first, second = await asyncio.gather(*(s.sweep(due) for s in sweepers))
    prefixes = [f.prefix for f in first + second]
    assert sorted(prefixes) == sorted(f"{file_id}/{job}/" for job in old_jobs)  # each once
    assert await resources.sweeper.retired(file_id) == []
    assert {k.split("/")[1] for k in await keys(resources, file_id)} == {str(current)}


async def keys_under(resources: Resources, prefix: str) -> list[str]:
    stored = await resources.objects.list_objects(resources.settings.bucket, prefix)
    return [o.key for o in stored]


async def test_a_rerun_waits_while_another_job_of_the_file_runs(resources: Resources) -> None:
    file_id, sha256 = uuid.uuid4(), "ab" * 32
    service = resources.service

    async def claim(event_id: uuid.UUID, request_id: uuid.UUID | None = None) -> Any:
        extra = {"request_id": request_id} if request_id else {}
        return await service.claim(
            file_id=file_id, sha256=sha256, event_id=event_id, owner="alice", **extra
        )

    verified = await claim(uuid.uuid4())
    request = uuid.uuid4()
    waiting = await claim(request, request)
    assert (waiting.reason, waiting.job_id != verified.job_id) == ("file_busy", True)
    await service.release(verified.job_id)  # the first job's lease ends: the re-run runs
    taken = await claim(request, request)
    assert (type(taken).__name__, taken.job_id) == ("Claimed", waiting.job_id)


async def test_a_failed_rerun_leaves_the_served_generation_in_place(
    worker: Bus,
    resources: Resources,
    make_clip: MakeClip,
    upload: Upload,
    transcode_events: ReadEvents,
) -> None:
    file = await upload(make_clip(width=320, height=180, seconds=2.0))
    await worker.publish(file)
    [first] = await completions(transcode_events, file.file_id, 1)
    served = await keys(resources, file.file_id)
    # The original's bytes no longer match the verified hash: the re-run must fail.
    await resources.objects.put_bytes(file.bucket, file.object_key, b"not the verified bytes")
    await worker.publish(rerun(file))

    deadline = asyncio.get_running_loop().time() + 120
    while not [e for e in transcode_events(file.file_id) if e.type == "transcode.failed.v1"]:
        assert asyncio.get_running_loop().time() < deadline, "the re-run did not fail in 120 s"
        await asyncio.sleep(0.2)
    [failed] = [e for e in transcode_events(file.file_id) if e.type == "transcode.failed.v1"]
    assert failed.data["code"] == "original_changed"
    assert failed.data["job_id"] != first.data["job_id"]
    assert await keys(resources, file.file_id) == served
