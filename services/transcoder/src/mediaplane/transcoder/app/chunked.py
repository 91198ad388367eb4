"""The chunked ladder: plan chunks, encode the audio once, get the chunks (encoded here on up
to `workers` ffmpeg processes at a time, or by any replica for a job: `app/fanout.py`),
stitch, check.

`on_landed` hears of every chunk and of the audio as they land, with the
stitched EVENT playlists already rewritten, so the leading chunks are
playable (once the audio is there too) while the rest are still being encoded.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mediaplane.transcoder.adapters import chunked, ffmpeg, ffprobe
from mediaplane.transcoder.adapters.packager import finish_chunked_ladder
from mediaplane.transcoder.app.ladders import LocalLadder, LocalMp4, check_mp4, encode_limits
from mediaplane.transcoder.config import TranscoderSettings
from mediaplane.transcoder.domain.chunks import Chunk, PlaylistEntry, leading_done, plan_chunks
from mediaplane.transcoder.domain.errors import PermanentFailure
from mediaplane.transcoder.domain.ladder import (
    PlannedRendition,
    SourceMedia,
    output_fps,
    plan_ladder,
)
from mediaplane.transcoder.domain.mp4 import plan_mp4


@dataclass(frozen=True, kw_only=True)
class Landed:
    """Where a chunked ladder stands after a chunk or the audio landed."""

    chunk: Chunk | None  # None: the audio
    leading: int  # chunks done from the start without a gap: what a player may be given
    done: int
    planned: int
    audio_ready: bool

    @property
    def playable(self) -> bool:
        return self.leading > 0 and self.audio_ready


OnLanded = Callable[[Landed], Awaitable[None]]


@contextmanager
def permanent_failure_first() -> Iterator[None]:
    """A task group's permanent failure (the input's fault, a failed chunk) leaves it as
    itself, so the job records its code; other errors stay grouped (transient: retried)."""
    try:
        yield
    except* PermanentFailure as group:
        failure: BaseException = group
        while isinstance(failure, BaseExceptionGroup):
            failure = failure.exceptions[0]
        raise failure from None


async def plan_source_chunks(
    settings: TranscoderSettings, media: SourceMedia, source_path: Path, media_type: str
) -> list[Chunk]:
    """The chunks of `source_path`, cut at segment boundaries near its keyframes."""
    frames = await chunked.keyframes(
        settings.ffprobe, source_path, ffprobe.demuxer(media_type), settings.tools
    )
    return plan_chunks(
        duration=media.duration,
        segment_seconds=settings.encoding.segment_seconds,
        chunk_segments=settings.chunking.chunk_segments,
        keyframes=frames,
        preroll=settings.chunking.preroll,
    )


async def encode_chunk(
    settings: TranscoderSettings,
    media: SourceMedia,
    source_path: Path,
    out_dir: Path,
    media_type: str,
    chunk: Chunk,
    last: bool,
) -> dict[str, list[PlaylistEntry]]:
    """One chunk's segments of every rung, moved into `out_dir/<rung>/`."""
    planned = plan_ladder(media, settings.encoding.ladder)
    fps = output_fps(media, settings.encoding.max_fps)
    lead = chunked.lead_in(chunk, settings.chunking.preroll, fps)
    chunk_dir = out_dir / ".chunks" / f"{chunk.index:05d}"
    argv = chunked.build_chunk_command(
        settings.ffmpeg,
        ffprobe.demuxer(media_type),
        source_path,
        chunk_dir,
        media,
        planned,
        settings.encoding,
        chunk,
        last,
        lead,
    )
    stderr = await ffmpeg.encode(argv, encode_limits(settings, chunk.duration + lead))
    try:
        return await asyncio.to_thread(
            chunked.gather_chunk, chunk_dir, out_dir, planned, chunk, lead
        )
    except chunked.ChunkOutputInvalid:
        if (permanent := ffmpeg.classify(stderr)) is not None:
            raise permanent from None
        raise


