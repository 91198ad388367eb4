"""SQL of upstream sign-ins: started sign-ins (state) and linked upstream accounts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

Conn = psycopg.AsyncConnection[Any]


@dataclass(frozen=True, kw_only=True)
class Started:
    code_verifier: str
    nonce: str
    link_user_id: uuid.UUID | None
    return_to: str | None


async def start(
    conn: Conn,
    *,
    state_sha256: bytes,
    code_verifier: str,
    nonce: str,
    link_user_id: uuid.UUID | None,
    return_to: str | None,
    expires_at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO federation_states (state_sha256, code_verifier, nonce, link_user_id,"
        " return_to, expires_at) VALUES (%s, %s, %s, %s, %s, %s)",
        (state_sha256, code_verifier, nonce, link_user_id, return_to, expires_at),
    )


async def finish(conn: Conn, state_sha256: bytes, now: datetime) -> Started | None:
    """The started sign-in, removed (a state works once), or None."""
    async with conn.cursor(row_factory=class_row(Started)) as cur:
        await cur.execute(
            "DELETE FROM federation_states WHERE state_sha256 = %s AND expires_at > %s"
            " RETURNING code_verifier, nonce, link_user_id, return_to",
            (state_sha256, now),
        )
        return await cur.fetchone()


async def linked_user(conn: Conn, issuer: str, subject: str) -> uuid.UUID | None:
    cursor = await conn.execute(
        "SELECT user_id FROM linked_identities WHERE issuer = %s AND subject = %s",
        (issuer, subject),
    )
    row = await cursor.fetchone()
    return row[0] if row else None


async def link(conn: Conn, issuer: str, subject: str, user_id: uuid.UUID) -> bool:
    """False when the upstream account is linked to someone else."""
    cursor = await conn.execute(
        "INSERT INTO linked_identities (issuer, subject, user_id) VALUES (%s, %s, %s)"
        " ON CONFLICT (issuer, subject) DO UPDATE SET issuer = excluded.issuer"
        " RETURNING user_id",
        (issuer, subject, user_id),
    )
    row = await cursor.fetchone()
    return row is not None and row[0] == user_id


@dataclass(frozen=True, kw_only=True)
class Linked:
    issuer: str
    subject: str
    linked_at: datetime


async def linked_identities(conn: Conn, user_id: uuid.UUID) -> list[Linked]:
    async with conn.cursor(row_factory=class_row(Linked)) as cur:
        await cur.execute(
            "SELECT issuer, subject, linked_at FROM linked_identities"
            " WHERE user_id = %s ORDER BY linked_at",
            (user_id,),
        )
        return await cur.fetchall()


async def unlink(conn: Conn, user_id: uuid.UUID, issuer: str, subject: str) -> bool:
    """False when the account has no such link."""
    cursor = await conn.execute(
        "DELETE FROM linked_identities WHERE user_id = %s AND issuer = %s AND subject = %s",
        (user_id, issuer, subject),
    )
    return cursor.rowcount == 1
