"""The read model's queries, each scoped to what the caller may see.

Every query takes the caller's `Principal`: owners see only their own rows
(an invisible file is "not found", never "forbidden", so ids do not leak),
admins see all.

A file taken down by a moderator (issue 16) stays in its owner's list, marked
with the reason, and every read of it (detail, history, download, MP4,
playlists) answers 451 `file_taken_down` to everyone but moderators and admins.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import msgspec
from psycopg import sql
from psycopg.rows import dict_row

from mediaplane.catalog.app.views import (
    FileMetadata,
    FilePage,
    FileSummary,
    History,
    HistoryEvent,
    SessionPage,
    SessionView,
    TagPage,
    TagView,
)
from mediaplane.catalog.domain.ranges import Range
from mediaplane.eventlog.database import Pool
from mediaplane.servicekit.access import has_role
from mediaplane.servicekit.auth import Principal
from mediaplane.servicekit.errors import ProblemError
from mediaplane.servicekit.pagination import decode_cursor, encode_cursor

FileStatus = Literal["uploading", "verifying", "ready", "rejected", "deleted"]
FileKind = Literal["image", "video", "audio", "pdf", "other"]
SessionStatus = Literal["open", "completed", "aborted", "expired"]


class FileNotFound(ProblemError):
    code = "file_not_found"
    status = 404
    title = "File not found"


class FileTakenDown(ProblemError):
    """Only its owner can see that it exists (others get 404): they get the reason."""

    code = "file_taken_down"
    status = 451
    title = "File taken down by a moderator"


SUMMARY_COLUMNS = sql.SQL(
    """f.file_id, f.owner, f.filename, f.size, f.content_type, f.media_type, f.kind, f.status,
       f.rejection_code, f.transcode_status, f.transcode_error, f.thumbnail_status,
       f.thumbnail_error, f.transcode_progress, f.created_at, f.updated_at,
       coalesce((SELECT array_agg(t.tag ORDER BY t.tag) FROM file_tags t
                 WHERE t.file_id = f.file_id), '{}') AS tags,
       (SELECT m.reason FROM file_moderation m
         WHERE m.file_id = f.file_id AND m.taken_down) AS taken_down_reason"""
)


@dataclass(frozen=True, kw_only=True)
class FileFilter:
    tag: str | None = None
    kind: FileKind | None = None
    status: FileStatus | None = None
    q: str | None = None
    # From the extracted metadata: files without it never match a bounded range.
    taken_at: Range[datetime] = field(default_factory=Range)
    duration: Range[float] = field(default_factory=Range)


@dataclass(frozen=True, kw_only=True)
class FileRecord:
    """A visible file with the columns only the detail view needs."""

    summary: FileSummary
    sha256: str | None
    bucket: str
    object_key: str
    renditions_bucket: str | None
    master_playlist_key: str | None
    duration: float | None
    purged: bool
    metadata: FileMetadata | None = None
    mp4: Mp4Record | None = None
    waveform_key: str | None = None


@dataclass(frozen=True, kw_only=True)
class Mp4Record:
    key: str
    width: int
    height: int
    size: int


@dataclass(frozen=True, kw_only=True)
class RenditionRecord:
    name: str
    width: int
    height: int
    bandwidth: int
    average_bandwidth: int
    codecs: str
    frame_rate: float
    bucket: str
    playlist_key: str
    segment_count: int


@dataclass(frozen=True, kw_only=True)
class LiveLadderRecord:
    """The latest `transcode.segments_ready` of a file's running job."""

    bucket: str
    master_playlist_key: str
    playlists: dict[str, str]  # rendition name -> media playlist key
    ready: float
    chunks_done: int
    chunks_planned: int
    ended: bool


@dataclass(frozen=True, kw_only=True)
class ThumbnailRecord:
    name: str
    width: int
    height: int
    format: str
    bucket: str
    key: str
    size: int


def _owner_scope(principal: Principal, column: str) -> sql.Composable:
    if principal.admin:
        return sql.SQL("true")
    return sql.SQL("{} = {}").format(sql.SQL(column), sql.Literal(principal.owner))


def _reader_scope(principal: Principal, column: str) -> sql.Composable:
    """One file by id: moderators may read any (they review reported files)."""
    if has_role(principal, "moderator"):
        return sql.SQL("true")
    return _owner_scope(principal, column)


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def summary_of(row: dict[str, Any]) -> FileSummary:
    return msgspec.convert(row, FileSummary, from_attributes=False)


def _metadata(row: dict[str, Any]) -> FileMetadata | None:
    if row["metadata_status"] is None:
        return None
    kind, section = row["metadata_kind"], row["metadata_section"]
    sections = {kind: section} if kind in ("image", "video", "audio", "pdf") and section else {}
    return msgspec.convert(
        {
            "status": row["metadata_status"],
            "error": row["metadata_error"],
            "kind": kind,
            **sections,
        },
        FileMetadata,
    )