async def encode_audio_once(
    settings: TranscoderSettings,
    media: SourceMedia,
    source_path: Path,
    out_dir: Path,
    media_type: str,
) -> list[tuple[str, int]]:
    """The whole file's audio renditions (name, kbit/s); none for a silent source."""
    if not media.has_audio:
        return []
    bitrates = chunked.audio_bitrates(plan_ladder(media, settings.encoding.ladder))
    argv = chunked.build_audio_command(
        settings.ffmpeg,
        ffprobe.demuxer(media_type),
        source_path,
        out_dir,
        bitrates,
        settings.encoding.segment_seconds,
    )
    await ffmpeg.encode(argv, encode_limits(settings, media.duration))
    return [(chunked.audio_name(k), k) for k in bitrates]


class Stitcher:
    """Joins chunks as they land in `out_dir` (any order) into EVENT playlists of the chunks
    done from the start, and tells `on_landed`."""

    def __init__(
        self,
        settings: TranscoderSettings,
        chunks: list[Chunk],
        out_dir: Path,
        on_landed: OnLanded | None,
    ) -> None:
        self.settings, self.chunks, self.out_dir = settings, chunks, out_dir
        self.on_landed = on_landed
        self.entries: dict[int, dict[str, list[PlaylistEntry]]] = {}
        self.audio_ready = False

    async def chunk_landed(self, chunk: Chunk, done: dict[str, list[PlaylistEntry]]) -> None:
        self.entries[chunk.index] = done
        leading = leading_done(self.entries.keys(), len(self.chunks))
        await asyncio.to_thread(
            chunked.write_playlists,
            self.out_dir,
            stitch([self.entries[i] for i in range(leading)]) if leading else {},
            segment_seconds=self.settings.encoding.segment_seconds,
            ended=leading == len(self.chunks),
        )
        await self._landed(chunk)

    async def audio_landed(self) -> None:
        self.audio_ready = True
        await self._landed(None)

    async def _landed(self, chunk: Chunk | None) -> None:
        if self.on_landed is not None:
            await self.on_landed(
                Landed(
                    chunk=chunk,
                    leading=leading_done(self.entries.keys(), len(self.chunks)),
                    done=len(self.entries),
                    planned=len(self.chunks),
                    audio_ready=self.audio_ready,
                )
            )


async def encode_chunked_ladder(
    settings: TranscoderSettings,
    media: SourceMedia,
    source_path: Path,
    out_dir: Path,
    media_type: str,
    *,
    workers: int = 1,
    on_landed: OnLanded | None = None,
) -> LocalLadder:
    """The whole chunked ladder encoded by this process, in `out_dir`, checked, with its
    master playlist (the benchmark's and the media tests' ladder: a job fans its chunks out,
    `stitch_fanned_ladder`)."""
    chunks = await plan_source_chunks(settings, media, source_path, media_type)
    started = time.monotonic()
    slots = asyncio.Semaphore(workers)
    stitcher = Stitcher(settings, chunks, out_dir, on_landed)

    async def one(chunk: Chunk) -> None:
        async with slots:
            done = await encode_chunk(
                settings, media, source_path, out_dir, media_type, chunk, chunk is chunks[-1]
            )
        await stitcher.chunk_landed(chunk, done)

    async def audio() -> list[tuple[str, int]]:
        async with slots:
            tracks = await encode_audio_once(settings, media, source_path, out_dir, media_type)
        await stitcher.audio_landed()
        return tracks

    with permanent_failure_first():
        async with asyncio.TaskGroup() as group:
            # The audio is queued behind the first chunk: what playback waits for.
            group.create_task(one(chunks[0]))
            audio_task = group.create_task(audio())
            for chunk in chunks[1:]:
                group.create_task(one(chunk))
    return await finish_chunked(
        settings, media, out_dir, audio_task.result(), time.monotonic() - started
    )


Arrivals = AsyncIterator[tuple[int, dict[str, list[PlaylistEntry]]]]


