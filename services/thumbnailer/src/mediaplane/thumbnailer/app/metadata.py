"""One metadata extraction per verified file: download, read with the media tools, record.

Runs beside the thumbnail job (its own durable consumer and stream
`metadata-<file_id>`), so audio gets metadata though it gets no thumbnail,
and a file whose thumbnail fails may still have metadata. The original is
read as the thumbnail job reads it (SHA-256 checked while downloading,
size-limited); videos and audio through the hardened ffprobe (forced
demuxer, local files only, playlists refused), pictures through Pillow's
header alone, PDFs in a PDFium child process. Each under the job timeout
and the tools' CPU and memory limits.

GPS location reaches the event only when `file.verified.v1` says the owner
opted in (`keep_location`); see docs/security.md.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Literal

import structlog

from mediaplane.contracts import EventContext, FileVerified, utc_now
from mediaplane.domain import CommandContext
from mediaplane.eventlog import handle
from mediaplane.thumbnailer.adapters import images
from mediaplane.thumbnailer.adapters.pdf import read_info
from mediaplane.thumbnailer.app.metrics import METADATA
from mediaplane.thumbnailer.app.service import ThumbnailService
from mediaplane.thumbnailer.config import SERVICE
from mediaplane.thumbnailer.domain import metadata
from mediaplane.thumbnailer.domain.errors import JobTimeout, MediaError
from mediaplane.thumbnailer.domain.extraction import (
    DECIDER,
    EXTRACTED_KINDS,
    Command,
    Extracted,
    RecordExtractionFailure,
    RecordMetadata,
    metadata_stream,
)
from mediaplane.thumbnailer.domain.policy import check_file_size, still_image_type

Outcome = Literal["extracted", "failed", "duplicate", "ignored"]
_log = structlog.get_logger(__name__)


class MetadataExtractor:
    def __init__(
        self, thumbnails: ThumbnailService, *, clock: Callable[[], datetime] = utc_now
    ) -> None:
        # The thumbnail service's store, storage, tools and limits: one set per process.
        self.thumbnails = thumbnails
        self.clock = clock

    async def process(self, event: FileVerified, *, last_attempt: bool = False) -> Outcome:
        """Handle one delivery of `file.verified.v1`; idempotent per file."""
        if event.kind not in EXTRACTED_KINDS:
            return "ignored"
        store = self.thumbnails.store
        if (await store.load(metadata_stream(event.file_id))).events:
            METADATA.labels(event.kind, "duplicate").inc()
            return "duplicate"
        cause = EventContext(producer=SERVICE, correlation_id=event.correlation_id).caused_by(event)
        context = CommandContext(now=self.clock(), cause=cause)
        command: Command
        try:
            found = await self._extract(event)
            command = RecordMetadata(file_id=event.file_id, metadata=found, context=context)
        except MediaError as error:
            command = RecordExtractionFailure(file_id=event.file_id, error=error, context=context)
        except TimeoutError:
            if not last_attempt:
                raise
            timeout = self.thumbnails.settings.limits.job_timeout
            expired = JobTimeout(f"not done within {timeout:g} s")
            command = RecordExtractionFailure(file_id=event.file_id, error=expired, context=context)
        handled = await handle(store, metadata_stream(event.file_id), DECIDER, command)
        outcome: Outcome = (
            "duplicate"
            if not handled.events
            else "extracted"
            if isinstance(command, RecordMetadata)
            else "failed"
        )
        METADATA.labels(event.kind, outcome).inc()
        _log.info(
            "metadata.recorded",
            file_id=str(event.file_id),
            kind=event.kind,
            outcome=outcome,
            code=command.error.code if isinstance(command, RecordExtractionFailure) else None,
        )
        return outcome

    async def _extract(self, event: FileVerified) -> Extracted:
        settings = self.thumbnails.settings
        check_file_size(event.size, settings.limits)  # before downloading a byte
        with tempfile.TemporaryDirectory(prefix="metadata-", dir=settings.work_dir) as tmp:
            async with asyncio.timeout(settings.limits.job_timeout):
                source = await self.thumbnails.download(event, Path(tmp) / "source")
                return await self._read(source, event)

    async def _read(self, source: Path, event: FileVerified) -> Extracted:
        settings = self.thumbnails.settings
        media_type, kind = event.media_type, event.kind
        if kind == "video":
            # A HEIC/AVIF photo may arrive labelled video/mp4: it is the photo it is.
            with source.open("rb") as file:
                still = still_image_type(file.read(64))
            if still is not None:
                kind, media_type = "image", still
        if kind == "image":
            return await self.thumbnails.renderer.cpu.run(
                images.read_metadata,
                source,
                media_type=media_type,
                limits=settings.limits,
                keep_location=event.keep_location,
            )
        if kind == "pdf":
            info = await read_info(source, settings.tool_limits)
            return metadata.pdf_metadata(page_count=info.page_count, title=info.title)
        probe = await self.thumbnails.renderer.ffmpeg.describe(source, media_type)
        if kind == "video" and metadata.has_video(probe):
            return metadata.video_metadata(probe)
        return metadata.audio_metadata(probe)  # audio, or a "video" with sound only
