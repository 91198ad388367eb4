"""SQL of the mail outbox (`mail_outbox`): requests write their mails in their own
transaction; the sender claims due ones (`FOR UPDATE SKIP LOCKED`, so several senders never
take the same mail), then deletes, re-schedules or fails each. Admins list what failed or
waits (never its subject or body: the body holds a link's secret) and dismiss failed
mails; the sender counts them for its gauges."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from mediaplane.contracts import new_event_id

Conn = psycopg.AsyncConnection[Any]
MailKind = Literal["verify_email", "reset_password", "account_exists"]
# NOTIFYed with each mail written (delivered when its transaction commits): wakes the sender.
MAIL_CHANNEL = "identity_mail"


@dataclass(frozen=True, kw_only=True)
class Mail:
    mail_id: uuid.UUID
    kind: str
    recipient: str
    subject: str
    body: str
    created_at: datetime
    expires_at: datetime | None
    attempts: int


async def enqueue(
    conn: Conn,
    *,
    user_id: uuid.UUID,
    kind: MailKind,
    recipient: str,
    subject: str,
    body: str,
    now: datetime,
    expires_at: datetime | None = None,
) -> uuid.UUID:
    """Writes a mail, due now; `expires_at`: its link's end, after which it is not sent."""
    mail_id = new_event_id()
    await conn.execute(
        "INSERT INTO mail_outbox (mail_id, user_id, kind, recipient, subject, body,"
        " created_at, expires_at, next_attempt_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (mail_id, user_id, kind, recipient, subject, body, now, expires_at, now),
    )
    await conn.execute("SELECT pg_notify(%s, '')", (MAIL_CHANNEL,))
    return mail_id


async def claim(conn: Conn, now: datetime) -> Mail | None:
    """The oldest due mail, locked until the transaction ends; None when none is due (or
    every due one is another sender's)."""
    async with conn.cursor(row_factory=class_row(Mail)) as cur:
        await cur.execute(
            "SELECT mail_id, kind, recipient, subject, body, created_at, expires_at, attempts"
            " FROM mail_outbox WHERE failed_at IS NULL AND next_attempt_at <= %s"
            " ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED",
            (now,),
        )
        return await cur.fetchone()


async def delete(conn: Conn, mail_id: uuid.UUID) -> None:
    await conn.execute("DELETE FROM mail_outbox WHERE mail_id = %s", (mail_id,))


async def retry(conn: Conn, mail_id: uuid.UUID, *, attempts: int, at: datetime, error: str) -> None:
    await conn.execute(
        "UPDATE mail_outbox SET attempts = %s, next_attempt_at = %s, last_error = %s"
        " WHERE mail_id = %s",
        (attempts, at, error, mail_id),
    )


async def fail(conn: Conn, mail_id: uuid.UUID, *, attempts: int, now: datetime, error: str) -> None:
    """Given up: the row stays with its reason, without the body (and the link it holds)."""
    await conn.execute(
        "UPDATE mail_outbox SET attempts = %s, failed_at = %s, last_error = %s, body = NULL"
        " WHERE mail_id = %s",
        (attempts, now, error, mail_id),
    )


@dataclass(frozen=True, kw_only=True)
class MailRow:
    """What an admin sees of a mail: never its subject or body."""

    mail_id: uuid.UUID
    user_id: uuid.UUID
    kind: str
    recipient: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    failed_at: datetime | None
    last_error: str | None


MailState = Literal["failed", "pending"]
_STATE = {
    "failed": sql.SQL("failed_at IS NOT NULL"),
    "pending": sql.SQL("failed_at IS NULL"),
}


async def page(
    conn: Conn, state: MailState, *, limit: int, before: tuple[datetime, uuid.UUID] | None
) -> list[MailRow]:
    """Up to `limit` mails in `state`, newest first (keyset on `(created_at, mail_id)`),
    after `before`, the last row of the previous page."""
    conditions = [_STATE[state]]
    params: dict[str, object] = {"limit": limit}
    if before is not None:
        params["at"], params["id"] = before
        conditions.append(sql.SQL("(created_at, mail_id) < (%(at)s, %(id)s)"))
    query = sql.SQL(
        "SELECT mail_id, user_id, kind, recipient, attempts, created_at, next_attempt_at,"
        " failed_at, last_error FROM mail_outbox WHERE {}"
        " ORDER BY created_at DESC, mail_id DESC LIMIT %(limit)s"
    ).format(sql.SQL(" AND ").join(conditions))
    async with conn.cursor(row_factory=class_row(MailRow)) as cur:
        await cur.execute(query, params)
        return await cur.fetchall()


async def dismiss(conn: Conn, mail_id: uuid.UUID) -> bool | None:
    """Deletes a failed mail: True; False when the mail is still pending (kept); None when
    there is no such mail."""
    cursor = await conn.execute(
        "WITH gone AS (DELETE FROM mail_outbox WHERE mail_id = %(id)s AND failed_at IS NOT NULL"
        " RETURNING 1) SELECT EXISTS (SELECT FROM gone),"
        " EXISTS (SELECT FROM mail_outbox WHERE mail_id = %(id)s)",
        {"id": mail_id},
    )
    row = await cursor.fetchone()
    assert row is not None
    deleted, exists = row
    if deleted:
        return True
    return False if exists else None


@dataclass(frozen=True, kw_only=True)
class Counts:
    pending: int
    failed: int
    oldest_pending: datetime | None


async def counts(conn: Conn) -> Counts:
    """How many mails wait and failed, and when the oldest waiting one was written."""
    async with conn.cursor(row_factory=class_row(Counts)) as cur:
        await cur.execute(
            "SELECT count(*) FILTER (WHERE failed_at IS NULL) AS pending,"
            " count(*) FILTER (WHERE failed_at IS NOT NULL) AS failed,"
            " min(created_at) FILTER (WHERE failed_at IS NULL) AS oldest_pending"
            " FROM mail_outbox"
        )
        row = await cur.fetchone()
    assert row is not None
    return row
