"""The Tag decider (stream `tag-<normalized name>`): a tag exists once."""

from __future__ import annotations

from dataclasses import dataclass

from mediaplane.contracts import Event, EventContext, TagCreated, new_event
from mediaplane.upload_gateway.domain.policy import normalize_tag


@dataclass(frozen=True, kw_only=True)
class Tag:
    created: TagCreated | None = None


def evolve(state: Tag, event: Event) -> Tag:
    if isinstance(event, TagCreated):
        return Tag(created=event)
    return state


def tag_stream(name: str) -> str:
    return f"tag-{normalize_tag(name)}"


def create_tag(state: Tag, name: str, created_by: str, context: EventContext) -> list[Event]:
    """Creating an existing tag is not an error: it records nothing (idempotent bulk create)."""
    if state.created is not None:
        return []
    normalized = normalize_tag(name)
    return [
        new_event(
            TagCreated,
            stream_id=f"tag-{normalized}",
            context=context,
            name=normalized,
            created_by=created_by,
        )
    ]
