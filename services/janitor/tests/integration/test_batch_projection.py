"""The set-based projection of a batch against the per-event one it replaced (the oracle).

Random scenarios (few keys, so batches repeat them; every kind of event the janitor
projects; shuffled orders, ties of occurred_at, redeliveries, objects in buckets it
does not manage, sweeps between batches) are applied both ways to the same empty
database; the tables and the purge flag must be the same after every batch.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import psycopg
import pytest

from mediaplane.contracts import (
    REGISTRY,
    Event,
    FileDeleted,
    FileRejected,
    FileRestored,
    FileTakenDown,
    FileUploadedV2,
    FileVerified,
    ThumbnailGenerated,
    TranscodeCompleted,
    UploadSessionAborted,
    UploadSessionCompleted,
    UploadSessionOpened,
)
from mediaplane.janitor.adapters import projections
from mediaplane.janitor.app.bootstrap import open_resources
from mediaplane.janitor.config import JanitorSettings
from mediaplane.janitor.domain import objects

pytestmark = pytest.mark.integration

Conn = psycopg.AsyncConnection[Any]
BASE = datetime(2026, 1, 1, tzinfo=UTC)
NOW = BASE + timedelta(days=1)
SCENARIOS = 40

# -- the oracle: the projection as it was, one event at a time -----------------------------


async def _ensure_file(conn: Conn, file_id: uuid.UUID, at: datetime) -> None:
    await conn.execute(
        "INSERT INTO janitor_files (file_id, updated_at) VALUES (%s, %s)"
        " ON CONFLICT (file_id) DO NOTHING",
        (file_id, at),
    )


async def _add_objects(
    conn: Conn, file_id: uuid.UUID, at: datetime, refs: list[Any], buckets: frozenset[str]
) -> uuid.UUID | None:
    kept = objects.managed(refs, buckets)
    if not kept:
        return None
    await _ensure_file(conn, file_id, at)
    for r in kept:
        await conn.execute(
            "INSERT INTO janitor_file_objects (file_id, bucket, key, is_prefix, kind)"
            " VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (file_id, bucket, key) DO UPDATE SET purged_at = NULL",
            (file_id, r.bucket, r.key, r.is_prefix, r.kind),
        )
    await conn.execute(
        "UPDATE janitor_files SET objects_pending = true WHERE file_id = %s", (file_id,)
    )
    return file_id


async def _apply_one(conn: Conn, event: Event, buckets: frozenset[str]) -> Any:
    if isinstance(event, UploadSessionOpened):
        await conn.execute(
            "INSERT INTO janitor_sessions (session_id, file_id, status, mode, bucket, object_key,"
            " upload_id, expires_at, correlation_id, opened_event_id, updated_at)"
            " VALUES (%s, %s, 'open', %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (session_id) DO UPDATE SET mode = excluded.mode,"
            " bucket = excluded.bucket, object_key = excluded.object_key,"
            " upload_id = excluded.upload_id, expires_at = excluded.expires_at,"
            " correlation_id = excluded.correlation_id, opened_event_id = excluded.opened_event_id",
            (
                event.session_id,
                event.file_id,
                event.mode,
                event.bucket,
                event.object_key,
                event.upload_id,
                event.expires_at,
                event.correlation_id,
                event.event_id,
                event.occurred_at,
            ),
        )
    elif isinstance(event, UploadSessionCompleted | UploadSessionAborted):
        status = "completed" if isinstance(event, UploadSessionCompleted) else "aborted"
        await conn.execute(
            "INSERT INTO janitor_sessions (session_id, file_id, status, updated_at)"
            " VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (session_id) DO UPDATE SET status = excluded.status,"
            " updated_at = excluded.updated_at WHERE janitor_sessions.status = 'open'",
            (event.session_id, event.file_id, status, event.occurred_at),
        )
    elif isinstance(event, FileDeleted | FileRejected):
        await conn.execute(
            "INSERT INTO janitor_files (file_id, doomed_by, doomed_at, correlation_id,"
            " doom_event_id, updated_at) VALUES (%s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (file_id) DO UPDATE SET doomed_by = excluded.doomed_by,"
            " doomed_at = excluded.doomed_at, correlation_id = excluded.correlation_id,"
            " doom_event_id = excluded.doom_event_id, updated_at = excluded.updated_at"
            " WHERE janitor_files.doomed_at IS NULL",
            (
                event.file_id,
                "deleted" if isinstance(event, FileDeleted) else "rejected",
                event.occurred_at,
                event.correlation_id,
                event.event_id,
                event.occurred_at,
            ),
        )
        return "doomed"
    elif isinstance(event, FileTakenDown | FileRestored):
        await _ensure_file(conn, event.file_id, event.occurred_at)
        await conn.execute(
            "UPDATE janitor_files SET taken_down_at = %(taken_down_at)s, moderated_at = %(at)s,"
            " moderation_event_id = %(event_id)s, moderation_correlation_id = %(correlation_id)s"
            " WHERE file_id = %(file_id)s AND (moderated_at IS NULL"
            " OR (moderated_at, moderation_event_id) < (%(at)s, %(event_id)s))",
            {
                "file_id": event.file_id,
                "taken_down_at": event.occurred_at if isinstance(event, FileTakenDown) else None,
                "at": event.occurred_at,
                "event_id": event.event_id,
                "correlation_id": event.correlation_id,
            },
        )
    elif isinstance(event, FileVerified):
        await _ensure_file(conn, event.file_id, event.occurred_at)
        await conn.execute(
            "UPDATE janitor_files SET verified_at = %s WHERE file_id = %s AND verified_at IS NULL",
            (event.occurred_at, event.file_id),
        )
    elif isinstance(event, FileUploadedV2):
        refs = objects.original_of(event)
        return await _add_objects(conn, event.file_id, event.occurred_at, refs, buckets)
    elif isinstance(event, TranscodeCompleted):
        refs = objects.renditions_of(event)
        return await _add_objects(conn, event.file_id, event.occurred_at, refs, buckets)
    elif isinstance(event, ThumbnailGenerated):
        refs = objects.thumbnails_of(event)
        return await _add_objects(conn, event.file_id, event.occurred_at, refs, buckets)
    return None


async def project_one_by_one(conn: Conn, events: list[Event], buckets: frozenset[str]) -> bool:
    async with conn.transaction():
        first = await projections.first_deliveries(conn, events)
        purge_work = False
        with_objects: list[uuid.UUID] = []
        for event in events:
            if event.event_id not in first:
                continue
            first.discard(event.event_id)
            effect = await _apply_one(conn, event, buckets)
            if effect == "doomed":
                purge_work = True
            elif effect is not None:
                with_objects.append(effect)
        return purge_work or await projections.any_doomed(conn, with_objects)


# -- scenarios -----------------------------------------------------------------------------


def as_consumed(event: Event) -> Event:
    return REGISTRY.from_builtins(REGISTRY.to_builtins(event))


class Scenario:
    """A few files and sessions, and events about them drawn at random."""

    def __init__(self, rng: random.Random, events: Any, settings: JanitorSettings) -> None:
        self.rng = rng
        self.make = events
        self.settings = settings
        self.files = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(4)]
        self.sessions = [
            events.opened(
                mode=rng.choice(["single", "multipart"]),
                expires_at=BASE,
                session_id=uuid.UUID(int=rng.getrandbits(128), version=4),
                file_id=rng.choice(self.files),
            )
            for _ in range(4)
        ]
        self.sent: list[Event] = []

    def at(self) -> datetime:
        return BASE + timedelta(seconds=self.rng.randrange(5))  # few values: ties

    def timed(self, event: Event) -> Event:
        return msgspec.structs.replace(event, occurred_at=self.at())

    def bucket(self, managed: str) -> str:
        return managed if self.rng.random() < 0.85 else "someone-elses"

    def event(self) -> Event:
        rng, make = self.rng, self.make
        if self.sent and rng.random() < 0.08:
            return rng.choice(self.sent)  # a redelivery
        opened = rng.choice(self.sessions)
        file_id = rng.choice(self.files)
        kind = rng.randrange(13)
        event: Event
        if kind == 0:
            event = msgspec.structs.replace(
                opened,
                event_id=uuid.uuid4(),
                upload_id=rng.choice([None, "upload-1", "upload-2"]),
                expires_at=self.at(),
                correlation_id=rng.choice(["c1", "c2"]),
            )
        elif kind == 1:
            event = make.completed(opened)
        elif kind == 2:
            event = make.aborted(opened)
        elif kind == 3:
            event = make.uploaded_v2(opened, f"alice/{opened.file_id}/original")
        elif kind == 4:
            event = as_consumed(make.uploaded(file_id, f"alice/{file_id}"))
        elif kind == 5:
            event = make.verified(file_id, f"alice/{file_id}")
        elif kind == 6:
            folder = rng.choice([f"{file_id}/hls", f"hls/{file_id}", "hls/shared"])
            event = make.transcoded(file_id, folder=folder)
            event = msgspec.structs.replace(
                event, bucket=self.bucket(self.settings.renditions_bucket)
            )
        elif kind == 7:
            keys = rng.sample([f"{file_id}/{n}.webp" for n in "abc"], rng.randrange(1, 4))
            event = make.thumbnails(file_id, keys)
            event = msgspec.structs.replace(
                event, bucket=self.bucket(self.settings.thumbnails_bucket)
            )
        elif kind == 8:
            event = make.deleted(file_id)
        elif kind == 9:
            event = make.rejected(file_id)
        else:
            event = make.moderated(file_id, taken_down=kind % 2 == 0)
        event = self.timed(event)
        self.sent.append(event)
        return event

    def steps(self) -> list[list[Event] | tuple[str, uuid.UUID]]:
        """Batches (1 to 40 events), and sweeps' marks between them."""
        steps: list[list[Event] | tuple[str, uuid.UUID]] = []
        for _ in range(self.rng.randrange(2, 8)):
            steps.append([self.event() for _ in range(self.rng.randrange(1, 41))])
            if self.rng.random() < 0.5:
                steps.append(("expire", self.rng.choice(self.sessions).session_id))
            if self.rng.random() < 0.5:
                steps.append(("purge", self.rng.choice(self.files)))
        return steps


