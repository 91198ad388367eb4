"""SQL of personal access tokens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

Conn = psycopg.AsyncConnection[Any]


@dataclass(frozen=True, kw_only=True)
class PatView:
    token_id: uuid.UUID
    name: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


async def insert(
    conn: Conn,
    *,
    token_id: uuid.UUID,
    token_sha256: bytes,
    user_id: uuid.UUID,
    name: str,
    scopes: tuple[str, ...],
    now: datetime,
    expires_at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO personal_access_tokens (token_id, token_sha256, user_id, name, scopes,"
        " created_at, expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (token_id, token_sha256, user_id, name, list(scopes), now, expires_at),
    )


async def of_user(conn: Conn, user_id: uuid.UUID) -> list[PatView]:
    async with conn.cursor(row_factory=class_row(PatView)) as cur:
        await cur.execute(
            "SELECT token_id, name, scopes, created_at, expires_at, revoked_at, last_used_at"
            " FROM personal_access_tokens WHERE user_id = %s ORDER BY created_at",
            (user_id,),
        )
        return await cur.fetchall()


async def revoke(conn: Conn, user_id: uuid.UUID, token_id: uuid.UUID) -> bool:
    """False when the user has no such token (another user's is "no such token" too)."""
    cursor = await conn.execute(
        "UPDATE personal_access_tokens SET revoked_at = coalesce(revoked_at, now())"
        " WHERE token_id = %s AND user_id = %s",
        (token_id, user_id),
    )
    return cursor.rowcount == 1
