"""Beacons through the real API, JetStream and Postgres: validation, a scripted set of views
with a known answer, refusals, and a rebuild from the beacon stream giving the same numbers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from mediaplane.analytics.adapters.files import record_files
from mediaplane.analytics.api.app import create_app
from mediaplane.analytics.app.rollup import rebuild, roll_up
from mediaplane.analytics.config import AnalyticsSettings
from mediaplane.analytics.domain.files import FileFacts
from mediaplane.analytics.worker.consumers import register_rollup
from mediaplane.bus import Bus
from mediaplane.bus.replay import read_stream
from mediaplane.contracts import build_beacon_registry
from mediaplane.eventlog.database import Pool

pytestmark = pytest.mark.integration

FILE = uuid.uuid4()
SILENT = uuid.uuid4()  # verified, never transcoded
BOBS = uuid.uuid4()


@pytest.fixture
async def files(pool: Pool) -> None:
    async with pool.connection() as conn:
        await record_files(
            conn,
            [
                FileFacts(file_id=FILE, owner="alice", duration=60.0),
                FileFacts(file_id=SILENT, owner="alice"),
                FileFacts(file_id=BOBS, owner="bob", duration=10.0),
            ],
        )


@pytest.fixture
async def rollup(settings: AnalyticsSettings, pool: Pool) -> AsyncIterator[None]:
    registry = build_beacon_registry(settings.beacons.subject_root)
    bus = Bus(settings.beacons, registry, producer="analytics-test")
    register_rollup(bus, pool, registry, batch_size=100)
    async with bus.running():
        yield


def _base() -> datetime:
    """Fifteen minutes ago, moved so that the scripted two minutes stay on one day."""
    base = datetime.now(UTC) - timedelta(minutes=15)
    if (base + timedelta(minutes=2)).date() != base.date():
        base -= timedelta(minutes=3)
    return base.replace(microsecond=0)


def b(kind: str, at: datetime, position: float, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "at": at.isoformat(), "position": position, **extra}


def batch(view: uuid.UUID, file_id: uuid.UUID, *beacons: dict[str, Any]) -> dict[str, Any]:
    return {"view_id": str(view), "file_id": str(file_id), "beacons": list(beacons)}


Client = AsyncTestClient[Litestar]


async def _views(pool: Pool) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) FROM applied_batches")
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def _rollups(pool: Pool) -> dict[str, list[tuple[Any, ...]]]:
    tables = {
        "views": "SELECT * FROM views ORDER BY view_id",
        "file_day": "SELECT * FROM file_day ORDER BY file_id, day",
        "owner_day": "SELECT * FROM owner_day ORDER BY owner, day",
        "platform_day": "SELECT * FROM platform_day ORDER BY day",
    }
    async with pool.connection() as conn:
        return {name: await (await conn.execute(q)).fetchall() for name, q in tables.items()}


async def _script(client: Client, auth: Any, t0: datetime) -> None:
    """Three views of FILE (60 s): alice twice, an admin once in two batches."""
    a, r, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    s = timedelta(seconds=1)
    alice, root = auth("alice"), auth("root", roles=["admin"])
    sent = [
        (alice, batch(a, FILE,
            b("view_start", t0, 0, rendition="360p", startup_ms=800),
            b("heartbeat", t0 + 5 * s, 5, rendition="360p"),
            b("rendition_change", t0 + 10 * s, 10, rendition="720p"),
            b("rebuffer_start", t0 + 20 * s, 20),
            b("rebuffer_end", t0 + 22 * s, 20),
            b("heartbeat", t0 + 30 * s, 28, rendition="720p"),
            b("view_end", t0 + 40 * s, 38))),
        (root, batch(r, FILE,
            b("view_start", t0 + 60 * s, 0, rendition="360p", startup_ms=1200),
            b("heartbeat", t0 + 65 * s, 5, rendition="360p"),
            b("error", t0 + 66 * s, 6, error="fragLoadError"))),
        (root, batch(r, FILE,
            b("heartbeat", t0 + 70 * s, 10, rendition="360p"),
            b("view_end", t0 + 75 * s, 15))),
        (alice, batch(c, FILE,
            b("view_start", t0 + 80 * s, 0, rendition="720p", startup_ms=1000),
            b("view_end", t0 + 84 * s, 60.5))),
    ]  # fmt: skip
    for headers, body in sent:
        response = await client.post("/v1/analytics/beacons", json=body, headers=headers)
        assert response.status_code == 202, response.text


async def _settled(pool: Pool, batches: int) -> None:
    """Until the rollup worker folded `batches` (polling its table: nothing to wait on)."""
    while await _views(pool) < batches:  # noqa: ASYNC110
        await asyncio.sleep(0.05)


async def test_scripted_views_give_the_known_numbers_and_a_rebuild_gives_them_again(
    client: Client, auth: Any, files: None, rollup: None, pool: Pool, settings: AnalyticsSettings
) -> None:
    t0 = _base()
    await _script(client, auth, t0)
    await _settled(pool, 4)

    response = await client.get(f"/v1/analytics/files/{FILE}", headers=auth("alice"))
    assert response.status_code == 200, response.text
    body = response.json()
    totals = body["totals"]
    assert totals == {
        "views": 3,
        "viewers": 2,
        "watch_seconds": 59.0,
        "average_view_seconds": round(59 / 3, 3),
        "average_startup_ms": 1000.0,
        "rebuffer_ratio": round(2 / 59, 4),
        "error_rate": round(1 / 3, 4),
        "rendition_seconds": {"360p": 25.0, "720p": 32.0},
    }
    assert [d["day"] for d in body["days"]] == [t0.date().isoformat()]
    assert body["days"][0]["measures"]["viewers"] == 2
    curve = {round(p["fraction"], 2): p["percent"] for p in body["retention"]}
    assert curve[0.0] == 100.0
    assert curve[0.25] == 100.0  # 15 s: every view got there
    assert curve[0.3] == 66.67  # 18 s: the admin's view had ended at 15 s
    assert curve[0.65] == 33.33  # 39 s: only the view to the end
    assert curve[1.0] == 33.33

    platform = await client.get("/v1/analytics/platform", headers=auth("root", roles=["admin"]))
    assert platform.status_code == 200
    assert platform.json()["totals"]["views"] == 3
    worst = await client.get("/v1/analytics/worst-files", headers=auth("root", roles=["admin"]))
    assert [f["file_id"] for f in worst.json()["files"]] == [str(FILE)]

    before = await _rollups(pool)
    report = await rebuild(
        pool, build_beacon_registry(settings.beacons.subject_root), settings.beacons
    )
    assert (report.messages, report.applied) == (4, 4)
    assert await _rollups(pool) == before


async def test_a_redelivered_batch_is_folded_once(
    client: Client, auth: Any, files: None, rollup: None, pool: Pool, settings: AnalyticsSettings
) -> None:
    t0 = _base()
    await _script(client, auth, t0)
    await _settled(pool, 4)
    before = await _rollups(pool)
    registry = build_beacon_registry(settings.beacons.subject_root)

    async for stored in read_stream(settings.beacons, name="again", from_seq=1):
        assert await roll_up(pool, [registry.decode(m.data) for m in stored]) == 0  # type: ignore[misc]
    assert await _rollups(pool) == before


NOW = datetime.now(UTC)


def _v() -> uuid.UUID:
    return uuid.uuid4()


def _one(t: datetime, position: float = 1.0, **extra: Any) -> dict[str, Any]:
    return batch(uuid.uuid4(), FILE, b("heartbeat", t, position, **extra))


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"view_id": "x", "file_id": str(FILE), "beacons": []}, 400, "invalid_request"),
        (batch(_v(), FILE, {**b("heartbeat", NOW, 1), "kind": "pause"}), 400, "invalid_request"),
        (batch(_v(), FILE, {**b("heartbeat", NOW, 1), "url": "x"}), 400, "invalid_request"),
        (batch(_v(), FILE, b("heartbeat", NOW, -1)), 400, "invalid_request"),
        (batch(_v(), FILE, b("heartbeat", NOW, 1, rendition="7 20p")), 400, "invalid_request"),
        (batch(_v(), FILE, *[b("heartbeat", NOW, 1)] * 101), 400, "invalid_request"),
        (_one(NOW, position=75), 422, "position_beyond_duration"),
        (_one(NOW + timedelta(days=1)), 422, "future_timestamp"),
        (_one(NOW - timedelta(days=2)), 422, "stale_timestamp"),
        (batch(_v(), _v(), b("heartbeat", NOW, 1)), 404, "unknown_file"),
        (batch(_v(), BOBS, b("heartbeat", NOW, 1)), 404, "unknown_file"),
        (batch(_v(), SILENT, b("heartbeat", NOW, 1)), 409, "not_playable"),
    ],
)  # fmt: skip
async def test_bad_beacons_are_refused_with_a_code(
    client: Client, auth: Any, files: None, body: dict[str, Any], status: int, code: str
) -> None:
    response = await client.post("/v1/analytics/beacons", json=body, headers=auth("alice"))
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


async def test_a_flood_of_beacons_from_one_viewer_is_refused(
    client: Client, auth: Any, files: None
) -> None:
    now = datetime.now(UTC)
    flood = batch(uuid.uuid4(), FILE, *[b("heartbeat", now, 1)] * 100)
    answers = [
        (await client.post("/v1/analytics/beacons", json=flood, headers=auth("alice")))
        for _ in range(4)
    ]
    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    assert answers[3].json()["code"] == "beacon_flood"
    assert int(answers[3].headers["retry-after"]) >= 1
    # Another viewer has a budget of its own.
    other = await client.post(
        "/v1/analytics/beacons", json=flood, headers=auth("root", roles=["admin"])
    )
    assert other.status_code == 202


async def test_two_api_replicas_share_one_beacon_budget_per_viewer(
    settings: AnalyticsSettings, client: Client, auth: Any, files: None
) -> None:
    """The budget is in Postgres (`rate_buckets`), not in a process: a second API
    on the same database spends from the same 300 beacons."""
    flood = batch(uuid.uuid4(), FILE, *[b("heartbeat", datetime.now(UTC), 1)] * 100)
    async with AsyncTestClient(app=create_app(settings)) as other:
        replicas = [client, other, client, other]
        answers = [
            await replica.post("/v1/analytics/beacons", json=flood, headers=auth("alice"))
            for replica in replicas
        ]
        assert [a.status_code for a in answers] == [202, 202, 202, 429]
        refused = await other.post("/v1/analytics/beacons", json=flood, headers=auth("alice"))
    assert refused.status_code == 429
    assert refused.json()["code"] == "beacon_flood"


async def test_beacons_need_a_bearer_token_in_the_header(client: Client, files: None) -> None:
    response = await client.post("/v1/analytics/beacons", json=_one(datetime.now(UTC)))
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


async def test_refusals_of_the_reports(client: Client, auth: Any, files: None) -> None:
    other = await client.get(f"/v1/analytics/files/{FILE}", headers=auth("bob"))
    assert (other.status_code, other.json()["code"]) == (404, "unknown_file")
    for path in ("/v1/analytics/platform", "/v1/analytics/worst-files"):
        refused = await client.get(path, headers=auth("alice"))
        assert (refused.status_code, refused.json()["code"]) == (403, "role_required")
        moderator = await client.get(path, headers=auth("mo", roles=["moderator"]))
        assert moderator.status_code == 403
        assert (await client.get(path, headers=auth("root", roles=["admin"]))).status_code == 200
    # A provider's token without the files:read scope reaches no analytics route.
    narrow = await client.get(
        f"/v1/analytics/files/{FILE}", headers=auth("alice", scope="uploads:write")
    )
    assert (narrow.status_code, narrow.json()["code"]) == (403, "scope_insufficient")
    admin = await client.get(f"/v1/analytics/files/{FILE}", headers=auth("root", roles=["admin"]))
    assert admin.status_code == 200
    assert admin.json()["totals"]["views"] == 0


async def _viewer_sets(pool: Pool) -> dict[str, list[tuple[Any, ...]]]:
    tables = {
        "owner_day_viewers": "SELECT * FROM owner_day_viewers ORDER BY day, owner, viewer",
        "platform_day_viewers": "SELECT * FROM platform_day_viewers ORDER BY day, viewer",
    }
    async with pool.connection() as conn:
        return {name: await (await conn.execute(q)).fetchall() for name, q in tables.items()}


async def test_viewers_over_several_batches_count_once_per_owner_and_platform_day(
    client: Client, auth: Any, files: None, rollup: None, pool: Pool, settings: AnalyticsSettings
) -> None:
    """Each batch folded in a transaction of its own: root watches two files of alice's
    (one view in two batches) and one of bob's; alice watches both of hers."""
    second = uuid.uuid4()
    async with pool.connection() as conn:
        await record_files(conn, [FileFacts(file_id=second, owner="alice", duration=60.0)])
    t0 = _base()
    s = timedelta(seconds=1)
    alice, root, bob = auth("alice"), auth("root", roles=["admin"]), auth("bob")
    r = uuid.uuid4()
    sent = [
        (alice, batch(uuid.uuid4(), FILE, b("view_start", t0, 0), b("view_end", t0 + 5 * s, 5))),
        (root, batch(r, FILE, b("view_start", t0 + 10 * s, 0), b("heartbeat", t0 + 15 * s, 5))),
        (root, batch(r, FILE, b("view_end", t0 + 20 * s, 10))),
        (alice, batch(uuid.uuid4(), second, b("view_start", t0 + 30 * s, 0))),
        (root, batch(uuid.uuid4(), second, b("view_start", t0 + 40 * s, 0))),
        (root, batch(uuid.uuid4(), BOBS, b("view_start", t0 + 50 * s, 0))),
        (bob, batch(uuid.uuid4(), BOBS, b("view_start", t0 + 60 * s, 0))),
    ]  # fmt: skip
    for folded, (headers, body) in enumerate(sent, start=1):
        response = await client.post("/v1/analytics/beacons", json=body, headers=headers)
        assert response.status_code == 202, response.text
        await _settled(pool, folded)

    async def viewers(sql: str) -> list[tuple[Any, ...]]:
        async with pool.connection() as conn:
            return await (await conn.execute(sql)).fetchall()

    day = t0.date()
    assert await viewers("SELECT owner, day, views, viewers FROM owner_day ORDER BY owner") == [
        ("alice", day, 4, 2),
        ("bob", day, 2, 2),
    ]
    assert await viewers("SELECT day, views, viewers FROM platform_day") == [(day, 6, 3)]
    # The counters are the distinct viewers of the views, recounted.
    assert await viewers(
        "SELECT owner, day, count(DISTINCT viewer) FROM views GROUP BY owner, day ORDER BY owner"
    ) == [("alice", day, 2), ("bob", day, 2)]

    before = {**await _rollups(pool), **await _viewer_sets(pool)}
    registry = build_beacon_registry(settings.beacons.subject_root)
    async for stored in read_stream(settings.beacons, name="again", from_seq=1):
        assert await roll_up(pool, [registry.decode(m.data) for m in stored]) == 0  # type: ignore[misc]
    assert {**await _rollups(pool), **await _viewer_sets(pool)} == before

    report = await rebuild(pool, registry, settings.beacons)
    assert (report.messages, report.applied) == (7, 7)
    assert {**await _rollups(pool), **await _viewer_sets(pool)} == before
