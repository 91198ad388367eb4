"""The batch mode of a consumer: one handler call per fetch, for writers that commit batches.

A per-message handler (`consumer.py`) is one database transaction per event,
and commits (WAL flushes) then bound the rate. A batch handler gets every
message of a fetch at once, so it can write them in one transaction. The
delivery rules are the per-message ones, applied to the batch:

- the spare delivery (the last attempt never answered) -> dead letter;
- `decode` raises `PoisonEvent`   -> dead letter at once, its reason verbatim
                                     (retrying cannot fix a body);
- handler returns                 -> every message of the batch ACKed;
- handler raises                  -> each message retried alone (a batch of one),
                                     so one bad message cannot hold the others
                                     back: it is NAKed with the policy's delay,
                                     or dead-lettered on its last attempt.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

import msgspec
import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig
from opentelemetry.trace import TracerProvider

from mediaplane.bus.dead_letter import dead_letter
from mediaplane.bus.delivery import Delivery
from mediaplane.bus.retry import PoisonEvent, RetryPolicy
from mediaplane.bus.settings import BusSettings
from mediaplane.bus.topology import check_durable, consumer_config
from mediaplane.bus.tracing import batch_spans
from mediaplane.contracts import Event, Registry, UnknownEventType

T = TypeVar("T")
Decoder = Callable[[bytes, Delivery], T]
BatchHandler = Callable[[Sequence[T]], Awaitable[None]]
# What happened to a message besides being handled: for a consumer's own metrics.
Outcome = Literal["retried", "dead_lettered"]

log = structlog.get_logger("mediaplane.bus")


@dataclass(frozen=True, kw_only=True)
class BatchSpec(Generic[T]):
    """One durable batch consumer: `decode` turns each body into an item, `handler` takes a batch.

    Up to `concurrency` batches are handled at once (the next fetch is
    received and decoded meanwhile); their messages are acked after their
    handler returns, so at most `batch_size * (concurrency + 2)` are unacked.
    """

    durable: str
    decode: Decoder[T]
    handler: BatchHandler[T]
    filter_subjects: tuple[str, ...]
    retry: RetryPolicy
    ack_wait: float
    batch_size: int
    concurrency: int
    observe: Callable[[Outcome], None] | None = None

    def __post_init__(self) -> None:
        check_durable(self.durable)
        if self.ack_wait <= 0 or self.batch_size < 1 or self.concurrency < 1:
            raise ValueError("ack_wait, batch_size and concurrency must be positive")
        if self.retry.max_deferrals:
            raise ValueError("a batch consumer cannot defer")

    def config(self) -> ConsumerConfig:
        return consumer_config(
            self.durable,
            filter_subjects=self.filter_subjects,
            retry=self.retry,
            ack_wait=self.ack_wait,
            # The batches being handled and the next fetch, not more.
            max_ack_pending=self.batch_size * (self.concurrency + 2),
        )


def decode_event(registry: Registry, data: bytes, wanted: tuple[type[Event], ...]) -> Event | None:
    """A batch consumer's event decoding, by the per-message consumer's rules (`consumer.py`).

    A body that is not an event, or whose upcaster fails, is poison; a type
    the registry does not know, or one not `wanted`, is None (skipped, acked
    with its batch), as a per-message consumer skips it.
    """
    try:
        event = registry.decode(data)
    except UnknownEventType as exc:
        if not exc.tag:
            raise PoisonEvent("undecodable: no event type") from exc
        log.info("bus.skipped_unknown_type", unknown_type=str(exc.tag))
        return None
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise PoisonEvent(f"undecodable: {exc}") from exc
    except Exception as exc:  # an upcaster that cannot handle this payload
        raise PoisonEvent(f"upcast failed: {type(exc).__name__}: {exc}") from exc
    if wanted and not isinstance(event, wanted):
        log.warning("bus.skipped_unwanted_type", decoded_type=event.tag())
        return None
    return event


@dataclass(frozen=True)
class Decoded(Generic[T]):
    msg: Msg
    delivery: Delivery
    item: T


class BatchProcessor(Generic[T]):
    """Applies one batch consumer's spec to each fetch."""

    def __init__(
        self,
        spec: BatchSpec[T],
        *,
        settings: BusSettings,
        js: JetStreamContext,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self.spec = spec
        self._settings = settings
        self._js = js
        self._tracer_provider = tracer_provider

    async def decode(self, msgs: Sequence[Msg]) -> list[Decoded[T]]:
        """Decode a fetch; dead-letters what can never be handled, returns the rest."""
        retry = self.spec.retry
        decoded: list[Decoded[T]] = []
        for msg in msgs:
            delivery = Delivery.of(msg, max_deliver=retry.deliveries)
            if delivery.delivery_count > retry.deliveries:
                reason = (
                    f"no answer to delivery {retry.deliveries} "
                    f"(worker died or ran past ack_wait={self.spec.ack_wait}s)"
                )
                await self._dead_letter(msg, delivery, reason)
                continue
            try:
                item = self.spec.decode(msg.data, delivery)
            except PoisonEvent as exc:
                await self._dead_letter(msg, delivery, exc.reason)
                continue
            decoded.append(Decoded(msg, delivery, item))
        return decoded

    async def handle(self, batch: Sequence[Decoded[T]]) -> None:
        """One handler call for the batch, then ACK each message (or retry them one by one)."""
        if not batch:
            return
        try:
            await self._call(batch)
        except asyncio.CancelledError:
            # Stopping overran the graceful timeout: hand the batch back now
            # instead of letting it wait out ack_wait.
            for one in batch:
                with suppress(Exception):
                    await one.msg.nak()
            raise
        except Exception:
            log.warning(
                "bus.batch_failed", consumer=self.spec.durable, size=len(batch), exc_info=True
            )
            for one in batch:
                await self._alone(one)
            return
        for one in batch:
            await one.msg.ack()

    async def _alone(self, one: Decoded[Any]) -> None:
        try:
            await self._call([one])
        except Exception as exc:
            count, retry = one.delivery.delivery_count, self.spec.retry
            if retry.exhausted(count):
                reason = (
                    f"handler failed on delivery {count}/{retry.deliveries}: "
                    f"{type(exc).__name__}: {exc}"
                )
                await self._dead_letter(one.msg, one.delivery, reason)
                return
            delay = retry.delay(count)
            log.warning(
                "bus.handler_failed",
                consumer=self.spec.durable,
                stream_sequence=one.delivery.stream_sequence,
                retry_in=delay,
            )
            self._observe("retried")
            await one.msg.nak(delay=delay)
            return
        await one.msg.ack()

    async def _call(self, batch: Sequence[Decoded[T]]) -> None:
        """The handler, with a span per message that continues the message's trace."""
        traced: list[tuple[str, Mapping[str, str], Mapping[str, str | int]]] = [
            (
                d.delivery.subject,
                d.delivery.headers,
                {
                    "messaging.system": "nats",
                    "messaging.destination.name": d.delivery.subject,
                    "messaging.message.id": d.delivery.event_id or "",
                    "messaging.nats.stream_sequence": d.delivery.stream_sequence,
                    "messaging.nats.delivery_count": d.delivery.delivery_count,
                    "messaging.batch.message_count": len(batch),
                },
            )
            for d in batch
        ]
        with batch_spans(self._tracer_provider, self.spec.durable, traced):
            await self.spec.handler([d.item for d in batch])

    async def _dead_letter(self, msg: Msg, delivery: Delivery, reason: str) -> None:
        log.error(
            "bus.dead_lettered",
            consumer=self.spec.durable,
            reason=reason,
            subject=msg.subject,
            stream_sequence=delivery.stream_sequence,
        )
        self._observe("dead_lettered")
        await dead_letter(self._js, self._settings, msg, delivery, reason)

    def _observe(self, outcome: Outcome) -> None:
        if self.spec.observe is not None:
            self.spec.observe(outcome)
