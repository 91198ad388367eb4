"""The Tag decider: a tag exists once per owner (stream `tag-<owner>/<name>`).

Tags are private: whether another owner has a tag of the same name never
changes what creating one answers. Owner ids never contain `/` (the verifier
refuses such subjects) and tag names never do (their alphabet), so the stream
id names exactly one (owner, name). Tags of v1 were global, on `tag-<name>`;
that stream still counts for the owner who created it there (`handle` reads
it as history). `tag_decider(owner)` is what `mediaplane.eventlog.handle` runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from mediaplane.contracts import Event, TagCreatedV2
from mediaplane.domain import CommandContext, Decider
from mediaplane.upload_gateway.domain.policy import normalize_tag


@dataclass(frozen=True, kw_only=True)
class Tag:
    owner: str
    created: TagCreatedV2 | None = None


def evolve(state: Tag, event: Event) -> Tag:
    # A v1 stream is shared by every owner of the name: only its creator's event counts.
    if isinstance(event, TagCreatedV2) and event.owner == state.owner:
        return Tag(owner=state.owner, created=event)
    return state


def tag_stream(owner: str, name: str) -> str:
    return f"tag-{owner}/{normalize_tag(name)}"


def legacy_tag_stream(name: str) -> str:
    """Where v1 kept the (global) tag: read, never written."""
    return f"tag-{normalize_tag(name)}"


@dataclass(frozen=True, kw_only=True)
class CreateTag:
    name: str
    context: CommandContext


def create_tag(state: Tag, command: CreateTag) -> list[Event]:
    """Creating an existing tag is not an error: it records nothing (idempotent bulk create)."""
    if state.created is not None:
        return []
    return [
        command.context.event(
            TagCreatedV2,
            stream_id=tag_stream(state.owner, command.name),
            owner=state.owner,
            name=normalize_tag(command.name),
        )
    ]


def tag_decider(owner: str) -> Decider[CreateTag, Tag]:
    """The decider of `owner`'s tags."""
    return Decider(
        initial_state=Tag(owner=owner),
        decide=lambda command, state: create_tag(state, command),
        evolve=evolve,
    )
