"""The transcoder's command handlers: job row + event append in ONE transaction.

Every outcome is written only while the caller still holds the job's lease,
so a worker that lost its job (lease expired, taken over) records nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import psycopg
import structlog

from mediaplane.contracts import Event, EventContext, Rendition, VideoSource, new_event_id
from mediaplane.eventlog.database import Pool
from mediaplane.eventlog.errors import ConcurrencyError
from mediaplane.eventlog.store import EventStore
from mediaplane.transcoder.adapters import jobs
from mediaplane.transcoder.domain import job as decider
from mediaplane.transcoder.domain.owners import OwnerLimit

T = TypeVar("T")
Conn = psycopg.AsyncConnection[Any]
_log = structlog.get_logger(__name__)
_RETRIES = 5


class LeaseLost(Exception):
    """Another worker took the job over (this one was presumed dead)."""


class TranscodeService:
    def __init__(
        self,
        *,
        pool: Pool,
        store: EventStore,
        worker_id: str,
        lease_seconds: float,
        owner_limit: OwnerLimit,
    ):
        self.pool = pool
        self.store = store
        self.worker_id = worker_id
        self.lease_seconds = lease_seconds
        self.owner_limit = owner_limit

    async def _transact(self, work: Callable[[Conn], Awaitable[T]]) -> T:
        """Run `work` in a transaction, again from the start when the stream moved underneath."""
        for attempt in range(1, _RETRIES + 1):
            try:
                async with self.pool.connection() as conn, conn.transaction():
                    return await work(conn)
            except ConcurrencyError as error:
                if attempt == _RETRIES:
                    raise
                _log.info("append.conflict", stream_id=error.stream_id, attempt=attempt)
        raise AssertionError("unreachable")

    async def claim(
        self, *, file_id: uuid.UUID, sha256: str, event_id: uuid.UUID, owner: str
    ) -> jobs.Claimed | jobs.NotClaimed:
        async with self.pool.connection() as conn:
            return await jobs.claim(
                conn,
                file_id=file_id,
                sha256=sha256,
                event_id=event_id,
                owner=owner,
                owner_limit=self.owner_limit,
                worker=self.worker_id,
                lease_seconds=self.lease_seconds,
                new_job_id=new_event_id(),
            )

    async def renew(self, job_id: uuid.UUID) -> bool:
        async with self.pool.connection() as conn:
            return await jobs.renew(
                conn, job_id=job_id, worker=self.worker_id, lease_seconds=self.lease_seconds
            )

    async def release(self, job_id: uuid.UUID) -> None:
        async with self.pool.connection() as conn:
            await jobs.release(conn, job_id=job_id, worker=self.worker_id)

    async def _decide(
        self,
        conn: Conn,
        job_id: uuid.UUID,
        file_id: uuid.UUID,
        decide: Callable[[decider.Job], list[Event]],
    ) -> list[Event]:
        if not await jobs.lock_held(conn, job_id=job_id, worker=self.worker_id):
            raise LeaseLost(f"job {job_id} is no longer held by {self.worker_id}")
        stream_id = decider.transcode_stream(file_id)
        loaded = await self.store.load(stream_id, conn=conn)
        state = decider.Job()
        for event in loaded.events:
            state = decider.evolve(state, event)
        events = decide(state)
        if events:
            await self.store.append(stream_id, loaded.version, events, conn=conn)
        return events

    async def record_started(
        self,
        *,
        job_id: uuid.UUID,
        file_id: uuid.UUID,
        source: VideoSource,
        ladder: Sequence[str],
        context: EventContext,
    ) -> list[Event]:
        async def work(conn: Conn) -> list[Event]:
            return await self._decide(
                conn,
                job_id,
                file_id,
                lambda state: decider.start(
                    state,
                    file_id=file_id,
                    job_id=job_id,
                    source=source,
                    ladder=ladder,
                    context=context,
                ),
            )

        return await self._transact(work)

    async def record_completed(
        self,
        *,
        job_id: uuid.UUID,
        file_id: uuid.UUID,
        bucket: str,
        master_playlist_key: str,
        renditions: Sequence[Rendition],
        duration: float,
        elapsed: float,
        context: EventContext,
    ) -> list[Event]:
        async def work(conn: Conn) -> list[Event]:
            events = await self._decide(
                conn,
                job_id,
                file_id,
                lambda state: decider.complete(
                    state,
                    file_id=file_id,
                    job_id=job_id,
                    bucket=bucket,
                    master_playlist_key=master_playlist_key,
                    renditions=renditions,
                    duration=duration,
                    elapsed=elapsed,
                    context=context,
                ),
            )
            await jobs.finish(
                conn, job_id=job_id, status="completed", master_playlist_key=master_playlist_key
            )
            return events

        return await self._transact(work)

    async def record_failed(
        self,
        *,
        job_id: uuid.UUID,
        file_id: uuid.UUID,
        code: str,
        detail: str,
        attempts: int,
        context: EventContext,
    ) -> list[Event]:
        async def work(conn: Conn) -> list[Event]:
            events = await self._decide(
                conn,
                job_id,
                file_id,
                lambda state: decider.fail(
                    state,
                    file_id=file_id,
                    job_id=job_id,
                    code=code,
                    detail=detail,
                    attempts=attempts,
                    context=context,
                ),
            )
            await jobs.finish(conn, job_id=job_id, status="failed", failure=(code, detail))
            return events

        return await self._transact(work)