def _range(
    column: str, name: str, bounds: Range[Any], params: dict[str, Any]
) -> list[sql.Composable]:
    """Conditions on an `m.` column of file_metadata for the set bounds of `bounds`."""
    found: list[sql.Composable] = []
    for op, suffix, bound in ((">=", "low", bounds.low), ("<=", "high", bounds.high)):
        if bound is not None:
            key = f"{name}_{suffix}"
            found.append(sql.SQL(f"m.{column} {op} %({key})s"))
            params[key] = bound
    return found


class CatalogQueries:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def blocked_accounts(self) -> dict[str, str]:
        """Every suspended or deleted account (the accounts projection): owner -> status."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT owner, status FROM accounts WHERE status <> 'active'"
            )
            return dict(await cursor.fetchall())

    async def list_files(
        self, principal: Principal, where: FileFilter, *, limit: int, cursor: str | None
    ) -> FilePage:
        """Newest first; the cursor is the last row's `(created_at, file_id)` (keyset).

        Files that arrive while a client pages sort before its cursor, so
        the following pages neither repeat nor skip a row.
        """
        conditions: list[sql.Composable] = [_owner_scope(principal, "f.owner")]
        params: dict[str, Any] = {"limit": limit + 1}
        if where.status is None:
            conditions.append(sql.SQL("f.status <> 'deleted'"))
        else:
            conditions.append(sql.SQL("f.status = %(status)s"))
            params["status"] = where.status
        if where.kind is not None:
            conditions.append(sql.SQL("f.kind = %(kind)s"))
            params["kind"] = where.kind
        if where.tag is not None:
            conditions.append(
                sql.SQL(
                    "EXISTS (SELECT 1 FROM file_tags t WHERE t.file_id = f.file_id "
                    "AND t.tag = %(tag)s)"
                )
            )
            params["tag"] = where.tag.strip().lower()
        if where.q:
            conditions.append(sql.SQL("f.filename ILIKE %(q)s"))
            params["q"] = _like_pattern(where.q)
        ranges = [
            *_range("taken_at", "taken", where.taken_at, params),
            *_range("duration", "duration", where.duration, params),
        ]
        if ranges:
            conditions.append(
                sql.SQL(
                    "EXISTS (SELECT 1 FROM file_metadata m WHERE m.file_id = f.file_id AND {})"
                ).format(sql.SQL(" AND ").join(ranges))
            )
        if cursor is not None:
            params["at"], params["id"] = decode_cursor(cursor)
            conditions.append(sql.SQL("(f.created_at, f.file_id) < (%(at)s, %(id)s)"))
        query = sql.SQL(
            "SELECT {} FROM files f WHERE {} "
            "ORDER BY f.created_at DESC, f.file_id DESC LIMIT %(limit)s"
        ).format(SUMMARY_COLUMNS, sql.SQL(" AND ").join(conditions))
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query, params)
            rows = await cur.fetchall()
        items = [summary_of(row) for row in rows[:limit]]
        more = len(rows) > limit
        last = items[-1] if more else None
        return FilePage(
            items=items,
            next_cursor=encode_cursor(last.created_at, last.file_id) if last else None,
        )

    async def file(self, principal: Principal, file_id: uuid.UUID) -> FileRecord:
        query = sql.SQL(
            "SELECT {}, f.sha256, f.bucket, f.object_key, f.renditions_bucket, "
            "f.master_playlist_key, f.duration, f.purged, f.mp4_key, f.mp4_width, "
            "f.mp4_height, f.mp4_size, f.waveform_key, m.status AS metadata_status, "
            "m.error AS metadata_error, m.kind AS metadata_kind, m.section AS metadata_section "
            "FROM files f LEFT JOIN file_metadata m ON m.file_id = f.file_id "
            "WHERE f.file_id = %(id)s AND {}"
        ).format(SUMMARY_COLUMNS, _reader_scope(principal, "f.owner"))
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query, {"id": file_id})
            row = await cur.fetchone()
        if row is None:
            raise FileNotFound(f"no file {file_id}")
        reason = row["taken_down_reason"]
        if reason is not None and not has_role(principal, "moderator"):
            raise FileTakenDown(f"taken down by a moderator: {reason}")
        return FileRecord(
            summary=summary_of(row),
            sha256=row["sha256"],
            bucket=row["bucket"],
            object_key=row["object_key"],
            renditions_bucket=row["renditions_bucket"],
            master_playlist_key=row["master_playlist_key"],
            duration=row["duration"],
            purged=row["purged"],
            metadata=_metadata(row),
            mp4=Mp4Record(
                key=row["mp4_key"],
                width=row["mp4_width"],
                height=row["mp4_height"],
                size=row["mp4_size"],
            )
            if row["mp4_key"] is not None
            else None,
            waveform_key=row["waveform_key"],
        )

    async def renditions(self, file_id: uuid.UUID) -> list[RenditionRecord]:
        """Renditions of a file the caller was already allowed to see (`file()` first)."""
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                "SELECT name, width, height, bandwidth, average_bandwidth, codecs, frame_rate, "
                "bucket, playlist_key, segment_count FROM renditions WHERE file_id = %s "
                "ORDER BY bandwidth DESC, name",
                (file_id,),
            )
            return [RenditionRecord(**row) for row in await cur.fetchall()]

    async def live_ladder(self, file_id: uuid.UUID) -> LiveLadderRecord | None:
        """The growing ladder of a file the caller was already allowed to see (`file()` first)."""
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                "SELECT bucket, master_playlist_key, playlists, ready, chunks_done, "
                "chunks_planned, ended FROM live_ladders WHERE file_id = %s",
                (file_id,),
            )
            row = await cur.fetchone()
        if row is None:
            return None
        playlists = {p["name"]: p["playlist_key"] for p in row.pop("playlists")}
        return LiveLadderRecord(playlists=playlists, **row)

    async def thumbnails(self, file_id: uuid.UUID) -> list[ThumbnailRecord]:
        """Thumbnails of a file the caller was already allowed to see (`file()` first)."""
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                "SELECT name, width, height, format, bucket, key, size FROM thumbnails "
                "WHERE file_id = %s ORDER BY width, name",
                (file_id,),
            )
            return [ThumbnailRecord(**row) for row in await cur.fetchall()]

    async def history(self, principal: Principal, file_id: uuid.UUID) -> History:
        """Every ledger event of the file (sessions, processing, janitor), oldest first."""
        await self.file(principal, file_id)
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                "SELECT event_id, type, known, occurred_at, stream_id, data FROM ledger "
                "WHERE file_id = %s ORDER BY occurred_at, event_id",
                (file_id,),
            )
            events = [HistoryEvent(**row) for row in await cur.fetchall()]
        return History(file_id=file_id, events=events)

    async def tags(self, principal: Principal, *, limit: int, marker: str | None) -> TagPage:
        """Tags in name order after `marker`, with how many visible live files carry each.

        Owners see their own tags: those on their files and those they created; nothing
        tells them whether another owner has a tag of the same name. Admins see every
        owner's tags merged by name, each counted over all files.
        """
        query = sql.SQL(
            """
            SELECT name, sum(files)::int AS files FROM (
                SELECT t.tag AS name, count(*) AS files
                FROM file_tags t JOIN files f ON f.file_id = t.file_id
                WHERE {files_scope} AND f.status <> 'deleted' AND t.tag > %(marker)s
                GROUP BY t.tag
                UNION ALL
                SELECT g.name, 0 FROM tags g WHERE {tags_scope} AND g.name > %(marker)s
            ) named
            GROUP BY name ORDER BY name LIMIT %(limit)s
            """
        ).format(
            files_scope=_owner_scope(principal, "f.owner"),
            tags_scope=_owner_scope(principal, "g.owner"),
        )
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query, {"marker": marker or "", "limit": limit + 1})
            rows = await cur.fetchall()
        items = [TagView(**row) for row in rows[:limit]]
        return TagPage(items=items, next_marker=items[-1].name if len(rows) > limit else None)

    async def uploads(
        self,
        principal: Principal,
        *,
        status: SessionStatus | None,
        limit: int,
        cursor: str | None,
    ) -> SessionPage:
        """The caller's upload sessions, newest first (keyset on `(opened_at, session_id)`)."""
        conditions: list[sql.Composable] = [_owner_scope(principal, "owner")]
        params: dict[str, Any] = {"limit": limit + 1}
        if status is not None:
            conditions.append(sql.SQL("status = %(status)s"))
            params["status"] = status
        if cursor is not None:
            params["at"], params["id"] = decode_cursor(cursor)
            conditions.append(sql.SQL("(opened_at, session_id) < (%(at)s, %(id)s)"))
        query = sql.SQL(
            "SELECT session_id, file_id, filename, size, mode, status, expires_at, opened_at, "
            "updated_at FROM upload_sessions WHERE {} "
            "ORDER BY opened_at DESC, session_id DESC LIMIT %(limit)s"
        ).format(sql.SQL(" AND ").join(conditions))
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query, params)
            rows = await cur.fetchall()
        items = [SessionView(**row) for row in rows[:limit]]
        last = items[-1] if len(rows) > limit else None
        return SessionPage(
            items=items,
            next_cursor=encode_cursor(last.opened_at, last.session_id) if last else None,
        )
