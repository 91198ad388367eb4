"""The projections: each one a set-based SQL function of the ledger, keyed by an entity.

A projection's rows for a key (a file, a session, a tag) are recomputed from
*all* ledger rows of that key, never patched by the arriving event. So:

- order does not matter: `thumbnail.generated` before `file.verified` gives
  the same rows as the other way round, because every field is chosen by a
  rule over the set of facts (latest by `(occurred_at, event_id)`, "any
  `file.deleted`", ...), not by arrival;
- a redelivered event changes nothing (the ledger already had it, so no key
  is refreshed);
- live ingestion and the rebuild share the same SQL: ingestion refreshes the
  keys its batch touched (`WHERE key = ANY(keys)`), the rebuild runs it once
  for every key into a shadow table (`WHERE true`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection, sql

from mediaplane.catalog.adapters.status_sql import LATEST, StatusSql, tag, tag_set, tags_in
from mediaplane.catalog.domain.file_status import (
    LIFECYCLE,
    LISTED,
    REJECTION,
    THUMBNAIL,
    TRANSCODE,
    TRANSCODE_RERUN,
)
from mediaplane.contracts import (
    Event,
    FileDeleted,
    FileRejected,
    FileReportDismissed,
    FileReported,
    FileRestored,
    FileTagsChanged,
    FileTakenDown,
    FileUploaded,
    FileUploadedV2,
    FileVerified,
    JanitorFilePurged,
    JanitorSessionExpired,
    MetadataExtracted,
    MetadataFailed,
    TagCreated,
    TagCreatedV2,
    ThumbnailFailed,
    ThumbnailGenerated,
    TranscodeCompleted,
    TranscodeFailed,
    TranscodeProgress,
    TranscodeSegmentsReady,
    TranscodeStarted,
    UploadSessionAborted,
    UploadSessionCompleted,
    UploadSessionOpened,
    UserDeleted,
    UserPlanChanged,
    UserQuotaSet,
    UserRegistered,
    UserReinstated,
    UserSuspended,
)

# The latest body of each of these types, per file: the fields and the status rules read them.
_BODIES: dict[str, tuple[type[Event], ...]] = {
    "up": (FileUploaded, FileUploadedV2),
    "so": (UploadSessionOpened,),
    "ver": (FileVerified,),
    "rej": (FileRejected,),
    "tc": (TranscodeCompleted,),
    "tf": (TranscodeFailed,),
    "tp": (TranscodeProgress,),  # live progress: shown while the transcode runs
    "thf": (ThumbnailFailed,),
}
_FILE_EVENTS: tuple[type[Event], ...] = (
    *(e for events in _BODIES.values() for e in events),
    FileTagsChanged,  # for updated_at: a retag changes the file
    FileDeleted,
    UploadSessionCompleted,
    UploadSessionAborted,
    JanitorSessionExpired,
    JanitorFilePurged,
    TranscodeStarted,
    ThumbnailGenerated,
)


def _files_select() -> str:
    """The files projection: fields from the latest bodies, statuses from domain/file_status."""
    rules = StatusSql(_BODIES)
    status = rules.status(LIFECYCLE)
    transcode, transcode_error = rules.status(TRANSCODE), rules.failure_code(TRANSCODE)
    transcode_rerun_error = rules.failure_code(TRANSCODE_RERUN)
    thumbnail, thumbnail_error = rules.status(THUMBNAIL), rules.failure_code(THUMBNAIL)
    listed = rules.condition(LISTED)
    created = (FileUploaded, FileUploadedV2, UploadSessionOpened)
    bodies = ",".join(
        f"\n           (array_agg(l.data {LATEST}) FILTER (WHERE l.type {tags_in(events)}))[1]"
        f" AS {alias}"
        for alias, events in _BODIES.items()
    )
    return f"""
