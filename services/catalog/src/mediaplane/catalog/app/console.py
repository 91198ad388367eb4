"""Moderators' and admins' queries (issue 16): the report queue, repeated offenders, every
file with admin filters, and usage per user. The routes check the role; nothing here is
scoped to an owner.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import msgspec
from psycopg import sql
from psycopg.rows import dict_row

from mediaplane.catalog.app.queries import SUMMARY_COLUMNS, FileKind, FileStatus, summary_of
from mediaplane.catalog.app.views import FilePage
from mediaplane.domain.quota import Plans
from mediaplane.eventlog.database import Pool
from mediaplane.servicekit.pagination import decode_cursor, encode_cursor

ReportStatus = Literal["open", "dismissed", "actioned"]


class ReportItem(msgspec.Struct, frozen=True, kw_only=True):
    report_id: uuid.UUID
    file_id: uuid.UUID
    owner: str
    reporter: str
    reason: str
    reported_at: datetime
    status: str
    resolved_by: str | None
    resolved_at: datetime | None
    filename: str | None
    kind: str | None
    file_status: str | None
    taken_down: bool
    # The owner's record, for repeated offenders: files taken down now, reports ever.
    owner_takedowns: int
    owner_reports: int


class ReportPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[ReportItem]
    next_cursor: str | None


class Offender(msgspec.Struct, frozen=True, kw_only=True):
    owner: str
    takedowns: int
    reports: int
    account_status: str | None


class Usage(msgspec.Struct, frozen=True, kw_only=True):
    """One user's storage: originals by kind, and derived bytes (MP4 fallbacks and
    thumbnails; HLS segments are not sized in the events)."""

    owner: str
    files: int
    original_bytes: int
    bytes_by_kind: dict[str, int]
    derived_bytes: int
    plan: str | None
    account_status: str | None
    # What the gateway enforces: an admin's override field by field, else the plan's quota.
    quota: EffectiveQuota


class EffectiveQuota(msgspec.Struct, frozen=True, kw_only=True):
    files: int
    bytes: int
    # The admin's override (`user.quota_set`); null where the plan's quota applies.
    override_files: int | None
    override_bytes: int | None


class FailedJob(msgspec.Struct, frozen=True, kw_only=True):
    file_id: uuid.UUID
    owner: str
    filename: str
    kind: str | None
    service: str
    error: str | None
    # A transcode re-run failed: the file's earlier generation is still served (its
    # transcode status stays `ready`); false for a job that has nothing served.
    rerun: bool
    updated_at: datetime


class Processing(msgspec.Struct, frozen=True, kw_only=True):
    """Jobs by status per service (one job per file and service, as the read model has
    it), and the latest failures with their codes."""

    statuses: dict[str, dict[str, int]]
    failed: list[FailedJob]


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    event_id: uuid.UUID
    type: str
    occurred_at: datetime
    stream_id: str
    file_id: uuid.UUID | None
    producer: str | None
    # Who did it, when the event names a person (deleted_by, moderator, reporter, ...).
    actor: str | None
    # Whose file or account it concerns.
    subject: str | None
    data: dict[str, Any]


class AuditPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[AuditEntry]
    next_cursor: str | None


class StorageDay(msgspec.Struct, frozen=True, kw_only=True):
    day: str
    bucket: str
    kind: str
    added_bytes: int
    freed_bytes: int


class Storage(msgspec.Struct, frozen=True, kw_only=True):
    """Bytes now per bucket and kind (live files), and what each day added and freed."""

    totals: list[StorageDay]
    days: list[StorageDay]


class UsageDay(msgspec.Struct, frozen=True, kw_only=True):
    """One day of originals: uploads (verified) and deletions, with their bytes, and the
    bytes of live originals at the day's end (`stored_bytes`, over all history)."""

    day: str
    uploads: int
    uploaded_bytes: int
    deletions: int
    freed_bytes: int
    stored_bytes: int


class UsageHistory(msgspec.Struct, frozen=True, kw_only=True):
    owner: str | None  # None: the whole platform
    days: list[UsageDay]


class UsagePage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[Usage]
    next_marker: str | None


