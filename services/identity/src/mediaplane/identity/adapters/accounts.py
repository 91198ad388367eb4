"""SQL of the account tables: users, sessions, sign-in failures, mail links, invites."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import class_row

from mediaplane.contracts import (
    Event,
    UserDeleted,
    UserEmailVerified,
    UserPlanChanged,
    UserReinstated,
    UserRoleChanged,
    UserSuspended,
)

Conn = psycopg.AsyncConnection[Any]


@dataclass(frozen=True, kw_only=True)
class Account:
    user_id: uuid.UUID
    email: str
    password_hash: str
    role: str
    plan: str
    status: str
    email_verified: bool
    sessions_valid_after: datetime


_ACCOUNT = (
    "SELECT user_id, email, password_hash, role, plan, status, email_verified,"
    " sessions_valid_after FROM users"
)


async def by_email(conn: Conn, email: str) -> Account | None:
    async with conn.cursor(row_factory=class_row(Account)) as cur:
        await cur.execute(f"{_ACCOUNT} WHERE email = %s", (email,))
        return await cur.fetchone()


async def by_id(conn: Conn, user_id: uuid.UUID) -> Account | None:
    async with conn.cursor(row_factory=class_row(Account)) as cur:
        await cur.execute(f"{_ACCOUNT} WHERE user_id = %s", (user_id,))
        return await cur.fetchone()


async def insert_user(
    conn: Conn, *, user_id: uuid.UUID, email: str, password_hash: str, role: str, plan: str
) -> bool:
    """False when the email is taken (nothing written).

    The answer is a returned row, not `rowcount`: inside `eventlog.handle`'s
    pipelined transaction a row count is not known until the results are read.
    """
    cursor = await conn.execute(
        "INSERT INTO users (user_id, email, password_hash, role, plan, status)"
        " VALUES (%s, %s, %s, %s, %s, 'active') ON CONFLICT (email) DO NOTHING"
        " RETURNING user_id",
        (user_id, email, password_hash, role, plan),
    )
    return await cursor.fetchone() is not None


async def project(conn: Conn, events: list[Event] | tuple[Event, ...]) -> None:
    """The users row follows the user events (registration inserts it, see `insert_user`)."""
    for event in events:
        match event:
            case UserEmailVerified(user_id=uid):
                await conn.execute(
                    "UPDATE users SET email_verified = true WHERE user_id = %s", (uid,)
                )
            case UserRoleChanged(user_id=uid, role=role):
                await conn.execute("UPDATE users SET role = %s WHERE user_id = %s", (role, uid))
            case UserPlanChanged(user_id=uid, plan=plan):
                await conn.execute("UPDATE users SET plan = %s WHERE user_id = %s", (plan, uid))
            case UserSuspended(user_id=uid):
                await conn.execute(
                    "UPDATE users SET status = 'suspended', sessions_valid_after = now()"
                    " WHERE user_id = %s",
                    (uid,),
                )
                await revoke_refresh_tokens(conn, uid)
            case UserReinstated(user_id=uid):
                await conn.execute("UPDATE users SET status = 'active' WHERE user_id = %s", (uid,))
            case UserDeleted(user_id=uid):
                # Erases the personal data; sessions, links, codes and tokens cascade.
                await conn.execute("DELETE FROM users WHERE user_id = %s", (uid,))


async def set_password(conn: Conn, user_id: uuid.UUID, password_hash: str) -> None:
    await conn.execute(
        "UPDATE users SET password_hash = %s WHERE user_id = %s", (password_hash, user_id)
    )


async def revoke_refresh_tokens(conn: Conn, user_id: uuid.UUID) -> None:
    await conn.execute(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = %s AND revoked_at IS NULL",
        (user_id,),
    )


async def sign_out_everywhere(conn: Conn, user_id: uuid.UUID) -> None:
    """Every session and refresh token of the user stops working. The user row is updated
    first: its lock, held to the end of the caller's transaction, makes a refresh racing
    this one wait, then see the revocation (`OAuthStore.save_refresh_token`)."""
    await conn.execute(
        "UPDATE users SET sessions_valid_after = now() WHERE user_id = %s", (user_id,)
    )
    await conn.execute(
        "UPDATE sessions SET revoked_at = now() WHERE user_id = %s AND revoked_at IS NULL",
        (user_id,),
    )
    await revoke_refresh_tokens(conn, user_id)


# -- sign-in failures ----------------------------------------------------------------------------


async def locked_until(conn: Conn, keys: list[str], now: datetime) -> datetime | None:
    cursor = await conn.execute(
        "SELECT max(locked_until) FROM sign_in_failures WHERE key = ANY(%s) AND locked_until > %s",
        (keys, now),
        prepare=False,  # rows picked by an array of keys (docs/service-conventions.md)
    )
    row = await cursor.fetchone()
    return row[0] if row else None


async def record_failure(conn: Conn, key: str, now: datetime, forget_after: timedelta) -> int:
    """The key's consecutive failures, this one included (older than `forget_after`: reset)."""
    cursor = await conn.execute(
        "INSERT INTO sign_in_failures AS f (key, failures, locked_until, last_failed_at)"
        " VALUES (%(key)s, 1, %(now)s, %(now)s)"
        " ON CONFLICT (key) DO UPDATE SET"
        "   failures = CASE WHEN f.last_failed_at < %(horizon)s THEN 1 ELSE f.failures + 1 END,"
        "   last_failed_at = %(now)s"
        " RETURNING failures",
        {"key": key, "now": now, "horizon": now - forget_after},
    )
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def lock(conn: Conn, key: str, until: datetime) -> None:
    await conn.execute("UPDATE sign_in_failures SET locked_until = %s WHERE key = %s", (until, key))


