"""Server-Sent Events framing (the WHATWG event-stream format), from a stream of lines."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass


@dataclass(frozen=True)
class ServerEvent:
    event: str
    data: str
    id: str | None = None


async def parse_events(lines: AsyncIterable[str]) -> AsyncIterator[ServerEvent]:
    """Events as they complete (at each blank line). Comments (`: keep-alive`) are skipped;
    multi-line `data` is joined with newlines; an event without `event:` is a `message`."""
    event, data, event_id = "", list[str](), None
    async for line in lines:
        if not line:
            if data:
                yield ServerEvent(event or "message", "\n".join(data), event_id)
            event, data = "", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "id":
            event_id = value
