"""File details with download, thumbnail, MP4 and waveform URLs, and HLS playlists rewritten
for playback.

The catalog presigns GETs only for keys that arrived in events (the
original's key, renditions and thumbnails), which docs/architecture.md allows: it reads
those objects, never writes them. URLs are presigned offline (the store has
an explicit region), so a detail costs no S3 round trip; a playlist costs one
GET of the playlist object.
"""

from __future__ import annotations

import uuid
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from mediaplane.catalog.app.playback import PARAMETER, PlaybackTokens
from mediaplane.catalog.app.queries import (
    CatalogQueries,
    FileNotFound,
    FileRecord,
    LiveLadderRecord,
)
from mediaplane.catalog.app.views import (
    FileDetail,
    Link,
    LiveView,
    Mp4View,
    RenditionView,
    ThumbnailView,
)
from mediaplane.catalog.domain.hls import rewrite
from mediaplane.servicekit.auth import Principal
from mediaplane.storage import ObjectNotFound, ObjectStore

MAX_PLAYLIST_BYTES = 4 * 1024 * 1024  # a VOD playlist of a few hours is well below this


class PlaybackNotReady(FileNotFound):
    code = "playback_not_found"
    title = "No HLS playback for this file"


class Mp4NotReady(FileNotFound):
    code = "mp4_not_found"
    title = "No MP4 fallback for this file"


@dataclass(frozen=True, kw_only=True)
class _Playback:
    """Where a file's HLS ladder is: the finished one, or the one still growing (`live`)."""

    bucket: str
    master_key: str
    playlists: dict[str, str]  # rendition name -> media playlist key
    live: LiveLadderRecord | None = None


def files_path(file_id: uuid.UUID) -> str:
    return f"/v1/files/{file_id}"


