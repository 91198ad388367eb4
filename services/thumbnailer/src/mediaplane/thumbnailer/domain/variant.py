"""One variant (stream `variant-<sha256>-<spec>`): made once, generated or failed, until an
admin's re-run drops it (`variant.dropped`): then the next request makes it again.

A `mediaplane.domain.Decider` like the thumbnail job: whatever the racing
requests or replicas, a variant gets one outcome.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from mediaplane.contracts import Event, VariantDropped, VariantFailed, VariantGenerated
from mediaplane.domain import CommandContext, Decider
from mediaplane.thumbnailer.domain.errors import MediaError

Status = Literal["pending", "generated", "failed"]
# Kinds a variant can be made of: pictures, and a video's frame. A PDF's page
# is served by its thumbnails; audio and other files have no picture.
VARIANT_KINDS = frozenset({"image", "video"})


def variant_key(sha256: str, spec: str) -> str:
    """`<sha256>/<normalized spec>`: same bytes and spec, same object, whichever file asked."""
    return f"{sha256}/{spec}"


def variant_stream(sha256: str, spec: str) -> str:
    return f"variant-{sha256}-{spec}"


@dataclass(frozen=True)
class VariantState:
    status: Status = "pending"


@dataclass(frozen=True, kw_only=True)
class Made:
    """What the renderer produced, as stored."""

    bucket: str
    key: str
    width: int
    height: int
    format: str
    size: int


@dataclass(frozen=True, kw_only=True)
class RecordVariant:
    file_id: uuid.UUID
    sha256: str
    spec: str
    made: Made
    context: CommandContext


@dataclass(frozen=True, kw_only=True)
class RecordVariantFailure:
    file_id: uuid.UUID
    sha256: str
    spec: str
    error: MediaError
    context: CommandContext


@dataclass(frozen=True, kw_only=True)
class DropVariant:
    """An admin's re-run of `file_id`'s variants: forget this one (its object is deleted)."""

    file_id: uuid.UUID
    sha256: str
    spec: str
    made: Made | None  # None: a recorded failure
    requested_by: str
    context: CommandContext


VariantCommand = RecordVariant | RecordVariantFailure | DropVariant


def drop(command: DropVariant, state: VariantState) -> list[Event]:
    if state.status == "pending":
        return []  # nothing recorded (or dropped already): a redelivery decides nothing
    return [
        command.context.event(
            VariantDropped,
            stream_id=variant_stream(command.sha256, command.spec),
            file_id=command.file_id,
            sha256=command.sha256,
            spec=command.spec,
            bucket=command.made.bucket if command.made else None,
            key=command.made.key if command.made else None,
            requested_by=command.requested_by,
        )
    ]


def decide(command: VariantCommand, state: VariantState) -> list[Event]:
    if isinstance(command, DropVariant):
        return drop(command, state)
    if state.status != "pending":
        return []  # one outcome per variant: a racing request decides nothing
    stream_id = variant_stream(command.sha256, command.spec)
    common = {"file_id": command.file_id, "sha256": command.sha256, "spec": command.spec}
    if isinstance(command, RecordVariant):
        made = command.made
        return [
            command.context.event(
                VariantGenerated,
                stream_id=stream_id,
                **common,
                bucket=made.bucket,
                key=made.key,
                width=made.width,
                height=made.height,
                format=made.format,
                size=made.size,
            )
        ]
    return [
        command.context.event(
            VariantFailed,
            stream_id=stream_id,
            **common,
            code=command.error.code,
            detail=command.error.detail,
        )
    ]


def evolve(state: VariantState, event: Event) -> VariantState:
    if isinstance(event, VariantGenerated):
        return VariantState(status="generated")
    if isinstance(event, VariantFailed):
        return VariantState(status="failed")
    if isinstance(event, VariantDropped):
        return VariantState()
    return state


VARIANT_DECIDER: Decider[VariantCommand, VariantState] = Decider(
    initial_state=VariantState(), decide=decide, evolve=evolve
)
