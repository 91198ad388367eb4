"""The process roles every producing service has: `migrate` and `relay`."""

from __future__ import annotations

import asyncio

from prometheus_client import REGISTRY

from mediaplane.eventlog.metrics import RelayMetrics
from mediaplane.eventlog.relay import NatsIdentity, OutboxRelay
from mediaplane.observability import HealthChecks
from mediaplane.observability.http import ops_app
from mediaplane.observability.serve import ops_server


def migrations_line(applied: list[str]) -> str:
    """What `python -m mediaplane.<service> migrate` prints."""
    return f"applied {len(applied)} migrations: {', '.join(applied) or 'none'}"


async def serve_relay(
    *,
    service: str,
    database_url: str,
    nats_url: str,
    nats_options: NatsIdentity,
    health: HealthChecks,
    host: str,
    port: int,
    stop: asyncio.Event,
) -> None:
    """The service's outbox relay until `stop`, with /health and /metrics on `port`.

    The relay's metrics (outbox lag, published) go to the default registry,
    which the ops app's /metrics serves.
    """
    async with (
        ops_server(ops_app(f"{service}-relay", health), host=host, port=port),
        OutboxRelay(
            database_url,
            nats_url,
            nats_options=nats_options,
            name=f"{service}-relay",
            metrics=RelayMetrics(REGISTRY),
        ),
    ):
        await stop.wait()
