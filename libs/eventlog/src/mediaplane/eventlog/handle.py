"""The one write path: load a stream, fold it, decide, append at the loaded version, retry.

Every writer runs its pure `mediaplane.domain.Decider` through `handle`:
the gateway, the transcoder, the thumbnailer and the janitor. What differs
between them is plugged in, all in the append's transaction: a check that
runs first (`before`: the transcoder's lease), writes that follow the events
(`inline`: projections, job rows), a guard in the append's own statement
(`guard`: the gateway's quota admission), streams read but not written
(`history`), and whether the stream is known to be new (`new_stream`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import psycopg
import structlog

from mediaplane.contracts import Event
from mediaplane.domain import Decider
from mediaplane.eventlog.errors import ConcurrencyError
from mediaplane.eventlog.store import AppendGuard, EventStore

C = TypeVar("C")
S = TypeVar("S")
Conn = psycopg.AsyncConnection[Any]

_log = structlog.get_logger(__name__)

InlineProjection = Callable[[Conn, Sequence[Event]], Awaitable[None]]
"""Writes read models from new events, in the transaction that appends them."""

TransactionStep = Callable[[Conn], Awaitable[None]]
"""Runs first in the command's transaction; raising refuses the command (nothing is written)."""

Guard = Callable[[Sequence[Event]], AppendGuard]
"""The guard of the append of the decided events (see `EventStore.append_guarded`)."""


@dataclass(frozen=True)
class Handled(Generic[S]):
    """What a command appended, the stream's version and state afterwards."""

    events: list[Event]
    version: int
    state: S
    admitted: bool = True
    """False when `guard` refused the append: nothing was written."""
    guard_result: tuple[Any, ...] = ()
    """The guard's result columns (what a refusal is explained with)."""


async def handle(
    store: EventStore,
    stream_id: str,
    decider: Decider[C, S],
    command: C,
    *,
    retries: int = 3,
    metadata: Mapping[str, str] | None = None,
    before: TransactionStep | None = None,
    inline: InlineProjection | None = None,
    guard: Guard | None = None,
    history: Sequence[str] = (),
    new_stream: bool = False,
    conn: Conn | None = None,
) -> Handled[S]:
    """Load `stream_id`, decide `command`, append; on a conflict start over, `retries` times.

    - Events the decider puts on other streams start those streams (version 0),
      in the same transaction: e.g. completing an upload starts the file.
    - `history`: streams folded before `stream_id` (read, never written).
    - `before(conn)` runs first and `inline(conn, events)` after the append, both
      in its transaction and both also when nothing was decided.
    - `guard`: the append (of `stream_id`'s events only) admits or refuses in
      its own statement; a refusal writes nothing and returns `admitted=False`.
    - `new_stream`: the stream is known not to exist (a fresh id). With neither
      `before` nor `inline` it is not read: the decision starts from the initial
      state and the append is one autocommit statement.
    - `conn`: join the caller's transaction (e.g. the janitor's claim of a row)
      instead of opening one; a conflict then aborts that transaction, so it is
      raised at once, never retried here.

    Domain errors raised by `decide` propagate unchanged and are never retried;
    after `retries` conflicts the last `ConcurrencyError` is raised.
    """
    if conn is not None:
        return await _decide_and_append(
            conn, store, stream_id, decider, command, metadata, before, inline, guard, history
        )
    attempt = 0
    while True:
        try:
            if new_stream and before is None and inline is None:
                return await _append_new(store, stream_id, decider, command, metadata, guard)
            # Pipeline mode sends statements whose results nobody waits for together
            # with the next one that is read: fewer round trips per command.
            async with store.pool.connection() as own, own.pipeline(), own.transaction():
                return await _decide_and_append(
                    own,
                    store,
                    stream_id,
                    decider,
                    command,
                    metadata,
                    before,
                    inline,
                    guard,
                    history,
                )
        except ConcurrencyError:
            if attempt >= retries:
                raise
            attempt += 1
            _log.debug("append conflict, deciding again", stream_id=stream_id, attempt=attempt)


async def current_state(
    store: EventStore,
    stream_id: str,
    decider: Decider[C, S],
    *,
    history: Sequence[str] = (),
    conn: Conn | None = None,
) -> tuple[S, int]:
    """The state of a stream (after `history`) and its version: what reads answer from."""
    state = decider.initial_state
    for other in history:
        state = decider.fold((await store.load(other, conn=conn)).events, state)
    loaded = await store.load(stream_id, conn=conn)
    return decider.fold(loaded.events, state), loaded.version


async def _append_new(
    store: EventStore,
    stream_id: str,
    decider: Decider[C, S],
    command: C,
    metadata: Mapping[str, str] | None,
    guard: Guard | None,
) -> Handled[S]:
    state = decider.initial_state
    events = list(decider.decide(command, state))
    if not events:
        return Handled(events=[], version=0, state=state)
    if guard is None:
        version = await store.append(stream_id, 0, events, metadata=metadata)
        return Handled(events=events, version=version, state=decider.fold(events, state))
    outcome = await store.append_guarded(stream_id, 0, events, guard(events), metadata=metadata)
    if not outcome.admitted or outcome.version is None:
        return Handled(
            events=[], version=0, state=state, admitted=False, guard_result=outcome.result
        )
    return Handled(
        events=events,
        version=outcome.version,
        state=decider.fold(events, state),
        guard_result=outcome.result,
    )


async def _decide_and_append(
    conn: Conn,
    store: EventStore,
    stream_id: str,
    decider: Decider[C, S],
    command: C,
    metadata: Mapping[str, str] | None,
    before: TransactionStep | None,
    inline: InlineProjection | None,
    guard: Guard | None,
    history: Sequence[str],
) -> Handled[S]:
    if before is not None:
        await before(conn)
    state, version = await current_state(store, stream_id, decider, history=history, conn=conn)
    events = list(decider.decide(command, state))
    own = [event for event in events if event.stream_id == stream_id]
    started: dict[str, list[Event]] = {}
    for event in events:
        if event.stream_id != stream_id:
            started.setdefault(event.stream_id, []).append(event)
    guard_result: tuple[Any, ...] = ()
    if own and guard is not None:
        outcome = await store.append_guarded(
            stream_id, version, own, guard(own), metadata=metadata, conn=conn
        )
        if not outcome.admitted or outcome.version is None:
            return Handled(
                events=[],
                version=version,
                state=state,
                admitted=False,
                guard_result=outcome.result,
            )
        version, guard_result = outcome.version, outcome.result
    elif own:
        version = await store.append(stream_id, version, own, metadata=metadata, conn=conn)
    for other, other_events in started.items():
        await store.append(other, 0, other_events, metadata=metadata, conn=conn)
    if inline is not None:
        await inline(conn, events)
    return Handled(
        events=events,
        version=version,
        state=decider.fold(events, state),
        guard_result=guard_result,
    )
