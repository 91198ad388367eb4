"""Pure domain deciders and the command handler that runs one against the event store.

A decider is three pure functions over immutable state: where a stream starts
(`initial_state`), which events a command produces (`decide`) and how an
event changes the state (`evolve`). `handle` adds the I/O: load, fold, decide,
append at the loaded version, and start over when another writer got there first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import psycopg
import structlog

from mediaplane.contracts import Event
from mediaplane.eventlog.errors import ConcurrencyError
from mediaplane.eventlog.store import EventStore

C = TypeVar("C")
S = TypeVar("S")

_log = structlog.get_logger(__name__)

InlineProjection = Callable[[psycopg.AsyncConnection[Any], Sequence[Event]], Awaitable[None]]
"""Writes read models from new events, in the transaction that appends them."""


@dataclass(frozen=True)
class Decider(Generic[C, S]):
    initial_state: S
    decide: Callable[[C, S], Sequence[Event]]
    evolve: Callable[[S, Event], S]

    def fold(self, events: Iterable[Event], state: S | None = None) -> S:
        """The state after `events`, starting from `state` (default: the initial state)."""
        current = self.initial_state if state is None else state
        for event in events:
            current = self.evolve(current, event)
        return current


@dataclass(frozen=True)
class Handled:
    """What a command appended, and the stream's version afterwards."""

    events: list[Event]
    version: int


async def handle(
    store: EventStore,
    stream_id: str,
    decider: Decider[C, S],
    command: C,
    *,
    retries: int = 3,
    metadata: Mapping[str, str] | None = None,
    inline: InlineProjection | None = None,
) -> Handled:
    """Load the stream, decide, append; on a conflict retry up to `retries` times, then raise it.

    `inline`, when given, runs in the append's transaction (both commit or
    neither), and again on each retry. Domain errors raised by `decide`
    propagate unchanged and are never retried.
    """
    attempt = 0
    while True:
        try:
            return await _handle_once(store, stream_id, decider, command, metadata, inline)
        except ConcurrencyError:
            if attempt >= retries:
                raise
            attempt += 1
            _log.debug("append conflict, deciding again", stream_id=stream_id, attempt=attempt)


async def _handle_once(
    store: EventStore,
    stream_id: str,
    decider: Decider[C, S],
    command: C,
    metadata: Mapping[str, str] | None,
    inline: InlineProjection | None,
) -> Handled:
    stream = await store.load(stream_id)
    events = list(decider.decide(command, decider.fold(stream.events)))
    if not events:
        return Handled(events=[], version=stream.version)
    if inline is None:
        version = await store.append(stream_id, stream.version, events, metadata=metadata)
        return Handled(events=events, version=version)
    async with store.pool.connection() as conn, conn.transaction():
        version = await store.append(
            stream_id, stream.version, events, metadata=metadata, conn=conn
        )
        await inline(conn, events)
    return Handled(events=events, version=version)
