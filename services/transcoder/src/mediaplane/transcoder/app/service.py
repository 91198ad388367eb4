"""The transcoder's command handlers: job row + event append in ONE transaction.

Every outcome is written only while the caller still holds the job's lease,
so a worker that lost its job (lease expired, taken over) records nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import psycopg

from mediaplane.contracts import (
    ChunkRung,
    ChunkSpan,
    Event,
    EventContext,
    Mp4Rendition,
    ReadyPlaylist,
    Rendition,
    VideoSource,
    Waveform,
    new_event_id,
    utc_now,
)
from mediaplane.domain import CommandContext
from mediaplane.eventlog import EventStore, InlineProjection, Pool, handle
from mediaplane.transcoder.adapters import generations, jobs
from mediaplane.transcoder.domain import job as decider
from mediaplane.transcoder.domain.owners import OwnerLimit
from mediaplane.transcoder.domain.retirement import Retirement

Conn = psycopg.AsyncConnection[Any]
_RETRIES = 4  # five attempts in all


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
        retirement: Retirement | None = None,
        clock: Callable[[], datetime] = utc_now,
    ):
        self.pool = pool
        self.store = store
        self.worker_id = worker_id
        self.lease_seconds = lease_seconds
        self.owner_limit = owner_limit
        self.retirement = retirement if retirement is not None else Retirement()
        self.clock = clock

    async def claim(
        self,
        *,
        file_id: uuid.UUID,
        sha256: str,
        event_id: uuid.UUID,
        owner: str,
        request_id: uuid.UUID = jobs.VERIFIED_JOB,
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
                request_id=request_id,
            )

    async def renew(self, job_id: uuid.UUID) -> bool:
        async with self.pool.connection() as conn:
            return await jobs.renew(
                conn, job_id=job_id, worker=self.worker_id, lease_seconds=self.lease_seconds
            )

    async def release(self, job_id: uuid.UUID) -> None:
        async with self.pool.connection() as conn:
            await jobs.release(conn, job_id=job_id, worker=self.worker_id)

    async def _record(
        self,
        job_id: uuid.UUID,
        command: decider.Command,
        inline: InlineProjection | None = None,
    ) -> list[Event]:
        """Decide `command` on the job's stream while this worker holds the job's lease."""

        async def lease_held(conn: Conn) -> None:
            if not await jobs.lock_held(conn, job_id=job_id, worker=self.worker_id):
                raise LeaseLost(f"job {job_id} is no longer held by {self.worker_id}")

        handled = await handle(
            self.store,
            decider.transcode_stream(command.file_id),
            decider.DECIDER,
            command,
            retries=_RETRIES,
            before=lease_held,
            inline=inline,
        )
        return handled.events

    async def _record_chunk(
        self, command: decider.ReportChunkDone | decider.ReportChunkFailed
    ) -> list[Event]:
        """A chunk's outcome needs no lease (any replica encodes chunks): the decider records
        it only while its job runs, once per chunk."""
        handled = await handle(
            self.store,
            decider.transcode_stream(command.file_id),
            decider.DECIDER,
            command,
            retries=_RETRIES,
        )
        return handled.events

    async def job_state(self, file_id: uuid.UUID) -> tuple[decider.Job, list[Event]]:
        """The job's stream folded, and its events (what a chunk or its coordinator reads)."""
        loaded = await self.store.load(decider.transcode_stream(file_id))
        return decider.DECIDER.fold(loaded.events), loaded.events

    def _context(self, cause: EventContext) -> CommandContext:
        return CommandContext(now=self.clock(), cause=cause)

    async def record_started(
        self,
        *,
        job_id: uuid.UUID,
        file_id: uuid.UUID,
        source: VideoSource,
        ladder: Sequence[str],
        context: EventContext,
        kind: str = "video",
        chunks: Sequence[ChunkSpan] = (),
        chunk_source: decider.ChunkSource | None = None,
    ) -> list[Event]:
        command = decider.Start(
            file_id=file_id,
            job_id=job_id,
            source=source,
            ladder=ladder,
            context=self._context(context),
            kind=kind,
            chunks=chunks,
            chunk_source=chunk_source,
        )
        return await self._record(job_id, command)

    async def record_chunk_done(
        self,
        *,
        job_id: uuid.UUID,
        file_id: uuid.UUID,
        index: int,
        rungs: Sequence[ChunkRung],
        elapsed: float,
        context: EventContext,
    ) -> list[Event]:
        command = decider.ReportChunkDone(
            file_id=file_id,
            job_id=job_id,
            index=index,
            rungs=rungs,
            elapsed=elapsed,
            worker=self.worker_id,
            context=self._context(context),
        )
        return await self._record_chunk(command)

    async def record_chunk_failed(
        self,
        *,
        job_id: uuid.UUID,
        file_id: uuid.UUID,
        index: int,
        code: str,
        detail: str,
        attempts: int,
        context: EventContext,
    ) -> list[Event]:
        command = decider.ReportChunkFailed(
            file_id=file_id,
            job_id=job_id,
            index=index,
            code=code,
            detail=detail,
            attempts=attempts,
            context=self._context(context),
        )
        return await self._record_chunk(command)

    async def record_progress(
        self,
        *,
        job_id: uuid.UUID,
        file_id: uuid.UUID,
        percent: float,
        processed: float,
        context: EventContext,
    ) -> list[Event]:
        command = decider.ReportProgress(
            file_id=file_id,
            job_id=job_id,
            percent=percent,
            processed=processed,
            context=self._context(context),
        )
        return await self._record(job_id, command)

    async def record_segments(
        self,
        *,
        job_id: uuid.UUID,
        file_id: uuid.UUID,
        bucket: str,
        master_playlist_key: str,
        playlists: Sequence[ReadyPlaylist],
        ready: float,
        chunks_done: int,
        chunks_planned: int,
        ended: bool,
        context: EventContext,
    ) -> list[Event]:
        command = decider.ReportSegments(
            file_id=file_id,
            job_id=job_id,
            bucket=bucket,
            master_playlist_key=master_playlist_key,
            playlists=playlists,
            ready=ready,
            chunks_done=chunks_done,
            chunks_planned=chunks_planned,
            ended=ended,
            context=self._context(context),
        )
        return await self._record(job_id, command)

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
        kind: str = "video",
        mp4: Mp4Rendition | None = None,
        waveform: Waveform | None = None,
    ) -> list[Event]:
        """Record the completion; in the same transaction, the file's other generations are
        retired (the catalog serves this one from now on): deleted after the grace."""
        command_context = self._context(context)
        now = command_context.now

        async def finish(conn: Conn, _: Sequence[Event]) -> None:
            await jobs.finish(
                conn, job_id=job_id, status="completed", master_playlist_key=master_playlist_key
            )
            await generations.retire_others(
                conn,
                file_id=file_id,
                current=job_id,
                retired_at=now,
                delete_after=self.retirement.delete_after(now),
            )

        command = decider.Complete(
            file_id=file_id,
            job_id=job_id,
            bucket=bucket,
            master_playlist_key=master_playlist_key,
            renditions=renditions,
            duration=duration,
            elapsed=elapsed,
            context=command_context,
            kind=kind,
            mp4=mp4,
            waveform=waveform,
        )
        return await self._record(job_id, command, finish)

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
        async def finish(conn: Conn, _: Sequence[Event]) -> None:
            await jobs.finish(conn, job_id=job_id, status="failed", failure=(code, detail))

        command = decider.Fail(
            file_id=file_id,
            job_id=job_id,
            code=code,
            detail=detail,
            attempts=attempts,
            context=self._context(context),
        )
        return await self._record(job_id, command, finish)
