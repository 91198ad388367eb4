"""Per-owner token buckets in the API's own Postgres, so every replica takes from one bucket.

A bucket is one row of `rate_buckets` (migration `RATE_LIMIT_MIGRATIONS`, which
each API applies with its own). Taking a token is one upsert: its row lock
serialises an owner's concurrent requests across replicas, and the refill is
computed from the row's last refill, so no process keeps any of it in memory.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from mediaplane.eventlog.database import Pool
from mediaplane.eventlog.migrator import MigrationSource
from mediaplane.servicekit.errors import ProblemError

RATE_LIMIT_MIGRATIONS = MigrationSource.from_package(
    "servicekit", "mediaplane.servicekit.migrations"
)

# A new owner starts with a full bucket less this request's cost. An old one
# is refilled for the time since its last refill (never negative: another
# transaction may have stamped a later time), capped at the burst, and pays
# the cost only when that many whole tokens are there; otherwise no row comes
# back (nor for a cost above the burst, which no bucket ever holds).
_TAKE = """
INSERT INTO rate_buckets AS b (owner, tokens, refilled_at)
SELECT %(owner)s, %(burst)s - %(cost)s, now() WHERE %(cost)s <= %(burst)s
ON CONFLICT (owner) DO UPDATE
SET tokens = least(%(burst)s, b.tokens
        + greatest(0, extract(epoch FROM now() - b.refilled_at)) * %(rate)s) - %(cost)s,
    refilled_at = greatest(now(), b.refilled_at)
WHERE least(%(burst)s, b.tokens
        + greatest(0, extract(epoch FROM now() - b.refilled_at)) * %(rate)s) >= %(cost)s
RETURNING tokens
"""

_LEFT = """
SELECT least(%(burst)s, tokens
        + greatest(0, extract(epoch FROM now() - refilled_at)) * %(rate)s)
FROM rate_buckets WHERE owner = %(owner)s
"""


@dataclass(frozen=True, kw_only=True)
class RateLimit:
    """Token bucket per owner: `burst` requests at once, refilled at `per_second`."""

    per_second: float = 20.0
    burst: int = 40

    @classmethod
    def from_env(cls) -> RateLimit:
        return cls(
            per_second=float(os.environ.get("MEDIAPLANE_RATE_PER_SECOND", 20.0)),
            burst=int(os.environ.get("MEDIAPLANE_RATE_BURST", 40)),
        )


class RateLimited(ProblemError):
    code = "rate_limited"
    status = 429
    title = "Too many requests"


class OwnerRateLimiter:
    """`check(owner)` per request; `use(pool)` once the API's database pool is open.

    `purpose` keeps the buckets of different limits of one database apart (the
    thumbnailer limits requests, and new variants per owner besides).
    """

    def __init__(self, limit: RateLimit, *, purpose: str = "requests") -> None:
        self._limit = limit
        self._purpose = purpose
        self._pool: Pool | None = None

    def use(self, pool: Pool) -> None:
        self._pool = pool

    async def check(self, owner: str, cost: int = 1) -> None:
        """Take `cost` tokens (one per request; the beacon budget counts beacons) for
        `owner`, or raise RateLimited with the seconds to wait (nothing taken)."""
        if self._pool is None:
            raise RuntimeError("the rate limiter has no database: call use(pool) at start-up")
        key = f"{self._purpose}/{owner}"
        params = {
            "owner": key,
            "burst": self._limit.burst,
            "rate": self._limit.per_second,
            "cost": cost,
        }
        async with self._pool.connection() as conn:
            taken = await (await conn.execute(_TAKE, params)).fetchone()
            if taken is not None:
                return
            row = await (await conn.execute(_LEFT, params)).fetchone()
        tokens = float(row[0]) if row is not None else 0.0
        wait = math.ceil((cost - tokens) / self._limit.per_second)
        raise RateLimited(
            f"at most {self._limit.per_second:g} requests/s per owner", retry_after=max(wait, 1)
        )