@dataclass(frozen=True, kw_only=True)
class AdminFileFilter:
    owner: str | None = None
    kind: FileKind | None = None
    status: FileStatus | None = None
    min_size: int | None = None
    max_size: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    failed: bool | None = None  # a transcode (first or re-run) or thumbnail failed
    taken_down: bool | None = None

    def conditions(self, params: dict[str, Any]) -> list[sql.Composable]:
        """WHERE conditions over `files f` (admins see every owner)."""
        checks: list[sql.Composable] = []
        fields = {
            "owner": "f.owner = %(owner)s",
            "kind": "f.kind = %(kind)s",
            "status": "f.status = %(status)s",
            "min_size": "f.size >= %(min_size)s",
            "max_size": "f.size <= %(max_size)s",
            "since": "f.created_at >= %(since)s",
            "until": "f.created_at < %(until)s",
        }
        for name, condition in fields.items():
            value = getattr(self, name)
            if value is not None:
                checks.append(sql.SQL(condition))
                params[name] = value
        if self.status is None:
            checks.append(sql.SQL("f.status <> 'deleted'"))
        if self.failed is not None:
            failed = (
                "(f.transcode_status = 'failed' OR f.thumbnail_status = 'failed'"
                " OR f.transcode_rerun_error IS NOT NULL)"
            )
            checks.append(sql.SQL(failed if self.failed else f"NOT coalesce({failed}, false)"))
        if self.taken_down is not None:
            exists = (
                "EXISTS (SELECT 1 FROM file_moderation m WHERE m.file_id = f.file_id "
                "AND m.taken_down)"
            )
            checks.append(sql.SQL(exists if self.taken_down else f"NOT {exists}"))
        return checks


@dataclass(frozen=True, kw_only=True)
class AuditFilter:
    type: str | None = None  # a prefix: `file.` or `user.suspended`
    file_id: uuid.UUID | None = None
    actor: str | None = None
    subject: str | None = None
    since: datetime | None = None
    until: datetime | None = None


# Who acted, as the events name them; whose file or account it concerns.
_ACTOR = (
    "coalesce(l.data->>'deleted_by', l.data->>'moderator', l.data->>'reporter', "
    "l.data->>'changed_by', l.data->>'suspended_by', l.data->>'reinstated_by', "
    "l.data->>'requested_by', l.data->>'redriven_by', l.data->>'discarded_by')"
)
_SUBJECT = "coalesce(l.data->>'owner', l.data->>'user_id')"

_REPORTS = """
SELECT r.report_id, r.file_id, r.owner, r.reporter, r.reason, r.reported_at, r.status,
       r.resolved_by, r.resolved_at, f.filename, f.kind, f.status AS file_status,
       coalesce(m.taken_down, false) AS taken_down,
       (SELECT count(*) FROM file_moderation o WHERE o.owner = r.owner AND o.taken_down)::int
           AS owner_takedowns,
       (SELECT count(*) FROM reports o WHERE o.owner = r.owner)::int AS owner_reports
FROM reports r
LEFT JOIN files f ON f.file_id = r.file_id
LEFT JOIN file_moderation m ON m.file_id = r.file_id
WHERE {conditions}
ORDER BY r.reported_at, r.report_id
LIMIT %(limit)s
"""


