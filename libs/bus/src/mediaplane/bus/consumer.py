"""What a consumer does with each message: decode, dispatch, ack, retry or dead-letter.

Outcomes, per delivery:
- handler returns                 -> ACK
- handler raises `Defer`          -> NAK with its delay (not a failure; dead letter only
                                     once every delivery is used up)
- handler raises, attempts left   -> NAK with the retry policy's delay
- handler raises on last attempt  -> dead letter (copy to DLQ, then TERM)
- handler raises PoisonEvent      -> dead letter at once, with its reason (the event
                                     can never be handled: retrying cannot help)
- body is not a valid event, or
  its upcaster fails              -> dead letter at once (retrying cannot fix it)
- event type unknown to registry  -> ACK and skip, or the consumer's raw handler
- delivered after the last attempt never answered (worker died, ack_wait
  overrun)                        -> dead letter
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec
import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig
from opentelemetry.trace import Span, Status, StatusCode, TracerProvider

from mediaplane.bus.dead_letter import dead_letter
from mediaplane.bus.delivery import Delivery
from mediaplane.bus.retry import Defer, PoisonEvent, RetryPolicy
from mediaplane.bus.settings import BusSettings
from mediaplane.bus.topology import check_durable, consumer_config
from mediaplane.bus.tracing import consumer_span
from mediaplane.contracts import Event, Registry, UnknownEventType

E = TypeVar("E", bound=Event)
EventHandler = Callable[[E, Delivery], Awaitable[None]]
RawHandler = Callable[[bytes, Delivery], Awaitable[None]]

log = structlog.get_logger("mediaplane.bus")


@dataclass(frozen=True, kw_only=True)
class ConsumerSpec:
    """One durable consumer: its name, what it reads, how it retries, who handles it.

    `event_types` empty means every event of the stream. `handler` receives
    the decoded (upcast) event; `on_unknown`, when set, receives the raw body
    of events the registry does not know instead of them being skipped.
    """

    durable: str
    handler: EventHandler[Any]
    event_types: tuple[type[Event], ...]
    filter_subjects: tuple[str, ...]
    retry: RetryPolicy
    ack_wait: float
    max_ack_pending: int
    batch_size: int
    on_unknown: RawHandler | None = None

    def __post_init__(self) -> None:
        check_durable(self.durable)
        if self.ack_wait <= 0 or self.batch_size < 1 or self.max_ack_pending < 1:
            raise ValueError("ack_wait, batch_size and max_ack_pending must be positive")

    def config(self) -> ConsumerConfig:
        """The JetStream consumer config applied at every start."""
        return consumer_config(
            self.durable,
            filter_subjects=self.filter_subjects,
            retry=self.retry,
            ack_wait=self.ack_wait,
            max_ack_pending=self.max_ack_pending,
        )


def subscription_subjects(
    registry: Registry, event_types: Sequence[type[Event]]
) -> tuple[str, ...]:
    """Subjects a consumer of `event_types` must read: theirs and those of older versions.

    Older versions are upcast on decode, so a consumer of `x.v2` also reads
    `media.x.v1`. Asking for a version that is itself upcast is an error: the
    handler would never receive it.
    """
    if not event_types:
        return (f"{registry.subject_root}.>",)
    wanted = set()
    for cls in event_types:
        tag = cls.tag()
        if registry.class_for(tag) is not cls:
            raise ValueError(f"{cls.__name__} is not the class registered for {tag}")
        if (latest := registry.latest_tag(tag)) != tag:
            raise ValueError(f"{tag} is upcast to {latest} on decode; consume {latest}")
        wanted.add(tag)
    return tuple(
        sorted(registry.subject(t) for t in registry.tags if registry.latest_tag(t) in wanted)
    )


class MessageProcessor:
    """Applies one consumer's spec to each message it is delivered."""

    def __init__(
        self,
        spec: ConsumerSpec,
        *,
        registry: Registry,
        settings: BusSettings,
        js: JetStreamContext,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self.spec = spec
        self._registry = registry
        self._settings = settings
        self._js = js
        self._tracer_provider = tracer_provider

    async def process(self, msg: Msg) -> None:
        delivery = Delivery.of(msg, max_deliver=self.spec.retry.deliveries)
        attributes: dict[str, str | int] = {
            "messaging.system": "nats",
            "messaging.destination.name": delivery.subject,
            "messaging.consumer.group.name": self.spec.durable,
            "messaging.message.id": delivery.event_id or "",
            "messaging.nats.stream_sequence": delivery.stream_sequence,
            "messaging.nats.delivery_count": delivery.delivery_count,
        }
        with (
            structlog.contextvars.bound_contextvars(
                consumer=self.spec.durable,
                subject=delivery.subject,
                stream_sequence=delivery.stream_sequence,
                delivery_count=delivery.delivery_count,
                event_type=delivery.event_type,
                event_id=delivery.event_id,
                correlation_id=delivery.correlation_id,
                causation_id=delivery.causation_id,
            ),
            consumer_span(
                self._tracer_provider, delivery.subject, delivery.headers, attributes
            ) as span,
        ):
            try:
                await self._dispatch(msg, delivery, span)
            except asyncio.CancelledError:
                # Stopping overran the graceful timeout: hand the message back now
                # instead of letting it wait out ack_wait.
                with suppress(Exception):
                    await msg.nak()
                raise
            except Exception:
                # The ack, NAK or dead-letter publish itself failed (NATS away):
                # the server redelivers the message after ack_wait.
                log.exception("bus.message_unanswered", ack_wait=self.spec.ack_wait)

    async def _dispatch(self, msg: Msg, delivery: Delivery, span: Span) -> None:
        if delivery.delivery_count > self.spec.retry.deliveries:
            reason = (
                f"no answer to delivery {self.spec.retry.deliveries} "
                f"(worker died or ran past ack_wait={self.spec.ack_wait}s)"
            )
            await self._dead_letter(msg, delivery, span, reason)
            return
        try:
            event = self._registry.decode(msg.data)
        except UnknownEventType as exc:
            if not exc.tag:
                await self._dead_letter(msg, delivery, span, "undecodable: no event type")
            else:
                await self._unknown(msg, delivery, span, str(exc.tag))
            return
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            await self._dead_letter(msg, delivery, span, f"undecodable: {exc}")
            return
        except Exception as exc:  # an upcaster that cannot handle this payload
            reason = f"upcast failed: {type(exc).__name__}: {exc}"
            await self._dead_letter(msg, delivery, span, reason)
            return
        if self.spec.event_types and not isinstance(event, self.spec.event_types):
            log.warning("bus.skipped_unwanted_type", decoded_type=event.tag())
            await msg.ack_sync()
            return
        await self._run(msg, delivery, span, lambda: self.spec.handler(event, delivery))

    async def _unknown(self, msg: Msg, delivery: Delivery, span: Span, tag: str) -> None:
        on_unknown = self.spec.on_unknown
        if on_unknown is None:
            # A newer producer may emit types this service was built without:
            # skipping them keeps the consumer moving.
            log.info("bus.skipped_unknown_type", unknown_type=tag)
            await msg.ack_sync()
            return
        await self._run(msg, delivery, span, lambda: on_unknown(msg.data, delivery))

    async def _run(
        self, msg: Msg, delivery: Delivery, span: Span, call: Callable[[], Awaitable[None]]
    ) -> None:
        try:
            async with self._keep_alive(msg):
                await call()
        except PoisonEvent as exc:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, "PoisonEvent"))
            await self._dead_letter(msg, delivery, span, f"poison: {exc.reason}")
            return
        except Defer as later:
            if self.spec.retry.exhausted(delivery.delivery_count):
                reason = f"still deferred on delivery {delivery.delivery_count}: {later.reason}"
                await self._dead_letter(msg, delivery, span, reason)
                return
            log.info("bus.deferred", retry_in=later.delay, reason=later.reason)
            await msg.nak(delay=later.delay)
            return
        except Exception as exc:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            if self.spec.retry.exhausted(delivery.delivery_count):
                log.warning("bus.handler_failed", retry_in=None, exc_info=exc)
                reason = (
                    f"handler failed on delivery {delivery.delivery_count}/"
                    f"{self.spec.retry.deliveries}: {type(exc).__name__}: {exc}"
                )
                await self._dead_letter(msg, delivery, span, reason)
                return
            delay = self.spec.retry.delay(delivery.delivery_count)
            log.warning("bus.handler_failed", retry_in=delay, exc_info=exc)
            await msg.nak(delay=delay)
            return
        await msg.ack_sync()

    async def _dead_letter(self, msg: Msg, delivery: Delivery, span: Span, reason: str) -> None:
        log.error("bus.dead_lettered", reason=reason)
        span.set_attribute("mediaplane.dead_letter_reason", reason)
        await dead_letter(self._js, self._settings, msg, delivery, reason)

    @asynccontextmanager
    async def _keep_alive(self, msg: Msg) -> AsyncIterator[None]:
        """Tell JetStream a long handler is still working, so it is not redelivered meanwhile."""

        async def beat() -> None:
            while True:
                await asyncio.sleep(self.spec.ack_wait / 2)
                # A lost beat (NATS reconnecting) is retried by the next one; if
                # all are lost the message is redelivered, which handlers tolerate.
                with suppress(Exception):
                    await msg.in_progress()

        task = asyncio.create_task(beat())
        try:
            yield
        finally:
            task.cancel()
