"""One thumbnail job per verified file: download, render, upload, record the outcome.

Ordering makes every crash recoverable by a redelivery: thumbnails are
uploaded (deterministic keys, so a rerun overwrites the same objects) before
`thumbnail.generated.v1` is appended, and the append and the job row commit
together. A file whose job has an outcome is never processed again.

Failures of the input (corrupt, too large, unsupported, gone) become
`thumbnail.failed.v1` and the message is acknowledged; failures of the
platform (S3, Postgres) raise so the bus retries them. A job that outlives
the per-job timeout is retried too (the machine may have been busy) and
recorded as `timeout` on its last attempt.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Literal

import structlog

from mediaplane.contracts import (
    EventContext,
    FileReprocessRequestedV2,
    FileVerified,
    Thumbnail,
    utc_now,
)
from mediaplane.domain import CommandContext
from mediaplane.eventlog import EventStore, Pool, handle
from mediaplane.storage import ObjectStore
from mediaplane.thumbnailer.adapters import jobs
from mediaplane.thumbnailer.app.download import download_verified
from mediaplane.thumbnailer.app.metrics import DURATION, FAILURES, JOBS, RETRIES, SOURCE_BYTES
from mediaplane.thumbnailer.app.render import Renderer, Rendering
from mediaplane.thumbnailer.config import SERVICE, ThumbnailerSettings
from mediaplane.thumbnailer.domain.errors import (
    JobTimeout,
    MediaError,
)
from mediaplane.thumbnailer.domain.job import (
    DECIDER,
    Command,
    RecordFailure,
    RecordThumbnails,
    thumbnail_key,
    thumbnail_stream,
)
from mediaplane.thumbnailer.domain.policy import Pipeline, check_file_size, pipeline_for

Outcome = Literal["generated", "failed", "duplicate", "ignored"]
# What a job is made from: the verification, or an admin's re-run request naming the same.
Source = FileVerified | FileReprocessRequestedV2
_log = structlog.get_logger(__name__)


class ThumbnailService:
    def __init__(
        self,
        *,
        pool: Pool,
        store: EventStore,
        objects: ObjectStore,
        renderer: Renderer,
        settings: ThumbnailerSettings,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.pool = pool
        self.store = store
        self.objects = objects
        self.renderer = renderer
        self.settings = settings
        self.clock = clock

    async def process(self, event: Source, *, last_attempt: bool = False) -> Outcome:
        """Handle one delivery of `file.verified.v1` (idempotent per file) or of a
        `file.reprocess_requested.v2` for thumbnails (idempotent per request: the job runs
        again, and thumbnails the new run does not replace are deleted)."""
        rerun = isinstance(event, FileReprocessRequestedV2)
        pipeline = pipeline_for(event.kind)
        if pipeline is None:
            return "ignored"  # audio and other files get no thumbnails
        if not rerun and await jobs.finished(self.pool, event.file_id):
            JOBS.labels(event.kind, "duplicate").inc()
            return "duplicate"
        attempt = await jobs.start(self.pool, event, rerun=rerun)
        if attempt is None:  # another replica finished it between the two queries
            JOBS.labels(event.kind, "duplicate").inc()
            return "duplicate"
        log = _log.bind(file_id=str(event.file_id), kind=event.kind, attempt=attempt)
        cause = EventContext(producer=SERVICE, correlation_id=event.correlation_id).caused_by(event)
        started = time.monotonic()
        try:
            rendering = await self._render(event, pipeline)
        except MediaError as error:
            return await self._fail(event, error, cause, log)
        except TimeoutError:
            if last_attempt:
                timeout = self.settings.limits.job_timeout
                expired = JobTimeout(f"not done within {timeout:g} s on {attempt} attempts")
                return await self._fail(event, expired, cause, log)
            RETRIES.labels(event.kind).inc()
            raise
        except Exception:
            RETRIES.labels(event.kind).inc()
            raise
        thumbnails = await self._upload(event, rendering)
        outcome = await self._record(
            event,
            RecordThumbnails(
                file_id=event.file_id,
                bucket=self.settings.bucket,
                thumbnails=thumbnails,
                source=rendering.source,
                context=CommandContext(now=self.clock(), cause=cause),
                rerun=rerun,
            ),
        )
        if rerun and outcome == "generated":
            await self._remove_stale(event, thumbnails)
        DURATION.labels(event.kind).observe(time.monotonic() - started)
        log.info("thumbnail.generated", outcome=outcome, count=len(thumbnails))
        return outcome

    async def _remove_stale(self, event: Source, kept: list[Thumbnail]) -> None:
        """Delete the file's thumbnails the re-run did not write again (other sizes or
        formats of an earlier run); the same keys were overwritten in place."""
        keep = {t.key for t in kept}
        stored = await self.objects.list_objects(self.settings.bucket, f"{event.file_id}/")
        for stale in (o.key for o in stored if o.key not in keep):
            await self.objects.delete(self.settings.bucket, stale)

    async def _render(self, event: Source, pipeline: Pipeline) -> Rendering:
        limits = self.settings.limits
        check_file_size(event.size, limits)  # before downloading a byte
        with tempfile.TemporaryDirectory(prefix="thumbnailer-", dir=self.settings.work_dir) as tmp:
            work_dir = Path(tmp)
            async with asyncio.timeout(limits.job_timeout):
                source = await self.download(event, work_dir / "source")
                return await self.renderer.render(pipeline, source, event.media_type, work_dir)

    async def download(self, event: Source, path: Path) -> Path:
        """Stream the original to `path`, hashed on the way (see `download_verified`)."""
        size = await download_verified(
            self.objects,
            bucket=event.bucket,
            key=event.object_key,
            sha256=event.sha256,
            limit=self.settings.limits.max_file_size,
            path=path,
        )
        SOURCE_BYTES.labels(event.kind).inc(size)
        return path

    async def _upload(self, event: Source, rendering: Rendering) -> list[Thumbnail]:
        output = self.settings.output
        thumbnails = [
            Thumbnail(
                name=t.name,
                width=t.width,
                height=t.height,
                format=output.format,
                key=thumbnail_key(event.file_id, t.name, output.extension),
                size=len(t.data),
            )
            for t in rendering.thumbnails
        ]
        await asyncio.gather(
            *(
                self.objects.put_bytes(
                    self.settings.bucket, thumbnail.key, t.data, content_type=output.content_type
                )
                for thumbnail, t in zip(thumbnails, rendering.thumbnails, strict=True)
            )
        )
        return thumbnails

    async def _fail(
        self,
        event: Source,
        error: MediaError,
        cause: EventContext,
        log: structlog.typing.FilteringBoundLogger,
    ) -> Outcome:
        context = CommandContext(now=self.clock(), cause=cause)
        rerun = isinstance(event, FileReprocessRequestedV2)
        command = RecordFailure(file_id=event.file_id, error=error, context=context, rerun=rerun)
        outcome = await self._record(event, command)
        if outcome == "failed":
            FAILURES.labels(error.code).inc()
        log.warning("thumbnail.failed", code=error.code, detail=error.detail, outcome=outcome)
        return outcome

    async def _record(self, event: Source, command: Command) -> Outcome:
        handled = await handle(
            self.store,
            thumbnail_stream(event.file_id),
            DECIDER,
            command,
            inline=jobs.outcome_projection(event),
        )
        if not handled.events:  # a racing replica recorded the outcome first
            JOBS.labels(event.kind, "duplicate").inc()
            return "duplicate"
        outcome: Outcome = "generated" if isinstance(command, RecordThumbnails) else "failed"
        JOBS.labels(event.kind, outcome).inc()
        return outcome