class MediaService:
    def __init__(
        self,
        queries: CatalogQueries,
        objects: ObjectStore,
        *,
        download_ttl: int,
        hls_ttl: int,
    ) -> None:
        self._queries = queries
        self._objects = objects
        self._download_ttl = timedelta(seconds=download_ttl)
        self._hls_ttl = timedelta(seconds=hls_ttl)

    async def detail(
        self, principal: Principal, file_id: uuid.UUID, playback: PlaybackTokens
    ) -> FileDetail:
        """The file; its playlist URLs carry a playback token for this reader and file."""
        record = await self._queries.file(principal, file_id)
        summary = record.summary
        now = datetime.now(UTC)
        # Bytes are served only while the file is ready: a rejected or deleted file's
        # object may be anything, or gone.
        live = summary.status == "ready"
        download = None
        if live:
            url = self._objects.presign_get(
                record.bucket,
                record.object_key,
                expires=self._download_ttl,
                filename=summary.filename,
                content_type=summary.media_type or summary.content_type,
            ).url
            download = Link(url=url, expires_at=now + self._download_ttl)
        thumbnails = [
            ThumbnailView(
                name=t.name,
                width=t.width,
                height=t.height,
                format=t.format,
                size=t.size,
                url=self._objects.presign_get(
                    t.bucket, t.key, expires=self._download_ttl, inline=True
                ).url,
            )
            for t in (await self._queries.thumbnails(file_id) if live else [])
        ]
        base = files_path(file_id)
        source = await self._playback(record)
        finished = source is not None and source.live is None
        grant = playback.issue(principal, file_id) if source is not None else None
        query = f"?{PARAMETER}={grant.token}" if grant else ""
        renditions = [
            RenditionView(
                name=r.name,
                width=r.width,
                height=r.height,
                bandwidth=r.bandwidth,
                average_bandwidth=r.average_bandwidth,
                codecs=r.codecs,
                frame_rate=r.frame_rate,
                segment_count=r.segment_count,
                playlist_url=f"{base}/hls/{r.name}.m3u8{query}",
            )
            for r in (await self._queries.renditions(file_id) if finished else [])
        ]
        mp4 = None
        if live and record.mp4 is not None and record.renditions_bucket is not None:
            mp4 = Mp4View(
                url=self._mp4_url(
                    record.renditions_bucket, record.mp4.key, summary.filename, download=False
                ),
                expires_at=now + self._download_ttl,
                width=record.mp4.width,
                height=record.mp4.height,
                size=record.mp4.size,
            )
        waveform_url = None
        if live and record.waveform_key is not None and record.renditions_bucket is not None:
            waveform_url = self._objects.presign_get(
                record.renditions_bucket,
                record.waveform_key,
                expires=self._download_ttl,
                content_type="application/json",
                inline=True,
            ).url
        return FileDetail(
            file=summary,
            sha256=record.sha256,
            duration=record.duration,
            purged=record.purged,
            metadata=record.metadata,
            download=download,
            thumbnails=thumbnails,
            renditions=renditions,
            hls_url=f"{base}/hls/master.m3u8{query}" if grant else None,
            hls_expires_at=grant.expires_at if grant else None,
            mp4=mp4,
            waveform_url=waveform_url,
            live=LiveView(
                ready=source.live.ready,
                chunks_done=source.live.chunks_done,
                chunks_planned=source.live.chunks_planned,
                ended=source.live.ended,
            )
            if source is not None and source.live is not None
            else None,
        )

    async def mp4_url(self, principal: Principal, file_id: uuid.UUID, *, download: bool) -> str:
        """A presigned GET of the file's MP4 fallback (Range requests work on it): inline for
        players, or an attachment named after the original."""
        record = await self._queries.file(principal, file_id)
        bucket = record.renditions_bucket
        if record.summary.status != "ready" or record.mp4 is None or bucket is None:
            raise Mp4NotReady(f"file {file_id} has no MP4 fallback")
        return self._mp4_url(bucket, record.mp4.key, record.summary.filename, download=download)

    def _mp4_url(self, bucket: str, key: str, filename: str, *, download: bool) -> str:
        stem = filename.rsplit(".", 1)[0] or "video"
        return self._objects.presign_get(
            bucket,
            key,
            expires=self._download_ttl,
            filename=f"{stem}.mp4",
            content_type="video/mp4",
            inline=not download,
        ).url

    async def master_playlist(self, principal: Principal, file_id: uuid.UUID, token: str) -> str:
        """The master playlist; its rendition playlists point back at this API with `token`.

        Rendition playlists go through the catalog, not straight to S3, so
        that every one is authorized and its segment URLs are signed fresh.
        """
        query = f"?{PARAMETER}={token}"
        source = await self._playable(principal, file_id)
        bucket, master_key = source.bucket, source.master_key
        names = {key: name for name, key in source.playlists.items()}
        text = await self._read(bucket, master_key)

        def replace(key: str) -> str:
            name = names.get(key)
            if name is not None:
                return f"{name}.m3u8{query}"
            return self._sign(bucket, key)

        return rewrite(text, master_key, replace)

    async def rendition_playlist(self, principal: Principal, file_id: uuid.UUID, name: str) -> str:
        """A rendition's media playlist with every segment (and init section) presigned.

        While the ladder grows it is the EVENT playlist as the transcoder last uploaded it
        (each request reads it again, so it grows); once ended, the same key holds VOD.
        """
        source = await self._playable(principal, file_id)
        key = source.playlists.get(name)
        if key is None:
            raise PlaybackNotReady(f"file {file_id} has no rendition {name!r}")
        text = await self._read(source.bucket, key)
        return rewrite(text, key, lambda k: self._sign(source.bucket, k))

    async def _playable(self, principal: Principal, file_id: uuid.UUID) -> _Playback:
        record = await self._queries.file(principal, file_id)
        source = await self._playback(record)
        if source is None:
            raise PlaybackNotReady(f"file {file_id} has no HLS renditions")
        return source

    async def _playback(self, record: FileRecord) -> _Playback | None:
        """The ladder of a visible, ready file: the finished one once `transcode.completed`
        is in, else the growing one while the transcode runs (a failed job plays nothing)."""
        summary = record.summary
        if summary.status != "ready":
            return None
        bucket, key = record.renditions_bucket, record.master_playlist_key
        if bucket is not None and key is not None:
            renditions = await self._queries.renditions(summary.file_id)
            return _Playback(
                bucket=bucket,
                master_key=key,
                playlists={r.name: r.playlist_key for r in renditions},
            )
        if summary.transcode_status != "running":
            return None
        live = await self._queries.live_ladder(summary.file_id)
        if live is None:
            return None
        return _Playback(
            bucket=live.bucket,
            master_key=live.master_playlist_key,
            playlists=live.playlists,
            live=live,
        )

    def _sign(self, bucket: str, key: str) -> str:
        return self._objects.presign_get(bucket, key, expires=self._hls_ttl).url

    async def _read(self, bucket: str, key: str) -> str:
        chunks: list[bytes] = []
        size = 0
        try:
            async with aclosing(self._objects.iter_object(bucket, key)) as stream:
                async for chunk in stream:
                    size += len(chunk)
                    if size > MAX_PLAYLIST_BYTES:
                        raise PlaybackNotReady(f"playlist {key} is too large")
                    chunks.append(chunk)
        except ObjectNotFound:
            # Purged, or the transcoder's upload is not visible yet: nothing to play.
            raise PlaybackNotReady(f"playlist {key} is not in storage") from None
        return b"".join(chunks).decode("utf-8")
