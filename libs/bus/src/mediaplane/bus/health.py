"""Readiness of the bus for a service's /health/ready."""

from __future__ import annotations

import nats


async def ping(url: str) -> None:
    """A NATS server at `url` accepts a connection within a second (raises otherwise)."""
    nc = await nats.connect(url, allow_reconnect=False, connect_timeout=1)
    await nc.close()
