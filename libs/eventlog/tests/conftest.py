"""Fixtures of the event log conformance suite: a migrated database, a pool, a store, JetStream."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig

from mediaplane.contracts import ALL_EVENTS, EventContext, Registry, TagCreated, new_event, utc_now
from mediaplane.devstack.pytest_plugin import NatsNamespace
from mediaplane.eventlog import EventStore, Pool, migrate, open_pool

CONTEXT = EventContext(producer="eventlog-tests", correlation_id="corr-1")

MakeEvent = Callable[[str, int], TagCreated]


@pytest.fixture
def make_event() -> MakeEvent:
    """`make_event(stream_id, n)`: a small event of that stream."""

    def make(stream_id: str, n: int) -> TagCreated:
        return new_event(
            TagCreated,
            occurred_at=utc_now(),
            stream_id=stream_id,
            context=CONTEXT,
            name=f"tag-{n}",
            created_by="tests",
        )

    return make


@pytest.fixture
async def database_url(pg_url: str) -> str:
    """A fresh database with the event log schema."""
    await migrate(pg_url)
    return pg_url


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[Pool]:
    pool = await open_pool(database_url, max_size=10)
    yield pool
    await pool.close()


@pytest.fixture
def registry(nats_namespace: NatsNamespace) -> Registry:
    """Every contract event, on this test's own subjects."""
    return Registry(ALL_EVENTS, subject_root=f"{nats_namespace.subject_prefix}.media")


@pytest.fixture
def store(pool: Pool, registry: Registry) -> EventStore:
    return EventStore(pool, registry)


@pytest.fixture
def stream_name(nats_namespace: NatsNamespace) -> str:
    return f"{nats_namespace.stream_prefix}_MEDIA"


StreamContents = Callable[[str, str], Awaitable[list[tuple[str, str]]]]
CreateStream = Callable[[str, str, Registry], Awaitable[None]]


async def _create_media_stream(url: str, name: str, registry: Registry) -> None:
    nc = await nats.connect(url)
    try:
        await nc.jetstream().add_stream(
            StreamConfig(
                name=name,
                subjects=[f"{registry.subject_root}.>"],
                storage=StorageType.FILE,
                duplicate_window=120.0,
            )
        )
    finally:
        await nc.close()


async def _stream_contents(url: str, name: str) -> list[tuple[str, str]]:
    """(stream id, event id) of every message in the JetStream stream, in stream order."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(name)
        total = info.state.messages
        subscription = await js.pull_subscribe(
            "",
            stream=name,
            config=ConsumerConfig(
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=AckPolicy.NONE,
                inactive_threshold=30,
            ),
        )
        found: list[tuple[str, str]] = []
        while len(found) < total:
            for message in await subscription.fetch(batch=min(1000, total - len(found)), timeout=5):
                headers = message.headers or {}
                found.append((headers["Mp-Stream-Id"], headers["Nats-Msg-Id"]))
        return found
    finally:
        await nc.close()


@pytest.fixture
def create_stream() -> CreateStream:
    """`await create_stream(nats_url, name, registry)`: a stream on the registry's subjects."""
    return _create_media_stream


@pytest.fixture
def stream_contents() -> StreamContents:
    """`await stream_contents(nats_url, name)`: (stream id, event id) of each message, in order."""
    return _stream_contents


@pytest.fixture
async def media_stream(nats_namespace: NatsNamespace, stream_name: str, registry: Registry) -> str:
    """A JetStream stream on the shared server taking this test's subjects (2 min dedup window)."""
    await _create_media_stream(nats_namespace.url, stream_name, registry)
    return stream_name
