"""The analytics the API answers: a file's, the platform's, the worst-QoE files."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import msgspec

from mediaplane.analytics.adapters import queries
from mediaplane.analytics.adapters.files import playable_file
from mediaplane.analytics.domain.errors import UnknownFile
from mediaplane.analytics.domain.rollup import Totals, combine, retention_curve
from mediaplane.eventlog.database import Pool


class Measures(msgspec.Struct, frozen=True, kw_only=True):
    views: int
    viewers: int
    watch_seconds: float
    average_view_seconds: float
    average_startup_ms: float | None
    rebuffer_ratio: float
    error_rate: float
    rendition_seconds: dict[str, float]

    @classmethod
    def of(cls, totals: Totals) -> Measures:
        return cls(
            views=totals.views,
            viewers=totals.viewers,
            watch_seconds=round(totals.watch_seconds, 3),
            average_view_seconds=round(totals.average_view_seconds, 3),
            average_startup_ms=None
            if totals.average_startup_ms is None
            else round(totals.average_startup_ms, 1),
            rebuffer_ratio=round(totals.rebuffer_ratio, 4),
            error_rate=round(totals.error_rate, 4),
            rendition_seconds={k: round(v, 3) for k, v in sorted(totals.rendition_seconds.items())},
        )


class Day(msgspec.Struct, frozen=True, kw_only=True):
    day: date
    measures: Measures


class RetentionPoint(msgspec.Struct, frozen=True, kw_only=True):
    fraction: float  # of the duration
    percent: float  # of views still watching


class FileAnalytics(msgspec.Struct, frozen=True, kw_only=True):
    file_id: uuid.UUID
    owner: str
    duration: float | None
    since: date
    totals: Measures
    days: list[Day]
    retention: list[RetentionPoint]


class PlatformAnalytics(msgspec.Struct, frozen=True, kw_only=True):
    since: date
    totals: Measures
    days: list[Day]


class FileQoE(msgspec.Struct, frozen=True, kw_only=True):
    file_id: uuid.UUID
    owner: str
    measures: Measures


class WorstFiles(msgspec.Struct, frozen=True, kw_only=True):
    since: date
    files: list[FileQoE]


class Reports:
    def __init__(self, pool: Pool, clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self._pool = pool
        self._clock = clock

    def _since(self, days: int) -> date:
        return (self._clock() - timedelta(days=days - 1)).date()

    async def file(
        self, file_id: uuid.UUID, *, reader: str, admin: bool, days: int
    ) -> FileAnalytics:
        """Only the owner or an admin: anyone else gets `unknown_file` (404, never 403)."""
        since = self._since(days)
        async with self._pool.connection() as conn:
            file = await playable_file(conn, file_id)
            if file is None or not (admin or file.owner == reader):
                raise UnknownFile("no such file")
            rows = await queries.file_days(conn, file_id, since)
            viewers = await queries.distinct_viewers(conn, since, file_id=file_id)
            reached = await queries.reached_positions(conn, file_id)
        curve = retention_curve(reached, file.duration) if file.duration else []
        return FileAnalytics(
            file_id=file_id,
            owner=file.owner,
            duration=file.duration,
            since=since,
            totals=Measures.of(combine((t for _, t in rows), viewers=viewers)),
            days=[Day(day=d, measures=Measures.of(t)) for d, t in rows],
            retention=[RetentionPoint(fraction=f, percent=round(p, 2)) for f, p in curve],
        )

    async def platform(self, *, days: int) -> PlatformAnalytics:
        since = self._since(days)
        async with self._pool.connection() as conn:
            rows = await queries.platform_days(conn, since)
            viewers = await queries.distinct_viewers(conn, since)
        return PlatformAnalytics(
            since=since,
            totals=Measures.of(combine((t for _, t in rows), viewers=viewers)),
            days=[Day(day=d, measures=Measures.of(t)) for d, t in rows],
        )

    async def worst(self, *, days: int, min_views: int, limit: int) -> WorstFiles:
        since = self._since(days)
        async with self._pool.connection() as conn:
            rows = await queries.worst_files(conn, since, min_views=min_views, limit=limit)
        return WorstFiles(
            since=since,
            files=[FileQoE(file_id=f, owner=o, measures=Measures.of(t)) for f, o, t in rows],
        )
