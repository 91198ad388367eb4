"""`GET /v1/events` over a real HTTP server: ingest's NOTIFY reaches the owner's stream only."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from mediaplane.catalog.api.app import create_app
from mediaplane.catalog.config import CatalogSettings
from mediaplane.catalog.testing import FileStory
from mediaplane.contracts import EventContext, UserSuspended, new_event
from mediaplane.devstack.pytest_plugin import served

pytestmark = pytest.mark.integration


async def subscribed(lines: AsyncIterator[str]) -> None:
    """Wait for the stream's first comment: the server has subscribed it to the feed."""
    async for line in lines:
        if line.startswith(": connected"):
            return


async def read_changes(lines: AsyncIterator[str], wanted: int) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    event = None
    async for line in lines:
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and event == "file.changed":
            changes.append(json.loads(line.split(":", 1)[1]))
            if len(changes) == wanted:
                return changes
    return changes


async def test_owners_get_live_changes_of_their_own_files_only(
    settings: CatalogSettings, auth: Any, ingest_events: Any
) -> None:
    async with (
        served(create_app(settings)) as http,
        http.stream("GET", "/v1/events", headers=auth("alice")) as alice,
        http.stream("GET", "/v1/events", headers=auth("bob")) as bob,
    ):
        assert alice.headers["content-type"].startswith("text/event-stream")
        alice_lines, bob_lines = alice.aiter_lines(), bob.aiter_lines()
        await asyncio.wait_for(subscribed(alice_lines), 30)
        await asyncio.wait_for(subscribed(bob_lines), 30)
        mine = FileStory(owner="alice", kind="image")
        theirs = FileStory(owner="bob", kind="image")
        await ingest_events(theirs.opened().uploaded().events)
        await ingest_events(mine.opened().uploaded().events)
        await ingest_events(mine.verified().events[-1:])
        alice_changes = await asyncio.wait_for(read_changes(alice_lines, 2), 30)
        bob_changes = await asyncio.wait_for(read_changes(bob_lines, 1), 30)

    assert [(c["file_id"], c["status"]) for c in alice_changes] == [
        (str(mine.file_id), "verifying"),
        (str(mine.file_id), "ready"),
    ]
    assert [c["owner"] for c in bob_changes] == ["bob"]


async def test_a_stream_ends_when_its_readers_account_is_suspended(
    settings: CatalogSettings, auth: Any, ingest_events: Any
) -> None:
    user = uuid.uuid4()
    suspended = new_event(
        UserSuspended,
        stream_id=f"user-{user}",
        context=EventContext(producer="identity", correlation_id="sse-suspension"),
        occurred_at=datetime.now(UTC),
        user_id=user,
        reason="spam",
        suspended_by="admin",
    )
    async with served(create_app(settings)) as http:
        async with http.stream("GET", "/v1/events", headers=auth(str(user))) as stream:
            lines = stream.aiter_lines()
            await asyncio.wait_for(subscribed(lines), 30)
            await ingest_events([suspended])
            # The server ends the stream: reading runs out instead of waiting forever.
            rest = await asyncio.wait_for(read_changes(lines, 1), 30)
        again = await http.get("/v1/events", headers=auth(str(user)))
    assert rest == []
    assert (again.status_code, again.json()["code"]) == (403, "account_suspended")
