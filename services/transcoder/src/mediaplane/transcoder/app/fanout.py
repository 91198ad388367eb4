"""Chunks of a long video fanned out over every replica.

The job records one `transcode.chunk_requested` per chunk with its plan
(one transaction: the outbox publishes them). Any replica takes a request
from the shared `transcoder-chunks` durable (`ChunkEncoder`): it reads the
verified original (SHA-256 checked), encodes the chunk's every rung exactly
as a local chunk (`app/chunked.encode_chunk`), uploads its segments and
records `transcode.chunk_done` with their names and durations, or
`transcode.chunk_failed` with the failure's code. The job's own worker reads
those events from the job's stream (`chunk_arrivals`), fetches each chunk's
segments into its scratch directory and stitches them like its own.

A replica that dies mid-chunk leaves its message unacknowledged: it comes
back after the consumer's ack wait, to any replica, and only that chunk is
encoded again. A chunk recorded twice (a redelivery that raced the first
attempt) records nothing the second time (the job decider).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path
from typing import Literal

import structlog

from mediaplane.contracts import (
    ChunkRung,
    ChunkSegment,
    ChunkSpan,
    EventContext,
    TranscodeChunkDone,
    TranscodeChunkFailed,
    TranscodeChunkRequested,
)
from mediaplane.storage import ObjectStore
from mediaplane.transcoder.adapters import ffprobe, source
from mediaplane.transcoder.adapters.workdir import job_directory
from mediaplane.transcoder.app.chunked import encode_chunk
from mediaplane.transcoder.app.metrics import TranscoderMetrics
from mediaplane.transcoder.app.service import TranscodeService
from mediaplane.transcoder.config import SERVICE, TranscoderSettings
from mediaplane.transcoder.domain.chunks import Chunk, PlaylistEntry
from mediaplane.transcoder.domain.errors import ChunkFailed, JobTimedOut, PermanentFailure

_log = structlog.get_logger(__name__)
_TRANSFERS_AT_ONCE = 8
_POLL_SECONDS = 0.5

ChunkOutcome = Literal["done", "failed", "skipped"]


def chunk_span(chunk: Chunk) -> ChunkSpan:
    return ChunkSpan(
        index=chunk.index,
        start=chunk.start,
        end=chunk.end,
        first_segment=chunk.first_segment,
        segments=chunk.segments,
    )


def chunk_of(span: ChunkSpan) -> Chunk:
    return Chunk(
        index=span.index,
        start=span.start,
        end=span.end,
        first_segment=span.first_segment,
        segments=span.segments,
    )


class ChunkEncoder:
    """One replica's side of the fan-out: encodes the chunks it is handed."""

    def __init__(
        self,
        *,
        service: TranscodeService,
        objects: ObjectStore,
        settings: TranscoderSettings,
        metrics: TranscoderMetrics,
    ) -> None:
        self.service = service
        self.objects = objects
        self.settings = settings
        self.metrics = metrics

    async def handle(
        self, event: TranscodeChunkRequested, *, attempt: int, last_attempt: bool
    ) -> ChunkOutcome:
        """Encode the chunk once. Raises to have the message redelivered."""
        index = event.chunk.index
        log = _log.bind(file_id=str(event.file_id), job_id=str(event.job_id), chunk=index)
        state, _ = await self.service.job_state(event.file_id)
        if (
            state.job_id != event.job_id
            or state.status != "started"
            or index in state.chunks_done | state.chunks_failed
        ):
            log.info("transcode.chunk_skipped", status=state.status)
            self.metrics.chunks.labels("skipped").inc()
            return "skipped"
        context = EventContext(producer=SERVICE, correlation_id=event.correlation_id).caused_by(
            event
        )
        started = time.monotonic()
        log.info("transcode.chunk_started", attempt=attempt)
        try:
            rungs = await self._encode(event)
        except PermanentFailure as failure:
            await self._fail(event, context, failure.code, failure.detail, attempt, log)
            return "failed"
        except Exception as error:  # transient: S3, Postgres, an ffmpeg crash
            if not last_attempt:
                log.warning("transcode.chunk_retry", error=f"{type(error).__name__}: {error}")
                self.metrics.chunks.labels("retried").inc()
                raise
            detail = f"{type(error).__name__}: {error}"
            await self._fail(event, context, "internal", detail, attempt, log)
            return "failed"
        elapsed = round(time.monotonic() - started, 3)
        await self.service.record_chunk_done(
            job_id=event.job_id,
            file_id=event.file_id,
            index=index,
            rungs=rungs,
            elapsed=elapsed,
            context=context,
        )
        self.metrics.chunks.labels("done").inc()
        log.info("transcode.chunk_done", elapsed=elapsed)
        return "done"

    async def _fail(
        self,
        event: TranscodeChunkRequested,
        context: EventContext,
        code: str,
        detail: str,
        attempt: int,
        log: structlog.stdlib.BoundLogger,
    ) -> None:
        await self.service.record_chunk_failed(
            job_id=event.job_id,
            file_id=event.file_id,
            index=event.chunk.index,
            code=code,
            detail=detail,
            attempts=attempt,
            context=context,
        )
        self.metrics.chunks.labels("failed").inc()
        log.warning("transcode.chunk_failed", code=code, detail=detail)

    async def _encode(self, event: TranscodeChunkRequested) -> list[ChunkRung]:
        settings = self.settings
        with job_directory(settings.work_dir) as scratch:
            source_path = scratch / "source"
            await source.download(
                self.objects, event.bucket, event.object_key, event.sha256, source_path
            )
            media = await ffprobe.probe(
                settings.ffprobe, source_path, event.media_type, settings.limits, settings.tools
            )
            out_dir = scratch / "hls"
            out_dir.mkdir()
            chunk = chunk_of(event.chunk)
            done = await encode_chunk(
                settings,
                media,
                source_path,
                out_dir,
                event.media_type,
                chunk,
                last=chunk.index == event.chunks_planned - 1,
            )
            limit = asyncio.Semaphore(_TRANSFERS_AT_ONCE)

            async def put(relative: str) -> None:
                async with limit:
                    await self.objects.upload_file(
                        settings.bucket,
                        f"{event.prefix}/{relative}",
                        out_dir / relative,
                        content_type="video/mp2t",
                    )

            async with asyncio.TaskGroup() as group:
                for name, entries in done.items():
                    for entry in entries:
                        group.create_task(put(f"{name}/{entry.uri}"))
        return [
            ChunkRung(
                name=name,
                segments=[ChunkSegment(uri=e.uri, duration=e.duration) for e in entries],
            )
            for name, entries in done.items()
        ]


