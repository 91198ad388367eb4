"""Admins' dead-letter routes (docs/runbooks/dlq.md as an API): list, inspect, redrive,
discard. Role `admin` only (servicekit `admit` reads the controller's `opt`): a `user`
or a `moderator` gets 403 `role_required`. Every action is audited as a `deadletter.*`
event (the catalog's `/v1/admin/audit` shows them)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter

from mediaplane.bus.dead_letter import DeadLetterFilter
from mediaplane.contracts import EventContext
from mediaplane.servicekit.auth import Principal
from mediaplane.servicekit.errors import ProblemError
from mediaplane.servicekit.principal import provide_principal
from mediaplane.upload_gateway.api.schemas import DiscardBody, RedriveMatchingBody
from mediaplane.upload_gateway.app.dead_letters import (
    DeadLetterAdmin,
    DeadLetterDetail,
    DeadLetterPage,
    RedriveBatch,
    Redriven,
)
from mediaplane.upload_gateway.config import SERVICE

Req = Request[Any, Any, Any]
Sequence = FromPath[int]  # the DLQ sequence: the dead letter's id
Filter = Annotated[str | None, QueryParameter(min_length=1, max_length=255)]


class DeadLettersUnavailable(ProblemError):
    """The deployment gave the gateway's api no `deadletters` identity (a server fault)."""

    code = "dead_letters_unavailable"
    status = 503
    title = "The dead-letter API has no NATS identity"


def provide_dead_letters(request: Req, principal: NamedDependency[Principal]) -> DeadLetterAdmin:
    """After `principal` (admission: only an admin learns whether the API is configured)."""
    admin: DeadLetterAdmin | None = request.app.state.dead_letters
    if admin is None:
        raise DeadLettersUnavailable("MEDIAPLANE_DEADLETTERS_NATS_PASSWORD is not set")
    return admin


def _context(request: Req) -> EventContext:
    state = request.scope["state"]
    return EventContext(
        producer=SERVICE,
        correlation_id=state["correlation_id"],
        causation_id=state["request_id"],
    )


class DeadLetterController(Controller):
    path = "/v1/admin/dead-letters"
    tags = ["admin"]
    opt = {"scope": "files:write", "role": "admin"}
    dependencies = {
        "principal": Provide(provide_principal),
        "dlq": Provide(provide_dead_letters, sync_to_thread=False),
    }

    @get(summary="Dead letters, oldest first, filtered (consumer prefix, subject, reason)")
    async def list_dead_letters(
        self,
        principal: NamedDependency[Principal],
        dlq: NamedDependency[DeadLetterAdmin],
        consumer: Filter = None,
        subject: Filter = None,
        reason: Filter = None,
        after: Annotated[int, QueryParameter(ge=0, description="a page's next_after")] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> DeadLetterPage:
        where = DeadLetterFilter(consumer=consumer, subject=subject, reason=reason)
        return await dlq.list(where, after=after, limit=limit)

    @get("/{sequence:int}", summary="One dead letter: headers, reason, payload")
    async def show(
        self,
        principal: NamedDependency[Principal],
        dlq: NamedDependency[DeadLetterAdmin],
        sequence: Sequence,
    ) -> DeadLetterDetail:
        return await dlq.show(sequence)

    @post("/{sequence:int}/redrive", status_code=200, summary="Publish it again, then drop it")
    async def redrive(
        self,
        request: Req,
        principal: NamedDependency[Principal],
        dlq: NamedDependency[DeadLetterAdmin],
        sequence: Sequence,
    ) -> Redriven:
        return await dlq.redrive(sequence, admin=principal.owner, context=_context(request))

    @post("/redrive", status_code=200, summary="Redrive every matching dead letter (a batch)")
    async def redrive_matching(
        self,
        request: Req,
        principal: NamedDependency[Principal],
        dlq: NamedDependency[DeadLetterAdmin],
        data: JSONBody[RedriveMatchingBody],
    ) -> RedriveBatch:
        where = DeadLetterFilter(consumer=data.consumer, subject=data.subject, reason=data.reason)
        return await dlq.redrive_matching(
            where,
            after=data.after,
            limit=data.limit,
            admin=principal.owner,
            context=_context(request),
        )

    @post("/{sequence:int}/discard", status_code=204, summary="Drop it without handling it")
    async def discard(
        self,
        request: Req,
        principal: NamedDependency[Principal],
        dlq: NamedDependency[DeadLetterAdmin],
        sequence: Sequence,
        data: JSONBody[DiscardBody],
    ) -> Response[None]:
        await dlq.discard(
            sequence, admin=principal.owner, note=data.note or None, context=_context(request)
        )
        return Response(None, status_code=204)
