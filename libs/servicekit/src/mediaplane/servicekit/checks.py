"""The readiness checks every service uses, named the same everywhere.

`/health/ready` reports them by name: `postgres`, `nats`, `s3`, `ffmpeg` (and
whatever a service adds, e.g. the catalog's `changes`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from mediaplane.bus import BusSettings
from mediaplane.bus.health import ping as ping_nats
from mediaplane.eventlog.database import Pool
from mediaplane.eventlog.database import ping as ping_database
from mediaplane.observability.health import Check
from mediaplane.servicekit import children
from mediaplane.storage import ObjectNotFound, ObjectStore

# A key nobody writes: reading it proves the bucket answers, without writing anything.
_PROBE_KEY = ".health-check"


def postgres(pool: Pool) -> Check:
    """The pool hands out a connection that answers."""
    return partial(ping_database, pool)


def nats(bus: BusSettings) -> Check:
    """The NATS server accepts this service's identity."""
    return partial(ping_nats, bus)


def s3(objects: ObjectStore, bucket: str) -> Check:
    """`bucket` answers a read (any answer but "no such object" is a failure).

    A read, not a create: readiness must not need more rights than the role.
    """

    async def check() -> None:
        try:
            await objects.stat(bucket, _PROBE_KEY)
        except ObjectNotFound:
            return

    return check


def ffmpeg(tools: Sequence[str]) -> Check:
    """Every media tool runs (`<tool> -version` exits 0): an image that lost its
    encoder must not take jobs."""

    async def check() -> None:
        for tool in tools:
            completed = await children.run([tool, "-version"])
            if completed.returncode != 0:
                raise RuntimeError(f"{tool} -version exited with {completed.returncode}")

    return check
