"""The service-facing API: declare consumers, run them, publish events.

Every consumer runs on nats-py directly: one connection per `Bus`, and per
durable a loop that fetches with `BatchPuller` (`pull.py`) and answers each
message itself (`consumer.py` per message, `batch.py` per batch). docs/adr/0004
records why not FastStream: on the same machine and messages, it handled 2-3x
fewer messages per second at 2.5-3x the CPU per message, and its ack policies
could not express the retry rules anyway (every message was answered by hand).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Collection, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any, TypeVar

import nats
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import PubAck
from opentelemetry.trace import TracerProvider

from mediaplane.bus.batch import BatchHandler, BatchProcessor, BatchSpec, Decoded, Decoder, Outcome
from mediaplane.bus.consumer import (
    ConsumerSpec,
    EventHandler,
    MessageProcessor,
    RawHandler,
    subscription_subjects,
)
from mediaplane.bus.publisher import Publisher
from mediaplane.bus.pull import BatchPuller
from mediaplane.bus.retry import RetryPolicy
from mediaplane.bus.settings import BusSettings
from mediaplane.bus.topology import ensure_consumer, provision
from mediaplane.contracts import Event, Registry

E = TypeVar("E", bound=Event)
T = TypeVar("T")

FETCH_TIMEOUT = 1.0  # seconds a pull request waits for messages; also how fast a stop is noticed

log = structlog.get_logger("mediaplane.bus")


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
        self._graceful_timeout = graceful_timeout
        self._provision_streams = provision_streams
        self._specs: dict[str, ConsumerSpec] = {}
        self._batch_specs: dict[str, BatchSpec[Any]] = {}
        self._nc: Client | None = None
        self._publisher: Publisher | None = None

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
        (long handlers are kept alive automatically). Up to `batch_size`
        messages are handled at once. A handler that raises `Defer` gets the
        message again after the delay it asks for, up to `max_deferrals`
        times on top of `max_deliver`.
        """
        self._check_new(durable)

        def register(handler: EventHandler[E]) -> EventHandler[E]:
            self._specs[durable] = ConsumerSpec(
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
            return handler

        return register

    def batch_consumer(
        self,
        durable: str,
        *,
        decode: Decoder[T],
        events: Sequence[type[Event]] = (),
        batch_size: int = 500,
        concurrency: int = 2,
        max_deliver: int = 5,
        backoff: Sequence[float] = (1.0, 5.0, 30.0),
        ack_wait: float = 30.0,
        observe: Callable[[Outcome], None] | None = None,
    ) -> Callable[[BatchHandler[T]], BatchHandler[T]]:
        """Register the decorated handler as the batch consumer `durable` (see `batch.py`).

        Each fetch of up to `batch_size` messages is decoded with
        `decode(body, delivery)` (raise `PoisonEvent` to dead-letter a body)
        and handed to the handler in one call; up to `concurrency` calls run
        at once. `observe` hears of each retried or dead-lettered message.
        """
        self._check_new(durable)

        def register(handler: BatchHandler[T]) -> BatchHandler[T]:
            self._batch_specs[durable] = BatchSpec(
                durable=durable,
                decode=decode,
                handler=handler,
                filter_subjects=subscription_subjects(self.registry, events),
                retry=RetryPolicy(max_deliver=max_deliver, backoff=tuple(backoff)),
                ack_wait=ack_wait,
                batch_size=batch_size,
                concurrency=concurrency,
                observe=observe,
            )
            return handler

        return register

    def _check_new(self, durable: str) -> None:
        if durable in self._specs or durable in self._batch_specs:
            raise ValueError(f"consumer {durable!r} is already registered")

    @property
    def consumers(self) -> Mapping[str, ConsumerSpec | BatchSpec[Any]]:
        return {**self._specs, **self._batch_specs}

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Bus]:
        """Connect, provision streams and consumers, consume until the block exits."""
        # Reconnect forever: while NATS is away, producers' events wait in their outboxes.
        nc = await nats.connect(
            self.settings.servers,
            name=self.producer,
            max_reconnect_attempts=-1,
            **self.settings.connect_options(),
        )
        stopping = asyncio.Event()
        loops: list[asyncio.Task[None]] = []
        try:
            js = nc.jetstream()
            if self._provision_streams:
                await provision(js, self.settings)
            for spec in self._specs.values():
                await ensure_consumer(js, self.settings.stream, spec.config())
            for batch_spec in self._batch_specs.values():
                await ensure_consumer(js, self.settings.stream, batch_spec.config())
            for spec in self._specs.values():
                processor = MessageProcessor(
                    spec,
                    registry=self.registry,
                    settings=self.settings,
                    js=js,
                    tracer_provider=self._tracer_provider,
                )
                loops.append(_watched(self._each(nc, processor, stopping), spec.durable))
            for batch_spec in self._batch_specs.values():
                batches = BatchProcessor(
                    batch_spec,
                    settings=self.settings,
                    js=js,
                    tracer_provider=self._tracer_provider,
                )
                loops.append(_watched(self._batches(nc, batches, stopping), batch_spec.durable))
            self._nc = nc
            self._publisher = Publisher(
                js,
                self.registry,
                stream=self.settings.stream,
                tracer_provider=self._tracer_provider,
            )
            yield self
        finally:
            self._publisher = None
            self._nc = None
            stopping.set()
            try:
                # Each loop stops gracefully on its own; a crashed one was logged
                # (`_watched`) and must not cut the others' grace short.
                await asyncio.gather(*loops, return_exceptions=True)
            finally:
                for loop in loops:
                    loop.cancel()
                await nc.drain()

    async def _each(self, nc: Client, processor: MessageProcessor, stopping: asyncio.Event) -> None:
        """Per-message mode: keep up to `batch_size` handlers busy until stopping.

        A free slot is filled at once (handlers may run for minutes: none waits
        for the others); with quick handlers several slots free up per pull
        request anyway.
        """
        spec = processor.spec
        puller = BatchPuller(nc, self.settings.stream, spec.durable)
        await puller.start()
        stop = asyncio.ensure_future(stopping.wait())
        running: set[asyncio.Task[None]] = set()
        try:
            while not stopping.is_set():
                if len(running) >= spec.batch_size:
                    await asyncio.wait({*running, stop}, return_when=asyncio.FIRST_COMPLETED)
                    continue
                room = spec.batch_size - len(running)
                for msg in await self._fetch(puller, room, stopping, wait_for=1):
                    task = asyncio.create_task(processor.process(msg))
                    running.add(task)
                    task.add_done_callback(running.discard)
            await self._finish(running)
        finally:
            stop.cancel()
            for task in running:
                task.cancel()
            await puller.close()

    async def _finish(self, running: Collection[asyncio.Future[None]]) -> None:
        """Give in-flight handlers `graceful_timeout` s; cancelled ones NAK their message."""
        if not running:
            return
        _, late = await asyncio.wait(running, timeout=self._graceful_timeout)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)

    async def _batches(
        self, nc: Client, processor: BatchProcessor[Any], stopping: asyncio.Event
    ) -> None:
        """Batch mode: the next fetch is received and decoded while up to `concurrency`
        batches are handled. Every fetched batch is handled, also after stopping
        begins, so no message waits for ack_wait.

        A fetch takes what is there at once (a backlog comes in full batches) and
        otherwise starts on the first message: waiting for a batch to fill made
        every event of a quiet stream wait out the whole pull request (a second).
        """
        spec = processor.spec
        puller = BatchPuller(nc, self.settings.stream, spec.durable)
        await puller.start()

        async def next_batch() -> list[Decoded[Any]]:
            msgs = await self._fetch(puller, spec.batch_size, stopping, wait_for=1)
            try:
                return await processor.decode(msgs)
            except Exception:
                # A dead-letter publish failed (NATS away): this fetch's messages
                # come back after ack_wait.
                log.warning("bus.answer_failed", consumer=spec.durable, exc_info=True)
                return []

        async def handle(batch: list[Decoded[Any]]) -> None:
            try:
                await processor.handle(batch)
            except Exception:
                # An ack or NAK failed (NATS away): unanswered messages come back
                # after ack_wait; handlers are idempotent.
                log.warning("bus.answer_failed", consumer=spec.durable, exc_info=True)

        upcoming = asyncio.ensure_future(next_batch())
        handling: set[asyncio.Future[None]] = set()
        try:
            while True:
                batch = await upcoming
                last = stopping.is_set()
                if not last:
                    upcoming = asyncio.ensure_future(next_batch())
                if batch:
                    handling.add(asyncio.ensure_future(handle(batch)))
                if last:
                    break
                if len(handling) >= spec.concurrency:
                    _, handling = await asyncio.wait(handling, return_when=asyncio.FIRST_COMPLETED)
            await self._finish(handling)
        finally:
            upcoming.cancel()  # when cancelled mid-batch; a no-op after the last fetch
            for task in handling:
                task.cancel()
            await puller.close()

    async def _fetch(
        self,
        puller: BatchPuller,
        batch: int,
        stopping: asyncio.Event,
        *,
        wait_for: int | None = None,
    ) -> list[Msg]:
        try:
            return await puller.fetch(batch, expires=FETCH_TIMEOUT, wait_for=wait_for)
        except Exception:
            # NATS reconnecting: the client reconnects by itself; try again shortly.
            log.warning("bus.fetch_failed", exc_info=True)
            with suppress(TimeoutError):
                async with asyncio.timeout(FETCH_TIMEOUT):
                    await stopping.wait()
            return []

    @property
    def connection(self) -> Client:
        """The running bus's NATS connection (for consumer and stream info)."""
        if self._nc is None:
            raise RuntimeError("the bus is not running (use `async with bus.running()`)")
        return self._nc

    @property
    def js(self) -> JetStreamContext:
        return self.connection.jetstream()

    @property
    def publisher(self) -> Publisher:
        if self._publisher is None:
            raise RuntimeError("the bus is not running (use `async with bus.running()`)")
        return self._publisher

    async def publish(self, event: Event, *, headers: Mapping[str, str] | None = None) -> PubAck:
        """Publish `event` to the event stream (see `Publisher.publish`)."""
        return await self.publisher.publish(event, headers=headers)


def _watched(loop: Coroutine[Any, Any, None], durable: str) -> asyncio.Task[None]:
    """A consumer's loop as a task whose crash is logged when it happens, not at stop."""

    def report(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("bus.consumer_crashed", consumer=durable, exc_info=error)

    task = asyncio.create_task(loop, name=f"bus-{durable}")
    task.add_done_callback(report)
    return task
