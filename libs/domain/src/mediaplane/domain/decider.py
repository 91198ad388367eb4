"""A decider: three pure functions over immutable state.

Where a stream starts (`initial_state`), which events a command produces
(`decide`) and how an event changes the state (`evolve`). The event store
runs it (`mediaplane.eventlog.handle`: load, fold, decide, append, retry);
tests run it with no I/O at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from mediaplane.contracts import Event

C = TypeVar("C")
S = TypeVar("S")


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
