"""The janitor's sweeps and its projection updates.

Every cleanup is one transaction: claim the row (FOR UPDATE SKIP LOCKED, or
the orphan's primary key), act on S3, append the janitor event (outbox
included) and mark the row done. A crash before the commit leaves the row
unclaimed and the next sweep repeats the S3 calls, which are idempotent; a
second janitor skips rows the first one holds and finds them done after its
commit, so each cleanup is recorded once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import psycopg
import structlog

from mediaplane.contracts import Event, EventContext, new_event_id, utc_now
from mediaplane.domain import CommandContext
from mediaplane.eventlog import ConcurrencyError, EventStore, Pool, handle
from mediaplane.janitor.adapters import projections
from mediaplane.janitor.adapters.metrics import JanitorMetrics
from mediaplane.janitor.adapters.projections import FileRow, ObjectRow, SessionRow
from mediaplane.janitor.config import SERVICE, JanitorSettings
from mediaplane.janitor.domain import actions, batch
from mediaplane.janitor.domain.actions import (
    RECORDER,
    Action,
    AlreadyRecorded,
    Record,
    StoredObject,
)
from mediaplane.janitor.domain.policy import ProjectionProgress, sweep_cutoff
from mediaplane.storage import (
    InProgressUpload,
    ObjectNotFound,
    ObjectStore,
    StorageError,
    StorageUnavailable,
    UploadNotFound,
)

Conn = psycopg.AsyncConnection[Any]
Progress = Callable[[], Awaitable[ProjectionProgress]]
SessionQuery = Callable[..., Awaitable[list[SessionRow]]]
# One session's work in its claim's transaction (dry run: plan only, write nothing).
SessionStep = Callable[["Conn", SessionRow, bool], Awaitable[Action]]
_log = structlog.get_logger(__name__)

# Failures of one row: it is deferred and the sweep goes on. StorageUnavailable
# (S3 down) is not among them: it would fail every row, so the sweep stops.
_ROW_FAILURES = (StorageError, ConcurrencyError, AlreadyRecorded)


def _is_row_failure(error: Exception) -> bool:
    return isinstance(error, _ROW_FAILURES) and not isinstance(error, StorageUnavailable)


class JanitorService:
    def __init__(
        self,
        *,
        pool: Pool,
        store: EventStore,
        objects: ObjectStore,
        settings: JanitorSettings,
        progress: Progress,
        metrics: JanitorMetrics,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.pool = pool
        self.store = store
        self.objects = objects
        self.settings = settings
        self.progress = progress
        self.metrics = metrics
        self.clock = clock

    # -- projection ----------------------------------------------------------------------------

    async def project(self, event: Event) -> bool:
        """Apply a consumed event once; True when the purge sweep may have work now."""
        return await self.project_batch([event])

    async def project_batch(self, events: Sequence[Event]) -> bool:
        """Apply consumed events once each, in order, in one transaction (one commit, one
        WAL flush for the batch) sent as one pipeline (no statement waits for the one
        before), a constant number of statements whatever the batch holds; True when the
        purge sweep may have work now."""
        applied: list[Event] = []
        async with self.pool.connection() as conn, conn.pipeline(), conn.transaction():
            first = await projections.first_deliveries(conn, events)
            for event in events:
                if event.event_id in first:
                    first.discard(event.event_id)  # the same event twice in a batch: once
                    applied.append(event)
            changes = batch.fold(applied, self.settings.managed_buckets)
            for unmanaged in changes.unmanaged:
                _log.warning(
                    "projection.unmanaged_bucket",
                    file_id=str(unmanaged.file_id),
                    buckets=unmanaged.buckets,
                )
            await projections.apply(conn, changes)
            purge_work = changes.doomed or await projections.any_doomed(conn, changes.with_objects)
        for event in applied:
            self.metrics.projected.labels(event.tag()).inc()
        return purge_work

    # -- sweeps --------------------------------------------------------------------------------

    async def sweep(self, *, dry_run: bool = False) -> list[Action]:
        """One round of every sweep: expiry, reconciliation, purge."""
        return [
            *await self.expire_sessions(dry_run=dry_run),
            *await self.remove_orphans(dry_run=dry_run),
            *await self.purge_files(dry_run=dry_run),
        ]

    async def _cutoff(self, sweep: str, grace: timedelta) -> datetime | None:
        progress = await self.progress()
        now = self.clock()
        behind = now - progress.behind_since if progress.behind_since is not None else None
        self.metrics.projection_lag.set(max(behind.total_seconds(), 0.0) if behind else 0.0)
        cutoff = sweep_cutoff(now, progress, grace)
        if cutoff is None:
            _log.warning("sweep.held_back", sweep=sweep, reason="projection consumer not started")
        return cutoff

    async def _record(self, conn: Conn, event: Event, *, once: bool = True) -> None:
        """Append the janitor event in the sweep's claim transaction (the one write path)."""
        await handle(
            self.store, event.stream_id, RECORDER, Record(event=event, once=once), conn=conn
        )

    def _context(self, cause: EventContext) -> CommandContext:
        return CommandContext(now=self.clock(), cause=cause)

    def _deferred(self, sweep: str, subject: str, error: Exception) -> None:
        self.metrics.failures.labels(sweep).inc()
        _log.warning("sweep.deferred", sweep=sweep, subject=subject, error=repr(error))

    # -- expiry --------------------------------------------------------------------------------

    async def expire_sessions(self, *, dry_run: bool = False) -> list[Action]:
        """Sessions still open `expiry_grace` after `expires_at`: abort or delete their bytes."""
        cutoff = await self._cutoff("expiry", self.settings.expiry_grace)
        if cutoff is None:
            return []
        return await self._sweep_sessions(
            "expiry",
            projections.expired_sessions,
            cutoff,
            self._expire_session,
            self._expired_report,
            dry_run=dry_run,
        )

    async def _expire_session(self, conn: Conn, row: SessionRow, dry_run: bool) -> Action:
        action = await self._release_session(row, dry_run=dry_run)
        if dry_run:
            return action
        event = actions.session_expired(
            action,
            session_id=row.session_id,
            file_id=row.file_id,
            context=self._context(_session_context(row)),
        )
        # Once: a session is expired once, whatever the projection says.
        await self._record(conn, event)
        await projections.mark_session_expired(conn, row.session_id, self.clock())
        return action

    def _expired_report(self, action: Action) -> None:
        self.metrics.sessions_expired.inc()
        self.metrics.objects_deleted.inc(len(action.objects))
        self.metrics.bytes_freed.labels("expiry").inc(action.bytes_freed)
        _log.info("session.expired", session_id=action.subject, bytes_freed=action.bytes_freed)

    async def _sweep_sessions(
        self,
        sweep: str,
        query: SessionQuery,
        cutoff: datetime,
        act: SessionStep,
        report: Callable[[Action], None],
        *,
        keep: Callable[[Action], bool] = lambda action: True,
        dry_run: bool,
    ) -> list[Action]:
        """Claim the sessions `query` finds one at a time and `act` on each in the claim's
        transaction; a row that fails is deferred (`retry_delay`), the others go on.
        The result holds the actions `keep` accepts; `report` counts each of them."""

        async def rows(conn: Conn, limit: int, claim: bool) -> list[SessionRow]:
            return await query(
                conn,
                cutoff=cutoff,
                now=self.clock(),
                bucket=self.settings.originals_bucket,
                limit=limit,
                claim=claim,
            )

        if dry_run:
            async with self.pool.connection() as conn:
                planned = [
                    await act(conn, row, True)
                    for row in await rows(conn, self.settings.batch_size, False)
                ]
            return [action for action in planned if keep(action)]
        done: list[Action] = []
        for _ in range(self.settings.batch_size):
            row: SessionRow | None = None
            async with self.pool.connection() as conn:
                try:
                    async with conn.transaction():
                        claimed = await rows(conn, 1, True)
                        if not claimed:
                            break
                        row = claimed[0]
                        action = await act(conn, row, False)
                except Exception as error:
                    if row is None or not _is_row_failure(error):
                        raise
                    await projections.defer_session(
                        conn, row, self.clock(), self.settings.retry_delay, repr(error)
                    )
                    self._deferred(sweep, str(row.session_id), error)
                    continue
            if keep(action):
                report(action)
                done.append(action)
        return done

    async def _release_session(self, row: SessionRow, *, dry_run: bool) -> Action:
        """Abort the session's multipart upload, or delete what its single PUT wrote.

        The object of a multipart session is never deleted: once assembled it
        belongs to a completion (maybe not announced yet), and an abort cannot
        touch it. A session whose upload or object is gone already frees nothing.
        """
        subject = str(row.session_id)
        if row.mode == "multipart":
            if row.upload_id is None:
                return Action(kind="expire_session", subject=subject, dry_run=dry_run)
            try:
                parts = await self.objects.list_parts(row.bucket, row.object_key, row.upload_id)
            except UploadNotFound:
                return Action(kind="expire_session", subject=subject, dry_run=dry_run)
            if not dry_run:
                await self.objects.abort_multipart_upload(row.bucket, row.object_key, row.upload_id)
            size = sum(part.size or 0 for part in parts)
            upload = StoredObject(bucket=row.bucket, key=row.object_key, size=size)
            return Action(kind="expire_session", subject=subject, dry_run=dry_run, upload=upload)
        try:
            info = await self.objects.stat(row.bucket, row.object_key)
        except ObjectNotFound:
            return Action(kind="expire_session", subject=subject, dry_run=dry_run)
        if not dry_run:
            await self.objects.delete(row.bucket, row.object_key)
        stored = StoredObject(bucket=row.bucket, key=row.object_key, size=info.size)
        return Action(kind="expire_session", subject=subject, dry_run=dry_run, objects=[stored])

    # -- reconciliation ------------------------------------------------------------------------

    async def remove_orphans(self, *, dry_run: bool = False) -> list[Action]:
        """Reconcile the originals bucket with what sessions announced: abort multipart
        uploads no session knows, and delete staging objects no session needs any more."""
        return [
            *await self._remove_unknown_uploads(dry_run=dry_run),
            *await self._remove_staging_leftovers(dry_run=dry_run),
        ]

    async def _remove_unknown_uploads(self, *, dry_run: bool) -> list[Action]:
        cutoff = await self._cutoff("reconcile", self.settings.orphan_grace)
        if cutoff is None:
            return []
        listed = await self.objects.list_multipart_uploads(self.settings.originals_bucket)
        # An upload without an initiation time cannot be proven old: left alone.
        old = [u for u in listed if u.initiated is not None and u.initiated < cutoff]
        if not old:
            return []
        async with self.pool.connection() as conn:
            known = await projections.known_upload_ids(conn, [u.upload_id for u in old])
        context = EventContext(producer=SERVICE, correlation_id=str(new_event_id()))
        done: list[Action] = []
        for upload in [u for u in old if u.upload_id not in known][: self.settings.batch_size]:
            try:
                action = await self._remove_orphan(upload, context, dry_run=dry_run)
            except Exception as error:
                if not _is_row_failure(error):
                    raise
                self._deferred("reconcile", upload.upload_id, error)
                continue
            if action is not None:
                done.append(action)
        return done

    async def _remove_orphan(
        self, upload: InProgressUpload, context: EventContext, *, dry_run: bool
    ) -> Action | None:
        bucket = self.settings.originals_bucket
        try:
            parts = await self.objects.list_parts(bucket, upload.key, upload.upload_id)
        except UploadNotFound:
            return None  # completed or aborted since the listing
        stored = StoredObject(bucket=bucket, key=upload.key, size=sum(p.size or 0 for p in parts))
        action = Action(
            kind="remove_orphan", subject=upload.upload_id, dry_run=dry_run, upload=stored
        )
        if dry_run:
            return action
        async with self.pool.connection() as conn, conn.transaction():
            # The projection may have read the upload's session since the listing.
            if await projections.known_upload_ids(conn, [upload.upload_id]):
                return None
            if not await projections.claim_orphan(
                conn, bucket, upload.upload_id, upload.key, self.clock()
            ):
                return None  # another janitor removed it
            await self.objects.abort_multipart_upload(bucket, upload.key, upload.upload_id)
            event = actions.orphan_removed(action, context=self._context(context))
            await self._record(conn, event)
        self.metrics.orphans_removed.inc()
        self.metrics.bytes_freed.labels("reconcile").inc(action.bytes_freed)
        _log.info("orphan.removed", upload_id=upload.upload_id, key=upload.key, size=stored.size)
        return action

    async def _remove_staging_leftovers(self, *, dry_run: bool) -> list[Action]:
        """Staging objects of ended sessions, `expiry_grace` after their URLs died.

        A client may PUT its staging key again (same length: the URL binds it)
        until the session's `expires_at`, also after the verifier deleted it.
        Those bytes are never served or counted; this removes them, once per
        session: after `expires_at` no URL can write the key again.
        """
        cutoff = await self._cutoff("reconcile", self.settings.expiry_grace)
        if cutoff is None:
            return []
        return await self._sweep_sessions(
            "reconcile",
            projections.unswept_staging,
            cutoff,
            self._remove_staging,
            self._staging_report,
            keep=lambda action: bool(action.objects),  # a key already gone freed nothing
            dry_run=dry_run,
        )

    async def _remove_staging(self, conn: Conn, row: SessionRow, dry_run: bool) -> Action:
        action = await self._sweep_staging(row, dry_run=dry_run)
        if dry_run:
            return action
        if action.objects:
            event = actions.staging_removed(action, context=self._context(_session_context(row)))
            # Once: a session's staging key is swept once.
            await self._record(conn, event)
        await projections.mark_staging_swept(conn, row.session_id, self.clock())
        return action

    def _staging_report(self, action: Action) -> None:
        self.metrics.orphans_removed.inc()
        self.metrics.objects_deleted.inc(len(action.objects))
        self.metrics.bytes_freed.labels("reconcile").inc(action.bytes_freed)
        _log.info("staging.removed", session_id=action.subject, bytes_freed=action.bytes_freed)

    async def _sweep_staging(self, row: SessionRow, *, dry_run: bool) -> Action:
        subject = str(row.session_id)
        try:
            info = await self.objects.stat(row.bucket, row.object_key)
        except ObjectNotFound:
            return Action(kind="remove_orphan", subject=subject, dry_run=dry_run)
        if not dry_run:
            await self.objects.delete(row.bucket, row.object_key)
        stored = StoredObject(bucket=row.bucket, key=row.object_key, size=info.size)
        return Action(kind="remove_orphan", subject=subject, dry_run=dry_run, objects=[stored])

    # -- purge ---------------------------------------------------------------------------------

    async def purge_files(self, *, dry_run: bool = False) -> list[Action]:
        """Delete every object of deleted or rejected files, also objects announced later, and
        of files taken down for longer than the takedown retention (judged like expiry:
        against where the projection is, so a restore not yet read cannot be missed)."""
        taken_down_before = await self._cutoff("purge", self.settings.takedown_retention)
        if dry_run:
            planned: list[Action] = []
            async with self.pool.connection() as conn:
                rows = await projections.doomed_files(
                    conn,
                    now=self.clock(),
                    limit=self.settings.batch_size,
                    claim=False,
                    taken_down_before=taken_down_before,
                )
                for row in rows:
                    pending = await projections.pending_objects(conn, row.file_id)
                    planned.append(await self._purge_objects(row, pending, dry_run=True))
            return planned
        done: list[Action] = []
        for _ in range(self.settings.batch_size):
            if not await self._purge_next(done, taken_down_before):
                break
        return done

    async def _purge_next(self, done: list[Action], taken_down_before: datetime | None) -> bool:
        """Purge one claimable file; False when none is left."""
        row: FileRow | None = None
        async with self.pool.connection() as conn:
            try:
                async with conn.transaction():
                    claimed = await projections.doomed_files(
                        conn,
                        now=self.clock(),
                        limit=1,
                        claim=True,
                        taken_down_before=taken_down_before,
                    )
                    if not claimed:
                        return False
                    row = claimed[0]
                    pending = await projections.pending_objects(conn, row.file_id)
                    if not pending:
                        # Purged by another janitor that committed while this claim
                        # waited: the claim re-checks the file row, but its EXISTS
                        # on the objects saw the older snapshot; this read is fresh.
                        return True
                    action = await self._purge_objects(row, pending, dry_run=False)
                    context = EventContext(
                        producer=SERVICE,
                        correlation_id=row.correlation_id or str(new_event_id()),
                        causation_id=str(row.doom_event_id) if row.doom_event_id else None,
                    )
                    event = actions.file_purged(
                        action, file_id=row.file_id, context=self._context(context)
                    )
                    # Not once: objects announced after a purge bring a later purge of the file.
                    await self._record(conn, event, once=False)
                    await projections.mark_purged(conn, row.file_id, pending, self.clock())
            except Exception as error:
                if row is None or not _is_row_failure(error):
                    raise
                await projections.defer_file(
                    conn, row, self.clock(), self.settings.retry_delay, repr(error)
                )
                self._deferred("purge", str(row.file_id), error)
                return True
        self.metrics.files_purged.inc()
        self.metrics.objects_deleted.inc(len(action.objects))
        self.metrics.bytes_freed.labels("purge").inc(action.bytes_freed)
        _log.info(
            "file.purged",
            file_id=action.subject,
            objects=len(action.objects),
            bytes_freed=action.bytes_freed,
        )
        done.append(action)
        return True

    async def _purge_objects(
        self, row: FileRow, pending: list[ObjectRow], *, dry_run: bool
    ) -> Action:
        """What is stored under the file's keys and prefixes (deleted unless `dry_run`)."""
        found: dict[tuple[str, str], StoredObject] = {}
        for ref in pending:
            if ref.is_prefix:
                for summary in await self.objects.list_objects(ref.bucket, ref.key):
                    found[ref.bucket, summary.key] = StoredObject(
                        bucket=ref.bucket, key=summary.key, size=summary.size
                    )
                continue
            try:
                info = await self.objects.stat(ref.bucket, ref.key)
            except ObjectNotFound:
                continue  # never written, or deleted already (the verifier drops rejected bytes)
            found[ref.bucket, ref.key] = StoredObject(
                bucket=ref.bucket, key=ref.key, size=info.size
            )
        stored = list(found.values())
        if not dry_run:
            for bucket in sorted({o.bucket for o in stored}):
                await self.objects.delete_many(
                    bucket, [o.key for o in stored if o.bucket == bucket]
                )
        return Action(kind="purge_file", subject=str(row.file_id), dry_run=dry_run, objects=stored)


def _session_context(row: SessionRow) -> EventContext:
    """What a sweep records about a session continues the session's correlation."""
    return EventContext(
        producer=SERVICE,
        correlation_id=row.correlation_id or str(new_event_id()),
        causation_id=str(row.opened_event_id) if row.opened_event_id else None,
    )
