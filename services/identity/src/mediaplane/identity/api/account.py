"""Accounts over HTTP: registration, email verification, sessions (cookies), password reset."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Annotated, Any

import anyio.to_thread
import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import Cookie
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from mediaplane.identity.app.accounts import AccountService
from mediaplane.identity.domain.errors import DeviceCodeInvalid, LinkedIdentityNotFound

SESSION_COOKIE = "mp_session"
MAX_BODY = 16 * 1024  # credentials and tokens only: anything larger is refused (413)
Req = Request[Any, Any, Any]

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
Secret = Annotated[str, msgspec.Meta(min_length=16, max_length=128)]


class Registration(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password
    invite: Secret | None = None


class Credentials(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password


class LinkToken(msgspec.Struct, forbid_unknown_fields=True):
    token: Secret


class ResetRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: Email


class NewPassword(msgspec.Struct, forbid_unknown_fields=True):
    token: Secret
    password: Password


MAX_USER_CODE = 16


class DeviceDecision(msgspec.Struct, forbid_unknown_fields=True):
    user_code: Annotated[str, msgspec.Meta(min_length=4, max_length=MAX_USER_CODE)]
    approve: bool


class PendingDeviceView(msgspec.Struct):
    user_code: str
    client_id: str
    scopes: list[str]
    expires_at: datetime


class NewToken(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    scopes: Annotated[list[str], msgspec.Meta(max_length=10)]
    expires_in_days: int


class TokenView(msgspec.Struct):
    id: str
    name: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime
    revoked: bool
    last_used_at: datetime | None


class CreatedToken(msgspec.Struct):
    id: str
    name: str
    scopes: list[str]
    expires_at: datetime
    token: str  # shown this once; only its SHA-256 is kept


class Accepted(msgspec.Struct):
    status: str


class SessionView(msgspec.Struct):
    user_id: str
    expires_at: datetime


class SessionEntry(msgspec.Struct):
    id: str
    created_at: datetime
    expires_at: datetime
    user_agent: str | None
    current: bool


class LinkedIdentityView(msgspec.Struct):
    id: str  # derived from (issuer, subject): what DELETE /identities/{id} takes
    issuer: str
    subject: str
    linked_at: datetime


class SignInOptions(msgspec.Struct):
    """What a sign-in page needs to know before anyone signs in (public)."""

    registration: str  # open | invite | closed
    upstream: str | None  # the upstream provider's issuer, when federation is configured


def linked_identity_id(issuer: str, subject: str) -> str:
    return hashlib.sha256(f"{issuer}\n{subject}".encode()).hexdigest()[:32]


class AccountView(msgspec.Struct):
    user_id: str
    email: str
    role: str
    plan: str
    email_verified: bool


def accounts(request: Req) -> AccountService:
    service: AccountService = request.app.state.accounts
    return service


def session_cookie(value: str, max_age: int) -> Cookie:
    """Secure, HttpOnly, SameSite=Lax: never readable by scripts, never sent over plain
    HTTP (browsers treat localhost as secure), not sent on cross-site POSTs."""
    return Cookie(
        key=SESSION_COOKIE,
        value=value,
        max_age=max_age,
        path="/",
        secure=True,
        httponly=True,
        samesite="lax",
    )


def client_ip(request: Req) -> str:
    return request.client.host if request.client else "unknown"


class AccountController(Controller):
    path = "/v1/account"
    tags = ["account"]
    request_max_body_size = MAX_BODY

    @post("/registrations", status_code=HTTP_202_ACCEPTED)
    async def register(self, request: Req, data: JSONBody[Registration]) -> Accepted:
        """The same answer whether or not the email already has an account."""
        await accounts(request).register(
            email=data.email, password=data.password, invite=data.invite, ip=client_ip(request)
        )
        return Accepted(status="check_your_email")

    @post("/email-verifications", status_code=HTTP_204_NO_CONTENT)
    async def verify_email(self, request: Req, data: JSONBody[LinkToken]) -> None:
        await accounts(request).verify_email(data.token)

    @post("/sessions")
    async def sign_in(self, request: Req, data: JSONBody[Credentials]) -> Response[SessionView]:
        service = accounts(request)
        signed_in = await service.sign_in(
            email=data.email,
            password=data.password,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
        )
        return Response(
            SessionView(user_id=str(signed_in.user_id), expires_at=signed_in.expires_at),
            status_code=201,
            cookies=[
                session_cookie(signed_in.session_token, service.settings.lifetimes.session_seconds)
            ],
        )

    @delete("/sessions/current", status_code=HTTP_204_NO_CONTENT)
    async def sign_out(self, request: Req) -> Response[None]:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            await accounts(request).sign_out(token)
        return Response(None, status_code=204, cookies=[session_cookie("", 0)])

    @delete("/sessions", status_code=HTTP_204_NO_CONTENT)
    async def sign_out_everywhere(self, request: Req) -> Response[None]:
        """Ends every session and refresh token of the signed-in account."""
        service = accounts(request)
        account = await service.session(request.cookies.get(SESSION_COOKIE))
        await service.sign_out_everywhere(account.user_id)
        return Response(None, status_code=204, cookies=[session_cookie("", 0)])

    @get("/sessions")
    async def list_sessions(self, request: Req) -> list[SessionEntry]:
        """The signed-in account's live sessions, newest first (`current`: this one)."""
        service = accounts(request)
        cookie = request.cookies.get(SESSION_COOKIE)
        account = await service.session(cookie)
        assert cookie is not None
        return [
            SessionEntry(
                id=str(s.session_id),
                created_at=s.created_at,
                expires_at=s.expires_at,
                user_agent=s.user_agent or None,
                current=s.current,
            )
            for s in await service.sessions(account.user_id, cookie)
        ]

    @delete("/sessions/{session_id:uuid}", status_code=HTTP_204_NO_CONTENT)
    async def end_session(self, request: Req, session_id: FromPath[uuid.UUID]) -> None:
        """Ends one of the account's sessions; another user's is 404 `session_not_found`."""
        service = accounts(request)
        account = await service.session(request.cookies.get(SESSION_COOKIE))
        await service.end_session(account.user_id, session_id)

    @get("/sign-in-options")
    async def sign_in_options(self, request: Req) -> SignInOptions:
        settings = accounts(request).settings
        upstream = settings.upstream.issuer if settings.upstream else None
        return SignInOptions(registration=settings.registration, upstream=upstream)

    @get("/identities")
    async def list_identities(self, request: Req) -> list[LinkedIdentityView]:
        """The upstream accounts that sign in as this one (link one with
        `GET /v1/account/federation/start?link=true`)."""
        service = accounts(request)
        account = await service.session(request.cookies.get(SESSION_COOKIE))
        return [
            LinkedIdentityView(
                id=linked_identity_id(i.issuer, i.subject),
                issuer=i.issuer,
                subject=i.subject,
                linked_at=i.linked_at,
            )
            for i in await service.linked_identities(account.user_id)
        ]

    @delete("/identities/{identity_id:str}", status_code=HTTP_204_NO_CONTENT)
    async def unlink_identity(self, request: Req, identity_id: FromPath[str]) -> None:
        """404 `linked_identity_not_found` for an unknown id (or another user's)."""
        service = accounts(request)
        account = await service.session(request.cookies.get(SESSION_COOKIE))
        for linked in await service.linked_identities(account.user_id):
            if linked_identity_id(linked.issuer, linked.subject) == identity_id:
                await service.unlink(account.user_id, linked.issuer, linked.subject)
                return
        raise LinkedIdentityNotFound("this account has no such linked identity")

    @get("/")
    async def me(self, request: Req) -> AccountView:
        account = await accounts(request).session(request.cookies.get(SESSION_COOKIE))
        return AccountView(
            user_id=str(account.user_id),
            email=account.email,
            role=account.role,
            plan=account.plan,
            email_verified=account.email_verified,
        )

    @post("/password-resets", status_code=HTTP_202_ACCEPTED)
    async def request_reset(self, request: Req, data: JSONBody[ResetRequest]) -> Accepted:
        """The same answer for known and unknown emails."""
        await accounts(request).request_password_reset(data.email, ip=client_ip(request))
        return Accepted(status="check_your_email")

    @post("/password-resets/confirm", status_code=HTTP_204_NO_CONTENT)
    async def reset(self, request: Req, data: JSONBody[NewPassword]) -> None:
        await accounts(request).reset_password(data.token, data.password)

    @get("/device/{user_code:str}")
    async def pending_device(self, request: Req, user_code: FromPath[str]) -> PendingDeviceView:
        """What a pending user code asks for (the client and its scopes), for the signed-in
        user to decide on; 404 `device_code_invalid` once decided, expired or unknown."""
        await accounts(request).session(request.cookies.get(SESSION_COOKIE))
        store = request.app.state.provider.store
        pending = (
            await anyio.to_thread.run_sync(store.pending_device_code, user_code)
            if len(user_code) <= MAX_USER_CODE
            else None
        )
        if pending is None:
            raise DeviceCodeInvalid("the code is unknown, already used or expired")
        return PendingDeviceView(
            user_code=pending.user_code,
            client_id=pending.client_id,
            scopes=pending.scope.split(),
            expires_at=pending.expires_at,
        )

    @post("/device", status_code=HTTP_204_NO_CONTENT)
    async def device(self, request: Req, data: JSONBody[DeviceDecision]) -> None:
        """The signed-in user approves (or denies) the code a device shows (RFC 8628)."""
        account = await accounts(request).session(request.cookies.get(SESSION_COOKIE))
        store = request.app.state.provider.store
        decided = await anyio.to_thread.run_sync(
            store.decide_device_code, data.user_code, account.user_id, data.approve
        )
        if not decided:
            raise DeviceCodeInvalid("the code is unknown, already used or expired")

    @post("/tokens", status_code=HTTP_201_CREATED)
    async def create_token(self, request: Req, data: JSONBody[NewToken]) -> CreatedToken:
        service = accounts(request)
        account = await service.session(request.cookies.get(SESSION_COOKIE))
        view, secret = await service.create_pat(
            account.user_id, name=data.name, scopes=data.scopes, days=data.expires_in_days
        )
        return CreatedToken(
            id=str(view.token_id),
            name=view.name,
            scopes=view.scopes,
            expires_at=view.expires_at,
            token=secret,
        )

    @get("/tokens")
    async def list_tokens(self, request: Req) -> list[TokenView]:
        service = accounts(request)
        account = await service.session(request.cookies.get(SESSION_COOKIE))
        return [
            TokenView(
                id=str(t.token_id),
                name=t.name,
                scopes=t.scopes,
                created_at=t.created_at,
                expires_at=t.expires_at,
                revoked=t.revoked_at is not None,
                last_used_at=t.last_used_at,
            )
            for t in await service.list_pats(account.user_id)
        ]

    @delete("/tokens/{token_id:uuid}", status_code=HTTP_204_NO_CONTENT)
    async def revoke_token(self, request: Req, token_id: FromPath[uuid.UUID]) -> None:
        service = accounts(request)
        account = await service.session(request.cookies.get(SESSION_COOKIE))
        await service.revoke_pat(account.user_id, token_id)
