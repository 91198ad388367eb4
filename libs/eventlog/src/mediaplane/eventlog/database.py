"""Connection pools set up the way the event log expects them."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

Pool = AsyncConnectionPool[AsyncConnection[Any]]


async def open_pool(
    conninfo: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    application_name: str = "eventlog",
    wait: bool = True,
) -> Pool:
    """An open pool of autocommit connections.

    With `wait=False` it returns at once and connects in the background (for
    daemons that must start while Postgres is still down).

    Autocommit matters for speed: an append is one statement, so without an
    explicit transaction it costs one round trip instead of BEGIN + statement
    + COMMIT. Callers that need a transaction open one (`conn.transaction()`).
    """
    pool: Pool = AsyncConnectionPool(
        conninfo,
        min_size=min_size,
        max_size=max_size,
        open=False,
        kwargs={"autocommit": True, "application_name": application_name},
    )
    await pool.open(wait=wait, timeout=30)
    return pool


async def ping(pool: Pool) -> None:
    """A readiness check: a pooled connection answers a query (raises when it does not)."""
    async with pool.connection() as conn:
        await conn.execute("SELECT 1")
