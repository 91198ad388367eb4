"""Per-test bus settings inside the devstack NATS namespace (streams removed after the test)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import nats
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from mediaplane.bus import BusSettings, Publisher, provision
from mediaplane.bus.testing import namespaced_settings
from mediaplane.contracts import (
    ALL_EVENTS,
    EventContext,
    FileDeleted,
    FileVerified,
    Registry,
    new_event,
    utc_now,
)
from mediaplane.devstack.pytest_plugin import NatsNamespace


@pytest.fixture
def settings(nats_namespace: NatsNamespace) -> BusSettings:
    ns = nats_namespace
    return namespaced_settings(ns)


@pytest.fixture
def registry(settings: BusSettings) -> Registry:
    return Registry(ALL_EVENTS, subject_root=settings.subject_root)


@pytest.fixture
async def nc(settings: BusSettings) -> AsyncIterator[Client]:
    client = await nats.connect(settings.url)
    yield client
    await client.close()


@pytest.fixture
async def js(nc: Client, settings: BusSettings) -> JetStreamContext:
    """A JetStream context on provisioned streams, for publishing and inspecting."""
    context = nc.jetstream()
    await provision(context, settings)
    return context


@pytest.fixture
def publisher(js: JetStreamContext, registry: Registry, settings: BusSettings) -> Publisher:
    return Publisher(js, registry, stream=settings.stream)


@pytest.fixture
def verified() -> Callable[[int], FileVerified]:
    """`verified(n)`: a new file.verified.v1 event of file n (correlation `corr-n`)."""

    def build(n: int) -> FileVerified:
        return new_event(
            FileVerified,
            occurred_at=utc_now(),
            stream_id=f"file-{n}",
            context=EventContext(producer="test", correlation_id=f"corr-{n}"),
            file_id=uuid.uuid4(),
            owner="alice",
            bucket="originals",
            object_key=f"alice/{n}",
            sha256="0" * 64,
            size=n,
            media_type="image/png",
            kind="image",
        )

    return build


@pytest.fixture
def deleted() -> Callable[[int], FileDeleted]:
    """`deleted(n)`: a new file.deleted.v1 event of file n."""

    def build(n: int) -> FileDeleted:
        return new_event(
            FileDeleted,
            occurred_at=utc_now(),
            stream_id=f"file-{n}",
            context=EventContext(producer="test", correlation_id=f"corr-{n}"),
            file_id=uuid.uuid4(),
            owner="alice",
            deleted_by="alice",
        )

    return build