async def stitch_fanned_ladder(
    settings: TranscoderSettings,
    media: SourceMedia,
    source_path: Path,
    out_dir: Path,
    media_type: str,
    chunks: list[Chunk],
    arrivals: Arrivals,
    *,
    on_landed: OnLanded | None = None,
) -> LocalLadder:
    """The chunked ladder of a job whose chunks other replicas encode: the audio is encoded
    here, the chunks' segments come from `arrivals` (chunk index and its segments per rung,
    already in `out_dir/<rung>/`) in whatever order replicas finish them."""
    started = time.monotonic()
    stitcher = Stitcher(settings, chunks, out_dir, on_landed)

    async def audio() -> list[tuple[str, int]]:
        tracks = await encode_audio_once(settings, media, source_path, out_dir, media_type)
        await stitcher.audio_landed()
        return tracks

    async def video() -> None:
        async for index, done in arrivals:
            await stitcher.chunk_landed(chunks[index], done)

    with permanent_failure_first():
        async with asyncio.TaskGroup() as group:
            audio_task = group.create_task(audio())
            group.create_task(video())
    return await finish_chunked(
        settings, media, out_dir, audio_task.result(), time.monotonic() - started
    )


async def finish_chunked(
    settings: TranscoderSettings,
    media: SourceMedia,
    out_dir: Path,
    audio: list[tuple[str, int]],
    encode_seconds: float,
) -> LocalLadder:
    """Check every rung and audio rendition, measure the master, remux the MP4 fallback."""
    planned = plan_ladder(media, settings.encoding.ladder)
    codecs = await chunked.video_codecs(
        settings.ffprobe,
        out_dir / planned[0].name / (ffmpeg.SEGMENT_PATTERN % 0),
        settings.tools,
    )
    packaged = await asyncio.to_thread(
        finish_chunked_ladder,
        out_dir,
        planned,
        audio,
        source_duration=media.duration,
        fps=output_fps(media, settings.encoding.max_fps),
        video_codecs=codecs,
        audio_codecs=chunked.AAC_CODECS,
    )
    mp4 = await remux_mp4(settings, media, planned, out_dir, audio)
    return LocalLadder(packaged=packaged, encode_seconds=encode_seconds, mp4=mp4)


async def remux_mp4(
    settings: TranscoderSettings,
    media: SourceMedia,
    planned: list[PlannedRendition],
    out_dir: Path,
    audio: list[tuple[str, int]],
) -> LocalMp4 | None:
    """The MP4 fallback of a chunked ladder: the rung the single-process ladder would have
    encoded it at, with that rung's audio, remuxed (None if no rung has that size)."""
    size = plan_mp4(media, planned, settings.encoding.mp4_max_short_side)
    rung = next((r for r in planned if (r.width, r.height) == (size.width, size.height)), None)
    if rung is None:
        return None
    scratch = out_dir.parent
    video_ts = scratch / "mp4-video.ts"
    await asyncio.to_thread(chunked.join_segments, out_dir / rung.name, video_ts)
    audio_ts = None
    if (name := chunked.audio_name(rung.audio_kbps)) in dict(audio):
        audio_ts = scratch / "mp4-audio.ts"
        await asyncio.to_thread(chunked.join_segments, out_dir / name, audio_ts)
    start = await chunked.start_time(settings.ffprobe, video_ts, settings.tools)
    target = out_dir / ffmpeg.MP4_NAME
    argv = chunked.build_mp4_command(settings.ffmpeg, video_ts, audio_ts, start, target)
    await ffmpeg.encode(argv, encode_limits(settings, media.duration))
    for path in (video_ts, audio_ts):
        if path is not None:
            path.unlink(missing_ok=True)
    return check_mp4(target, rung.width, rung.height, media.duration)


def stitch(chunks: list[dict[str, list[PlaylistEntry]]]) -> dict[str, list[PlaylistEntry]]:
    """Per rung, the segments of consecutive chunks in order."""
    joined: dict[str, list[PlaylistEntry]] = {}
    for chunk in chunks:
        for name, segments in chunk.items():
            joined.setdefault(name, []).extend(segments)
    return joined