async def sweep(conn: Conn, mark: tuple[str, uuid.UUID]) -> None:
    """What the expiry and purge sweeps write, so batches also meet rows they changed."""
    what, key = mark
    if what == "expire":
        await conn.execute(
            "UPDATE janitor_sessions SET status = 'expired', updated_at = %s"
            " WHERE session_id = %s AND status = 'open'",
            (NOW, key),
        )
    else:
        await conn.execute(
            "UPDATE janitor_file_objects SET purged_at = %s WHERE file_id = %s", (NOW, key)
        )
        await conn.execute(
            "UPDATE janitor_files SET objects_pending = false WHERE file_id = %s", (key,)
        )
    await conn.commit()


async def snapshot(conn: Conn) -> list[list[tuple[Any, ...]]]:
    queries = [
        "SELECT * FROM janitor_sessions ORDER BY session_id",
        "SELECT * FROM janitor_files ORDER BY file_id",
        "SELECT * FROM janitor_file_objects ORDER BY file_id, bucket, key",
        "SELECT event_id, type FROM janitor_processed_events ORDER BY event_id",
    ]
    tables = [await (await conn.execute(query)).fetchall() for query in queries]
    # The purge queue's flag says exactly which files have objects not purged yet.
    wrong = await conn.execute(
        "SELECT file_id FROM janitor_files f WHERE objects_pending <> EXISTS (SELECT 1"
        " FROM janitor_file_objects o WHERE o.file_id = f.file_id AND o.purged_at IS NULL)"
    )
    assert await wrong.fetchall() == []
    await conn.commit()
    return tables


