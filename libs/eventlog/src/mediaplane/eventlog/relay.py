"""The outbox relay: publishes outbox rows to JetStream, then deletes them.

Guarantees:
- at least once into JetStream, and exactly once in the stream's contents:
  every message carries `Nats-Msg-Id = event_id`, so a batch re-published
  after a crash (published, not yet deleted) is dropped by JetStream's
  duplicate window;
- each event stream's order (how: see `outbox.py`), also with several relays;
- NATS or Postgres down: the relay backs off and retries (tenacity), never
  crashes and never deletes a row that JetStream did not acknowledge.

A round claims a batch in a transaction, publishes it with acknowledged
publishes (`acked_publish.py`; wave by wave, acks awaited together), deletes
the acknowledged rows and commits. The relay loops without sleeping while
rounds find work, then sleeps until an append NOTIFYs `eventlog_outbox` or
`poll_interval` passes; after work, its first sleeps are short (see `_lane`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import TypedDict, TypeVar

import nats
import nats.errors
import psycopg
import structlog
from nats.aio.client import Client as NatsClient
from opentelemetry.trace import TracerProvider
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential_jitter

from mediaplane.eventlog import outbox
from mediaplane.eventlog.acked_publish import AckedPublisher
from mediaplane.eventlog.database import Pool, open_pool
from mediaplane.eventlog.metrics import RelayMetrics
from mediaplane.eventlog.outbox import OutboxMessage
from mediaplane.eventlog.tracing import RelaySpan, relay_tracer
from mediaplane.eventlog.wakeup import OUTBOX_CHANNEL, Wakeup, cancel_and_wait

_log = structlog.get_logger(__name__)

T = TypeVar("T")


class NatsIdentity(TypedDict, total=False):
    """Who the relay connects as (the shape of `mediaplane.bus.BusSettings.connect_options()`)."""

    user: str
    password: str
    inbox_prefix: str


class PublishFailed(Exception):
    """JetStream did not acknowledge a message in time (or refused it); the round stops there."""


# Failures worth waiting out: the servers come back, the rows are still there.
_TRANSIENT = (psycopg.OperationalError, nats.errors.Error, OSError, PublishFailed)
# The first look again after a round found nothing; doubled each empty round after it.
_AFTER_WORK = 0.005


class OutboxRelay:
    """Runs in the background between `start()` and `stop()` (or as `async with`)."""

    def __init__(
        self,
        database_url: str,
        nats_url: str,
        *,
        batch_size: int = 500,
        lanes: int = 4,
        poll_interval: float = 1.0,
        ack_timeout: float = 5.0,
        max_backoff: float = 5.0,
        metrics: RelayMetrics | None = None,
        name: str = "eventlog-relay",
        nats_options: NatsIdentity | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self._database_url = database_url
        self._nats_url = nats_url
        # The service's NATS identity (`BusSettings.connect_options()`: user,
        # password, inbox prefix); the URL may carry one instead.
        self._nats_options: NatsIdentity = nats_options or {}
        self._batch_size = batch_size
        if lanes < 1:
            raise ValueError("a relay needs at least one lane")
        self._lanes = lanes
        self._poll_interval = poll_interval
        self._ack_timeout = ack_timeout
        self._max_backoff = max_backoff
        self._name = name
        self._tracer = relay_tracer(tracer_provider)
        self.metrics = metrics if metrics is not None else RelayMetrics()
        self._wakeup = Wakeup(database_url, OUTBOX_CHANNEL)
        self._task: asyncio.Task[None] | None = None
        self._pool: Pool | None = None
        self._nc: NatsClient | None = None

    async def start(self) -> None:
        """Start relaying in the background; servers that are down are waited for, not fatal."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        """Stop now: an interrupted round rolls back and is re-published later (deduplicated)."""
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
        await self._wakeup.stop()
        if self._nc is not None:
            await self._nc.close()
            self._nc = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def __aenter__(self) -> OutboxRelay:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _run(self) -> None:
        self._pool = await open_pool(
            self._database_url,
            min_size=1,
            max_size=self._lanes,
            application_name=self._name,
            wait=False,
        )
        self._nc = await self._retrying(self._connect_nats)
        publisher = AckedPublisher(self._nc)
        await publisher.start()
        self._wakeup.start()
        _log.info("relay started", relay=self._name, lanes=self._lanes)
        await asyncio.gather(*(self._lane(publisher) for _ in range(self._lanes)))

    async def _lane(self, publisher: AckedPublisher) -> None:
        """One claim-publish-delete loop. A round mostly waits (for Postgres, then for acks),
        so a relay runs several lanes; each claims other streams (head locks, `outbox.py`),
        so per-stream order holds as it does between relay instances."""
        empty = 0  # rounds in a row that found nothing
        while True:
            self._wakeup.clear()
            published = await self._retrying(lambda: self._round(publisher))
            if published:
                empty = 0
                continue
            # An append that saw a row of the last busy round still in the outbox sent no
            # NOTIFY (store.py) and may commit just after this round looked: look again
            # soon, backing off to the poll interval (5, 10, 20 ... ms: ~9 claims a burst).
            await self._wakeup.wait(min(self._poll_interval, _AFTER_WORK * 2**empty))
            empty = min(empty + 1, 30)

    async def _connect_nats(self) -> NatsClient:
        return await nats.connect(
            # A cluster's nodes, comma-separated (as `BusSettings.servers` reads them).
            [url.strip() for url in self._nats_url.split(",")],
            name=self._name,
            max_reconnect_attempts=-1,  # never give up: the outbox keeps the events meanwhile
            reconnect_time_wait=0.5,
            connect_timeout=2,
            error_cb=self._on_nats_error,
            disconnected_cb=self._on_nats_disconnected,
            reconnected_cb=self._on_nats_reconnected,
            user=self._nats_options.get("user"),
            password=self._nats_options.get("password"),
            inbox_prefix=self._nats_options.get("inbox_prefix", "_INBOX"),
        )

    async def _on_nats_error(self, error: Exception) -> None:
        # Every failed reconnect attempt lands here: the disconnect itself is logged once.
        _log.debug("nats connection error", relay=self._name, error=str(error))

    async def _on_nats_disconnected(self) -> None:
        if self._task is None:
            return  # stopping: closing the connection is not an outage
        _log.warning("nats disconnected, events wait in the outbox", relay=self._name)

    async def _on_nats_reconnected(self) -> None:
        _log.info("nats reconnected", relay=self._name)

    async def _retrying(self, operation: Callable[[], Awaitable[T]]) -> T:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(_TRANSIENT),
            wait=wait_exponential_jitter(multiplier=0.1, max=self._max_backoff, jitter=0.1),
            before_sleep=self._on_retry,
        ):
            with attempt:
                return await operation()
        raise AssertionError("unreachable: tenacity retries forever")

    def _on_retry(self, state: RetryCallState) -> None:
        self.metrics.failures.inc()
        error = state.outcome.exception() if state.outcome else None
        _log.warning(
            "relay round failed, backing off",
            relay=self._name,
            attempt=state.attempt_number,
            error=f"{type(error).__name__}: {error}",
        )

    async def _round(self, publisher: AckedPublisher) -> int:
        """Claim, publish and delete one batch; returns how many events were published."""
        assert self._pool is not None
        assert self._nc is not None
        if not self._nc.is_connected:
            # Claiming now would hold row locks (and the projectors' xmin) for nothing.
            raise nats.errors.ConnectionReconnectingError
        async with self._pool.connection() as conn, conn.transaction():
            messages = await outbox.claim(conn, self._batch_size)
            if not messages:
                self.metrics.lag.set(0)
                return 0
            self.metrics.lag.set((datetime.now(UTC) - messages[0].recorded_at).total_seconds())
            acked, failure = await self._publish(publisher, messages)
            await outbox.delete(conn, [message.position for message in acked])
        self.metrics.published.inc(len(acked))
        if failure is not None:
            raise failure
        return len(acked)

    async def _publish(
        self, publisher: AckedPublisher, messages: list[OutboxMessage]
    ) -> tuple[list[OutboxMessage], Exception | None]:
        """Publish wave by wave; returns the acknowledged messages and what stopped it (if any)."""
        acked: list[OutboxMessage] = []
        for wave in outbox.waves(messages):
            futures: list[asyncio.Future[int]] = []
            spans = [RelaySpan(message, self._name, self._tracer) for message in wave]
            try:
                for message, span in zip(wave, spans, strict=True):
                    futures.append(
                        await publisher.publish(message.subject, message.body, span.headers)
                    )
                done, pending = await asyncio.wait(futures, timeout=self._ack_timeout)
            except nats.errors.Error as error:
                for future in futures:
                    future.cancel()  # forgets it: a late acknowledgement is ignored
                for span in spans:
                    span.end(type(error).__name__)
                return acked, error
            for future in pending:
                future.cancel()
            failure: Exception | None = None
            for message, future, span in zip(wave, futures, spans, strict=True):
                if future not in done:
                    failure = PublishFailed(f"no ack within {self._ack_timeout}s")
                elif (refusal := future.exception()) is not None:
                    failure = PublishFailed(f"{type(refusal).__name__}: {refusal}")
                else:
                    # A wave holds one message per stream: acked ones stay in order.
                    acked.append(message)
                span.end(None if future in done and future.exception() is None else "not acked")
            if failure is not None:
                return acked, failure
        return acked, None
