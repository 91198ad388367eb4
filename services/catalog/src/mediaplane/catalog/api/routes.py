"""The public queries: files, their history and playback, tags, upload sessions, live changes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, ServerSentEvent, ServerSentEventMessage

from mediaplane.catalog.api import console
from mediaplane.catalog.app.changes import ChangeFeed
from mediaplane.catalog.app.media import MediaService
from mediaplane.catalog.app.playback import PARAMETER, PlaybackTokens
from mediaplane.catalog.app.queries import (
    CatalogQueries,
    FileFilter,
    FileKind,
    FileStatus,
    SessionStatus,
)
from mediaplane.catalog.app.views import FileDetail, FilePage, History, SessionPage, TagPage
from mediaplane.catalog.domain.ranges import checked_range, parse_time
from mediaplane.servicekit.accounts import BlockedAccounts
from mediaplane.servicekit.auth import Principal
from mediaplane.servicekit.pagination import Cursor, Limit
from mediaplane.servicekit.principal import admit, provide_principal
from mediaplane.servicekit.problems import PROBLEM_JSON, ProblemDetails

Req = Request[Any, Any, Any]
HLS_MEDIA_TYPE = "application/vnd.apple.mpegurl"
# Playlists hold presigned URLs: never cache them in shared caches.
_PLAYLIST_HEADERS = {"Cache-Control": "private, no-store"}
KEEPALIVE_SECONDS = 15.0
# How often an open stream checks that its reader's account is still active (suspended or
# deleted: the stream ends, and reconnecting is refused).
ACCOUNT_CHECK_SECONDS = 1.0


def provide_queries(request: Req) -> CatalogQueries:
    queries: CatalogQueries = request.app.state.queries
    return queries


def provide_media(request: Req) -> MediaService:
    media: MediaService = request.app.state.media
    return media


def provide_playback(request: Req) -> PlaybackTokens:
    playback: PlaybackTokens = request.app.state.playback
    return playback


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who a playlist request plays for, and the playback token it came with."""

    reader: Principal
    token: str


async def provide_viewer(
    request: Req,
    token: Annotated[
        str | None,
        QueryParameter(name=PARAMETER, description="the playback token of the file's URLs"),
    ] = None,
) -> Viewer:
    """The reader a playlist URL's playback token was issued to, for the file in the path.

    Playlists accept nothing else: no bearer token (header or query), so a
    playlist URL never needs, and never leaks, an API credential.
    """
    playback: PlaybackTokens = request.app.state.playback
    token = token or ""
    reader = playback.verify(token, request.path_params["file_id"])
    return Viewer(reader=await admit(request, reader), token=token)


_DEPENDENCIES = {
    "principal": Provide(provide_principal),
    "queries": Provide(provide_queries, sync_to_thread=False),
    "media": Provide(provide_media, sync_to_thread=False),
    "playback": Provide(provide_playback, sync_to_thread=False),
}


