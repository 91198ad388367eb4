"""Usage over time in the admin console (issue 16): uploads, deletions and stored bytes per
day, per user and for the platform, checked against a scripted set of uploads whose answer
is known; the per-file projection behind it rebuilds to the same rows. The usage view shows
each user's effective quota (an admin's override, else the plan's)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from mediaplane.catalog.adapters.projections import ACCOUNTS, USAGE_DAYS, checksum
from mediaplane.catalog.adapters.rebuild import rebuild
from mediaplane.catalog.config import CatalogSettings
from mediaplane.catalog.testing import FileStory
from mediaplane.contracts import (
    Event,
    EventContext,
    UserQuotaSet,
    UserRegistered,
    new_event,
)

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Litestar]
ADMIN = {"roles": ["admin"]}
HISTORY = "/v1/admin/usage/history"


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def user_event(cls: type[Event], user: uuid.UUID, at: datetime, **fields: Any) -> Event:
    context = EventContext(producer="identity", correlation_id="usage-history")
    return new_event(
        cls, stream_id=f"user-{user}", context=context, occurred_at=at, user_id=user, **fields
    )


def day_row(day: date, uploads: int, size: int, deletions: int, freed: int, stored: int) -> Any:
    return {
        "day": day.isoformat(),
        "uploads": uploads,
        "uploaded_bytes": size,
        "deletions": deletions,
        "freed_bytes": freed,
        "stored_bytes": stored,
    }


async def test_usage_over_time_matches_a_scripted_set_of_uploads_and_rebuilds_the_same(
    client: Client, auth: Any, ingest_events: Any, settings: CatalogSettings, pool: Any
) -> None:
    today = datetime.now(UTC).date()
    first, second = today - timedelta(days=2), today - timedelta(days=1)
    alice, bob = uuid.uuid4(), uuid.uuid4()
    a, b = str(alice), str(bob)
    # Alice: 100 and 200 bytes on the first day; 50 more and the 100 deleted on the second;
    # one upload rejected (never verified: counts nothing). Bob: 1000 bytes on the second.
    gone = FileStory(owner=a, size=100, start=noon(first)).opened().uploaded().verified()
    kept = FileStory(owner=a, size=200, start=noon(first)).opened().uploaded().verified()
    late = FileStory(owner=a, size=50, start=noon(second)).opened().uploaded().verified()
    bad = FileStory(owner=a, size=70, start=noon(second)).opened().uploaded().rejected()
    other = FileStory(owner=b, size=1000, start=noon(second)).opened().uploaded().verified()
    gone.start = noon(second)
    gone.deleted()
    accounts = [
        user_event(UserRegistered, alice, noon(first), role="user", plan="pro", via="open"),
        user_event(UserQuotaSet, alice, noon(second), files=5, changed_by="admin"),
        user_event(UserRegistered, bob, noon(first), role="user", plan="free", via="open"),
    ]
    stories = (gone, kept, late, bad, other)
    await ingest_events([e for story in stories for e in story.events] + accounts)
    root = auth("root", **ADMIN)

    async def history(**params: Any) -> list[Any]:
        answer = await client.get(HISTORY, params=params, headers=root)
        assert answer.status_code == 200, answer.text
        return list(answer.json()["days"])

    assert await history(owner=a) == [
        day_row(first, 2, 300, 0, 0, 300),
        day_row(second, 1, 50, 1, 100, 250),
    ]
    assert await history(owner=b) == [day_row(second, 1, 1000, 0, 0, 1000)]
    assert await history() == [
        day_row(first, 2, 300, 0, 0, 300),
        day_row(second, 2, 1050, 1, 100, 1250),
    ]
    # A shorter window still reports the bytes stored since the start.
    assert await history(owner=a, days=2) == [day_row(second, 1, 50, 1, 100, 250)]
    assert await history(owner=f"nobody-{uuid.uuid4()}") == []
    for days in (0, 367, "x"):
        refused = await client.get(HISTORY, params={"days": days}, headers=root)
        assert (refused.status_code, refused.json()["code"]) == (400, "invalid_request"), days

    # The effective quota: Alice's override of files over pro's bytes; Bob's plan's own.
    usage = (await client.get("/v1/admin/usage", headers=root)).json()["items"]
    quotas = {u["owner"]: u["quota"] for u in usage}
    plans = settings.plans.quotas
    assert quotas[a] == {
        "files": 5,
        "bytes": plans["pro"].bytes,
        "override_files": 5,
        "override_bytes": None,
    }
    assert quotas[b] == {
        "files": plans["free"].files,
        "bytes": plans["free"].bytes,
        "override_files": None,
        "override_bytes": None,
    }

    # A rebuild from the ledger gives the same rows.
    async with pool.connection() as conn:
        before = [await checksum(conn, p.name) for p in (USAGE_DAYS, ACCOUNTS)]
    await rebuild(settings.database_url, [USAGE_DAYS.name, ACCOUNTS.name])
    async with pool.connection() as conn:
        after = [await checksum(conn, p.name) for p in (USAGE_DAYS, ACCOUNTS)]
    assert after == before
    assert before[0][0] == 5  # one row per file and day: the deleted file has two
