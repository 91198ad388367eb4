"""Routes: POST beacons (any signed-in viewer), a file's analytics (its owner or an admin),
platform totals and the worst-QoE files (admins only)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter

from mediaplane.analytics.api.problems import Flooded
from mediaplane.analytics.app.ingest import BeaconIngest
from mediaplane.analytics.app.reports import FileAnalytics, PlatformAnalytics, Reports, WorstFiles
from mediaplane.analytics.domain.errors import BeaconFlood
from mediaplane.contracts import MAX_BEACONS, Beacon
from mediaplane.servicekit.auth import Principal
from mediaplane.servicekit.principal import provide_principal

Req = Request[Any, Any, Any]
Days = Annotated[int, QueryParameter(ge=1, le=366, description="days back, today included")]


class BeaconBatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What a player posts: some beacons of one view (`view_id`, chosen by the player)."""

    view_id: uuid.UUID
    file_id: uuid.UUID
    beacons: Annotated[list[Beacon], msgspec.Meta(min_length=1, max_length=MAX_BEACONS)]


class Accepted(msgspec.Struct, frozen=True, kw_only=True):
    accepted: int
    batch_id: uuid.UUID


def provide_ingest(request: Req) -> BeaconIngest:
    ingest: BeaconIngest = request.app.state.ingest
    return ingest


def provide_reports(request: Req) -> Reports:
    reports: Reports = request.app.state.reports
    return reports


# Checked by servicekit's `admit` before the handler runs (403 `role_required` /
# `scope_insufficient`): watching and reading analytics need `files:read`.
READ = {"scope": "files:read"}
ADMIN = {"scope": "files:read", "role": "admin"}


class AnalyticsController(Controller):
    path = "/v1/analytics"
    tags = ["analytics"]
    dependencies = {
        "principal": Provide(provide_principal),
        "ingest": Provide(provide_ingest, sync_to_thread=False),
        "reports": Provide(provide_reports, sync_to_thread=False),
    }

    @post("/beacons", status_code=202, summary="Send a batch of playback beacons", opt=READ)
    async def beacons(
        self,
        request: Req,
        data: JSONBody[BeaconBatch],
        principal: NamedDependency[Principal],
        ingest: NamedDependency[BeaconIngest],
    ) -> Accepted:
        try:
            event = await ingest.accept(
                view_id=data.view_id,
                file_id=data.file_id,
                beacons=data.beacons,
                viewer=principal.owner,
                viewer_is_admin=principal.admin,
                correlation_id=request.headers.get("x-request-id") or str(data.view_id),
            )
        except BeaconFlood as flood:
            raise Flooded(flood.detail, retry_after=flood.retry_after) from None
        return Accepted(accepted=len(data.beacons), batch_id=event.event_id)

    @get(
        "/files/{file_id:uuid}",
        summary="A file's views, watch time, QoE and retention",
        opt=READ,
    )
    async def file(
        self,
        file_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        reports: NamedDependency[Reports],
        days: Days = 30,
    ) -> FileAnalytics:
        return await reports.file(file_id, reader=principal.owner, admin=principal.admin, days=days)

    @get("/platform", summary="Platform totals per day (admins)", opt=ADMIN)
    async def platform(
        self,
        principal: NamedDependency[Principal],
        reports: NamedDependency[Reports],
        days: Days = 30,
    ) -> PlatformAnalytics:
        return await reports.platform(days=days)

    @get(
        "/worst-files",
        summary="The files with the worst quality of experience (admins)",
        opt=ADMIN,
    )
    async def worst(
        self,
        principal: NamedDependency[Principal],
        reports: NamedDependency[Reports],
        days: Days = 7,
        min_views: Annotated[int, QueryParameter(ge=1, le=1_000_000)] = 1,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 10,
    ) -> WorstFiles:
        return await reports.worst(days=days, min_views=min_views, limit=limit)


ROUTES = [AnalyticsController]
