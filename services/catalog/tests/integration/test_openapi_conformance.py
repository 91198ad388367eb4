"""Schemathesis against the catalog API running for real: it answers what its OpenAPI says.

The app serves on a loopback port with its own Postgres database, bucket and
JetStream names; requests carry a valid bearer token (and, for the
authentication check, none). Every check counts: no server error, only
documented status codes and content types, bodies matching their schemas.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC
from typing import Any

import httpx
import pytest
from hypothesis import strategies as st

from mediaplane.catalog.api.app import create_app
from mediaplane.catalog.config import CatalogSettings
from mediaplane.catalog.testing import FileStory
from mediaplane.contracts import Event
from mediaplane.devstack.conformance import conformance_failures, running
from mediaplane.servicekit.pagination import CURSOR_FORMAT, encode_cursor

pytestmark = pytest.mark.integration

# Cursors as the API issues them: any position in the listing.
CURSORS = st.builds(encode_cursor, st.datetimes(timezones=st.just(UTC)), st.uuids())

# Per operation and generation mode (valid and invalid requests): bounds the suite's time.
MAX_EXAMPLES = 25


async def test_the_catalog_answers_as_its_openapi_document_says(
    settings: CatalogSettings,
    auth: Callable[..., dict[str, str]],
    ingest_events: Callable[[Sequence[Event]], Awaitable[Any]],
) -> None:
    # The caller's files, in every state a page or a detail shows.
    job = uuid.uuid4()
    stories = [
        FileStory(owner="alice", kind="video").opened().uploaded().verified().thumbnailed(),
        FileStory(owner="alice", kind="video")
        .opened()
        .uploaded()
        .verified()
        .transcode_started(job)
        .transcoded(),
        FileStory(owner="alice", kind="image").opened().uploaded().rejected(),
        FileStory(owner="alice", kind="image").opened().uploaded().verified().deleted(),
        FileStory(owner="alice", kind="video").opened().aborted(),
        FileStory(owner="bob", kind="image").opened().uploaded().verified(),
    ]
    await ingest_events([event for story in stories for event in story.events])
    async with running(create_app(settings)) as base_url:
        async with httpx.AsyncClient() as http:
            document = (await http.get(f"{base_url}/schema/openapi.json")).json()
        failures = await asyncio.to_thread(
            conformance_failures,
            document,
            base_url=base_url,
            headers=auth("alice"),
            max_examples=MAX_EXAMPLES,
            # An endless stream: one request never ends, so no response to check.
            # tests/integration/test_live_events.py covers it.
            skip={"GET /v1/events"},
            formats={CURSOR_FORMAT: CURSORS},
            known={"file_id": [str(story.file_id) for story in stories]},
        )
    assert not failures, "\n\n".join(failures)
