"""Tokens a process has taken from the shared buckets ahead of its requests (a lease).

Taking one token per request from the bucket in Postgres costs a round trip per
request. A process takes up to `k` tokens at once instead and spends them
locally; only when its lease is spent (or expired) does a request go to the
database. The bucket in Postgres still counts every token, so the shared limit
holds, loosened by what is leased but not yet spent: over any window of `w`
seconds an owner is admitted at most `burst + per_second * w + k * processes`.

A lease expires `seconds` after it is taken, and what is left of it is dropped
(given back to no one: the bucket refills it), so a process never sits on an
owner's tokens for long. Its size follows demand: it starts at one token,
doubles each time a lease is spent before it expires, and after one expires it
is what that lease had spent (at least one, at most `k`). An owner who sends a
request now and then takes one token per request, as without leases, and wastes
none; one who sends many makes one round trip per `k` requests.

Pure: no I/O, the clock is injected.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Lease:
    tokens: int = 0  # left to spend
    granted: int = 0  # tokens this lease started with
    size: int = 1  # tokens the next take asks for
    expires: float = 0.0


@dataclass(frozen=True)
class Ask:
    """What to take from the bucket: at least `need` tokens (this request's cost less what
    is left of the lease), up to `want` (the lease's size), or nothing."""

    need: int
    want: int


class Leases:
    """Per key (`<purpose>/<owner>`): the tokens left of the current lease."""

    def __init__(
        self, most: int, seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if most < 1 or seconds <= 0:
            raise ValueError("a lease holds at least one token for some time")
        self.most = most
        self._seconds = seconds
        self._clock = clock
        self._leases: dict[str, _Lease] = {}
        self._pruned_at = clock()

    def spend(self, key: str, cost: int) -> bool:
        """Spend `cost` tokens of `key`'s lease, if it holds that many and has not expired."""
        lease = self._leases.get(key)
        if lease is None or lease.tokens < cost or self._clock() >= lease.expires:
            return False
        lease.tokens -= cost
        return True

    def ask(self, key: str, cost: int) -> Ask:
        """What to take for a request of `cost` the lease cannot pay."""
        now = self._clock()
        lease = self._leases.setdefault(key, _Lease())
        if now >= lease.expires:
            if lease.granted:
                lease.size = self._bounded(lease.granted - lease.tokens)
            lease.tokens = lease.granted = 0
        elif lease.granted:
            lease.size = self._bounded(lease.size * 2)  # spent before it expired
        need = cost - lease.tokens
        return Ask(need=need, want=max(need, lease.size))

    def grant(self, key: str, taken: int, cost: int) -> None:
        """Record that `taken` tokens (at least the ask's `need`) came back, and spend `cost`."""
        now = self._clock()
        lease = self._leases.setdefault(key, _Lease())
        lease.granted = lease.tokens + taken  # what ask() left of the last lease, and the take
        lease.tokens = lease.granted - cost
        lease.expires = now + self._seconds
        self._prune(now)

    def held(self, key: str) -> int:
        """Tokens `key`'s lease has left to spend (none once it has expired)."""
        lease = self._leases.get(key)
        return lease.tokens if lease is not None and self._clock() < lease.expires else 0

    def _bounded(self, size: int) -> int:
        return max(1, min(self.most, size))

    def _prune(self, now: float) -> None:
        # Owners come and go: forget leases long expired, at most once per lease time.
        if now - self._pruned_at < self._seconds:
            return
        self._pruned_at = now
        stale = now - 10 * self._seconds
        for key in [k for k, lease in self._leases.items() if lease.expires < stale]:
            del self._leases[key]