async def recorded_chunks(
    service: TranscodeService, file_id: uuid.UUID, job_id: uuid.UUID
) -> list[Chunk]:
    """The chunks the job requested, as recorded (a retried attempt stitches those, even if
    this worker would plan them otherwise)."""
    _, events = await service.job_state(file_id)
    spans = [
        e.chunk for e in events if isinstance(e, TranscodeChunkRequested) and e.job_id == job_id
    ]
    return [chunk_of(span) for span in sorted(spans, key=lambda span: span.index)]


async def chunk_arrivals(
    *,
    service: TranscodeService,
    objects: ObjectStore,
    bucket: str,
    file_id: uuid.UUID,
    job_id: uuid.UUID,
    prefix: str,
    out_dir: Path,
    planned: int,
    budget: float,
    fetched: set[str],
) -> AsyncIterator[tuple[int, dict[str, list[PlaylistEntry]]]]:
    """The job's chunks as replicas record them done, in that order: each one's segments
    fetched into `out_dir/<rung>/` (their relative paths added to `fetched`: they are in the
    bucket already). A chunk that failed for good fails the job with its code; chunks not
    all done within `budget` seconds fail it as `timeout`."""
    deadline = time.monotonic() + budget
    seen: set[int] = set()
    limit = asyncio.Semaphore(_TRANSFERS_AT_ONCE)

    async def fetch(relative: str) -> None:
        target = out_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        async with limit:
            with target.open("wb") as file:
                key = f"{prefix}/{relative}"
                async with aclosing(objects.iter_object(bucket, key)) as parts:
                    async for part in parts:
                        await asyncio.to_thread(file.write, part)

    while len(seen) < planned:
        _, events = await service.job_state(file_id)
        for event in events:
            if isinstance(event, TranscodeChunkFailed) and event.job_id == job_id:
                raise ChunkFailed(event.code, f"chunk {event.index}: {event.detail}")
        fresh = [
            e
            for e in events
            if isinstance(e, TranscodeChunkDone) and e.job_id == job_id and e.index not in seen
        ]
        if not fresh:
            if time.monotonic() > deadline:
                raise JobTimedOut(f"{planned - len(seen)} of {planned} chunks not done in time")
            await asyncio.sleep(_POLL_SECONDS)
            continue
        for done in fresh:
            relative = [f"{r.name}/{s.uri}" for r in done.rungs for s in r.segments]
            async with asyncio.TaskGroup() as group:
                for path in relative:
                    group.create_task(fetch(path))
            fetched.update(relative)
            seen.add(done.index)
            yield (
                done.index,
                {
                    r.name: [PlaylistEntry(uri=s.uri, duration=s.duration) for s in r.segments]
                    for r in done.rungs
                },
            )
