"""Account administration over HTTP, for admins (bearer token with the `admin` role)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from mediaplane.contracts import Role
from mediaplane.identity.adapters.mail_outbox import MailState
from mediaplane.identity.api.account import MAX_BODY, accounts
from mediaplane.identity.app.mail_admin import MailAdmin, MailPage
from mediaplane.servicekit.auth import Principal
from mediaplane.servicekit.pagination import Cursor, Limit
from mediaplane.servicekit.principal import provide_principal

Req = Request[Any, Any, Any]


async def provide_admin(request: Req) -> Principal:
    """The caller; servicekit's `admit` refuses anyone without the controller's role (403
    `role_required`), as every API of the platform checks roles."""
    return await provide_principal(request)


class RoleBody(msgspec.Struct, forbid_unknown_fields=True):
    role: Role


class PlanBody(msgspec.Struct, forbid_unknown_fields=True):
    plan: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]


# Postgres `bigint` holds the projections' copies; a negative or fractional count is refused
# (400 `invalid_request`), as is an unknown field.
Count = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]


class QuotaBody(msgspec.Struct, forbid_unknown_fields=True):
    """The user's own quota; an absent or null field follows the plan's."""

    files: Count | None = None
    bytes: Count | None = None


class SuspensionBody(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class InviteView(msgspec.Struct):
    invite: str


def mail_admin(request: Req) -> MailAdmin:
    service: MailAdmin = request.app.state.mail_admin
    return service


class AdminController(Controller):
    path = "/v1/admin"
    tags = ["admin"]
    request_max_body_size = MAX_BODY
    dependencies = {"admin": Provide(provide_admin)}
    opt = {"role": "admin"}

    @put("/users/{user_id:uuid}/role", status_code=HTTP_204_NO_CONTENT)
    async def role(
        self,
        request: Req,
        admin: NamedDependency[Principal],
        user_id: FromPath[uuid.UUID],
        data: JSONBody[RoleBody],
    ) -> None:
        await accounts(request).change_role(user_id, data.role, by=admin.owner)

    @put("/users/{user_id:uuid}/plan", status_code=HTTP_204_NO_CONTENT)
    async def plan(
        self,
        request: Req,
        admin: NamedDependency[Principal],
        user_id: FromPath[uuid.UUID],
        data: JSONBody[PlanBody],
    ) -> None:
        await accounts(request).change_plan(user_id, data.plan, by=admin.owner)

    @put("/users/{user_id:uuid}/quota", status_code=HTTP_204_NO_CONTENT)
    async def quota(
        self,
        request: Req,
        admin: NamedDependency[Principal],
        user_id: FromPath[uuid.UUID],
        data: JSONBody[QuotaBody],
    ) -> None:
        await accounts(request).set_quota(
            user_id, files=data.files, bytes=data.bytes, by=admin.owner
        )

    @delete("/users/{user_id:uuid}/quota", status_code=HTTP_204_NO_CONTENT)
    async def plan_quota(
        self, request: Req, admin: NamedDependency[Principal], user_id: FromPath[uuid.UUID]
    ) -> None:
        """Back to the plan's quota."""
        await accounts(request).set_quota(user_id, files=None, bytes=None, by=admin.owner)

    @put("/users/{user_id:uuid}/suspension", status_code=HTTP_204_NO_CONTENT)
    async def suspend(
        self,
        request: Req,
        admin: NamedDependency[Principal],
        user_id: FromPath[uuid.UUID],
        data: JSONBody[SuspensionBody],
    ) -> None:
        await accounts(request).suspend(user_id, reason=data.reason, by=admin.owner)

    @delete("/users/{user_id:uuid}/suspension", status_code=HTTP_204_NO_CONTENT)
    async def reinstate(
        self, request: Req, admin: NamedDependency[Principal], user_id: FromPath[uuid.UUID]
    ) -> None:
        await accounts(request).reinstate(user_id, by=admin.owner)

    @delete("/users/{user_id:uuid}", status_code=HTTP_204_NO_CONTENT)
    async def remove(
        self, request: Req, admin: NamedDependency[Principal], user_id: FromPath[uuid.UUID]
    ) -> None:
        await accounts(request).delete(user_id, by=admin.owner)

    @post("/invites", status_code=HTTP_201_CREATED)
    async def invite(self, request: Req, admin: NamedDependency[Principal]) -> InviteView:
        return InviteView(invite=await accounts(request).create_invite(created_by=admin.owner))

    @get("/mail", summary="Mails that failed for good, or still wait (newest first)")
    async def mails(
        self,
        request: Req,
        admin: NamedDependency[Principal],
        # `state` is a name Litestar keeps for the app's state: the query's is this one.
        mail_state: Annotated[
            MailState, QueryParameter(name="state", description="failed (for good) or pending")
        ] = "failed",
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> MailPage:
        """Each mail's id, user, kind, recipient, attempts, times and last error; never its
        subject or body (the body holds a link's secret)."""
        return await mail_admin(request).mails(mail_state, limit=limit, cursor=cursor)

    @delete("/mail/{mail_id:uuid}", status_code=HTTP_204_NO_CONTENT)
    async def dismiss_mail(
        self, request: Req, admin: NamedDependency[Principal], mail_id: FromPath[uuid.UUID]
    ) -> None:
        """Dismisses a mail that failed for good; a pending one is 409 `mail_pending`."""
        await mail_admin(request).dismiss(mail_id)