class FileController(Controller):
    path = "/v1/files"
    opt = {"scope": "files:read"}  # checked by servicekit `admit`
    tags = ["files"]
    dependencies = _DEPENDENCIES

    @get(
        "/",
        summary="List files (newest first, keyset pagination)",
        responses={
            422: ResponseSpec(
                data_container=ProblemDetails,
                media_type=PROBLEM_JSON,
                description="An empty range (lower bound above upper) or a time without a zone",
                generate_examples=False,
            )
        },
    )
    async def list_files(
        self,
        principal: NamedDependency[Principal],
        queries: NamedDependency[CatalogQueries],
        tag: FromQuery[str | None] = None,
        kind: FromQuery[FileKind | None] = None,
        status: FromQuery[FileStatus | None] = None,
        q: Annotated[
            str | None, QueryParameter(max_length=255, description="filename contains")
        ] = None,
        taken_after: Annotated[
            str | None,
            QueryParameter(
                format="date-time", description="taken at or after (RFC 3339, with a zone)"
            ),
        ] = None,
        taken_before: Annotated[
            str | None,
            QueryParameter(
                format="date-time", description="taken at or before (RFC 3339, with a zone)"
            ),
        ] = None,
        # `schema_extra`: an optional parameter's own `ge` is lost in its OpenAPI schema.
        min_duration: Annotated[
            float | None,
            QueryParameter(
                ge=0, schema_extra={"minimum": 0}, description="at least this many seconds long"
            ),
        ] = None,
        max_duration: Annotated[
            float | None,
            QueryParameter(
                ge=0, schema_extra={"minimum": 0}, description="at most this many seconds long"
            ),
        ] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> FilePage:
        """Range filters match only files whose metadata has the field (photos with an
        EXIF time, videos and audio with a duration); an empty range is 422 `invalid_range`."""
        return await queries.list_files(
            principal,
            FileFilter(
                tag=tag,
                kind=kind,
                status=status,
                q=q,
                taken_at=checked_range(
                    "taken_at",
                    parse_time("taken_after", taken_after),
                    parse_time("taken_before", taken_before),
                ),
                duration=checked_range("duration", min_duration, max_duration),
            ),
            limit=limit,
            cursor=cursor,
        )

    @get("/{file_id:uuid}", summary="A file with download, thumbnail and playback URLs")
    async def get_file(
        self,
        file_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        media: NamedDependency[MediaService],
        playback: NamedDependency[PlaybackTokens],
    ) -> FileDetail:
        return await media.detail(principal, file_id, playback)

    @get("/{file_id:uuid}/history", summary="The file's events, oldest first")
    async def history(
        self,
        file_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        queries: NamedDependency[CatalogQueries],
    ) -> History:
        return await queries.history(principal, file_id)

    @get(
        "/{file_id:uuid}/mp4",
        summary="Redirect (307) to the MP4 fallback: presigned, seekable with Range requests",
        status_code=307,
    )
    async def mp4(
        self,
        file_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        media: NamedDependency[MediaService],
        download: Annotated[
            bool, QueryParameter(description="as an attachment named after the original")
        ] = False,
    ) -> Redirect:
        """The same read rules as the file: another owner's file is `404 file_not_found`, a
        file without a fallback (not ready, not a video, not transcoded) `404 mp4_not_found`."""
        url = await media.mp4_url(principal, file_id, download=download)
        return Redirect(url, status_code=307, headers={"Cache-Control": "private, no-store"})

    @get(
        "/{file_id:uuid}/hls/{playlist:str}",
        summary="HLS playlists: master.m3u8 and <rendition>.m3u8 (`?pt=<playback token>`)",
        dependencies={"viewer": Provide(provide_viewer)},
        media_type=HLS_MEDIA_TYPE,
    )
    async def playlist(
        self,
        file_id: FromPath[uuid.UUID],
        playlist: FromPath[str],
        viewer: NamedDependency[Viewer],
        media: NamedDependency[MediaService],
    ) -> Response[str]:
        if not playlist.endswith(".m3u8"):
            return Response("", status_code=404, media_type=HLS_MEDIA_TYPE)
        reader = viewer.reader
        if playlist == "master.m3u8":
            text = await media.master_playlist(reader, file_id, viewer.token)
        else:
            text = await media.rendition_playlist(reader, file_id, playlist.removesuffix(".m3u8"))
        return Response(text, media_type=HLS_MEDIA_TYPE, headers=_PLAYLIST_HEADERS)


class TagController(Controller):
    path = "/v1/tags"
    opt = {"scope": "files:read"}  # checked by servicekit `admit`
    tags = ["tags"]
    dependencies = _DEPENDENCIES

    @get("/", summary="Tags by name (marker pagination)")
    async def list_tags(
        self,
        principal: NamedDependency[Principal],
        queries: NamedDependency[CatalogQueries],
        limit: Limit = 100,
        marker: FromQuery[str | None] = None,
    ) -> TagPage:
        return await queries.tags(principal, limit=limit, marker=marker)


class UploadController(Controller):
    path = "/v1/uploads"
    opt = {"scope": "files:read"}  # checked by servicekit `admit`
    tags = ["uploads"]
    dependencies = _DEPENDENCIES

    @get("/", summary="The caller's upload sessions")
    async def list_uploads(
        self,
        principal: NamedDependency[Principal],
        queries: NamedDependency[CatalogQueries],
        status: FromQuery[SessionStatus | None] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> SessionPage:
        return await queries.uploads(principal, status=status, limit=limit, cursor=cursor)


def provide_feed(request: Req) -> ChangeFeed:
    feed: ChangeFeed = request.app.state.changes
    return feed


class EventController(Controller):
    path = "/v1/events"
    opt = {"scope": "files:read"}  # checked by servicekit `admit`
    tags = ["events"]
    dependencies = {
        "principal": Provide(provide_principal),
        "feed": Provide(provide_feed, sync_to_thread=False),
    }

    @get(
        "/",
        summary="Server-Sent Events: live changes of the caller's files",
        responses={
            200: ResponseSpec(
                data_container=str,
                media_type="text/event-stream",
                description="An endless event stream",
                generate_examples=False,
            )
        },
    )
    async def stream(
        self,
        request: Req,
        principal: NamedDependency[Principal],
        feed: NamedDependency[ChangeFeed],
    ) -> ServerSentEvent:
        """`event: file.changed` with the file's new status; a comment every 15 s keeps
        proxies from closing an idle stream; `event: overflow` when changes were dropped
        because the client read too slowly (re-read the list to resynchronize). The stream
        ends when the reader's account is suspended or deleted."""
        accounts: BlockedAccounts = request.app.state.blocked_accounts
        return ServerSentEvent(
            _changes(principal, feed, accounts), headers={"Cache-Control": "no-store"}
        )


async def _changes(
    principal: Principal, feed: ChangeFeed, accounts: BlockedAccounts
) -> AsyncIterator[ServerSentEventMessage]:
    async with feed.subscribe() as subscription:
        yield ServerSentEventMessage(comment="connected")
        idle = 0.0
        while not accounts.blocked(principal.owner):
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for may swallow a cancellation.
                async with asyncio.timeout(ACCOUNT_CHECK_SECONDS):
                    change = await subscription.queue.get()
            except TimeoutError:
                idle += ACCOUNT_CHECK_SECONDS
                if idle >= KEEPALIVE_SECONDS:
                    idle = 0.0
                    yield ServerSentEventMessage(comment="keep-alive")
                continue
            idle = 0.0
            if subscription.overflowed:
                subscription.overflowed = False
                yield ServerSentEventMessage(event="overflow", data="{}")
            if principal.admin or change.owner == principal.owner:
                yield ServerSentEventMessage(
                    event="file.changed", data=msgspec.json.encode(change).decode()
                )


ROUTES = [FileController, TagController, UploadController, EventController, *console.ROUTES]
