"""One transcode job, from a `file.verified` event to `transcode.completed` or `.failed`.

claim (idempotency + lease) -> download (streamed, hash-checked) -> probe ->
plan the ladder -> `transcode.started` -> one ffmpeg for every rung (videos:
and the MP4 fallback; audio: and the waveform's PCM; a long video: its chunks
requested with `started`, encoded by any replica, `app/fanout.py`), reporting throttled
`transcode.progress` -> check the output -> upload -> check the upload ->
`transcode.completed`.

Permanent failures (the input's fault, or the job's time budget) become
`transcode.failed` and the message is acknowledged; other errors hand the
job back and are retried by the bus, and recorded as `internal` failures on
the last attempt. A cancelled job (shutdown) kills ffmpeg, removes its files
and hands the job back so another worker takes it at once.

An admin's re-run (`file.reprocess_requested.v2`, target `transcode`) is a job of its
own: a new generation under its own folder `<file_id>/<job_id>/`. The file's current
renditions stay served until its `transcode.completed` (the catalog serves the latest
completed); recording it retires the other generations, which the worker's sweep deletes
after a grace (`app/generations.py`) so their viewers can finish. A failed re-run deletes
its own partial folder at once (never served) and leaves the served renditions as they were.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, Literal

import msgspec
import structlog

from mediaplane.bus import Defer
from mediaplane.contracts import (
    EventContext,
    FileReprocessRequestedV2,
    FileVerified,
    Mp4Rendition,
    Rendition,
    VideoSource,
    Waveform,
)
from mediaplane.storage import ObjectStore
from mediaplane.transcoder.adapters import ffmpeg, ffprobe, source
from mediaplane.transcoder.adapters.jobs import VERIFIED_JOB, Claimed
from mediaplane.transcoder.adapters.packager import (
    OutputInvalid,
    PackagedLadder,
    finish_audio_ladder,
    finish_ladder,
)
from mediaplane.transcoder.adapters.waveform import read_peaks
from mediaplane.transcoder.adapters.workdir import job_directory
from mediaplane.transcoder.app.chunked import plan_source_chunks, stitch_fanned_ladder
from mediaplane.transcoder.app.fanout import chunk_arrivals, chunk_span, recorded_chunks
from mediaplane.transcoder.app.generations import delete_folder
from mediaplane.transcoder.app.ladders import LocalLadder, check_mp4, encode_limits
from mediaplane.transcoder.app.live import LiveLadder
from mediaplane.transcoder.app.metrics import TranscoderMetrics
from mediaplane.transcoder.app.progress import reporting
from mediaplane.transcoder.app.service import LeaseLost, TranscodeService
from mediaplane.transcoder.config import SERVICE, TranscoderSettings
from mediaplane.transcoder.domain.audio import AudioMedia, plan_audio_ladder
from mediaplane.transcoder.domain.chunks import Chunk, use_chunks
from mediaplane.transcoder.domain.errors import EmptyMedia, JobBusy, PermanentFailure
from mediaplane.transcoder.domain.job import ChunkSource
from mediaplane.transcoder.domain.ladder import (
    SourceMedia,
    job_timeout,
    output_fps,
    plan_ladder,
)
from mediaplane.transcoder.domain.mp4 import plan_mp4

_log = structlog.get_logger(__name__)
_UPLOADS_AT_ONCE = 8
_CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".mp4": "video/mp4",
    ".json": "application/json",
}
WAVEFORM_NAME = "waveform.json"
_KINDS = ("video", "audio")

# What a job is made from: the verification, or an admin's re-run naming the same original.
Source = FileVerified | FileReprocessRequestedV2
Outcome = Literal["completed", "failed", "skipped"]
Attempt = Literal["completed", "failed", "interrupted", "retried"]


class UploadIncomplete(Exception):
    """S3 does not list every file just uploaded (retried)."""


async def transcode_locally(
    settings: TranscoderSettings, source_path: Path, out_dir: Path, media_type: str
) -> LocalLadder:
    """Probe, encode and check a local file: the part of a job that is pure media work.

    The benchmark runs exactly this against the plain ffmpeg command.
    """
    media = await ffprobe.probe(
        settings.ffprobe, source_path, media_type, settings.limits, settings.tools
    )
    return await encode_ladder(settings, media, source_path, out_dir, media_type)


async def encode_ladder(
    settings: TranscoderSettings,
    media: SourceMedia,
    source_path: Path,
    out_dir: Path,
    media_type: str,
    on_position: Callable[[float], None] | None = None,
) -> LocalLadder:
    encoding = settings.encoding
    planned = plan_ladder(media, encoding.ladder)
    mp4 = plan_mp4(media, planned, encoding.mp4_max_short_side)
    fps = output_fps(media, encoding.max_fps)
    argv = ffmpeg.build_command(
        settings.ffmpeg,
        ffprobe.demuxer(media_type),
        source_path,
        out_dir,
        media,
        planned,
        encoding,
        mp4=mp4,
    )
    started = time.monotonic()
    stderr = await ffmpeg.encode(argv, encode_limits(settings, media.duration), on_position)
    encode_seconds = time.monotonic() - started
    try:
        # Thousands of files for a long video: off the event loop, which keeps the
        # job's lease and the message's keep-alive going meanwhile.
        packaged = await asyncio.to_thread(
            finish_ladder, out_dir, planned, source_duration=media.duration, fps=fps
        )
    except OutputInvalid:
        # ffmpeg gets through many damaged inputs with exit code 0 and a short
        # output; its complaints about the input tell that apart from a bug.
        if (permanent := ffmpeg.classify(stderr)) is not None:
            raise permanent from None
        raise
    fallback = check_mp4(out_dir / ffmpeg.MP4_NAME, mp4.width, mp4.height, media.duration)
    return LocalLadder(packaged=packaged, encode_seconds=encode_seconds, mp4=fallback)


async def encode_audio(
    settings: TranscoderSettings,
    media: AudioMedia,
    source_path: Path,
    out_dir: Path,
    media_type: str,
    on_position: Callable[[float], None] | None = None,
) -> LocalLadder:
    """The audio-only ladder and the waveform peaks, from one ffmpeg."""
    encoding = settings.encoding
    planned = plan_audio_ladder(encoding.audio_ladder)
    pcm_path = out_dir.parent / "waveform.pcm"  # scratch, never uploaded
    argv = ffmpeg.build_audio_command(
        settings.ffmpeg,
        ffprobe.demuxer(media_type),
        source_path,
        out_dir,
        planned,
        encoding.segment_seconds,
        pcm_path,
    )
    started = time.monotonic()
    stderr = await ffmpeg.encode(argv, encode_limits(settings, media.duration), on_position)
    encode_seconds = time.monotonic() - started
    try:
        packaged = await asyncio.to_thread(
            finish_audio_ladder, out_dir, planned, source_duration=media.duration
        )
    except OutputInvalid:
        if (permanent := ffmpeg.classify(stderr)) is not None:
            raise permanent from None
        raise
    peaks = await asyncio.to_thread(read_peaks, pcm_path, encoding.waveform_peaks)
    if not peaks:
        raise EmptyMedia("ffmpeg decoded no samples from the audio")
    return LocalLadder(packaged=packaged, encode_seconds=encode_seconds, peaks=peaks)


def audio_source(media: AudioMedia) -> VideoSource:
    """transcode.started's source for an audio file: no picture."""
    return VideoSource(
        width=0,
        height=0,
        duration=media.duration,
        fps=0.0,
        video_codec="none",
        audio_codec=media.codec,
    )


