"""The service-facing API: declare consumers, run them, publish events.

Consumers run on FastStream's NATS pull subscribers (one per durable, several
per process) with `AckPolicy.MANUAL`: `MessageProcessor` decides every ack,
delayed NAK, TERM and dead letter, because FastStream's own policies cannot
(NACK_ON_ERROR redelivers at once, without backoff, until the server silently
gives up; REJECT_ON_ERROR TERMs on the first error; neither dead-letters).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TypeVar

from faststream import AckPolicy
from faststream.nats import JStream, NatsBroker, PullSub
from faststream.nats.annotations import NatsMessage
from faststream.nats.security import NatsUserPassword
from nats.js.api import PubAck
from opentelemetry.trace import TracerProvider

from mediaplane.bus.consumer import (
    ConsumerSpec,
    EventHandler,
    MessageProcessor,
    RawHandler,
    subscription_subjects,
)
from mediaplane.bus.publisher import Publisher
from mediaplane.bus.retry import RetryPolicy
from mediaplane.bus.settings import BusSettings
from mediaplane.bus.topology import ensure_consumer, provision
from mediaplane.contracts import Event, Registry

E = TypeVar("E", bound=Event)

FETCH_TIMEOUT = 1.0  # seconds a pull request waits for messages before the next one


class Bus:
    """One NATS connection of one service: its consumers and its publisher.

    ```python
    bus = Bus(settings, REGISTRY, producer="thumbnailer")

    @bus.consumer("thumbnailer-file-verified", events=[FileVerified], backoff=[1, 5, 30])
    async def on_verified(event: FileVerified, delivery: Delivery) -> None: ...

    async with bus.running():
        await bus.publish(event)
        await stop_requested.wait()
    ```
    Leaving `running()` stops fetching, lets in-flight handlers finish for up
    to `graceful_timeout` seconds, NAKs those still running, then drains the
    connection so every ack reaches the server.
    """

    def __init__(
        self,
        settings: BusSettings,
        registry: Registry,
        *,
        producer: str,
        tracer_provider: TracerProvider | None = None,
        graceful_timeout: float = 30.0,
        provision_streams: bool = True,
    ) -> None:
        if registry.subject_root != settings.subject_root:
            raise ValueError(
                f"registry subject root {registry.subject_root!r} "
                f"!= bus subject root {settings.subject_root!r}"
            )
        self.settings = settings
        self.registry = registry
        self.producer = producer
        self._tracer_provider = tracer_provider
        self._provision_streams = provision_streams
        self._specs: dict[str, ConsumerSpec] = {}
        self._processors: dict[str, MessageProcessor] = {}
        self._publisher: Publisher | None = None
        # Reconnect forever: while NATS is away, producers' events wait in their outboxes.
        identity = settings.connect_options()
        self._inbox_prefix = identity.get("inbox_prefix", "_INBOX")
        self.broker = NatsBroker(
            settings.url,
            security=NatsUserPassword(identity["user"], identity["password"])
            if "user" in identity and "password" in identity
            else None,
            inbox_prefix=self._inbox_prefix,
            name=producer,
            serializer=None,
            graceful_timeout=graceful_timeout,
            max_reconnect_attempts=-1,
            logger=logging.getLogger("mediaplane.bus.faststream"),
        )

    def consumer(
        self,
        durable: str,
        *,
        events: Sequence[type[Event]] = (),
        max_deliver: int = 5,
        backoff: Sequence[float] = (1.0, 5.0, 30.0),
        ack_wait: float = 30.0,
        max_ack_pending: int = 1000,
        batch_size: int = 1,
        on_unknown: RawHandler | None = None,
        max_deferrals: int = 0,
    ) -> Callable[[EventHandler[E]], EventHandler[E]]:
        """Register the decorated handler as durable consumer `durable`.

        `durable` is shared by every replica of the service (they compete for
        messages); use one per service and purpose. `events` limits the
        consumer to those types (and older versions upcast to them); empty
        means every event. A handler gets `max_deliver` attempts, waiting
        `backoff[n-1]` seconds after failed attempt n, then the message is
        dead-lettered. `ack_wait` is how long an attempt may stay silent
        (long handlers are kept alive automatically). With `batch_size` > 1
        the messages of one fetch are handled concurrently. A handler that
        raises `Defer` gets the message again after the delay it asks for, up
        to `max_deferrals` times on top of `max_deliver`.
        """
        if durable in self._specs:
            raise ValueError(f"consumer {durable!r} is already registered")

        def register(handler: EventHandler[E]) -> EventHandler[E]:
            spec = ConsumerSpec(
                durable=durable,
                handler=handler,
                event_types=tuple(events),
                filter_subjects=subscription_subjects(self.registry, events),
                retry=RetryPolicy(
                    max_deliver=max_deliver, backoff=tuple(backoff), max_deferrals=max_deferrals
                ),
                ack_wait=ack_wait,
                max_ack_pending=max_ack_pending,
                batch_size=batch_size,
                on_unknown=on_unknown,
            )
            self._specs[durable] = spec
            self._subscribe(spec)
            return handler

        return register

    def _subscribe(self, spec: ConsumerSpec) -> None:
        subscriber = self.broker.subscriber(
            spec.filter_subjects[0] if len(spec.filter_subjects) == 1 else self.settings.subjects,
            # The stream is provisioned by `provision`, and the consumer by
            # `ensure_consumer` before start; FastStream only binds to both.
            stream=JStream(self.settings.stream, declare=False),
            durable=spec.durable,
            config=spec.config(),
            pull_sub=PullSub(batch_size=spec.batch_size, timeout=FETCH_TIMEOUT),
            # FastStream does not take the connection's prefix for pulled messages:
            # an identity may only receive under its own (`permissions.py`).
            inbox_prefix=f"{self._inbox_prefix}.".encode(),
            ack_policy=AckPolicy.MANUAL,
            title=spec.durable,
        )

        async def on_message(msg: NatsMessage) -> None:
            await self._processors[spec.durable].process(msg.raw_message)

        subscriber(on_message)

    @property
    def consumers(self) -> Mapping[str, ConsumerSpec]:
        return dict(self._specs)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Bus]:
        """Connect, provision streams and consumers, consume until the block exits."""
        await self.broker.connect()
        try:
            js = self.broker.connection.jetstream()
            if self._provision_streams:
                await provision(js, self.settings)
            for spec in self._specs.values():
                await ensure_consumer(js, self.settings.stream, spec.config())
                self._processors[spec.durable] = MessageProcessor(
                    spec,
                    registry=self.registry,
                    settings=self.settings,
                    js=js,
                    tracer_provider=self._tracer_provider,
                )
            self._publisher = Publisher(
                js,
                self.registry,
                stream=self.settings.stream,
                tracer_provider=self._tracer_provider,
            )
            await self.broker.start()
            yield self
        finally:
            self._publisher = None
            await self.broker.stop()

    @property
    def publisher(self) -> Publisher:
        if self._publisher is None:
            raise RuntimeError("the bus is not running (use `async with bus.running()`)")
        return self._publisher

    async def publish(self, event: Event, *, headers: Mapping[str, str] | None = None) -> PubAck:
        """Publish `event` to the event stream (see `Publisher.publish`)."""
        return await self.publisher.publish(event, headers=headers)
