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
from datetime import UTC, datetime, timedelta

from mediaplane.catalog.app.playback import PARAMETER, PlaybackTokens
from mediaplane.catalog.app.queries import CatalogQueries, FileNotFound
from mediaplane.catalog.app.views import FileDetail, Link, Mp4View, RenditionView, ThumbnailView
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
        playable = live and record.master_playlist_key is not None
        grant = playback.issue(principal, file_id) if playable else None
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
            for r in (await self._queries.renditions(file_id) if playable else [])
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
        bucket, master_key = await self._playable(principal, file_id)
        names = {r.playlist_key: r.name for r in await self._queries.renditions(file_id)}
        text = await self._read(bucket, master_key)

        def replace(key: str) -> str:
            name = names.get(key)
            if name is not None:
                return f"{name}.m3u8{query}"
            return self._sign(bucket, key)

        return rewrite(text, master_key, replace)

    async def rendition_playlist(self, principal: Principal, file_id: uuid.UUID, name: str) -> str:
        """A rendition's media playlist with every segment (and init section) presigned."""
        await self._playable(principal, file_id)
        rendition = next(
            (r for r in await self._queries.renditions(file_id) if r.name == name), None
        )
        if rendition is None:
            raise PlaybackNotReady(f"file {file_id} has no rendition {name!r}")
        text = await self._read(rendition.bucket, rendition.playlist_key)
        return rewrite(text, rendition.playlist_key, lambda key: self._sign(rendition.bucket, key))

    async def _playable(self, principal: Principal, file_id: uuid.UUID) -> tuple[str, str]:
        """The bucket and key of the master playlist of a visible, ready, transcoded file."""
        record = await self._queries.file(principal, file_id)
        bucket, key = record.renditions_bucket, record.master_playlist_key
        if record.summary.status != "ready" or bucket is None or key is None:
            raise PlaybackNotReady(f"file {file_id} has no HLS renditions")
        return bucket, key

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
