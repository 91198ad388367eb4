"""The public HTTP commands: upload sessions, parts, completion, tags, file changes."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody

from mediaplane.contracts import EventContext
from mediaplane.servicekit.auth import Principal
from mediaplane.servicekit.principal import provide_principal
from mediaplane.upload_gateway.api.schemas import (
    CompleteBody,
    CreateTagsBody,
    OpenUploadBody,
    SetTagsBody,
    SignPartsBody,
)
from mediaplane.upload_gateway.app.service import OpenRequest, PartRequest, UploadService
from mediaplane.upload_gateway.app.views import (
    CompletionView,
    FileTagsView,
    PartUrl,
    SessionView,
    StoredPartView,
    TagResult,
)
from mediaplane.upload_gateway.config import SERVICE

Req = Request[Any, Any, Any]


async def provide_service(request: Req) -> UploadService:
    service: UploadService = request.app.state.service
    return service


async def provide_context(request: Req) -> EventContext:
    return EventContext(
        producer=SERVICE,
        correlation_id=request.scope["state"]["correlation_id"],
        causation_id=request.scope["state"]["request_id"],
    )


_DEPENDENCIES = {
    "principal": Provide(provide_principal),
    "service": Provide(provide_service),
    "context": Provide(provide_context),
}


class UploadController(Controller):
    path = "/v1/uploads"
    tags = ["uploads"]
    dependencies = _DEPENDENCIES

    @post("/", status_code=201, summary="Open an upload session")
    async def open_upload(
        self,
        data: JSONBody[OpenUploadBody],
        principal: NamedDependency[Principal],
        service: NamedDependency[UploadService],
        context: NamedDependency[EventContext],
    ) -> SessionView:
        return await service.open(
            principal.owner,
            OpenRequest(
                filename=data.filename,
                size=data.size,
                content_type=data.content_type,
                sha256=data.sha256,
                tags=data.tags,
            ),
            context,
        )

    @get("/{session_id:uuid}", summary="An upload session's state")
    async def get_upload(
        self,
        session_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        service: NamedDependency[UploadService],
    ) -> SessionView:
        return await service.get(principal.owner, session_id)

    @post("/{session_id:uuid}/parts", status_code=200, summary="Presigned URLs for parts")
    async def sign_parts(
        self,
        session_id: FromPath[uuid.UUID],
        data: JSONBody[SignPartsBody],
        principal: NamedDependency[Principal],
        service: NamedDependency[UploadService],
    ) -> dict[str, list[PartUrl]]:
        parts = [PartRequest(number=p.number, sha256=p.sha256) for p in data.parts]
        return {"parts": await service.sign_parts(principal.owner, session_id, parts)}

    @get("/{session_id:uuid}/parts", summary="Parts already stored (to resume)")
    async def stored_parts(
        self,
        session_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        service: NamedDependency[UploadService],
    ) -> dict[str, list[StoredPartView]]:
        return {"parts": await service.stored_parts(principal.owner, session_id)}

    @post("/{session_id:uuid}/complete", status_code=202, summary="Complete the upload")
    async def complete(
        self,
        session_id: FromPath[uuid.UUID],
        data: JSONBody[CompleteBody],
        principal: NamedDependency[Principal],
        service: NamedDependency[UploadService],
        context: NamedDependency[EventContext],
    ) -> CompletionView:
        parts = [(p.number, p.etag) for p in data.parts]
        return await service.complete(principal.owner, session_id, parts, context)

    @delete("/{session_id:uuid}", status_code=200, summary="Abort the upload")
    async def abort(
        self,
        session_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        service: NamedDependency[UploadService],
        context: NamedDependency[EventContext],
    ) -> SessionView:
        return await service.abort(principal.owner, session_id, context)


class TagController(Controller):
    path = "/v1/tags"
    tags = ["tags"]
    dependencies = _DEPENDENCIES

    @post("/", status_code=200, summary="Create tags (idempotent)")
    async def create_tags(
        self,
        data: JSONBody[CreateTagsBody],
        principal: NamedDependency[Principal],
        service: NamedDependency[UploadService],
        context: NamedDependency[EventContext],
    ) -> dict[str, list[TagResult]]:
        return {"tags": await service.create_tags(principal.owner, data.names, context)}


class FileController(Controller):
    path = "/v1/files"
    tags = ["files"]
    dependencies = _DEPENDENCIES

    @put("/{file_id:uuid}/tags", summary="Replace a file's tags")
    async def set_tags(
        self,
        file_id: FromPath[uuid.UUID],
        data: JSONBody[SetTagsBody],
        principal: NamedDependency[Principal],
        service: NamedDependency[UploadService],
        context: NamedDependency[EventContext],
    ) -> FileTagsView:
        return await service.set_file_tags(principal.owner, file_id, data.tags, context)

    @delete("/{file_id:uuid}", status_code=202, summary="Delete a file (objects are purged later)")
    async def delete_file(
        self,
        file_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        service: NamedDependency[UploadService],
        context: NamedDependency[EventContext],
    ) -> Response[None]:
        await service.delete_file(principal.owner, file_id, admin=principal.admin, context=context)
        return Response(None, status_code=202)
