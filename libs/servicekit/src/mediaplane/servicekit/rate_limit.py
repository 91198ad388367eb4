"""Per-owner token buckets (in this process: a replica limits its own share)."""

from __future__ import annotations

import math
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from mediaplane.servicekit.errors import ProblemError

_MAX_OWNERS = 100_000


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
    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = limit
        self._clock = clock
        # owner -> (tokens, last refill); least recently used owners are forgotten first.
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def check(self, owner: str) -> None:
        """Take one token for `owner` or raise RateLimited with the seconds to wait."""
        now = self._clock()
        tokens, last = self._buckets.pop(owner, (float(self._limit.burst), now))
        tokens = min(float(self._limit.burst), tokens + (now - last) * self._limit.per_second)
        if tokens < 1:
            self._buckets[owner] = (tokens, now)
            wait = math.ceil((1 - tokens) / self._limit.per_second)
            raise RateLimited(
                f"at most {self._limit.per_second:g} requests/s per owner", retry_after=max(wait, 1)
            )
        self._buckets[owner] = (tokens - 1, now)
        if len(self._buckets) > _MAX_OWNERS:
            self._buckets.popitem(last=False)