async def clear_failures(conn: Conn, key: str) -> None:
    await conn.execute("DELETE FROM sign_in_failures WHERE key = %s", (key,))


# -- sessions ------------------------------------------------------------------------------------


async def insert_session(
    conn: Conn,
    *,
    token_sha256: bytes,
    user_id: uuid.UUID,
    now: datetime,
    expires_at: datetime,
    user_agent: str | None,
) -> None:
    await conn.execute(
        "INSERT INTO sessions (token_sha256, user_id, created_at, expires_at, user_agent)"
        " VALUES (%s, %s, %s, %s, %s)",
        (token_sha256, user_id, now, expires_at, (user_agent or "")[:200]),
    )


async def session_account(conn: Conn, token_sha256: bytes, now: datetime) -> Account | None:
    """The account of a live session: not revoked, not expired, not before a sign-out."""
    async with conn.cursor(row_factory=class_row(Account)) as cur:
        await cur.execute(
            "SELECT u.user_id, u.email, u.password_hash, u.role, u.plan, u.status,"
            " u.email_verified, u.sessions_valid_after"
            " FROM sessions s JOIN users u USING (user_id)"
            " WHERE s.token_sha256 = %s AND s.revoked_at IS NULL AND s.expires_at > %s"
            " AND s.created_at >= u.sessions_valid_after",
            (token_sha256, now),
        )
        return await cur.fetchone()


async def revoke_session(conn: Conn, token_sha256: bytes) -> None:
    await conn.execute(
        "UPDATE sessions SET revoked_at = now() WHERE token_sha256 = %s AND revoked_at IS NULL",
        (token_sha256,),
    )


@dataclass(frozen=True, kw_only=True)
class SessionRow:
    session_id: uuid.UUID
    created_at: datetime
    expires_at: datetime
    user_agent: str | None
    current: bool


async def live_sessions(
    conn: Conn, user_id: uuid.UUID, current_sha256: bytes, now: datetime
) -> list[SessionRow]:
    """The account's sessions that still sign in, newest first; `current` marks the caller's."""
    async with conn.cursor(row_factory=class_row(SessionRow)) as cur:
        await cur.execute(
            "SELECT s.session_id, s.created_at, s.expires_at, s.user_agent,"
            " s.token_sha256 = %s AS current"
            " FROM sessions s JOIN users u USING (user_id)"
            " WHERE s.user_id = %s AND s.revoked_at IS NULL AND s.expires_at > %s"
            " AND s.created_at >= u.sessions_valid_after ORDER BY s.created_at DESC",
            (current_sha256, user_id, now),
        )
        return await cur.fetchall()


async def revoke_session_by_id(conn: Conn, user_id: uuid.UUID, session_id: uuid.UUID) -> bool:
    """False when the account has no such live session (another user's is not found either)."""
    cursor = await conn.execute(
        "UPDATE sessions SET revoked_at = now()"
        " WHERE session_id = %s AND user_id = %s AND revoked_at IS NULL",
        (session_id, user_id),
    )
    return cursor.rowcount == 1


# -- mail links and invites ----------------------------------------------------------------------


async def insert_link(
    conn: Conn, *, token_sha256: bytes, user_id: uuid.UUID, purpose: str, expires_at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO mail_links (token_sha256, user_id, purpose, expires_at)"
        " VALUES (%s, %s, %s, %s)",
        (token_sha256, user_id, purpose, expires_at),
    )


async def use_link(
    conn: Conn, *, token_sha256: bytes, purpose: str, now: datetime
) -> uuid.UUID | None:
    """Marks an unused, unexpired link used (once) and returns its user."""
    cursor = await conn.execute(
        "UPDATE mail_links SET used_at = %(now)s"
        " WHERE token_sha256 = %(t)s AND purpose = %(p)s AND used_at IS NULL"
        " AND expires_at > %(now)s RETURNING user_id",
        {"t": token_sha256, "p": purpose, "now": now},
    )
    row = await cursor.fetchone()
    return row[0] if row else None


async def insert_invite(
    conn: Conn, *, token_sha256: bytes, created_by: str, expires_at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO invites (token_sha256, created_by, expires_at) VALUES (%s, %s, %s)",
        (token_sha256, created_by, expires_at),
    )


async def use_invite(conn: Conn, *, token_sha256: bytes, user_id: uuid.UUID, now: datetime) -> bool:
    """False for an unknown, used or expired invite (a returned row: see `insert_user`)."""
    cursor = await conn.execute(
        "UPDATE invites SET used_by = %s WHERE token_sha256 = %s AND used_by IS NULL"
        " AND expires_at > %s RETURNING token_sha256",
        (user_id, token_sha256, now),
    )
    return await cursor.fetchone() is not None
