"""Moderators' and admins' queries (issue 16); their commands are the gateway's.

Closed by default: every route needs its role (servicekit `admit` reads the
controller's `opt`), so a `user` gets 403 `role_required` on all of them and a
moderator on the admin ones.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery, QueryParameter

from mediaplane.catalog.app.console import (
    AdminFileFilter,
    AuditFilter,
    AuditPage,
    ConsoleQueries,
    Offender,
    Processing,
    ReportPage,
    ReportStatus,
    Storage,
    UsageHistory,
    UsagePage,
)
from mediaplane.catalog.app.queries import FileKind, FileStatus
from mediaplane.catalog.app.views import FilePage
from mediaplane.servicekit.auth import Principal
from mediaplane.servicekit.pagination import Cursor, Limit
from mediaplane.servicekit.principal import provide_principal

Req = Request[Any, Any, Any]
Size = Annotated[int | None, QueryParameter(ge=0, description="bytes")]


def provide_console(request: Req) -> ConsoleQueries:
    console: ConsoleQueries = request.app.state.console
    return console


_DEPENDENCIES = {
    "principal": Provide(provide_principal),
    "console": Provide(provide_console, sync_to_thread=False),
}


class ModerationQueueController(Controller):
    path = "/v1/moderation"
    opt = {"scope": "files:read", "role": "moderator"}
    tags = ["moderation"]
    dependencies = _DEPENDENCIES

    @get("/reports", summary="The report queue (oldest first; open ones by default)")
    async def reports(
        self,
        principal: NamedDependency[Principal],
        console: NamedDependency[ConsoleQueries],
        status: FromQuery[ReportStatus | None] = "open",
        file_id: FromQuery[uuid.UUID | None] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> ReportPage:
        return await console.reports(status=status, file_id=file_id, limit=limit, cursor=cursor)

    @get("/offenders", summary="Owners by files taken down, then reports against them")
    async def offenders(
        self,
        principal: NamedDependency[Principal],
        console: NamedDependency[ConsoleQueries],
        limit: Limit = 50,
    ) -> list[Offender]:
        return await console.offenders(limit=limit)


class AdminController(Controller):
    path = "/v1/admin"
    opt = {"scope": "files:read", "role": "admin"}
    tags = ["admin"]
    dependencies = _DEPENDENCIES

    @get("/files", summary="Every owner's files, with filters (newest first)")
    async def files(
        self,
        principal: NamedDependency[Principal],
        console: NamedDependency[ConsoleQueries],
        owner: FromQuery[str | None] = None,
        kind: FromQuery[FileKind | None] = None,
        status: FromQuery[FileStatus | None] = None,
        min_size: Size = None,
        max_size: Size = None,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        failed: Annotated[
            bool | None, QueryParameter(description="a transcode or thumbnail failed")
        ] = None,
        taken_down: FromQuery[bool | None] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> FilePage:
        where = AdminFileFilter(
            owner=owner,
            kind=kind,
            status=status,
            min_size=min_size,
            max_size=max_size,
            since=since,
            until=until,
            failed=failed,
            taken_down=taken_down,
        )
        return await console.files(where, limit=limit, cursor=cursor)

    @get("/usage", summary="Storage per user: originals by kind, derived bytes, plan, quota")
    async def usage(
        self,
        principal: NamedDependency[Principal],
        console: NamedDependency[ConsoleQueries],
        owner: FromQuery[str | None] = None,
        limit: Limit = 100,
        marker: FromQuery[str | None] = None,
    ) -> UsagePage:
        return await console.usage(owner=owner, limit=limit, marker=marker)

    @get(
        "/usage/history",
        summary="Uploads, deletions and stored bytes of originals per day (a user's, or all)",
    )
    async def usage_history(
        self,
        principal: NamedDependency[Principal],
        console: NamedDependency[ConsoleQueries],
        owner: Annotated[
            str | None, QueryParameter(max_length=255, description="one user; all when absent")
        ] = None,
        days: Annotated[int, QueryParameter(ge=1, le=366, description="days back")] = 30,
    ) -> UsageHistory:
        since = datetime.now(UTC).date() - timedelta(days=days - 1)
        return await console.usage_history(owner=owner, since=since)

    @get("/processing", summary="Jobs by status per service, and the latest failures")
    async def processing(
        self,
        principal: NamedDependency[Principal],
        console: NamedDependency[ConsoleQueries],
        limit: Limit = 50,
    ) -> Processing:
        return await console.processing(limit=limit)

    @get("/audit", summary="Who did what, when, to which file or user (from the events)")
    async def audit(
        self,
        principal: NamedDependency[Principal],
        console: NamedDependency[ConsoleQueries],
        type: Annotated[
            str | None, QueryParameter(max_length=64, description="event type prefix")
        ] = None,
        file_id: FromQuery[uuid.UUID | None] = None,
        actor: Annotated[str | None, QueryParameter(max_length=255)] = None,
        subject: Annotated[
            str | None, QueryParameter(max_length=255, description="the owner or user concerned")
        ] = None,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> AuditPage:
        where = AuditFilter(
            type=type, file_id=file_id, actor=actor, subject=subject, since=since, until=until
        )
        return await console.audit(where, limit=limit, cursor=cursor)

    @get("/storage", summary="Bytes per bucket and kind now, and added and freed per day")
    async def storage(
        self,
        principal: NamedDependency[Principal],
        console: NamedDependency[ConsoleQueries],
        days: Annotated[int, QueryParameter(ge=1, le=366, description="days back")] = 30,
    ) -> Storage:
        return await console.storage(since=datetime.now(UTC) - timedelta(days=days))


ROUTES = [ModerationQueueController, AdminController]