class ConsoleQueries:
    def __init__(self, pool: Pool, *, plans: Plans | None = None) -> None:
        self._pool = pool
        self._plans = plans or Plans.standard()

    async def reports(
        self,
        *,
        status: ReportStatus | None,
        file_id: uuid.UUID | None,
        limit: int,
        cursor: str | None,
    ) -> ReportPage:
        """The queue: oldest first (keyset on `(reported_at, report_id)`)."""
        conditions: list[sql.Composable] = [sql.SQL("true")]
        params: dict[str, Any] = {"limit": limit + 1}
        if status is not None:
            conditions.append(sql.SQL("r.status = %(status)s"))
            params["status"] = status
        if file_id is not None:
            conditions.append(sql.SQL("r.file_id = %(file_id)s"))
            params["file_id"] = file_id
        if cursor is not None:
            params["at"], params["id"] = decode_cursor(cursor)
            conditions.append(sql.SQL("(r.reported_at, r.report_id) > (%(at)s, %(id)s)"))
        query = sql.SQL(_REPORTS).format(conditions=sql.SQL(" AND ").join(conditions))
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query, params)
            rows = await cur.fetchall()
        items = [msgspec.convert(row, ReportItem) for row in rows[:limit]]
        last = items[-1] if len(rows) > limit else None
        return ReportPage(
            items=items,
            next_cursor=encode_cursor(last.reported_at, last.report_id) if last else None,
        )

    async def files(self, where: AdminFileFilter, *, limit: int, cursor: str | None) -> FilePage:
        """Every owner's files, newest first (keyset on `(created_at, file_id)`)."""
        params: dict[str, Any] = {"limit": limit + 1}
        conditions = [sql.SQL("true"), *where.conditions(params)]
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
        last = items[-1] if len(rows) > limit else None
        return FilePage(
            items=items,
            next_cursor=encode_cursor(last.created_at, last.file_id) if last else None,
        )

    async def offenders(self, *, limit: int) -> list[Offender]:
        """Owners by files taken down, then by reports against them."""
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                """
                SELECT m.owner, count(*) FILTER (WHERE m.taken_down)::int AS takedowns,
                       sum(m.reports)::int AS reports,
                       (SELECT a.status FROM accounts a WHERE a.owner = m.owner LIMIT 1)
                           AS account_status
                FROM file_moderation m
                GROUP BY m.owner
                ORDER BY takedowns DESC, reports DESC, m.owner
                LIMIT %s
                """,
                (limit,),
            )
            return [msgspec.convert(row, Offender) for row in await cur.fetchall()]

    async def usage(self, *, owner: str | None, limit: int, marker: str | None) -> UsagePage:
        """Storage per owner of live (not deleted) files, in owner order after `marker`."""
        params: dict[str, Any] = {"limit": limit + 1, "marker": marker or "", "owner": owner}
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                """
                SELECT u.owner, u.files, u.original_bytes, u.bytes_by_kind,
                       (u.derived_bytes + coalesce(th.bytes, 0))::bigint AS derived_bytes,
                       a.plan, a.status AS account_status,
                       a.quota_files, a.quota_bytes
                FROM (
                    SELECT k.owner, sum(k.files)::int AS files,
                           sum(k.bytes)::bigint AS original_bytes,
                           jsonb_object_agg(k.kind, k.bytes) AS bytes_by_kind,
                           sum(k.derived)::bigint AS derived_bytes
                    FROM (
                        SELECT f.owner, coalesce(f.kind, 'unverified') AS kind,
                               count(*) AS files, sum(f.size) AS bytes,
                               sum(coalesce(f.mp4_size, 0)) AS derived
                        FROM files f
                        WHERE f.status <> 'deleted' AND f.owner > %(marker)s
                          AND (%(owner)s::text IS NULL OR f.owner = %(owner)s)
                        GROUP BY 1, 2
                    ) k
                    GROUP BY k.owner
                ) u
                LEFT JOIN LATERAL (
                    SELECT sum(t.size) AS bytes FROM thumbnails t JOIN files f
                      ON f.file_id = t.file_id
                    WHERE f.owner = u.owner AND f.status <> 'deleted'
                ) th ON true
                LEFT JOIN accounts a ON a.owner = u.owner
                ORDER BY u.owner
                LIMIT %(limit)s
                """,
                params,
            )
            rows = await cur.fetchall()
        items = [self._usage(row) for row in rows[:limit]]
        return UsagePage(items=items, next_marker=items[-1].owner if len(rows) > limit else None)

    def _usage(self, row: dict[str, Any]) -> Usage:
        files, size = row.pop("quota_files"), row.pop("quota_bytes")
        plans = self._plans
        quota = plans.effective(plans.plan_of(row["plan"], None), files=files, bytes=size)
        row["quota"] = EffectiveQuota(
            files=quota.files, bytes=quota.bytes, override_files=files, override_bytes=size
        )
        return msgspec.convert(row, Usage)

    async def usage_history(self, *, owner: str | None, since: date) -> UsageHistory:
        """Per day from `since`: one owner's (or every owner's) uploads and deletions of
        originals, and the bytes stored at each day's end (a running sum from the start)."""
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                """
                SELECT to_char(d.day, 'YYYY-MM-DD') AS day, d.uploads, d.uploaded_bytes,
                       d.deletions, d.freed_bytes, d.stored_bytes
                FROM (
                    SELECT u.day, sum(u.uploads)::int AS uploads,
                           sum(u.bytes)::bigint AS uploaded_bytes,
                           sum(u.deletions)::int AS deletions,
                           sum(u.freed)::bigint AS freed_bytes,
                           (sum(sum(u.bytes) - sum(u.freed)) OVER (ORDER BY u.day))::bigint
                               AS stored_bytes
                    FROM file_usage_days u
                    WHERE %(owner)s::text IS NULL OR u.owner = %(owner)s
                    GROUP BY u.day
                ) d
                WHERE d.day >= %(since)s
                ORDER BY d.day
                """,
                {"owner": owner, "since": since},
            )
            days = [msgspec.convert(row, UsageDay) for row in await cur.fetchall()]
        return UsageHistory(owner=owner, days=days)

    async def processing(self, *, limit: int) -> Processing:
        """Status counts of transcodes, thumbnails and metadata over live files, and the
        latest failures, failed transcode re-runs among them (`rerun`; counted `ready`)."""
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                """
                SELECT 'transcoder' AS service, transcode_status AS status, count(*)::int AS n
                FROM files WHERE status <> 'deleted' AND transcode_status IS NOT NULL GROUP BY 2
                UNION ALL
                SELECT 'thumbnailer', thumbnail_status, count(*)::int
                FROM files WHERE status <> 'deleted' AND thumbnail_status IS NOT NULL GROUP BY 2
                UNION ALL
                SELECT 'metadata', m.status, count(*)::int FROM file_metadata m
                JOIN files f ON f.file_id = m.file_id WHERE f.status <> 'deleted' GROUP BY 2
                """
            )
            statuses: dict[str, dict[str, int]] = {}
            for row in await cur.fetchall():
                statuses.setdefault(row["service"], {})[row["status"]] = row["n"]
            await cur.execute(
                """
                SELECT * FROM (
                    SELECT file_id, owner, filename, kind, 'transcoder' AS service,
                           transcode_error AS error, false AS rerun, updated_at
                    FROM files WHERE transcode_status = 'failed'
                    UNION ALL
                    SELECT file_id, owner, filename, kind, 'transcoder', transcode_rerun_error,
                           true, updated_at
                    FROM files WHERE transcode_rerun_error IS NOT NULL
                    UNION ALL
                    SELECT file_id, owner, filename, kind, 'thumbnailer', thumbnail_error,
                           false, updated_at
                    FROM files WHERE thumbnail_status = 'failed'
                    UNION ALL
                    SELECT f.file_id, f.owner, f.filename, f.kind, 'metadata', m.error,
                           false, f.updated_at
                    FROM file_metadata m JOIN files f ON f.file_id = m.file_id
                    WHERE m.status = 'failed'
                ) failed
                ORDER BY updated_at DESC, file_id LIMIT %s
                """,
                (limit,),
            )
            failed = [msgspec.convert(row, FailedJob) for row in await cur.fetchall()]
        return Processing(statuses=statuses, failed=failed)

    async def audit(self, where: AuditFilter, *, limit: int, cursor: str | None) -> AuditPage:
        """The ledger, newest first (keyset on `(occurred_at, event_id)`), filtered."""
        params: dict[str, Any] = {"limit": limit + 1}
        conditions: list[sql.Composable] = [sql.SQL("l.known")]
        if where.type:
            conditions.append(sql.SQL("l.type LIKE %(type)s"))
            params["type"] = where.type.replace("%", "").replace("_", "\\_") + "%"
        if where.file_id is not None:
            conditions.append(sql.SQL("l.file_id = %(file_id)s"))
            params["file_id"] = where.file_id
        if where.actor:
            conditions.append(sql.SQL(f"{_ACTOR} = %(actor)s"))
            params["actor"] = where.actor
        if where.subject:
            conditions.append(sql.SQL(f"{_SUBJECT} = %(subject)s"))
            params["subject"] = where.subject
        if where.since is not None:
            conditions.append(sql.SQL("l.occurred_at >= %(since)s"))
            params["since"] = where.since
        if where.until is not None:
            conditions.append(sql.SQL("l.occurred_at < %(until)s"))
            params["until"] = where.until
        if cursor is not None:
            params["at"], params["id"] = decode_cursor(cursor)
            conditions.append(sql.SQL("(l.occurred_at, l.event_id) < (%(at)s, %(id)s)"))
        query = sql.SQL(
            "SELECT l.event_id, l.type, l.occurred_at, l.stream_id, l.file_id, "
            "l.data->>'producer' AS producer, {actor} AS actor, {subject} AS subject, l.data "
            "FROM ledger l WHERE {conditions} "
            "ORDER BY l.occurred_at DESC, l.event_id DESC LIMIT %(limit)s"
        ).format(
            actor=sql.SQL(_ACTOR),
            subject=sql.SQL(_SUBJECT),
            conditions=sql.SQL(" AND ").join(conditions),
        )
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query, params)
            rows = await cur.fetchall()
        items = [msgspec.convert(row, AuditEntry) for row in rows[:limit]]
        last = items[-1] if len(rows) > limit else None
        return AuditPage(
            items=items,
            next_cursor=encode_cursor(last.occurred_at, last.event_id) if last else None,
        )

    async def storage(self, *, since: datetime) -> Storage:
        """Totals from the projections; the days from the ledger: bytes added by verified
        originals (per kind), MP4 fallbacks and thumbnails, and freed by the janitor."""
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                """
                SELECT 'now' AS day, f.bucket, coalesce(f.kind, 'unverified') AS kind,
                       sum(f.size)::bigint AS added_bytes, 0::bigint AS freed_bytes
                FROM files f WHERE f.status <> 'deleted' AND NOT f.purged GROUP BY 2, 3
                UNION ALL
                SELECT 'now', f.renditions_bucket, 'mp4', sum(f.mp4_size)::bigint, 0
                FROM files f WHERE f.status <> 'deleted' AND NOT f.purged
                  AND f.mp4_size IS NOT NULL GROUP BY 2
                UNION ALL
                SELECT 'now', t.bucket, 'thumbnail', sum(t.size)::bigint, 0
                FROM thumbnails t JOIN files f ON f.file_id = t.file_id
                WHERE f.status <> 'deleted' AND NOT f.purged GROUP BY 2
                ORDER BY 2, 3
                """
            )
            totals = [msgspec.convert(row, StorageDay) for row in await cur.fetchall()]
            await cur.execute(
                """
                SELECT to_char(date_trunc('day', l.occurred_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD')
                           AS day,
                       b.bucket, b.kind, sum(b.added)::bigint AS added_bytes,
                       sum(b.freed)::bigint AS freed_bytes
                FROM ledger l CROSS JOIN LATERAL (
                    SELECT l.data->>'bucket' AS bucket, l.data->>'kind' AS kind,
                           (l.data->>'size')::bigint AS added, 0 AS freed
                    WHERE l.type = 'file.verified.v1'
                    UNION ALL
                    SELECT l.data->>'bucket', 'mp4', (l.data->'mp4'->>'size')::bigint, 0
                    WHERE l.type = 'transcode.completed.v1' AND l.data->'mp4' IS NOT NULL
                      AND l.data->'mp4' <> 'null'::jsonb
                    UNION ALL
                    SELECT l.data->>'bucket', 'thumbnail', (t->>'size')::bigint, 0
                    FROM jsonb_array_elements(
                        CASE WHEN l.type = 'thumbnail.generated.v1' THEN l.data->'thumbnails'
                             ELSE '[]'::jsonb END) t
                    UNION ALL
                    SELECT 'all', 'purged', 0, (l.data->>'bytes_freed')::bigint
                    WHERE l.type = 'janitor.file.purged.v1'
                ) b
                WHERE l.known AND l.occurred_at >= %s
                  AND l.type IN ('file.verified.v1', 'transcode.completed.v1',
                                 'thumbnail.generated.v1', 'janitor.file.purged.v1')
                GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
                """,
                (since,),
            )
            days = [msgspec.convert(row, StorageDay) for row in await cur.fetchall()]
        return Storage(totals=totals, days=days)
