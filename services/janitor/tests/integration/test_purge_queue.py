"""The purge queue: `janitor_files.objects_pending` and the partial index built on it.

The flag must say exactly whether a file has objects not purged yet, through the
whole life of a file (doom, purge, late objects, purge again, takedown, restore)
and when a purge and the projection touch the same file at the same time.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from mediaplane.bus import Bus
from mediaplane.bus.testing import eventually
from mediaplane.contracts import utc_now
from mediaplane.janitor.adapters import projections
from mediaplane.janitor.adapters.projections import ObjectRow
from mediaplane.janitor.app.bootstrap import open_resources
from mediaplane.janitor.config import JanitorSettings
from mediaplane.janitor.domain.batch import BatchChanges, FileChange, ObjectChange

pytestmark = pytest.mark.integration

Conn = psycopg.AsyncConnection[Any]
AT = datetime(2026, 1, 1, tzinfo=UTC)


def flags(settings: JanitorSettings) -> dict[uuid.UUID, bool]:
    with psycopg.connect(settings.database_url) as conn:
        rows = conn.execute("SELECT file_id, objects_pending FROM janitor_files").fetchall()
    return {row[0]: row[1] for row in rows}


def queued(settings: JanitorSettings) -> set[uuid.UUID]:
    """The files the partial index `janitor_files_purge_queue` holds (its predicate)."""
    with psycopg.connect(settings.database_url) as conn:
        rows = conn.execute(
            "SELECT file_id FROM janitor_files WHERE objects_pending"
            " AND (doomed_at IS NOT NULL OR taken_down_at IS NOT NULL)"
        ).fetchall()
    return {row[0] for row in rows}


def ahead() -> datetime:
    return utc_now() + timedelta(hours=2)


async def test_the_flag_follows_doom_purge_late_objects_and_moderation(
    settings: JanitorSettings,
    objects: Any,
    projection: Bus,
    projected: Any,
    events: Any,
) -> None:
    doomed, down, restored = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    originals, thumbnails = settings.originals_bucket, settings.thumbnails_bucket
    for file_id in (doomed, down, restored):
        await objects.put_bytes(originals, f"alice/{file_id}", b"o" * 100)
        await projection.publish(events.uploaded(file_id, f"alice/{file_id}"))
    await projected(3)
    # Live files have objects left, and no purge work.
    assert flags(settings) == {doomed: True, down: True, restored: True}
    assert queued(settings) == set()

    for event in (
        events.deleted(doomed),
        events.moderated(down, taken_down=True),
        events.moderated(restored, taken_down=True),
        events.moderated(restored, taken_down=False),
    ):
        await projection.publish(event)
    await projected(7)
    assert queued(settings) == {doomed, down}

    # Past the takedown retention (the janitor's clock 2 h ahead).
    past = replace(settings, takedown_retention=timedelta(hours=1))

    async def purge() -> list[tuple[str, int]]:
        async with open_resources(past, pool_size=2, clock=ahead) as janitor:
            actions = await janitor.service.purge_files()
        return sorted((a.subject, a.bytes_freed) for a in actions)

    assert await purge() == sorted([(str(doomed), 100), (str(down), 100)])
    assert flags(settings) == {doomed: False, down: False, restored: True}
    assert queued(settings) == set()
    assert await purge() == []

    # A late thumbnail of the deleted file: queued again, purged again.
    await objects.put_bytes(thumbnails, f"{doomed}/late.webp", b"t" * 7)
    await projection.publish(events.thumbnails(doomed, [f"{doomed}/late.webp"]))
    await projected(8)
    assert flags(settings)[doomed] is True
    assert queued(settings) == {doomed}
    assert await purge() == [(str(doomed), 7)]
    assert flags(settings)[doomed] is False

    # The same key announced again after its purge (new bytes there): queued again.
    await objects.put_bytes(thumbnails, f"{doomed}/late.webp", b"t" * 9)
    await projection.publish(events.thumbnails(doomed, [f"{doomed}/late.webp"]))
    await projected(9)
    assert queued(settings) == {doomed}
    assert await purge() == [(str(doomed), 9)]
    assert queued(settings) == set()
    assert flags(settings) == {doomed: False, down: False, restored: True}


# -- a purge and the projection at once ----------------------------------------------------


def doom(file_id: uuid.UUID, keys: list[str], bucket: str) -> BatchChanges:
    return BatchChanges(
        files=[FileChange(file_id=file_id, updated_at=AT, doomed_by="deleted", doomed_at=AT)],
        objects=[announce(file_id, key, bucket) for key in keys],
        doomed=True,
    )


def announce(file_id: uuid.UUID, key: str, bucket: str) -> ObjectChange:
    return ObjectChange(file_id=file_id, bucket=bucket, key=key, is_prefix=False, kind="thumbnail")


def again(file_id: uuid.UUID, key: str, bucket: str) -> BatchChanges:
    """A batch announcing an object of an existing file (as the projection folds it)."""
    return BatchChanges(
        files=[FileChange(file_id=file_id, updated_at=AT)],
        objects=[announce(file_id, key, bucket)],
        with_objects=[file_id],
    )


async def waiting_on_a_lock(observer: Conn, conn: Conn) -> bool:
    cursor = await observer.execute(
        "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s",
        (conn.info.backend_pid,),
    )
    row = await cursor.fetchone()
    return bool(row and row[0])


async def purged_once(conn: Conn, file_id: uuid.UUID) -> list[ObjectRow]:
    """A purge's claim and reads, its transaction left open."""
    claimed = await projections.doomed_files(conn, now=AT, limit=1, claim=True)
    assert [row.file_id for row in claimed] == [file_id]
    return await projections.pending_objects(conn, file_id)


@pytest.mark.parametrize("first", ["projection", "purge"])
async def test_an_object_announced_while_a_purge_ends_keeps_the_file_queued(
    settings: JanitorSettings, first: str
) -> None:
    """The projection announces again a key purged before (no foreign key check, so no
    lock but the projection's own) while a purge of the file's other objects ends: whichever
    reaches the file row first, the flag stays set."""
    file_id, bucket = uuid.uuid4(), settings.thumbnails_bucket
    url = settings.database_url
    async with (
        await psycopg.AsyncConnection.connect(url) as purger,
        await psycopg.AsyncConnection.connect(url) as writer,
        await psycopg.AsyncConnection.connect(url, autocommit=True) as observer,
    ):
        await projections.apply(writer, doom(file_id, ["a.webp", "b.webp"], bucket))
        await writer.commit()
        await projections.mark_purged(
            purger, file_id, [ObjectRow(bucket=bucket, key="a.webp", is_prefix=False)], AT
        )
        await purger.commit()
        pending = await purged_once(purger, file_id)
        assert [row.key for row in pending] == ["b.webp"]

        if first == "projection":
            await projections.apply(writer, again(file_id, "a.webp", bucket))
            ending = asyncio.create_task(projections.mark_purged(purger, file_id, pending, AT))
            await eventually(lambda: waiting_on_a_lock(observer, purger))
            await writer.commit()
            await ending
            await purger.commit()
        else:
            await projections.mark_purged(purger, file_id, pending, AT)
            writing = asyncio.create_task(
                projections.apply(writer, again(file_id, "a.webp", bucket))
            )
            await eventually(lambda: waiting_on_a_lock(observer, writer))
            await purger.commit()
            await writing
            await writer.commit()

    assert flags(settings) == {file_id: True}
    assert queued(settings) == {file_id}