async def test_a_batch_projected_set_based_equals_the_events_applied_one_by_one(
    settings: JanitorSettings, make_janitor: Any, events: Any
) -> None:
    buckets = settings.managed_buckets
    seen = {"sessions": 0, "doomed": 0, "taken_down": 0, "purged": 0, "purge_work": 0}
    async with (
        make_janitor() as janitor,
        await psycopg.AsyncConnection.connect(settings.database_url) as conn,
    ):
        for seed in range(SCENARIOS):
            steps = Scenario(random.Random(seed), events, settings).steps()
            runs = []
            for set_based in (False, True):
                await conn.execute(
                    "TRUNCATE janitor_processed_events, janitor_file_objects, janitor_files,"
                    " janitor_sessions"
                )
                await conn.commit()
                after_each: list[Any] = []
                for step in steps:
                    if isinstance(step, tuple):
                        await sweep(conn, step)
                        continue
                    if set_based:
                        purge_work = await janitor.service.project_batch(step)
                    else:
                        purge_work = await project_one_by_one(conn, step, buckets)
                    after_each.append((purge_work, await snapshot(conn)))
                runs.append(after_each)
            assert runs[1] == runs[0], f"scenario {seed}"
            sessions, files, file_objects, _ = runs[0][-1][1]
            seen["sessions"] += len(sessions)
            seen["doomed"] += sum(1 for row in files if row[2] is not None)
            seen["taken_down"] += sum(1 for row in files if row[-5] is not None)
            seen["purged"] += sum(1 for row in file_objects if row[-1] is not None)
            seen["purge_work"] += sum(1 for purge_work, _ in runs[0] if purge_work)
    # The scenarios met every rule, not only empty tables.
    assert all(count > 0 for count in seen.values()), seen


async def test_statements_picking_rows_by_an_array_of_keys_are_never_prepared(
    settings: JanitorSettings, events: Any
) -> None:
    """A plan Postgres cached while janitor_files was small would scan it whole once it has
    grown (docs/service-conventions.md, "Array keys"): those statements are planned per batch."""
    async with open_resources(settings, pool_size=1) as janitor:  # one connection: its statements
        for seed in range(4):
            for step in Scenario(random.Random(seed), events, settings).steps():
                if not isinstance(step, tuple):  # the batches, not the sweeps between them
                    await janitor.service.project_batch(step)
        async with janitor.service.pool.connection() as conn:
            cursor = await conn.execute("SELECT statement FROM pg_prepared_statements")
            prepared = [" ".join(row[0].split()) for row in await cursor.fetchall()]

    # psycopg prepared the statements the batches repeated (five runs and more) ...
    assert any(s.startswith("INSERT INTO janitor_files") for s in prepared), prepared
    # ... except those that pick existing rows by an array of keys.
    picking = [s for s in prepared if s.startswith(("SELECT", "UPDATE", "DELETE", "WITH"))]
    assert [s for s in picking if "ANY(" in s or "unnest(" in s] == []
