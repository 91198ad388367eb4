"""The pure core: a decider folds and decides; one command's events share one time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from itertools import count

import msgspec
import pytest

from mediaplane.contracts import Event, EventContext, TagCreatedV2
from mediaplane.domain import CommandContext, Decider, DomainError

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
_ids = count(1)
CONTEXT = CommandContext(
    now=NOW,
    cause=EventContext(producer="unit", correlation_id="corr", causation_id="cause"),
    new_id=lambda: uuid.UUID(int=next(_ids)),
)


class Increment(msgspec.Struct):
    by: int


class NotPositive(DomainError):
    code = "not_positive"


def _tag(name: str) -> TagCreatedV2:
    return CONTEXT.event(TagCreatedV2, stream_id="tag-me/a", owner="me", name=name)


def _decide(command: Increment, state: int) -> list[Event]:
    if command.by <= 0:
        raise NotPositive("increments are positive")
    return [_tag(str(state + command.by))]


def _evolve(state: int, event: Event) -> int:
    return int(event.name) if isinstance(event, TagCreatedV2) else state


COUNTER = Decider[Increment, int](initial_state=0, decide=_decide, evolve=_evolve)


def test_given_events_when_command_then_events() -> None:
    given = [_tag("2"), _tag("5")]
    then = COUNTER.decide(Increment(by=3), COUNTER.fold(given))
    assert [event.name for event in then if isinstance(event, TagCreatedV2)] == ["8"]


def test_fold_continues_from_a_given_state() -> None:
    assert COUNTER.fold([], 7) == 7
    assert COUNTER.fold([_tag("9")], 7) == 9


def test_a_decider_refuses_a_command_with_a_coded_domain_error() -> None:
    with pytest.raises(NotPositive, match="positive") as refused:
        COUNTER.decide(Increment(by=0), COUNTER.fold([]))
    assert refused.value.code == "not_positive"
    assert refused.value.detail == "increments are positive"


def test_events_of_one_command_share_its_time_cause_and_injected_ids() -> None:
    first, second = _tag("a"), _tag("b")
    assert first.occurred_at == second.occurred_at == NOW
    assert first.event_id != second.event_id
    assert {first.event_id.int, second.event_id.int} <= set(range(1, 100))
    assert (first.producer, first.correlation_id, first.causation_id) == ("unit", "corr", "cause")


def test_at_moves_the_time_and_keeps_the_cause() -> None:
    later = CONTEXT.at(NOW + timedelta(hours=1))
    event = later.event(TagCreatedV2, stream_id="tag-me/b", owner="me", name="b")
    assert event.occurred_at == NOW + timedelta(hours=1)
    assert event.correlation_id == "corr"
