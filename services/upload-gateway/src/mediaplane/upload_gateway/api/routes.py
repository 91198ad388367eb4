"""The public HTTP commands: upload sessions, parts, completion, tags, file changes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody

from mediaplane.contracts import EventContext
from mediaplane.servicekit.principal import provide_principal
from mediaplane.upload_gateway.api.dead_letters import DeadLetterController
from mediaplane.upload_gateway.api.schemas import (
    CompleteBody,
    CreateTagsBody,
    DismissBody,
    OpenUploadBody,
    ReasonBody,
    ReprocessBody,
    SetTagsBody,
    SignPartsBody,
)
from mediaplane.upload_gateway.app.service import OpenRequest, PartRequest, UploadService
from mediaplane.upload_gateway.app.views import (
    CompletionView,
    FileTagsView,
    ModerationView,
    PartUrl,
    ReportView,
    SessionView,
    StoredPartView,
    TagResult,
)
from mediaplane.upload_gateway.config import SERVICE
from mediaplane.upload_gateway.domain import moderation

Req = Request[Any, Any, Any]


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks (authenticated, rate limited), the service that acts, and the context its
    events are attributed to. One dependency rather than three: Litestar resolves several
    dependencies of one handler in an anyio task group, a task each, which cost more than
    the work they did on the hottest route."""

    owner: str
    admin: bool
    plan: str | None  # the token's claim; the accounts projection wins over it
    service: UploadService
    context: EventContext


async def provide_caller(request: Req) -> Caller:
    principal = await provide_principal(request)
    state = request.scope["state"]
    return Caller(
        owner=principal.owner,
        admin=principal.admin,
        plan=principal.plan,
        service=request.app.state.service,
        context=EventContext(
            producer=SERVICE,
            correlation_id=state["correlation_id"],
            causation_id=state["request_id"],
        ),
    )


_DEPENDENCIES = {"caller": Provide(provide_caller)}


# Each controller names the scope its routes need (servicekit `admit` checks it): uploads
# need `uploads:write`; tags and changes to files need `files:write`.
class UploadController(Controller):
    path = "/v1/uploads"
    tags = ["uploads"]
    dependencies = _DEPENDENCIES
    opt = {"scope": "uploads:write"}

    @post("/", status_code=201, summary="Open an upload session")
    async def open_upload(
        self,
        data: JSONBody[OpenUploadBody],
        caller: NamedDependency[Caller],
    ) -> SessionView:
        return await caller.service.open(
            caller.owner,
            OpenRequest(
                filename=data.filename,
                size=data.size,
                content_type=data.content_type,
                sha256=data.sha256,
                tags=data.tags,
                keep_location=data.location == "keep",
            ),
            caller.context,
            claimed_plan=caller.plan,
        )

    @get("/{session_id:uuid}", summary="An upload session's state")
    async def get_upload(
        self,
        session_id: FromPath[uuid.UUID],
        caller: NamedDependency[Caller],
    ) -> SessionView:
        return await caller.service.get(caller.owner, session_id)

    @post("/{session_id:uuid}/parts", status_code=200, summary="Presigned URLs for parts")
    async def sign_parts(
        self,
        session_id: FromPath[uuid.UUID],
        data: JSONBody[SignPartsBody],
        caller: NamedDependency[Caller],
    ) -> dict[str, list[PartUrl]]:
        parts = [PartRequest(number=p.number, sha256=p.sha256) for p in data.parts]
        return {"parts": await caller.service.sign_parts(caller.owner, session_id, parts)}

    @get("/{session_id:uuid}/parts", summary="Parts already stored (to resume)")
    async def stored_parts(
        self,
        session_id: FromPath[uuid.UUID],
        caller: NamedDependency[Caller],
    ) -> dict[str, list[StoredPartView]]:
        return {"parts": await caller.service.stored_parts(caller.owner, session_id)}

    @post("/{session_id:uuid}/complete", status_code=202, summary="Complete the upload")
    async def complete(
        self,
        session_id: FromPath[uuid.UUID],
        data: JSONBody[CompleteBody],
        caller: NamedDependency[Caller],
    ) -> CompletionView:
        parts = [(p.number, p.etag) for p in data.parts]
        return await caller.service.complete(caller.owner, session_id, parts, caller.context)

    @delete("/{session_id:uuid}", status_code=200, summary="Abort the upload")
    async def abort(
        self,
        session_id: FromPath[uuid.UUID],
        caller: NamedDependency[Caller],
    ) -> SessionView:
        return await caller.service.abort(caller.owner, session_id, caller.context)


class TagController(Controller):
    path = "/v1/tags"
    tags = ["tags"]
    dependencies = _DEPENDENCIES
    opt = {"scope": "files:write"}

    @post("/", status_code=200, summary="Create tags (idempotent)")
    async def create_tags(
        self,
        data: JSONBody[CreateTagsBody],
        caller: NamedDependency[Caller],
    ) -> dict[str, list[TagResult]]:
        return {"tags": await caller.service.create_tags(caller.owner, data.names, caller.context)}


