"""Aids for tests that run consumers against a real server (this library's and services')."""

from __future__ import annotations

import asyncio
import inspect
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from nats.js import JetStreamContext

from mediaplane.bus.delivery import Delivery
from mediaplane.bus.settings import BusSettings
from mediaplane.contracts import Event


@dataclass
class RecordingHandler:
    """A consumer handler that records every delivery and fails on the attempts it is told to.

    `bus.consumer("name", events=[...])(RecordingHandler())` gives a test a
    view of what a consumer received, e.g. to check what a service published.
    """

    fail_attempts: set[int] = field(default_factory=set)
    always_fail: bool = False
    seen: list[tuple[Event, Delivery]] = field(default_factory=list)

    async def __call__(self, event: Event, delivery: Delivery) -> None:
        self.seen.append((event, delivery))
        if self.always_fail or delivery.delivery_count in self.fail_attempts:
            raise RuntimeError(f"boom on attempt {delivery.delivery_count}")

    @property
    def events(self) -> list[Event]:
        return [event for event, _ in self.seen]

    @property
    def event_ids(self) -> list[uuid.UUID]:
        return [event.event_id for event, _ in self.seen]

    @property
    def attempts(self) -> list[int]:
        return [delivery.delivery_count for _, delivery in self.seen]


async def eventually(check: Callable[[], bool | Awaitable[bool]], within: float = 30.0) -> None:
    """Poll `check` (plain or async) until it holds; raise AssertionError after `within` s.

    The patience only bounds how long a failing test hangs (a loaded machine is slow):
    a passing check returns as soon as it holds.
    """
    deadline = time.monotonic() + within
    while not await _holds(check):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(0.02)


async def settled(js: JetStreamContext, settings: BusSettings, durable: str) -> bool:
    """Whether durable `durable` has nothing left to deliver and nothing awaiting an ack, so
    nothing will come back: what a test waits for (`eventually`) before asserting that a
    message was not redelivered, instead of sleeping."""
    info = await js.consumer_info(settings.stream, durable)
    return (info.num_pending, info.num_ack_pending) == (0, 0)


async def _holds(check: Callable[[], bool | Awaitable[bool]]) -> bool:
    result = check()
    return await result if inspect.isawaitable(result) else result


class Namespace(Protocol):
    """Unique names of one test (devstack's `NatsNamespace` has this shape)."""

    @property
    def url(self) -> str: ...

    @property
    def stream_prefix(self) -> str: ...

    @property
    def subject_prefix(self) -> str: ...


def namespaced_settings(namespace: Namespace, url: str | None = None) -> BusSettings:
    """Bus settings whose streams and subjects belong to one test alone (`url`: another server)."""
    return BusSettings(
        url=url or namespace.url,
        stream=f"{namespace.stream_prefix}_MEDIA",
        subject_root=f"{namespace.subject_prefix}.media",
        dlq_stream=f"{namespace.stream_prefix}_DLQ",
        dlq_subject_root=f"{namespace.subject_prefix}.dlq",
    )
