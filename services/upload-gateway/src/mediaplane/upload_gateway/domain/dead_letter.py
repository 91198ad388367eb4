"""The DeadLetter decider: an admin's action on one parked message, recorded once
(stream `deadletter-<DLQ stream>-<DLQ sequence>`; a DLQ sequence is never reused).

The action itself (republish, delete) is on the bus and happens first; this records
who did it, which is what the admin audit log shows. A second record of the same
dead letter is refused: once redriven or discarded, it is no longer in the DLQ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from mediaplane.contracts import DeadLetterDiscarded, DeadLetterRedriven, Event
from mediaplane.domain import CommandContext, Decider, DomainError


class DeadLetterResolved(DomainError):
    code = "dead_letter_resolved"


@dataclass(frozen=True, kw_only=True)
class Parked:
    """What the DLQ said about the message when the admin acted on it."""

    dlq_stream: str
    dlq_sequence: int
    consumer: str
    original_subject: str
    original_msg_id: str | None
    reason: str


@dataclass(frozen=True, kw_only=True)
class DeadLetterState:
    resolved: Literal["redriven", "discarded"] | None = None


@dataclass(frozen=True, kw_only=True)
class RecordRedrive:
    letter: Parked
    admin: str
    redrive_msg_id: str
    stream_sequence: int
    context: CommandContext


@dataclass(frozen=True, kw_only=True)
class RecordDiscard:
    letter: Parked
    admin: str
    note: str | None
    context: CommandContext


DeadLetterCommand = RecordRedrive | RecordDiscard


def dead_letter_stream(dlq_stream: str, sequence: int) -> str:
    return f"deadletter-{dlq_stream}-{sequence}"


def evolve(state: DeadLetterState, event: Event) -> DeadLetterState:
    if isinstance(event, DeadLetterRedriven):
        return DeadLetterState(resolved="redriven")
    if isinstance(event, DeadLetterDiscarded):
        return DeadLetterState(resolved="discarded")
    return state


def decide(command: DeadLetterCommand, state: DeadLetterState) -> list[Event]:
    letter = command.letter
    if state.resolved is not None:
        raise DeadLetterResolved(f"dead letter {letter.dlq_sequence} was {state.resolved}")
    stream_id = dead_letter_stream(letter.dlq_stream, letter.dlq_sequence)
    common: dict[str, Any] = {
        "dlq_sequence": letter.dlq_sequence,
        "consumer": letter.consumer,
        "original_subject": letter.original_subject,
        "original_msg_id": letter.original_msg_id,
        "reason": letter.reason,
    }
    if isinstance(command, RecordRedrive):
        return [
            command.context.event(
                DeadLetterRedriven,
                stream_id=stream_id,
                **common,
                redriven_by=command.admin,
                redrive_msg_id=command.redrive_msg_id,
                stream_sequence=command.stream_sequence,
            )
        ]
    return [
        command.context.event(
            DeadLetterDiscarded,
            stream_id=stream_id,
            **common,
            discarded_by=command.admin,
            note=command.note,
        )
    ]


DEAD_LETTER_DECIDER: Decider[DeadLetterCommand, DeadLetterState] = Decider(
    initial_state=DeadLetterState(), decide=decide, evolve=evolve
)