class FileController(Controller):
    path = "/v1/files"
    tags = ["files"]
    dependencies = _DEPENDENCIES
    opt = {"scope": "files:write"}

    @put("/{file_id:uuid}/tags", summary="Replace a file's tags")
    async def set_tags(
        self,
        file_id: FromPath[uuid.UUID],
        data: JSONBody[SetTagsBody],
        caller: NamedDependency[Caller],
    ) -> FileTagsView:
        return await caller.service.set_file_tags(caller.owner, file_id, data.tags, caller.context)

    @delete("/{file_id:uuid}", status_code=202, summary="Delete a file (objects are purged later)")
    async def delete_file(
        self,
        file_id: FromPath[uuid.UUID],
        caller: NamedDependency[Caller],
    ) -> Response[None]:
        await caller.service.delete_file(
            caller.owner, file_id, admin=caller.admin, context=caller.context
        )
        return Response(None, status_code=202)

    @post("/{file_id:uuid}/reports", status_code=201, summary="Report a file to the moderators")
    async def report(
        self,
        file_id: FromPath[uuid.UUID],
        data: JSONBody[ReasonBody],
        caller: NamedDependency[Caller],
    ) -> ReportView:
        """Any signed-in user may report a file whose id they hold; one open report per
        reporter and file (409 `already_reported`), none on a taken-down file."""
        return await caller.service.report_file(caller.owner, file_id, data.reason, caller.context)


class ModerationController(Controller):
    """Moderators' commands (the queue itself is the catalog's `GET /v1/moderation/reports`)."""

    path = "/v1/moderation/files"
    tags = ["moderation"]
    dependencies = _DEPENDENCIES
    opt = {"scope": "files:write", "role": "moderator"}

    @post("/{file_id:uuid}/takedown", status_code=200, summary="Take a file down")
    async def take_down(
        self,
        file_id: FromPath[uuid.UUID],
        data: JSONBody[ReasonBody],
        caller: NamedDependency[Caller],
    ) -> ModerationView:
        """Hides the file from everyone but moderators and admins; resolves its open
        reports. The owner sees `reason`."""
        context = caller.service.command_context(caller.context)
        command = moderation.TakeDown(moderator=caller.owner, reason=data.reason, context=context)
        return await caller.service.moderate(file_id, command)

    @post("/{file_id:uuid}/restore", status_code=200, summary="Restore a taken-down file")
    async def restore(
        self,
        file_id: FromPath[uuid.UUID],
        data: JSONBody[ReasonBody],
        caller: NamedDependency[Caller],
    ) -> ModerationView:
        context = caller.service.command_context(caller.context)
        command = moderation.Restore(moderator=caller.owner, reason=data.reason, context=context)
        return await caller.service.moderate(file_id, command)

    @post(
        "/{file_id:uuid}/reports/{report_id:uuid}/dismiss",
        status_code=200,
        summary="Dismiss one open report",
    )
    async def dismiss(
        self,
        file_id: FromPath[uuid.UUID],
        report_id: FromPath[uuid.UUID],
        data: JSONBody[DismissBody],
        caller: NamedDependency[Caller],
    ) -> ModerationView:
        context = caller.service.command_context(caller.context)
        command = moderation.DismissReport(
            moderator=caller.owner, report_id=report_id, note=data.note, context=context
        )
        return await caller.service.moderate(file_id, command)


class AdminFileController(Controller):
    """Admins' commands on files (their queries are the catalog's `/v1/admin/*`)."""

    path = "/v1/admin/files"
    tags = ["admin"]
    dependencies = _DEPENDENCIES
    opt = {"scope": "files:write", "role": "admin"}

    @post("/{file_id:uuid}/reprocess", status_code=202, summary="Run a file's job again")
    async def reprocess(
        self,
        file_id: FromPath[uuid.UUID],
        data: JSONBody[ReprocessBody],
        caller: NamedDependency[Caller],
    ) -> Response[None]:
        """Appends `file.reprocess_requested.v2`; the worker that owns the target acts on it:
        `thumbnails` and `transcode` are made again from the verified original (the old
        ones removed once the new ones are recorded), `variants` are dropped and made again
        on their next request. 422 `invalid_reprocess_target` for another target,
        `reprocess_not_applicable` when the file's kind has no such artifacts; 409
        `file_not_verified`, `file_taken_down` or `file_deleted`; 404 `file_not_found`."""
        await caller.service.request_reprocess(caller.owner, file_id, data.target, caller.context)
        return Response(None, status_code=202)


# The public routes (the dev-mode token route is added by the app, and is not public API).
ROUTES = [
    UploadController,
    TagController,
    FileController,
    ModerationController,
    AdminFileController,
    DeadLetterController,
]