def video_source(media: SourceMedia) -> VideoSource:
    return VideoSource(
        width=media.width,
        height=media.height,
        duration=media.duration,
        fps=round(media.fps, 3),
        video_codec=media.video_codec,
        audio_codec=media.audio_codec,
        rotation=media.rotation,
    )


class Transcoder:
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

    async def handle(self, event: Source, *, last_attempt: bool) -> Outcome:
        """Run the job `event` asks for, once. Raises to have the message redelivered."""
        log = _log.bind(file_id=str(event.file_id))
        if event.kind not in _KINDS:
            return "skipped"
        rerun = isinstance(event, FileReprocessRequestedV2)
        claim = await self.service.claim(
            file_id=event.file_id,
            sha256=event.sha256,
            event_id=event.event_id,
            owner=event.owner,
            # Each re-run request is a job (a generation) of its own.
            request_id=event.event_id if rerun else VERIFIED_JOB,
        )
        if not isinstance(claim, Claimed):
            if claim.reason == "busy":
                raise JobBusy(f"job {claim.job_id} is leased by a worker that may be alive")
            if claim.reason in ("owner_busy", "file_busy"):
                log.info("transcode.deferred", job_id=str(claim.job_id), reason=claim.detail)
                self.metrics.jobs.labels("deferred").inc()
                raise Defer(self.settings.owner_limit.retry_after, claim.detail)
            log.info("transcode.skipped", job_id=str(claim.job_id), reason=claim.reason)
            self.metrics.jobs.labels("skipped").inc()
            return "skipped"
        log = log.bind(job_id=str(claim.job_id), attempt=claim.attempts)
        # Deliveries spent waiting for a slot are not attempts: the job row counts these.
        last_attempt = last_attempt or claim.attempts >= self.settings.max_deliver
        context = EventContext(producer=SERVICE, correlation_id=event.correlation_id).caused_by(
            event
        )
        started = time.monotonic()
        outcome: Attempt = "retried"  # unless the attempt ends otherwise
        self.metrics.in_progress.inc()
        try:
            outcome = await self._attempt(event, claim, context, last_attempt, log)
        finally:
            self.metrics.in_progress.dec()
            self.metrics.jobs.labels(outcome).inc()
            self.metrics.job_seconds.labels(outcome).observe(time.monotonic() - started)
        return "skipped" if outcome == "interrupted" else outcome

    async def _attempt(
        self,
        event: Source,
        claim: Claimed,
        context: EventContext,
        last_attempt: bool,
        log: structlog.stdlib.BoundLogger,
    ) -> Literal["completed", "failed", "interrupted"]:
        try:
            await self._run_leased(claim.job_id, self._run(event, claim, context, log))
            return "completed"
        except LeaseLost:
            log.warning("transcode.lease_lost")
            return "interrupted"
        except PermanentFailure as failure:
            await self._fail(event, claim, context, failure.code, failure.detail, log)
            return "failed"
        except asyncio.CancelledError:
            log.info("transcode.interrupted")
            await self._hand_back(claim.job_id)
            raise
        except Exception as error:
            if last_attempt:
                detail = f"{type(error).__name__}: {error}"
                await self._fail(event, claim, context, "internal", detail, log)
                return "failed"
            log.warning("transcode.retry", error=f"{type(error).__name__}: {error}")
            await self._hand_back(claim.job_id)
            raise

    async def _fail(
        self,
        event: Source,
        claim: Claimed,
        context: EventContext,
        code: str,
        detail: str,
        log: structlog.stdlib.BoundLogger,
    ) -> None:
        await self.service.record_failed(
            job_id=claim.job_id,
            file_id=event.file_id,
            code=code,
            detail=detail,
            attempts=claim.attempts,
            context=context,
        )
        self.metrics.failures.labels(code).inc()
        log.warning("transcode.failed", code=code, detail=detail)
        if isinstance(event, FileReprocessRequestedV2):
            # The served generation stays; this one's partial folder was never served, so
            # it needs no grace. Best effort: the outcome is recorded already and a
            # redelivery would find the job finished, so an S3 error is logged, not
            # retried; the next completion of the file retires what it left.
            try:
                await delete_folder(
                    self.objects, self.settings.bucket, f"{event.file_id}/{claim.job_id}/"
                )
            except Exception as error:
                log.warning("transcode.cleanup_failed", error=str(error))

    async def _hand_back(self, job_id: uuid.UUID) -> None:
        """Release the lease so the redelivery is taken at once, even while being cancelled."""
        release = asyncio.ensure_future(self.service.release(job_id))
        try:
            await asyncio.shield(release)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await release
            raise
        except Exception as error:  # the lease then simply runs out
            _log.warning("transcode.release_failed", error=str(error))

    async def _run_leased(self, job_id: uuid.UUID, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` while renewing the job's lease; stop it if the lease is lost.

        Cancelling the caller cancels `work` too, and returns only once it has
        finished cancelling (ffmpeg killed and reaped, scratch files removed).
        """
        job = asyncio.create_task(work)
        lost = asyncio.Event()

        async def keep() -> None:
            while True:
                await asyncio.sleep(self.settings.lease_seconds / 3)
                try:
                    held = await self.service.renew(job_id)
                except Exception as error:  # Postgres hiccup: the next beat tries again
                    _log.warning("transcode.lease_renewal_failed", error=str(error))
                    continue
                if not held:
                    lost.set()
                    job.cancel()
                    return

        heartbeat = asyncio.create_task(keep())
        try:
            await job
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if lost.is_set() and current is not None and not current.cancelling():
                raise LeaseLost(f"job {job_id} was taken over by another worker") from None
            raise
        finally:
            heartbeat.cancel()

    async def _run(
        self,
        event: Source,
        claim: Claimed,
        context: EventContext,
        log: structlog.stdlib.BoundLogger,
    ) -> None:
        started = time.monotonic()
        settings = self.settings
        with job_directory(settings.work_dir) as scratch:
            source_path = scratch / "source"
            size = await source.download(
                self.objects, event.bucket, event.object_key, event.sha256, source_path
            )
            media: SourceMedia | AudioMedia
            if event.kind == "audio":
                media = await ffprobe.probe_audio(
                    settings.ffprobe, source_path, event.media_type, settings.limits, settings.tools
                )
                found, ladder_names = (
                    audio_source(media),
                    [r.name for r in plan_audio_ladder(settings.encoding.audio_ladder)],
                )
            else:
                media = await ffprobe.probe(
                    settings.ffprobe, source_path, event.media_type, settings.limits, settings.tools
                )
                found = video_source(media)
                ladder_names = [r.name for r in plan_ladder(media, settings.encoding.ladder)]
            prefix = f"{event.file_id}/{claim.job_id}"
            chunks: list[Chunk] = []
            if isinstance(media, SourceMedia) and use_chunks(
                media.duration, settings.chunking.threshold
            ):
                # Planned before `started`: the chunk requests are recorded with it.
                chunks = await plan_source_chunks(settings, media, source_path, event.media_type)
            await self.service.record_started(
                job_id=claim.job_id,
                file_id=event.file_id,
                source=found,
                ladder=ladder_names,
                context=context,
                kind=event.kind,
                chunks=[chunk_span(c) for c in chunks],
                chunk_source=ChunkSource(
                    owner=event.owner,
                    bucket=event.bucket,
                    object_key=event.object_key,
                    sha256=event.sha256,
                    media_type=event.media_type,
                    prefix=prefix,
                )
                if chunks
                else None,
            )
            if chunks:
                chunks = await recorded_chunks(self.service, event.file_id, claim.job_id)
            log.info(
                "transcode.started",
                size=size,
                duration=media.duration,
                kind=event.kind,
                chunks=len(chunks),
            )
            out_dir = scratch / "hls"
            out_dir.mkdir()

            async def emit(percent: float, processed: float) -> None:
                await self.service.record_progress(
                    job_id=claim.job_id,
                    file_id=event.file_id,
                    percent=percent,
                    processed=processed,
                    context=context,
                )

            already: set[str] = set()
            async with reporting(settings.progress, media.duration, emit) as reporter:
                if isinstance(media, SourceMedia) and chunks:
                    live = LiveLadder(
                        service=self.service,
                        objects=self.objects,
                        ffprobe=settings.ffprobe,
                        tools=settings.tools,
                        bucket=settings.bucket,
                        prefix=prefix,
                        out_dir=out_dir,
                        planned=plan_ladder(media, settings.encoding.ladder),
                        duration=media.duration,
                        fps=output_fps(media, settings.encoding.max_fps),
                        segment_seconds=settings.encoding.segment_seconds,
                        job_id=claim.job_id,
                        file_id=event.file_id,
                        context=context,
                        reporter=reporter,
                    )
                    arrivals = chunk_arrivals(
                        service=self.service,
                        objects=self.objects,
                        bucket=settings.bucket,
                        file_id=event.file_id,
                        job_id=claim.job_id,
                        prefix=prefix,
                        out_dir=out_dir,
                        planned=len(chunks),
                        budget=job_timeout(
                            media.duration,
                            base=settings.timeout_base,
                            per_second=settings.timeout_per_second,
                            cap=settings.tools.max_job_seconds,
                        ),
                        fetched=live.uploaded,
                    )
                    ladder = await stitch_fanned_ladder(
                        settings,
                        media,
                        source_path,
                        out_dir,
                        event.media_type,
                        chunks,
                        arrivals,
                        on_landed=live,
                    )
                    already = live.uploaded
                    log.info("transcode.chunked", chunks=live.published)
                elif isinstance(media, AudioMedia):
                    ladder = await encode_audio(
                        settings, media, source_path, out_dir, event.media_type, reporter.position
                    )
                else:
                    ladder = await encode_ladder(
                        settings, media, source_path, out_dir, event.media_type, reporter.position
                    )
            self.metrics.encode_seconds.observe(ladder.encode_seconds)
            mp4 = waveform = None
            if ladder.peaks is not None:
                document = {"version": 1, "duration": media.duration, "peaks": ladder.peaks}
                (out_dir / WAVEFORM_NAME).write_bytes(msgspec.json.encode(document))
                waveform = Waveform(key=f"{prefix}/{WAVEFORM_NAME}", peaks=len(ladder.peaks))
            if ladder.mp4 is not None:
                mp4 = Mp4Rendition(
                    key=f"{prefix}/{ladder.mp4.name}",
                    width=ladder.mp4.width,
                    height=ladder.mp4.height,
                    size=ladder.mp4.size,
                    bandwidth=ladder.mp4.bandwidth,
                )
            extras = [
                *([ladder.mp4.name] if ladder.mp4 is not None else []),
                *([WAVEFORM_NAME] if ladder.peaks is not None else []),
            ]
            await self._upload(out_dir, ladder.packaged, prefix, extras, already)
        renditions = [
            Rendition(
                name=r.variant.name,
                width=r.variant.width,
                height=r.variant.height,
                bandwidth=r.variant.bandwidth,
                average_bandwidth=r.variant.average_bandwidth,
                codecs=r.variant.codecs,
                frame_rate=round(r.variant.frame_rate, 3),
                playlist_key=f"{prefix}/{r.playlist}",
                segment_count=len(r.segments),
            )
            for r in ladder.packaged.renditions
        ]
        elapsed = time.monotonic() - started
        await self.service.record_completed(
            job_id=claim.job_id,
            file_id=event.file_id,
            bucket=settings.bucket,
            master_playlist_key=f"{prefix}/{ladder.packaged.master}",
            renditions=renditions,
            duration=media.duration,
            elapsed=round(elapsed, 3),
            context=context,
            kind=event.kind,
            mp4=mp4,
            waveform=waveform,
        )
        self.metrics.media_seconds.inc(media.duration)
        log.info("transcode.completed", renditions=len(renditions), elapsed=round(elapsed, 2))

    async def _upload(
        self,
        out_dir: Path,
        ladder: PackagedLadder,
        prefix: str,
        extras: list[str],
        already: set[str] = frozenset(),  # type: ignore[assignment]
    ) -> None:
        """Upload every file (`extras` first, master last) but those `already` there (a chunked
        ladder's published segments), then check S3 has each at its size."""
        files = [*extras, *ladder.files()]
        bucket = self.settings.bucket
        limit = asyncio.Semaphore(_UPLOADS_AT_ONCE)

        async def put(relative: str) -> None:
            path = out_dir / relative
            async with limit:
                await self.objects.upload_file(
                    bucket,
                    f"{prefix}/{relative}",
                    path,
                    content_type=_CONTENT_TYPES.get(path.suffix, "application/octet-stream"),
                )

        async with asyncio.TaskGroup() as group:
            for relative in files[:-1]:
                if relative not in already:
                    group.create_task(put(relative))
        await put(files[-1])

        stored = {o.key: o.size for o in await self.objects.list_objects(bucket, f"{prefix}/")}
        for relative in files:
            key = f"{prefix}/{relative}"
            if stored.get(key) != (out_dir / relative).stat().st_size:
                raise UploadIncomplete(f"{bucket}/{key} is missing or has the wrong size")
