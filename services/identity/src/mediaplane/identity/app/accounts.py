"""Account commands: registration, sign-in, sessions, mail links, and admin changes.

User events go through the eventlog's `handle` (load, decide, append) with the
`users` row written in the same transaction (`inline`); secrets that are not
events (password hashes, session and link digests) are written there too, and so
are the mails a command sends (`mail_outbox`, delivered by the relay role's sender):
a request never waits for, or fails with, the mail server.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

import psycopg
import structlog

from mediaplane.contracts import Event, EventContext, Role, new_event_id, utc_now
from mediaplane.domain import CommandContext
from mediaplane.eventlog import handle
from mediaplane.eventlog.database import Pool
from mediaplane.eventlog.store import EventStore
from mediaplane.identity.adapters import accounts as sql
from mediaplane.identity.adapters import links, mail_outbox, pats
from mediaplane.identity.adapters.passwords import hash_password, needs_rehash, verify_password
from mediaplane.identity.adapters.secrets import digest, new_secret
from mediaplane.identity.adapters.upstream import UpstreamClaims
from mediaplane.identity.app import throttling
from mediaplane.identity.config import SERVICE, IdentitySettings
from mediaplane.identity.domain import errors
from mediaplane.identity.domain import user as users
from mediaplane.identity.domain.policy import (
    Backoff,
    check_pat,
    check_registration,
    normalize_email,
)

_log = structlog.get_logger(__name__)
# Recognisable by secret scanners; never stored (only its SHA-256 is).
PAT_PREFIX = "mppat_"
Conn = psycopg.AsyncConnection[Any]


class _EmailTaken(Exception):
    """Inside a registration: the email has an account (answered like a success)."""


@dataclass(frozen=True, kw_only=True)
class SignedIn:
    user_id: uuid.UUID
    session_token: str
    expires_at: datetime


class AccountService:
    def __init__(
        self,
        *,
        pool: Pool,
        store: EventStore,
        settings: IdentitySettings,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.pool = pool
        self.store = store
        self.settings = settings
        self.clock = clock
        # An address is shared by many people (NAT): more free failures than an account.
        self._ip_backoff = replace(
            settings.backoff, free_failures=settings.backoff.free_failures * 4
        )
        # Requests that send mail (registration, reset), per IP: a flood would mail-bomb
        # whoever owns the addresses typed in.
        self._mail_backoff = Backoff(free_failures=10, base_seconds=60, max_seconds=3600)

    async def _admit_mail(self, ip: str | None) -> None:
        """Counts a mail-sending request of `ip`; 429 once it sent too many lately."""
        if ip is None:
            return  # operators' commands
        key, now = f"mail:{ip}", self.clock()
        async with self.pool.connection() as conn:
            until = await sql.locked_until(conn, [key], now)
        if until is not None:
            wait = math.ceil((until - now).total_seconds())
            raise throttling.TooManyRequests(
                f"too many mails requested from here; retry in {wait} s", retry_after=wait
            )
        await self._count(now, ((key, self._mail_backoff),))

    def _context(self, now: datetime | None = None) -> CommandContext:
        """One command's time (read once) and cause."""
        return CommandContext(
            now=now or self.clock(),
            cause=EventContext(producer=SERVICE, correlation_id=str(new_event_id())),
        )

    async def _command(self, command: users.Command) -> list[Event]:
        async def inline(conn: Conn, events: Any) -> None:
            await sql.project(conn, list(events))

        handled = await handle(
            self.store, users.user_stream(command.user_id), users.DECIDER, command, inline=inline
        )
        return handled.events

    # -- registration ----------------------------------------------------------------------------

    async def register(
        self,
        *,
        email: str,
        password: str,
        invite: str | None = None,
        role: Role = "user",
        via: Literal["open", "invite", "admin"] | None = None,
        verified: bool = False,
        ip: str | None = None,
    ) -> uuid.UUID | None:
        """Registers and mails a verification link. An email that has an account gets a
        mail saying so and the caller the same answer (None instead of the new id)."""
        email = normalize_email(email)
        admitted = via or check_registration(self.settings.registration, has_invite=bool(invite))
        self.settings.passwords.check(password, email=email)
        await self._admit_mail(ip)
        password_hash = await asyncio.to_thread(hash_password, password)
        user_id = new_event_id()
        link = new_secret()
        now = self.clock()
        link_expires = now + timedelta(seconds=self.settings.lifetimes.mail_link_seconds)

        async def inline(conn: Conn, events: Any) -> None:
            if invite is not None and not await sql.use_invite(
                conn, token_sha256=digest(invite), user_id=user_id, now=now
            ):
                raise errors.InviteInvalid("the invitation is unknown, used or expired")
            if not await sql.insert_user(
                conn,
                user_id=user_id,
                email=email,
                password_hash=password_hash,
                role=role,
                plan=self.settings.default_plan,
            ):
                raise _EmailTaken
            if verified:
                return
            await sql.insert_link(
                conn,
                token_sha256=digest(link),
                user_id=user_id,
                purpose="verify_email",
                expires_at=link_expires,
            )
            await mail_outbox.enqueue(
                conn,
                user_id=user_id,
                kind="verify_email",
                recipient=email,
                subject="mediaplane: verify your email",
                body=f"Verify your email with this code (valid "
                f"{self.settings.lifetimes.mail_link_seconds // 60} minutes):\n\n"
                f"verify-token: {link}\n{self._web_link('verify-email', link)}",
                now=now,
                expires_at=link_expires,
            )

        command = users.Register(
            user_id=user_id,
            role=role,
            plan=self.settings.default_plan,
            via=admitted,
            context=self._context(now),
        )
        try:
            await handle(
                self.store, users.user_stream(user_id), users.DECIDER, command, inline=inline
            )
        except _EmailTaken:
            await self._mail_account_exists(email, now)
            return None
        if verified:
            await self._command(users.VerifyEmail(user_id=user_id, context=self._context()))
        _log.info("user.registered", user_id=str(user_id), via=admitted)
        return user_id

    async def _mail_account_exists(self, email: str, now: datetime) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            existing = await sql.by_email(conn, email)
            if existing is None:
                return  # deleted meanwhile: nobody to tell
            await mail_outbox.enqueue(
                conn,
                user_id=existing.user_id,
                kind="account_exists",
                recipient=email,
                subject="mediaplane: you already have an account",
                body="Someone tried to register this address. If it was you, sign in or "
                "reset your password instead.\n",
                now=now,
            )

    async def create_invite(self, *, created_by: str, valid_seconds: int = 7 * 86400) -> str:
        invite = new_secret()
        async with self.pool.connection() as conn:
            await sql.insert_invite(
                conn,
                token_sha256=digest(invite),
                created_by=created_by,
                expires_at=self.clock() + timedelta(seconds=valid_seconds),
            )
        return invite

    async def verify_email(self, token: str) -> uuid.UUID:
        async with self.pool.connection() as conn:
            user_id = await sql.use_link(
                conn, token_sha256=digest(token), purpose="verify_email", now=self.clock()
            )
        if user_id is None:
            raise errors.LinkInvalid("the verification link is unknown, used or expired")
        await self._command(users.VerifyEmail(user_id=user_id, context=self._context()))
        return user_id

    # -- sign-in and sessions --------------------------------------------------------------------

    async def sign_in(
        self, *, email: str, password: str, ip: str, user_agent: str | None = None
    ) -> SignedIn:
        """A new session. Unknown emails and wrong passwords get the same answer, cost the
        same time and count as failures of the account key alike."""
        try:
            email = normalize_email(email)
        except errors.InvalidEmail:
            email = email.strip().lower()[:254]
        now = self.clock()
        account_key, ip_key = f"account:{email}", f"ip:{ip}"
        async with self.pool.connection() as conn:
            until = await sql.locked_until(conn, [account_key, ip_key], now)
            account = None if until else await sql.by_email(conn, email)
        if until is not None:
            wait = math.ceil((until - now).total_seconds())
            raise throttling.SignInThrottled(
                f"too many failed sign-ins; retry in {wait} s", retry_after=wait
            )
        stored = account.password_hash if account else None
        if not await asyncio.to_thread(verify_password, stored, password):
            await self._count(
                now, ((account_key, self.settings.backoff), (ip_key, self._ip_backoff))
            )
            raise errors.InvalidCredentials("email or password is wrong")
        assert account is not None
        if account.status != "active":
            raise errors.AccountSuspended("the account is suspended")
        if not account.email_verified:
            raise errors.EmailNotVerified("verify your email first (see the mail we sent)")
        rehash = needs_rehash(account.password_hash)
        new_hash = await asyncio.to_thread(hash_password, password) if rehash else None
        async with self.pool.connection() as conn, conn.transaction():
            await sql.clear_failures(conn, account_key)
            if new_hash is not None:
                await sql.set_password(conn, account.user_id, new_hash)
            return await self._open_session(conn, account.user_id, now, user_agent)

    async def _open_session(
        self, conn: Conn, user_id: uuid.UUID, now: datetime, user_agent: str | None
    ) -> SignedIn:
        token = new_secret()
        expires_at = now + timedelta(seconds=self.settings.lifetimes.session_seconds)
        await sql.insert_session(
            conn,
            token_sha256=digest(token),
            user_id=user_id,
            now=now,
            expires_at=expires_at,
            user_agent=user_agent,
        )
        return SignedIn(user_id=user_id, session_token=token, expires_at=expires_at)

    async def federated_sign_in(
        self,
        *,
        issuer: str,
        claims: UpstreamClaims,
        link_user_id: uuid.UUID | None,
        user_agent: str | None,
    ) -> SignedIn:
        """A session for the local user of an upstream account: the one it is linked to;
        else the signed-in user who asked to link it; else the account with the same
        verified email (linked now); else a new account (if registration is open)."""
        async with self.pool.connection() as conn:
            user_id = await links.linked_user(conn, issuer, claims.subject)
        if user_id is None:
            user_id = link_user_id or await self._account_for_upstream(claims)
            async with self.pool.connection() as conn:
                if not await links.link(conn, issuer, claims.subject, user_id):
                    raise errors.IdentityLinkedElsewhere("sign in with that account instead")
            _log.info("identity.linked", user_id=str(user_id))
        elif link_user_id is not None and link_user_id != user_id:
            raise errors.IdentityLinkedElsewhere("that upstream account has another user")
        async with self.pool.connection() as conn, conn.transaction():
            account = await sql.by_id(conn, user_id)
            if account is None:
                raise errors.UserNotFound("the linked account is gone")
            if account.status != "active":
                raise errors.AccountSuspended("the account is suspended")
            return await self._open_session(conn, user_id, self.clock(), user_agent)

    async def _account_for_upstream(self, claims: UpstreamClaims) -> uuid.UUID:
        if not (claims.email and claims.email_verified):
            raise errors.UpstreamEmailUnverified(
                "the upstream account has no verified email: sign in here and link it"
            )
        email = normalize_email(claims.email)
        async with self.pool.connection() as conn:
            existing = await sql.by_email(conn, email)
        if existing is not None:
            return existing.user_id
        check_registration(self.settings.registration, has_invite=False)
        # No password: this account signs in upstream (a reset link can set one).
        created = await self.register(email=email, password=new_secret(), via="open", verified=True)
        if created is None:  # registered concurrently
            async with self.pool.connection() as conn:
                raced = await sql.by_email(conn, email)
            if raced is None:
                raise errors.UserNotFound("the account could not be created")
            return raced.user_id
        return created

    def _web_link(self, page: str, secret: str) -> str:
        """A line with the web UI's page for a mailed code, when the UI's URL is configured.
        The code goes in the fragment: browsers never send it to a server or in a Referer."""
        base = self.settings.web_url
        return f"\nOr open: {base}/#/{page}?token={secret}\n" if base else ""

    async def _count(self, now: datetime, keys: Any) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            for key, backoff in keys:
                failures = await sql.record_failure(
                    conn, key, now, timedelta(seconds=backoff.max_seconds)
                )
                seconds = backoff.lock_seconds(failures)
                if seconds:
                    await sql.lock(conn, key, now + timedelta(seconds=seconds))
        _log.info("throttle.counted", keys=[key.split(":", 1)[0] for key, _ in keys])

    async def session(self, token: str | None) -> sql.Account:
        """The signed-in account of a session cookie, or NotSignedIn."""
        if not token:
            raise errors.NotSignedIn("no session: sign in first")
        async with self.pool.connection() as conn:
            account = await sql.session_account(conn, digest(token), self.clock())
        if account is None:
            raise errors.NotSignedIn("the session ended: sign in again")
        if account.status != "active":
            raise errors.AccountSuspended("the account is suspended")
        return account

    async def sign_out(self, token: str) -> None:
        async with self.pool.connection() as conn:
            await sql.revoke_session(conn, digest(token))

    async def sign_out_everywhere(self, user_id: uuid.UUID) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            await sql.sign_out_everywhere(conn, user_id)

    async def sessions(self, user_id: uuid.UUID, current: str) -> list[sql.SessionRow]:
        """The account's live sessions; `current` is the caller's cookie (marked in the list)."""
        async with self.pool.connection() as conn:
            return await sql.live_sessions(conn, user_id, digest(current), self.clock())

    async def end_session(self, user_id: uuid.UUID, session_id: uuid.UUID) -> None:
        async with self.pool.connection() as conn:
            if not await sql.revoke_session_by_id(conn, user_id, session_id):
                raise errors.SessionNotFound("no live session with that id on this account")

    # -- linked identities -----------------------------------------------------------------------

    async def linked_identities(self, user_id: uuid.UUID) -> list[links.Linked]:
        async with self.pool.connection() as conn:
            return await links.linked_identities(conn, user_id)

    async def unlink(self, user_id: uuid.UUID, issuer: str, subject: str) -> None:
        """The upstream account no longer signs in here. An account made by federation has a
        random password: after unlinking, a password reset gives it one."""
        async with self.pool.connection() as conn:
            if not await links.unlink(conn, user_id, issuer, subject):
                raise errors.LinkedIdentityNotFound("this account has no such linked identity")
        _log.info("identity.unlinked", user_id=str(user_id))

    # -- password reset --------------------------------------------------------------------------

    async def request_password_reset(self, email: str, *, ip: str | None = None) -> None:
        """Writes a reset mail when the account exists; answers the same either way (the
        mail server is not involved: its being down shows nothing)."""
        await self._admit_mail(ip)
        try:
            email = normalize_email(email)
        except errors.InvalidEmail:
            return
        link, now = new_secret(), self.clock()
        expires_at = now + timedelta(seconds=self.settings.lifetimes.mail_link_seconds)
        async with self.pool.connection() as conn, conn.transaction():
            account = await sql.by_email(conn, email)
            if account is None:
                return
            await sql.insert_link(
                conn,
                token_sha256=digest(link),
                user_id=account.user_id,
                purpose="reset_password",
                expires_at=expires_at,
            )
            await mail_outbox.enqueue(
                conn,
                user_id=account.user_id,
                kind="reset_password",
                recipient=email,
                subject="mediaplane: reset your password",
                body=f"Reset your password with this code:\n\nreset-token: {link}\n"
                f"{self._web_link('reset-password', link)}",
                now=now,
                expires_at=expires_at,
            )

    async def reset_password(self, token: str, password: str) -> None:
        """Sets the password, signs the account out everywhere and verifies the email."""
        now = self.clock()
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT u.email FROM mail_links l JOIN users u USING (user_id)"
                " WHERE l.token_sha256 = %s AND l.purpose = 'reset_password'",
                (digest(token),),
            )
            row = await cursor.fetchone()
        if row is None:
            raise errors.LinkInvalid("the reset link is unknown, used or expired")
        self.settings.passwords.check(password, email=row[0])
        password_hash = await asyncio.to_thread(hash_password, password)
        async with self.pool.connection() as conn, conn.transaction():
            user_id = await sql.use_link(
                conn, token_sha256=digest(token), purpose="reset_password", now=now
            )
            if user_id is None:
                raise errors.LinkInvalid("the reset link is unknown, used or expired")
            await sql.set_password(conn, user_id, password_hash)
            await sql.sign_out_everywhere(conn, user_id)
            await sql.clear_failures(conn, f"account:{row[0]}")
        # The link came by mail, so using it proves the address as a verification link
        # would: a user whose verification mail was lost (or never sent: it failed for good
        # or its link expired before the mail server took it) gets in this way, and a
        # password someone else set when registering the address unverified is replaced.
        # No event when the address was verified.
        await self._command(users.VerifyEmail(user_id=user_id, context=self._context()))

    # -- administration --------------------------------------------------------------------------

    async def change_role(self, user_id: uuid.UUID, role: Role, *, by: str) -> None:
        await self._command(
            users.ChangeRole(user_id=user_id, role=role, by=by, context=self._context())
        )

    async def change_plan(self, user_id: uuid.UUID, plan: str, *, by: str) -> None:
        if plan not in self.settings.plans:
            raise errors.UnknownPlan(f"plans are {', '.join(self.settings.plans)}")
        await self._command(
            users.ChangePlan(user_id=user_id, plan=plan, by=by, context=self._context())
        )

    async def set_quota(
        self, user_id: uuid.UUID, *, files: int | None, bytes: int | None, by: str
    ) -> None:
        """Override the plan's quota for this user; None (both: the override is cleared)
        follows the plan's."""
        await self._command(
            users.SetQuota(
                user_id=user_id, files=files, bytes=bytes, by=by, context=self._context()
            )
        )

    async def suspend(self, user_id: uuid.UUID, *, reason: str, by: str) -> None:
        await self._command(
            users.Suspend(user_id=user_id, reason=reason, by=by, context=self._context())
        )

    async def reinstate(self, user_id: uuid.UUID, *, by: str) -> None:
        await self._command(users.Reinstate(user_id=user_id, by=by, context=self._context()))

    async def delete(self, user_id: uuid.UUID, *, by: str) -> None:
        await self._command(users.Delete(user_id=user_id, by=by, context=self._context()))

    # -- personal access tokens ------------------------------------------------------------------

    async def create_pat(
        self, user_id: uuid.UUID, *, name: str, scopes: list[str], days: int
    ) -> tuple[pats.PatView, str]:
        """The token's description and its secret, which is shown this once."""
        checked = check_pat(scopes, days)
        secret = f"{PAT_PREFIX}{new_secret()}"
        now = self.clock()
        token_id = new_event_id()
        async with self.pool.connection() as conn:
            await pats.insert(
                conn,
                token_id=token_id,
                token_sha256=digest(secret),
                user_id=user_id,
                name=name,
                scopes=checked,
                now=now,
                expires_at=now + timedelta(days=days),
            )
        view = pats.PatView(
            token_id=token_id,
            name=name,
            scopes=list(checked),
            created_at=now,
            expires_at=now + timedelta(days=days),
            revoked_at=None,
            last_used_at=None,
        )
        return view, secret

    async def list_pats(self, user_id: uuid.UUID) -> list[pats.PatView]:
        async with self.pool.connection() as conn:
            return await pats.of_user(conn, user_id)

    async def revoke_pat(self, user_id: uuid.UUID, token_id: uuid.UUID) -> None:
        async with self.pool.connection() as conn:
            if not await pats.revoke(conn, user_id, token_id):
                raise errors.TokenNotFound(f"no token {token_id}")
