"""Per-owner token buckets in the API's own Postgres, so every replica takes from one bucket.

A bucket is one row of `rate_buckets` (migration `RATE_LIMIT_MIGRATIONS`, which
each API applies with its own). Taking a token is one upsert: its row lock
serialises an owner's concurrent requests across replicas, and the refill is
computed from the row's last refill, so no process keeps the bucket in memory.

A process does not make that round trip for every request: it takes a lease of
up to `k` tokens at once and spends them locally (`rate_lease.py`, which bounds
what that adds to the limit: at most `k` per process).

A token's commit does not wait for the WAL to reach the disk
(`synchronous_commit` off for that one statement's transaction): a crash may forget
the last few hundred milliseconds of takes, which only leaves an owner more
tokens, and every request no longer waits for an fsync that, while another
writer fills the WAL (a catalog ingest), costs more than the query itself.
"""

from __future__ import annotations

import asyncio
import math
import os
from dataclasses import dataclass

from mediaplane.eventlog.database import Pool
from mediaplane.eventlog.migrator import MigrationSource
from mediaplane.servicekit.errors import ProblemError
from mediaplane.servicekit.rate_lease import Ask, Leases

RATE_LIMIT_MIGRATIONS = MigrationSource.from_package(
    "servicekit", "mediaplane.servicekit.migrations"
)

# A lease takes between `need` and `want` whole tokens (as many as the bucket
# holds, up to `want`) and says how many in `leased`. A new owner starts with
# a full bucket less its lease. An old one is refilled for the time since its
# last refill (never negative: another transaction may have stamped a later
# time), capped at the burst, and gives its lease only when at least `need`
# whole tokens are there; otherwise no row comes back (nor for a need above the
# burst, which no bucket ever holds). The statement is its own transaction, and
# `set_config(..., true)` lasts until its commit: that commit does not wait for
# the WAL's fsync (see the module's doc).
_FILL = """least(%(burst)s, b.tokens
        + greatest(0, extract(epoch FROM now() - b.refilled_at)) * %(rate)s)"""
_TAKE = f"""
INSERT INTO rate_buckets AS b (owner, tokens, refilled_at, leased)
SELECT %(owner)s, %(burst)s - least(%(want)s, %(burst)s), now(), least(%(want)s, %(burst)s)
FROM (SELECT set_config('synchronous_commit', 'off', true)) AS no_fsync_wait
WHERE %(need)s <= %(burst)s
ON CONFLICT (owner) DO UPDATE
SET leased = least(%(want)s, floor({_FILL})),
    tokens = {_FILL} - least(%(want)s, floor({_FILL})),
    refilled_at = greatest(now(), b.refilled_at)
WHERE {_FILL} >= %(need)s
RETURNING leased
"""

_LEFT = """
SELECT least(%(burst)s, tokens
        + greatest(0, extract(epoch FROM now() - refilled_at)) * %(rate)s)
FROM rate_buckets WHERE owner = %(owner)s
"""


@dataclass(frozen=True, kw_only=True)
class RateLimit:
    """Token bucket per owner: `burst` requests at once, refilled at `per_second`.

    A process leases up to `lease` tokens per round trip, for `lease_seconds`
    (`rate_lease.py`); never more than a quarter of the burst, so a small
    bucket is not held by one replica (a burst under eight leases one token,
    exactly as without leases).
    """

    per_second: float = 20.0
    burst: int = 40
    lease: int = 10
    lease_seconds: float = 2.0

    @property
    def lease_tokens(self) -> int:
        """`k`: the most tokens one process holds of an owner's bucket."""
        return max(1, min(self.lease, self.burst // 4))

    @classmethod
    def from_env(cls) -> RateLimit:
        return cls(
            per_second=float(os.environ.get("MEDIAPLANE_RATE_PER_SECOND", 20.0)),
            burst=int(os.environ.get("MEDIAPLANE_RATE_BURST", 40)),
            lease=int(os.environ.get("MEDIAPLANE_RATE_LEASE", 10)),
            lease_seconds=float(os.environ.get("MEDIAPLANE_RATE_LEASE_SECONDS", 2.0)),
        )


class RateLimited(ProblemError):
    code = "rate_limited"
    status = 429
    title = "Too many requests"


class OwnerRateLimiter:
    """`check(owner)` per request; `use(pool)` once the API's database pool is open.

    `purpose` keeps the buckets of different limits of one database apart (the
    thumbnailer limits requests, and new variants per owner besides). A request
    the process's lease for its owner pays makes no round trip.
    """

    def __init__(self, limit: RateLimit, *, purpose: str = "requests") -> None:
        self._limit = limit
        self._purpose = purpose
        self._pool: Pool | None = None
        self._leases = Leases(limit.lease_tokens, limit.lease_seconds)
        # One take per owner in flight per process (what bounds its lease to k):
        # the key's lock and how many requests wait on it.
        self._takes: dict[str, tuple[asyncio.Lock, list[int]]] = {}

    def use(self, pool: Pool) -> None:
        self._pool = pool

    async def check(self, owner: str, cost: int = 1) -> None:
        """Take `cost` tokens (one per request; the beacon budget counts beacons) for
        `owner`, or raise RateLimited with the seconds to wait (nothing taken)."""
        pool = self._pool
        if pool is None:
            raise RuntimeError("the rate limiter has no database: call use(pool) at start-up")
        key = f"{self._purpose}/{owner}"
        if self._leases.spend(key, cost):
            return
        lock, waiting = self._takes.setdefault(key, (asyncio.Lock(), [0]))
        waiting[0] += 1
        try:
            async with lock:
                if self._leases.spend(key, cost):  # another request's take paid for this
                    return
                await self._take(pool, key, self._leases.ask(key, cost), cost)
        finally:
            waiting[0] -= 1
            if not waiting[0]:
                del self._takes[key]

    async def _take(self, pool: Pool, key: str, ask: Ask, cost: int) -> None:
        params = {
            "owner": key,
            "burst": self._limit.burst,
            "rate": self._limit.per_second,
            "need": ask.need,
            "want": ask.want,
        }
        async with pool.connection() as conn:
            taken = await (await conn.execute(_TAKE, params)).fetchone()
            if taken is not None:
                self._leases.grant(key, int(taken[0]), cost)
                return
            row = await (await conn.execute(_LEFT, params)).fetchone()
        tokens = float(row[0]) if row is not None else 0.0
        wait = math.ceil((ask.need - tokens) / self._limit.per_second)
        raise RateLimited(
            f"at most {self._limit.per_second:g} requests/s per owner", retry_after=max(wait, 1)
        )
