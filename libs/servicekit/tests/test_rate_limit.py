"""The per-owner rate limit, kept in Postgres: replicas of an API share one bucket per owner."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Sequence

import psycopg
import pytest

from mediaplane.eventlog.database import Pool, open_pool
from mediaplane.eventlog.migrator import migrate
from mediaplane.servicekit.rate_limit import (
    RATE_LIMIT_MIGRATIONS,
    OwnerRateLimiter,
    RateLimit,
    RateLimited,
)

pytestmark = pytest.mark.integration

# No refill to speak of during a test: what is admitted is the burst, exactly.
STILL = RateLimit(per_second=0.001, burst=5)


@pytest.fixture
async def pools(pg_url: str) -> AsyncIterator[tuple[Pool, Pool]]:
    """Two pools on one database: what two replicas of an API hold."""
    await migrate(pg_url, [RATE_LIMIT_MIGRATIONS])
    first = await open_pool(pg_url, max_size=10)
    second = await open_pool(pg_url, max_size=10)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


def replica(pool: Pool, limit: RateLimit) -> OwnerRateLimiter:
    limiter = OwnerRateLimiter(limit)
    limiter.use(pool)
    return limiter


async def outcomes(checks: Sequence[Awaitable[None]]) -> tuple[int, list[RateLimited]]:
    results = await asyncio.gather(*checks, return_exceptions=True)
    refused = [r for r in results if isinstance(r, RateLimited)]
    unexpected = [r for r in results if isinstance(r, BaseException) and r not in refused]
    assert unexpected == []
    return len(results) - len(refused), refused


async def test_two_replicas_admit_one_burst_together(pools: tuple[Pool, Pool]) -> None:
    a, b = (replica(pool, STILL) for pool in pools)
    for _ in range(2):
        await a.check("alice")
        await b.check("alice")
    await a.check("alice")  # the fifth token, whichever replica takes it
    for limiter in (a, b):
        with pytest.raises(RateLimited) as refused:
            await limiter.check("alice")
        assert (refused.value.retry_after or 0) >= 1
    await b.check("bob")  # owners have buckets of their own


async def test_concurrent_requests_on_two_replicas_never_exceed_the_burst(
    pools: tuple[Pool, Pool],
) -> None:
    a, b = (replica(pool, STILL) for pool in pools)
    checks = [limiter.check("carol") for _ in range(20) for limiter in (a, b)]
    admitted, refused = await outcomes(checks)
    assert (admitted, len(refused)) == (5, 35)


async def test_the_bucket_refills_with_time_and_says_how_long_to_wait(
    pools: tuple[Pool, Pool], pg_url: str
) -> None:
    limiter = replica(pools[0], RateLimit(per_second=2, burst=3))
    for _ in range(3):
        await limiter.check("alice")
    with pytest.raises(RateLimited) as refused:
        await limiter.check("alice")
    assert refused.value.retry_after == 1
    assert "at most 2 requests/s per owner" in str(refused.value)
    # Half a second passes (the bucket's last refill moves back): one token is back, not two.
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE rate_buckets SET refilled_at = refilled_at - interval '0.5 s'")
    await limiter.check("alice")
    with pytest.raises(RateLimited):
        await limiter.check("alice")


async def test_a_limiter_without_its_database_refuses_to_guess() -> None:
    with pytest.raises(RuntimeError, match="no database"):
        await OwnerRateLimiter(STILL).check("alice")


async def test_a_cost_takes_that_many_tokens_on_any_replica(pools: tuple[Pool, Pool]) -> None:
    a, b = (replica(pool, STILL) for pool in pools)
    await a.check("dave", cost=3)
    with pytest.raises(RateLimited) as refused:
        await b.check("dave", cost=3)  # two are left: nothing is taken
    assert (refused.value.retry_after or 0) >= 1
    await b.check("dave", cost=2)
    with pytest.raises(RateLimited):
        await a.check("dave")
    with pytest.raises(RateLimited):
        await a.check("erin", cost=6)  # more than the burst: never, and no bucket is made
    await a.check("erin", cost=5)


async def test_two_leasing_replicas_never_admit_more_than_the_limit_and_two_leases(
    pools: tuple[Pool, Pool],
) -> None:
    """Each replica spends leases of up to k tokens locally: over any window of w seconds
    the two together admit at most burst + per_second * w + 2k."""
    limit = RateLimit(per_second=40, burst=40, lease=10)
    k = limit.lease_tokens
    assert k == 10
    a, b = (replica(pool, limit) for pool in pools)
    admitted: list[float] = []
    refused = 0
    loop = asyncio.get_running_loop()
    until = loop.time() + 1.5

    async def ask(limiter: OwnerRateLimiter) -> None:
        nonlocal refused
        while loop.time() < until:
            try:
                await limiter.check("frank")
            except RateLimited:
                refused += 1
                await asyncio.sleep(0.005)
            else:
                admitted.append(loop.time())

    await asyncio.gather(*(ask(limiter) for limiter in (a, b) for _ in range(4)))
    assert refused > 0  # the bucket was spent
    assert len(admitted) > limit.burst  # and refilled
    window = 0.5
    most = max(sum(1 for t in admitted if start <= t <= start + window) for start in admitted)
    assert most <= limit.burst + limit.per_second * window + 2 * k