SELECT a.file_id,
       coalesce(a.up->>'owner', a.so->>'owner'),
       coalesce(a.up->>'filename', a.so->>'filename'),
       coalesce((a.ver->>'size')::bigint, (a.up->>'size')::bigint, (a.so->>'size')::bigint),
       coalesce(a.up->>'content_type', a.so->>'content_type'),
       a.ver->>'media_type',
       a.ver->>'kind',
       coalesce(a.ver->>'sha256', a.up->>'sha256'),
       coalesce(a.up->>'bucket', a.so->>'bucket'),
       -- Downloads serve the verified original only (file.verified's key). Before
       -- the verdict nothing is served; the key shown is where the original will be.
       coalesce(a.ver->>'object_key', a.up->>'original_key', a.up->>'object_key',
                a.so->>'object_key'),
       {status},
       {rules.body((REJECTION,))}->>'code',
       {transcode},
       {transcode_error},
       {transcode_rerun_error},
       {thumbnail},
       {thumbnail_error},
       a.tc->>'bucket',
       a.tc->>'master_playlist_key',
       (a.tc->>'duration')::double precision,
       CASE WHEN {transcode} = 'running' THEN (a.tp->>'percent')::double precision END,
       a.tc->'mp4'->>'key',
       (a.tc->'mp4'->>'width')::int,
       (a.tc->'mp4'->>'height')::int,
       (a.tc->'mp4'->>'size')::bigint,
       a.tc->'waveform'->>'key',
       a.purged,
       a.created_at,
       a.updated_at
FROM (
    SELECT l.file_id,{bodies},
           coalesce(bool_or(l.type = {tag(JanitorFilePurged)}), false) AS purged,
           min(l.occurred_at) FILTER (WHERE l.type {tags_in(created)}) AS created_at,
           max(l.occurred_at) AS updated_at{rules.aggregates()}
    FROM ledger l
    WHERE l.known AND l.file_id IS NOT NULL AND l.type = ANY({{types}}) AND {{filter}}
    GROUP BY l.file_id
) a
WHERE {listed}
"""


# A tag is on a file when the latest event naming it for that file added it.
_FILE_TAGS = f"""
SELECT m.file_id, m.tag
FROM (
    SELECT DISTINCT ON (x.file_id, x.tag) x.file_id, x.tag, x.present
    FROM (
        SELECT l.file_id, t.tag, true AS present, l.occurred_at, l.event_id
        FROM ledger l CROSS JOIN LATERAL jsonb_array_elements_text(l.data->'tags') t(tag)
        WHERE l.known AND l.type {tags_in((FileUploaded, FileUploadedV2))} AND {{filter}}
        UNION ALL
        SELECT l.file_id, t.tag, true, l.occurred_at, l.event_id
        FROM ledger l CROSS JOIN LATERAL jsonb_array_elements_text(l.data->'added') t(tag)
        WHERE l.known AND l.type = {tag(FileTagsChanged)} AND {{filter}}
        UNION ALL
        SELECT l.file_id, t.tag, false, l.occurred_at, l.event_id
        FROM ledger l CROSS JOIN LATERAL jsonb_array_elements_text(l.data->'removed') t(tag)
        WHERE l.known AND l.type = {tag(FileTagsChanged)} AND {{filter}}
    ) x
    ORDER BY x.file_id, x.tag, x.occurred_at DESC, x.event_id DESC, x.present
) m
WHERE m.present
"""

# Tags are per owner (keyed by name: a refresh recomputes every owner's tag of the name).
# A v1 tag was global; like its upcaster says, it belongs to its creator.
_TAGS = f"""
SELECT l.tag,
       CASE l.type WHEN {tag(TagCreated)} THEN l.data->>'created_by' ELSE l.data->>'owner' END,
       min(l.occurred_at)
FROM ledger l
WHERE l.known AND l.type {tags_in((TagCreated, TagCreatedV2))} AND l.tag IS NOT NULL
  AND {{filter}}
GROUP BY 1, 2
"""

# Renditions and thumbnails come from the latest successful event of the file.
_RENDITIONS = f"""
SELECT DISTINCT ON (c.file_id, r->>'name')
       c.file_id, r->>'name', (r->>'width')::int, (r->>'height')::int,
       (r->>'bandwidth')::bigint, (r->>'average_bandwidth')::bigint, r->>'codecs',
       (r->>'frame_rate')::double precision, c.data->>'bucket', r->>'playlist_key',
       (r->>'segment_count')::int
FROM (
    SELECT DISTINCT ON (l.file_id) l.file_id, l.data
    FROM ledger l
    WHERE l.known AND l.type = {tag(TranscodeCompleted)} AND {{filter}}
    ORDER BY l.file_id, l.occurred_at DESC, l.event_id DESC
) c CROSS JOIN LATERAL jsonb_array_elements(c.data->'renditions') r
ORDER BY c.file_id, r->>'name'
"""

_THUMBNAILS = f"""
SELECT DISTINCT ON (g.file_id, t->>'name')
       g.file_id, t->>'name', (t->>'width')::int, (t->>'height')::int, t->>'format',
       g.data->>'bucket', t->>'key', (t->>'size')::bigint
FROM (
    SELECT DISTINCT ON (l.file_id) l.file_id, l.data
    FROM ledger l
    WHERE l.known AND l.type = {tag(ThumbnailGenerated)} AND {{filter}}
    ORDER BY l.file_id, l.occurred_at DESC, l.event_id DESC
) g CROSS JOIN LATERAL jsonb_array_elements(g.data->'thumbnails') t
ORDER BY g.file_id, t->>'name'
"""

# The latest outcome of the file's metadata extraction (one per file; latest if replayed twice).
_METADATA = f"""
SELECT DISTINCT ON (l.file_id)
       l.file_id,
       CASE l.type WHEN {tag(MetadataExtracted)} THEN 'extracted' ELSE 'failed' END,
       l.data->>'code',
       l.data->>'kind',
       (l.data->'image'->>'taken_at')::timestamptz,
       coalesce((l.data->'video'->>'duration')::double precision,
                (l.data->'audio'->>'duration')::double precision),
       -- The one section that is set (the others are JSON null, not SQL NULL).
       coalesce(nullif(l.data->'image', 'null'), nullif(l.data->'video', 'null'),
                nullif(l.data->'audio', 'null'), nullif(l.data->'pdf', 'null')),
       l.occurred_at
FROM ledger l
WHERE l.known AND l.type {tags_in((MetadataExtracted, MetadataFailed))} AND {{filter}}
ORDER BY l.file_id, l.occurred_at DESC, l.event_id DESC
"""

_SESSION_EVENTS = (
    UploadSessionOpened,
    UploadSessionCompleted,
    UploadSessionAborted,
    JanitorSessionExpired,
)
_SESSIONS = f"""
SELECT s.session_id, (s.so->>'file_id')::uuid, s.so->>'owner', s.so->>'filename',
       (s.so->>'size')::bigint, s.so->>'mode',
       CASE WHEN s.completed THEN 'completed'
            WHEN s.aborted THEN 'aborted'
            WHEN s.expired THEN 'expired'
            ELSE 'open' END,
       (s.so->>'expires_at')::timestamptz, s.opened_at, s.updated_at
FROM (
    SELECT l.session_id,
           (array_agg(l.data {LATEST})
               FILTER (WHERE l.type = {tag(UploadSessionOpened)}))[1] AS so,
           bool_or(l.type = {tag(UploadSessionCompleted)}) AS completed,
           bool_or(l.type = {tag(UploadSessionAborted)}) AS aborted,
           bool_or(l.type = {tag(JanitorSessionExpired)}) AS expired,
           min(l.occurred_at) FILTER (WHERE l.type = {tag(UploadSessionOpened)}) AS opened_at,
           max(l.occurred_at) AS updated_at
    FROM ledger l
    WHERE l.known AND l.session_id IS NOT NULL AND {{filter}}
      AND l.type {tags_in(_SESSION_EVENTS)}
    GROUP BY l.session_id
) s
WHERE s.so IS NOT NULL
"""

# Accounts (issue 14): the status refuses a suspended or deleted user's calls. Keyed by
# the user's stream (`user-<id>`); each field is the latest fact, `deleted` is final. The
# plan and an admin's quota override (issue 16) are shown in the admin usage view.
_STATUS_EVENTS = (UserRegistered, UserSuspended, UserReinstated, UserDeleted)
_PLAN_EVENTS = (UserRegistered, UserPlanChanged)
_ACCOUNT_EVENTS = (*_STATUS_EVENTS, UserPlanChanged, UserQuotaSet)
_ACCOUNTS = f"""
SELECT a.stream_id, a.owner,
       CASE WHEN a.deleted THEN 'deleted'
            WHEN a.latest_status = {tag(UserSuspended)} THEN 'suspended'
            ELSE 'active' END,
       a.plan, (a.quota->>'files')::bigint, (a.quota->>'bytes')::bigint, a.updated_at
FROM (
    SELECT l.stream_id,
           (array_agg(l.data->>'user_id' {LATEST}))[1] AS owner,
           bool_or(l.type = {tag(UserDeleted)}) AS deleted,
           (array_agg(l.type {LATEST})
               FILTER (WHERE l.type {tags_in(_STATUS_EVENTS)}))[1] AS latest_status,
           (array_agg(l.data->>'plan' {LATEST})
               FILTER (WHERE l.type {tags_in(_PLAN_EVENTS)}))[1] AS plan,
           -- The latest override replaces any earlier one (null fields follow the plan).
           (array_agg(l.data {LATEST}) FILTER (WHERE l.type = {tag(UserQuotaSet)}))[1] AS quota,
           max(l.occurred_at) AS updated_at
    FROM ledger l
    WHERE l.known AND l.type LIKE 'user.%%' AND {{filter}}
      AND l.type {tags_in(_ACCOUNT_EVENTS)}
    GROUP BY l.stream_id
) a
"""

# A chunked ladder playable while it is encoded: the latest `transcode.segments_ready` of the
# job the latest `transcode.started` began (a retried job's steps never stand for the new one).
# Whether it is served is the reader's call: only until `transcode.completed` or a failure.
_LIVE_LADDERS = f"""
SELECT DISTINCT ON (l.file_id)
       l.file_id, (l.data->>'job_id')::uuid, l.data->>'bucket', l.data->>'master_playlist_key',
       l.data->'playlists', (l.data->>'ready')::double precision,
       (l.data->>'chunks_done')::int, (l.data->>'chunks_planned')::int,
       coalesce((l.data->>'ended')::boolean, false), l.occurred_at
FROM ledger l
JOIN (
    SELECT DISTINCT ON (l.file_id) l.file_id, l.data->>'job_id' AS job_id
    FROM ledger l
    WHERE l.known AND l.type = {tag(TranscodeStarted)} AND {{filter}}
    ORDER BY l.file_id, l.occurred_at DESC, l.event_id DESC
) started ON started.file_id = l.file_id AND started.job_id = l.data->>'job_id'
WHERE l.known AND l.type = {tag(TranscodeSegmentsReady)} AND {{filter}}
ORDER BY l.file_id, l.occurred_at DESC, l.event_id DESC
"""


# Moderation (issue 16): the latest takedown or restore decides, per file.
_DECISIONS = (FileTakenDown, FileRestored)
_MODERATION_EVENTS = (FileReported, FileReportDismissed, *_DECISIONS)
_MODERATION = f"""
SELECT a.file_id, a.owner, coalesce(a.decision = {tag(FileTakenDown)}, false),
       a.reason, a.moderator, a.changed_at, a.reports, a.updated_at
FROM (
    SELECT l.file_id,
           (array_agg(l.data->>'owner' {LATEST}))[1] AS owner,
           (array_agg(l.type {LATEST}) FILTER (WHERE l.type {tags_in(_DECISIONS)}))[1]
               AS decision,
           (array_agg(l.data->>'reason' {LATEST}) FILTER (WHERE l.type {tags_in(_DECISIONS)}))[1]
               AS reason,
           (array_agg(l.data->>'moderator' {LATEST})
               FILTER (WHERE l.type {tags_in(_DECISIONS)}))[1] AS moderator,
           max(l.occurred_at) FILTER (WHERE l.type {tags_in(_DECISIONS)}) AS changed_at,
           count(*) FILTER (WHERE l.type = {tag(FileReported)}) AS reports,
           max(l.occurred_at) AS updated_at
    FROM ledger l
    WHERE l.known AND l.file_id IS NOT NULL AND l.type {tags_in(_MODERATION_EVENTS)}
      AND {{filter}}
    GROUP BY l.file_id
) a
"""

# A report is open until a dismissal names it or a takedown lists it among those it resolved.
_REPORTS = f"""
SELECT (l.data->>'report_id')::uuid, l.file_id, l.data->>'owner', l.data->>'reporter',
       l.data->>'reason', l.occurred_at,
       CASE WHEN d.moderator IS NOT NULL THEN 'dismissed'
            WHEN t.moderator IS NOT NULL THEN 'actioned'
            ELSE 'open' END,
       coalesce(d.moderator, t.moderator), coalesce(d.at, t.at)
FROM ledger l
LEFT JOIN LATERAL (
    SELECT x.data->>'moderator' AS moderator, x.occurred_at AS at FROM ledger x
    WHERE x.file_id = l.file_id AND x.known AND x.type = {tag(FileReportDismissed)}
      AND x.data->>'report_id' = l.data->>'report_id'
    ORDER BY x.occurred_at, x.event_id LIMIT 1
) d ON true
LEFT JOIN LATERAL (
    SELECT x.data->>'moderator' AS moderator, x.occurred_at AS at FROM ledger x
    WHERE x.file_id = l.file_id AND x.known AND x.type = {tag(FileTakenDown)}
      AND x.data->'report_ids' ? (l.data->>'report_id')
    ORDER BY x.occurred_at, x.event_id LIMIT 1
) t ON true
WHERE l.known AND l.file_id IS NOT NULL AND l.type = {tag(FileReported)} AND {{filter}}
"""


# Where each key sits in a `(type, known, file_id, session_id, tag, stream_id)` ledger row.
_ROW_KEY = {"file_id": 2, "session_id": 3, "tag": 4, "stream_id": 5}


@dataclass(frozen=True)
class Projection:
    """A table of rows computed from the ledger rows sharing one key column."""

    name: str
    key: str  # the ledger column and the table column holding the key
    key_type: str  # its SQL type, for `= ANY(%s::<type>[])`
    columns: tuple[str, ...]
    select: str  # SQL with a `{filter}` placeholder over ledger alias `l`
    types: frozenset[str]  # the event types its rows depend on: others never refresh it

    def keys_in(self, rows: Iterable[Sequence[Any]]) -> list[Any]:
        """Keys to refresh for new ledger rows `(type, known, file_id, session_id, tag,
        stream_id)`."""
        at = _ROW_KEY[self.key]
        return sorted(
            {row[at] for row in rows if row[1] and row[0] in self.types and row[at] is not None},
            key=str,
        )

    def query(self, filter_: sql.Composable) -> sql.Composed:
        # `{types}`: a projection that reads only its own types is refreshed by exactly
        # the events that can change it (see `keys_in`), in any order.
        return sql.SQL(self.select).format(filter=filter_, types=sql.Literal(sorted(self.types)))

    def keyed(self) -> sql.Composed:
        # Binary (`%b`): dumping a list of UUIDs as a text array literal costs ~6x more.
        return sql.SQL("l.{} = ANY(%(keys)b::{}[])").format(
            sql.Identifier(self.key), sql.SQL(self.key_type)
        )


FILES = Projection(
    "files",
    "file_id",
    "uuid",
    (
        "file_id",
        "owner",
        "filename",
        "size",
        "content_type",
        "media_type",
        "kind",
        "sha256",
        "bucket",
        "object_key",
        "status",
        "rejection_code",
        "transcode_status",
        "transcode_error",
        "transcode_rerun_error",
        "thumbnail_status",
        "thumbnail_error",
        "renditions_bucket",
        "master_playlist_key",
        "duration",
        "transcode_progress",
        "mp4_key",
        "mp4_width",
        "mp4_height",
        "mp4_size",
        "waveform_key",
        "purged",
        "created_at",
        "updated_at",
    ),
    _files_select(),
    tag_set(_FILE_EVENTS),
)
FILE_TAGS = Projection(
    "file_tags",
    "file_id",
    "uuid",
    ("file_id", "tag"),
    _FILE_TAGS,
    tag_set((FileUploaded, FileUploadedV2, FileTagsChanged)),
)
TAGS = Projection(
    "tags",
    "tag",
    "text",
    ("name", "owner", "created_at"),
    _TAGS,
    tag_set((TagCreated, TagCreatedV2)),
)
RENDITIONS = Projection(
    "renditions",
    "file_id",
    "uuid",
    (
        "file_id",
        "name",
        "width",
        "height",
        "bandwidth",
        "average_bandwidth",
        "codecs",
        "frame_rate",
        "bucket",
        "playlist_key",
        "segment_count",
    ),
    _RENDITIONS,
    tag_set((TranscodeCompleted,)),
)
THUMBNAILS = Projection(
    "thumbnails",
    "file_id",
    "uuid",
    ("file_id", "name", "width", "height", "format", "bucket", "key", "size"),
    _THUMBNAILS,
    tag_set((ThumbnailGenerated,)),
)
FILE_METADATA = Projection(
    "file_metadata",
    "file_id",
    "uuid",
    ("file_id", "status", "error", "kind", "taken_at", "duration", "section", "updated_at"),
    _METADATA,
    tag_set((MetadataExtracted, MetadataFailed)),
)
SESSIONS = Projection(
    "upload_sessions",
    "session_id",
    "uuid",
    (
        "session_id",
        "file_id",
        "owner",
        "filename",
        "size",
        "mode",
        "status",
        "expires_at",
        "opened_at",
        "updated_at",
    ),
    _SESSIONS,
    tag_set(_SESSION_EVENTS),
)

ACCOUNTS = Projection(
    "accounts",
    "stream_id",
    "text",
    ("stream_id", "owner", "status", "plan", "quota_files", "quota_bytes", "updated_at"),
    _ACCOUNTS,
    tag_set(_ACCOUNT_EVENTS),
)

# Usage over time (issue 16), per file: its upload on the day its bytes were first verified,
# and its deletion (with the verified bytes it freed) on the day of its first `file.deleted`.
# A file never verified counts neither. The admin console sums the rows per owner and day.
_USAGE_EVENTS = (FileVerified, FileDeleted)
_USAGE_DAYS = f"""
SELECT f.file_id, f.ver->>'owner', e.day, sum(e.uploads)::int, sum(e.bytes)::bigint,
       sum(e.deletions)::int, sum(e.freed)::bigint
FROM (
    SELECT l.file_id,
           (array_agg(l.data ORDER BY l.occurred_at, l.event_id)
               FILTER (WHERE l.type = {tag(FileVerified)}))[1] AS ver,
           min(l.occurred_at) FILTER (WHERE l.type = {tag(FileVerified)}) AS verified_at,
           min(l.occurred_at) FILTER (WHERE l.type = {tag(FileDeleted)}) AS deleted_at
    FROM ledger l
    WHERE l.known AND l.file_id IS NOT NULL AND {{filter}}
      AND l.type {tags_in(_USAGE_EVENTS)}
    GROUP BY l.file_id
) f
CROSS JOIN LATERAL (
    VALUES ((f.verified_at AT TIME ZONE 'UTC')::date, 1, (f.ver->>'size')::bigint, 0, 0::bigint),
           ((f.deleted_at AT TIME ZONE 'UTC')::date, 0, 0::bigint, 1, (f.ver->>'size')::bigint)
) e (day, uploads, bytes, deletions, freed)
WHERE f.ver IS NOT NULL AND e.day IS NOT NULL
GROUP BY f.file_id, f.ver->>'owner', e.day
"""
USAGE_DAYS = Projection(
    "file_usage_days",
    "file_id",
    "uuid",
    ("file_id", "owner", "day", "uploads", "bytes", "deletions", "freed"),
    _USAGE_DAYS,
    tag_set(_USAGE_EVENTS),
)

LIVE_LADDERS = Projection(
    "live_ladders",
    "file_id",
    "uuid",
    (
        "file_id",
        "job_id",
        "bucket",
        "master_playlist_key",
        "playlists",
        "ready",
        "chunks_done",
        "chunks_planned",
        "ended",
        "updated_at",
    ),
    _LIVE_LADDERS,
    tag_set((TranscodeStarted, TranscodeSegmentsReady)),
)

FILE_MODERATION = Projection(
    "file_moderation",
    "file_id",
    "uuid",
    (
        "file_id",
        "owner",
        "taken_down",
        "reason",
        "moderator",
        "changed_at",
        "reports",
        "updated_at",
    ),
    _MODERATION,
    tag_set(_MODERATION_EVENTS),
)
REPORTS = Projection(
    "reports",
    "file_id",
    "uuid",
    (
        "report_id",
        "file_id",
        "owner",
        "reporter",
        "reason",
        "reported_at",
        "status",
        "resolved_by",
        "resolved_at",
    ),
    _REPORTS,
    tag_set(_MODERATION_EVENTS),
)

PROJECTIONS: dict[str, Projection] = {
    p.name: p
    for p in (
        FILES,
        FILE_TAGS,
        TAGS,
        RENDITIONS,
        THUMBNAILS,
        FILE_METADATA,
        SESSIONS,
        ACCOUNTS,
        LIVE_LADDERS,
        FILE_MODERATION,
        REPORTS,
        USAGE_DAYS,
    )
}

# The table column holding the key, where it differs from the ledger's column name.
_TABLE_KEY = {"tags": "name"}


def table_key(projection: Projection) -> str:
    return _TABLE_KEY.get(projection.name, projection.key)


async def refresh(
    conn: AsyncConnection[Any],
    projection: Projection,
    keys: Sequence[object],
    *,
    table: str | None = None,
) -> None:
    """Recompute the rows of `keys` in `table` (the projection's own by default) from the ledger."""
    if not keys:
        return
    delete, insert = _refresh_statements(projection, table or projection.name)
    params = {"keys": list(keys)}
    # Unprepared, so planned for these keys: a plan cached while the table was small
    # scans all of it once it has grown (docs/service-conventions.md, "Array keys").
    # The insert keeps its cached plan: its filter on the ledger always takes the index.
    await conn.execute(delete, params, prepare=False)
    await conn.execute(insert, params)


@functools.cache
def _refresh_statements(projection: Projection, table: str) -> tuple[bytes, bytes]:
    """The DELETE and INSERT of `refresh`, composed once (every batch runs them)."""
    target = sql.Identifier(table)
    delete = sql.SQL("DELETE FROM {} WHERE {} = ANY(%(keys)b::{}[])").format(
        target, sql.Identifier(table_key(projection)), sql.SQL(projection.key_type)
    )
    insert = insert_statement(projection, target, projection.keyed())
    return delete.as_bytes(), insert.as_bytes()


def insert_statement(
    projection: Projection, target: sql.Identifier, filter_: sql.Composable
) -> sql.Composed:
    return sql.SQL("INSERT INTO {} ({}) {}").format(
        target,
        sql.SQL(", ").join(sql.Identifier(c) for c in projection.columns),
        projection.query(filter_),
    )


async def checksum(conn: AsyncConnection[Any], table: str) -> tuple[int, str]:
    """Row count and an order-independent digest of every row of `table`."""
    cursor = await conn.execute(
        sql.SQL(
            "SELECT count(*), coalesce(md5(string_agg(h, '' ORDER BY h)), '') "
            "FROM (SELECT md5(t::text) AS h FROM {} t) rows"
        ).format(sql.Identifier(table))
    )
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0]), str(row[1])
