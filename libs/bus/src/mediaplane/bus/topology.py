"""Provisioning: the event stream, the dead-letter stream and durable consumers.

Everything here is create-or-update and safe to run at every start of every
replica. Consumer configs are applied with `add_consumer` on purpose: binding
to an existing durable (`pull_subscribe`) never updates it, so a changed
`max_deliver` in code would otherwise be ignored by the server.
"""

from __future__ import annotations

from collections.abc import Sequence

from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    ConsumerInfo,
    DeliverPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
    StreamInfo,
)
from nats.js.errors import NotFoundError

from mediaplane.bus.retry import RetryPolicy
from mediaplane.bus.settings import BusSettings


def media_stream_config(settings: BusSettings) -> StreamConfig:
    """The event log: every event subject, on disk, kept until `max_age` (0 = forever)."""
    return StreamConfig(
        name=settings.stream,
        description="mediaplane events (replayable log)",
        subjects=[settings.subjects],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        max_age=settings.max_age,
        duplicate_window=settings.duplicate_window,
        num_replicas=settings.replicas,
    )


def dlq_stream_config(settings: BusSettings) -> StreamConfig:
    """Dead letters, kept for operators to inspect and replay."""
    return StreamConfig(
        name=settings.dlq_stream,
        description="mediaplane dead letters",
        subjects=[settings.dlq_subjects],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        max_age=settings.dlq_max_age,
        duplicate_window=settings.duplicate_window,
        num_replicas=settings.replicas,
    )


async def ensure_stream(js: JetStreamContext, config: StreamConfig) -> StreamInfo:
    """Create the stream, or bring an existing one to `config`."""
    if config.name is None:
        raise ValueError("a stream config needs a name")
    try:
        await js.stream_info(config.name)
    except NotFoundError:
        return await js.add_stream(config)
    return await js.update_stream(config)


async def provision(js: JetStreamContext, settings: BusSettings) -> None:
    """Create or update the event stream and the dead-letter stream (idempotent)."""
    await ensure_stream(js, media_stream_config(settings))
    await ensure_stream(js, dlq_stream_config(settings))


def check_durable(durable: str) -> None:
    """A durable name is one subject token: it appears in API subjects and dead letters."""
    if not durable or any(c in durable for c in ".*> \t"):
        raise ValueError(f"invalid durable name {durable!r}")


def consumer_config(
    durable: str,
    *,
    filter_subjects: Sequence[str],
    retry: RetryPolicy,
    ack_wait: float,
    max_ack_pending: int,
) -> ConsumerConfig:
    """A durable pull consumer with explicit acks, starting at the beginning of the log.

    A new consumer therefore sees every past event (the stream is the log);
    handlers are idempotent, so that is safe.
    """
    single = len(filter_subjects) == 1
    return ConsumerConfig(
        name=durable,
        durable_name=durable,
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ack_wait,
        max_deliver=retry.server_max_deliver,
        max_ack_pending=max_ack_pending,
        filter_subject=filter_subjects[0] if single else None,
        filter_subjects=None if single else list(filter_subjects),
    )


async def ensure_consumer(
    js: JetStreamContext, stream: str, config: ConsumerConfig
) -> ConsumerInfo:
    """Create the durable consumer, or update an existing one to `config`."""
    return await js.add_consumer(stream, config)
