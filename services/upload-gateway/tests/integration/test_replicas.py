"""Two gateway replicas (two apps, two pools) on one database share one rate limit and quota.

Neither is kept in a process's memory: the rate limit is a bucket per owner in
the gateway's Postgres (servicekit `rate_limit.py`) and quota admission reads
usage under the owner's advisory lock in the transaction that appends
`upload.session.opened`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from mediaplane.domain.quota import Plans, Quota
from mediaplane.servicekit.rate_limit import RateLimit
from mediaplane.upload_gateway.api.app import create_app
from mediaplane.upload_gateway.app.bootstrap import apply_migrations
from mediaplane.upload_gateway.config import GatewaySettings
from mediaplane.upload_gateway.domain.policy import MiB, UploadLimits

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Litestar]
UNKNOWN = "/v1/uploads/00000000-0000-0000-0000-000000000000"


async def replicas(settings: GatewaySettings, exits: AsyncExitStack) -> list[Client]:
    """Two running gateway APIs on the same database, bucket and stream."""
    await apply_migrations(settings)
    return [
        await exits.enter_async_context(AsyncTestClient(app=create_app(settings))) for _ in range(2)
    ]


@pytest.fixture
async def exits() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as exits:
        yield exits


def statuses(responses: list[httpx.Response]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for response in responses:
        counts[response.status_code] = counts.get(response.status_code, 0) + 1
    return counts


async def test_two_replicas_enforce_one_rate_limit_together(
    make_gateway_settings: Callable[..., GatewaySettings], auth: Any, exits: AsyncExitStack
) -> None:
    settings = make_gateway_settings(rate_limit=RateLimit(per_second=0.001, burst=6))
    first, second = await replicas(settings, exits)
    # Taking turns: six requests in all get through, not six per replica.
    answers = [
        await client.get(UNKNOWN, headers=auth()) for _ in range(5) for client in (first, second)
    ]
    assert [a.status_code for a in answers] == [404] * 6 + [429] * 4
    limited = answers[-1]
    assert limited.headers["content-type"].startswith("application/problem+json")
    assert limited.json()["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1
    # At once, on both: bob's burst is still six.
    at_once = await asyncio.gather(
        *(client.get(UNKNOWN, headers=auth("bob")) for _ in range(10) for client in (first, second))
    )
    assert statuses(list(at_once)) == {404: 6, 429: 14}


async def test_concurrent_opens_on_two_replicas_never_overshoot_the_quota(
    make_gateway_settings: Callable[..., GatewaySettings],
    auth: Any,
    event_types: Any,
    exits: AsyncExitStack,
) -> None:
    settings = make_gateway_settings(
        limits=UploadLimits(single_put_max=5 * MiB, part_size=5 * MiB),
        plans=Plans.only(Quota(files=100, bytes=10 * MiB)),
    )
    first, second = await replicas(settings, exits)
    body = {"filename": "a.png", "size": 3 * MiB, "content_type": "image/png"}
    opens = await asyncio.gather(
        *(
            client.post("/v1/uploads", headers=auth(), json=body)
            for _ in range(8)
            for client in (first, second)
        )
    )
    # 10 MiB of quota hold three 3 MiB uploads, whichever replica opened them.
    assert statuses(list(opens)) == {201: 3, 413: 13}
    assert {o.json()["code"] for o in opens if o.status_code == 413} == {"quota_exceeded"}
    assert event_types().count("upload.session.opened.v1") == 3
