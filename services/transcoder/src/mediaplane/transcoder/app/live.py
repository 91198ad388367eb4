"""A chunked ladder made playable while it is encoded: leading chunks go to the bucket as they
land, behind EVENT media playlists and a provisional master, and each step is recorded as
`transcode.segments_ready`.

Only the chunks from the start without a gap are published, and only once the
audio is there too, so a player never meets a hole. Audio playlists are cut
to as many segments as the video has (the audio was encoded whole, its
segments end within an AAC frame of the video's). The provisional master
advertises the configured peak rates (the measured ones need every segment);
`transcode.completed` comes with the measured master, same key. Playlists are
re-uploaded whole at each step; segments once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from pathlib import Path

from mediaplane.contracts import EventContext, ReadyPlaylist
from mediaplane.storage import ObjectStore
from mediaplane.transcoder.adapters import chunked
from mediaplane.transcoder.adapters.ffmpeg import MASTER_NAME, PLAYLIST_NAME, SEGMENT_PATTERN
from mediaplane.transcoder.adapters.playlists import parse_media_playlist
from mediaplane.transcoder.app.chunked import Landed
from mediaplane.transcoder.app.progress import ProgressReporter
from mediaplane.transcoder.app.service import TranscodeService
from mediaplane.transcoder.config import ToolLimits
from mediaplane.transcoder.domain.chunks import PlaylistEntry, render_media_playlist
from mediaplane.transcoder.domain.hls import AudioTrack, Variant, render_master
from mediaplane.transcoder.domain.ladder import PlannedRendition

_PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
_UPLOADS_AT_ONCE = 8


class LiveLadder:
    """`on_landed` for `stitch_fanned_ladder` inside a job (segments the replicas uploaded are
    in `uploaded` already)."""

    def __init__(
        self,
        *,
        service: TranscodeService,
        objects: ObjectStore,
        ffprobe: str,
        tools: ToolLimits,
        bucket: str,
        prefix: str,
        out_dir: Path,
        planned: Sequence[PlannedRendition],
        duration: float,
        fps: float,
        segment_seconds: float,
        job_id: uuid.UUID,
        file_id: uuid.UUID,
        context: EventContext,
        reporter: ProgressReporter,
    ) -> None:
        self.service, self.objects = service, objects
        self.ffprobe, self.tools = ffprobe, tools
        self.bucket, self.prefix, self.out_dir = bucket, prefix, out_dir
        self.planned, self.duration, self.fps = planned, duration, fps
        self.segment_seconds = segment_seconds
        self.job_id, self.file_id, self.context = job_id, file_id, context
        self.reporter = reporter
        # Landings are published one at a time, in order, from what is on disk by then (a
        # later landing may already be there): playlists only ever grow.
        self.lock = asyncio.Lock()
        self.published = (0, False)  # video segments and `ended` of the last publication
        self.uploaded: set[str] = set()  # segment files (relative) already in the bucket
        self.codecs: str | None = None

    async def __call__(self, news: Landed) -> None:
        # Progress is chunks done out of chunks planned (throttled like ffmpeg's positions).
        self.reporter.position(self.duration * news.done / news.planned)
        if not news.playable:
            return
        async with self.lock:
            await self._publish(news)

    async def _publish(self, news: Landed) -> None:
        first = self.planned[0].name
        ended = "#EXT-X-ENDLIST" in self._text(first)
        video = {r.name: self._entries(r.name) for r in self.planned}
        count = len(video[first])
        if not count or (count, ended) <= self.published:
            return
        self.published = (count, ended)
        audio = {
            name: self._entries(name)[:count] for name in self._audio_names()
        }  # cut to the video's length while it grows
        playlists = {
            f"{name}/{PLAYLIST_NAME}": render_media_playlist(
                entries, segment_seconds=self.segment_seconds, ended=ended
            )
            for name, entries in {**video, **audio}.items()
        }
        segments = [
            f"{name}/{e.uri}"
            for name, entries in {**video, **audio}.items()
            for e in entries
            if f"{name}/{e.uri}" not in self.uploaded
        ]
        if self.codecs is None:
            head = self.out_dir / first / (SEGMENT_PATTERN % 0)
            self.codecs = await chunked.video_codecs(self.ffprobe, head, self.tools)
        limit = asyncio.Semaphore(_UPLOADS_AT_ONCE)

        async def put(relative: str) -> None:
            async with limit:
                await self.objects.upload_file(
                    self.bucket, f"{self.prefix}/{relative}", self.out_dir / relative,
                    content_type="video/mp2t",
                )  # fmt: skip

        async with asyncio.TaskGroup() as group:
            for relative in segments:
                group.create_task(put(relative))
        self.uploaded.update(segments)
        for relative, text in playlists.items():
            await self._put_text(relative, text)
        await self._put_text(MASTER_NAME, self._provisional_master())
        await self.service.record_segments(
            job_id=self.job_id,
            file_id=self.file_id,
            bucket=self.bucket,
            master_playlist_key=f"{self.prefix}/{MASTER_NAME}",
            playlists=[
                ReadyPlaylist(name=name, playlist_key=f"{self.prefix}/{name}/{PLAYLIST_NAME}")
                for name in [*video, *audio]
            ],
            ready=round(sum(e.duration for e in video[first]), 3),
            chunks_done=news.planned if ended else news.done,
            chunks_planned=news.planned,
            ended=ended,
            context=self.context,
        )

    def _audio_names(self) -> list[str]:
        """The audio renditions ffmpeg wrote (none for a silent source)."""
        names = [chunked.audio_name(k) for k in chunked.audio_bitrates(self.planned)]
        return [n for n in names if (self.out_dir / n / PLAYLIST_NAME).is_file()]

    def _text(self, name: str) -> str:
        path = self.out_dir / name / PLAYLIST_NAME
        return path.read_text("utf-8") if path.is_file() else ""

    def _entries(self, name: str) -> list[PlaylistEntry]:
        """The segments of `name`'s playlist as written so far (stitched video, whole audio)."""
        text = self._text(name)
        if not text:
            return []
        if "#EXT-X-ENDLIST" not in text:
            text = text.replace("#EXT-X-PLAYLIST-TYPE:EVENT", "#EXT-X-PLAYLIST-TYPE:VOD")
            text += "#EXT-X-ENDLIST\n"
        return [PlaylistEntry(uri=u, duration=d) for u, d in parse_media_playlist(text).segments]

    def _provisional_master(self) -> str:
        has_audio = bool(self._audio_names())
        variants = [
            Variant(
                name=r.name,
                uri=f"{r.name}/{PLAYLIST_NAME}",
                width=r.width,
                height=r.height,
                codecs=f"{self.codecs},{chunked.AAC_CODECS}" if has_audio else str(self.codecs),
                frame_rate=self.fps,
                bandwidth=(r.maxrate_kbps + (r.audio_kbps if has_audio else 0)) * 1000,
                average_bandwidth=(r.video_kbps + (r.audio_kbps if has_audio else 0)) * 1000,
                audio_group=chunked.audio_name(r.audio_kbps) if has_audio else None,
            )
            for r in self.planned
        ]
        tracks = [
            AudioTrack(group=name, uri=f"{name}/{PLAYLIST_NAME}")
            for name in (self._audio_names() if has_audio else [])
        ]
        return render_master(variants, version=3, audio=tracks)

    async def _put_text(self, relative: str, text: str) -> None:
        await self.objects.put_bytes(
            self.bucket,
            f"{self.prefix}/{relative}",
            text.encode("utf-8"),
            content_type=_PLAYLIST_TYPE,
        )
