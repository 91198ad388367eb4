"""Readiness of the bus for a service's /health/ready."""

from __future__ import annotations

import nats

from mediaplane.bus.settings import BusSettings


async def ping(settings: BusSettings) -> None:
    """The NATS server accepts this identity's connection within a second (raises otherwise)."""
    nc = await nats.connect(
        settings.servers, allow_reconnect=False, connect_timeout=1, **settings.connect_options()
    )
    await nc.close()
