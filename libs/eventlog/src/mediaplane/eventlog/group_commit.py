"""Appends that arrive together, sent together: one transaction, one round trip, one commit.

Under load an API has many commands in flight at once, each an append of one
statement on its own connection: a round trip, a wake-up of its backend and a
commit (a WAL flush) each. A group commit queues the statements instead.
At most `most_groups` groups are in flight; each takes what has queued (at
most `most_statements`, oldest first), pipelines them in one transaction on
one pooled connection and commits once, all in one round trip. While the
groups are busy, new statements queue for the next one, so a group is as
large as the load makes it: a lone request runs at once, as one autocommit
statement, as without grouping.

What a caller sees does not change:
- Each statement's row comes back to its own caller.
- A statement that fails aborts its group's transaction, so nothing of the
  group is written. Every statement of that group then runs again alone, on
  its own connection, as it would have without grouping, so each caller gets
  its own result or error. A group that failed because its connection broke
  is not run again: its outcome is unknown, and every caller gets that error,
  as a caller does whose connection breaks during its own statement.
- A caller cancelled while its statement is still queued takes it out of the
  queue. One already sent is committed or not with its group.

Locks: a group's transaction holds every lock its statements take until it
commits. Statements are sent in the order of their `order` keys (e.g. the owner
whose lock a guard takes), so two groups take shared locks in one order and
never wait on each other in a cycle. (Two keys whose locks collide could
still cross; Postgres then detects the deadlock and aborts one group, whose
statements run again alone, as above.)
"""

from __future__ import annotations

import asyncio
import contextvars
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from mediaplane.eventlog.database import Pool


@dataclass(eq=False)
class _Queued:
    query: bytes
    params: dict[str, Any]
    order: str
    answer: asyncio.Future[tuple[Any, ...]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupCommit:
    """Sends the statements of concurrent callers in groups (see the module's doc)."""

    def __init__(self, pool: Pool, *, most_statements: int = 16, most_groups: int = 2) -> None:
        if most_statements < 1 or most_groups < 1:
            raise ValueError("a group commit sends at least one statement in one group")
        self._pool = pool
        self._most_statements = most_statements
        self._most_groups = most_groups
        self._queue: list[_Queued] = []
        self._senders: set[asyncio.Task[None]] = set()

    async def row(self, query: bytes, params: dict[str, Any], *, order: str) -> tuple[Any, ...]:
        """The one row `query` returns, once its group has committed."""
        queued = _Queued(query, params, order)
        self._queue.append(queued)
        if len(self._senders) < self._most_groups:
            # A sender outlives the caller that started it (it answers others too), and
            # its spans, if any, belong to no caller's trace.
            sender = asyncio.get_running_loop().create_task(
                self._send(), context=contextvars.Context()
            )
            self._senders.add(sender)
            sender.add_done_callback(self._senders.discard)
        return await queued.answer

    async def _send(self) -> None:
        while group := self._take():
            await self._commit(group)
        # At once, not in the task's done callback: a caller queuing before that
        # callback ran would count this sender as busy, and nobody would send its statement.
        sender = asyncio.current_task()
        assert sender is not None
        self._senders.discard(sender)

    def _take(self) -> list[_Queued]:
        """The oldest queued statements whose callers still wait, in lock order."""
        live = [queued for queued in self._queue if not queued.answer.done()]
        group, self._queue = live[: self._most_statements], live[self._most_statements :]
        return sorted(group, key=lambda queued: queued.order)

    async def _commit(self, group: list[_Queued]) -> None:
        try:
            if len(group) == 1:
                # Alone: one autocommit statement, as without grouping (the group's
                # BEGIN and COMMIT would only add to its work).
                await self._alone(group[0])
                return
            try:
                rows = await self._together(group)
            except _RolledBack:
                # Nothing of the group was written. Each statement alone, as if never
                # grouped, so one caller's conflict is not another's error.
                for queued in group:
                    await self._alone(queued)
                return
            except Exception as error:  # the connection broke: every caller learns why
                for queued in group:
                    _answer(queued, error=error)
                return
            for queued, row in zip(group, rows, strict=True):
                _answer(queued, row=row)
        except BaseException:  # the sender itself is cancelled (the process stops)
            for queued in group:
                queued.answer.cancel()  # no-op for those answered already
            raise

    async def _together(self, group: list[_Queued]) -> list[tuple[Any, ...]]:
        async with self._pool.connection() as conn:
            try:
                # BEGIN and COMMIT as statements of the pipeline: psycopg's transaction
                # block would sync after its BEGIN and again at its COMMIT. Here the
                # pipeline's exit sends everything and reads every result: one round trip.
                async with conn.pipeline():
                    await conn.execute(b"BEGIN")
                    cursors = [await conn.execute(q.query, q.params) for q in group]
                    await conn.execute(b"COMMIT")
                return [await _one_row(cursor) for cursor in cursors]
            except psycopg.Error as error:
                if conn.broken:  # committed or not: unknown
                    raise
                # A failed statement skips the rest of the pipeline, the COMMIT with it,
                # and leaves the transaction aborted: end it before the pool takes it back.
                if conn.info.transaction_status != TransactionStatus.IDLE:
                    await conn.rollback()
                raise _RolledBack from error

    async def _alone(self, queued: _Queued) -> None:
        try:
            async with self._pool.connection() as conn:
                row = await _one_row(await conn.execute(queued.query, queued.params))
        except Exception as error:
            _answer(queued, error=error)
        else:
            _answer(queued, row=row)


class _RolledBack(Exception):
    """A statement of the group failed; the transaction was rolled back."""


async def _one_row(cursor: psycopg.AsyncCursor[Any]) -> tuple[Any, ...]:
    row = await cursor.fetchone()
    assert row is not None  # an append returns one row
    return tuple(row)


def _answer(
    queued: _Queued, *, row: tuple[Any, ...] | None = None, error: Exception | None = None
) -> None:
    if queued.answer.done():  # its caller was cancelled meanwhile
        return
    if error is not None:
        queued.answer.set_exception(error)
    else:
        assert row is not None
        queued.answer.set_result(row)
