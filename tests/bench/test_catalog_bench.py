"""Catalog: ingest (JetStream -> ledger + projections), rebuild from the ledger, list latency.

Each number is printed with a ceiling measured in the same run on the same
machine: reading and acking the same messages without a database (ingest),
copying the ledger table as is (rebuild), and the list's SQL alone (list).
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from typing import Any

import jwt
import nats
import psycopg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from mediaplane.bus import BusSettings, provision
from mediaplane.bus.pull import BatchPuller
from mediaplane.bus.testing import eventually
from mediaplane.catalog.adapters.rebuild import rebuild
from mediaplane.catalog.api.app import create_app
from mediaplane.catalog.app.bootstrap import apply_migrations
from mediaplane.catalog.config import CatalogSettings, IngestSettings
from mediaplane.catalog.ingest.consumer import run_ingest
from mediaplane.catalog.testing import entries, synthetic_events
from mediaplane.contracts import build_registry
from mediaplane.contracts import headers as h
from mediaplane.devstack.natsauth import admin_url
from mediaplane.devstack.pytest_plugin import NatsNamespace, served
from mediaplane.devstack.settings import StackSettings
from mediaplane.eventlog.database import open_pool
from mediaplane.servicekit.auth import AuthSettings
from mediaplane.servicekit.rate_limit import RateLimit

from .conftest import machine_description

SECRET = "bench-secret-that-is-long-enough-for-hs256"
INGEST_EVENTS = 20_000
REBUILD_EVENTS = 1_000_000
LIST_FILES = 1_000_000
LIST_OWNERS = 1_000
LIST_REQUESTS = 2_000


def _settings(stack: StackSettings, pg_url: str, ns: NatsNamespace) -> CatalogSettings:
    return CatalogSettings(
        database_url=pg_url,
        bus=BusSettings(
            url=ns.url,
            stream=f"{ns.stream_prefix}_MEDIA",
            subject_root=f"{ns.subject_prefix}.media",
            dlq_stream=f"{ns.stream_prefix}_DLQ",
            dlq_subject_root=f"{ns.subject_prefix}.dlq",
        ),
        storage=stack.storage_settings(),
        auth=AuthSettings(hs256_secret=SECRET),
        rate_limit=RateLimit(per_second=1e9, burst=10**9),
        playback_secret="bench-playback-secret-0123456789abcdef",
    )


def _count(url: str, query: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0])


async def test_ingest_throughput(
    stack: StackSettings, pg_url: str, nats_namespace: NatsNamespace
) -> None:
    settings = _settings(stack, pg_url, nats_namespace)
    await apply_migrations(settings)
    registry = build_registry(settings.bus.subject_root)
    events = synthetic_events(INGEST_EVENTS, owners=500, seed=1)
    nc = await nats.connect(settings.bus.url)
    js = nc.jetstream()
    await provision(js, settings.bus)
    for start in range(0, len(events), 500):
        await asyncio.gather(
            *(
                js.publish(
                    registry.subject_of(e),
                    registry.encode(e),
                    headers={h.MSG_ID: str(e.event_id), h.EVENT_TYPE: e.tag()},
                )
                for e in events[start : start + 500]
            )
        )

    # Ceiling: the same messages fetched and acked in batches of 500, no database,
    # read the way the consumer reads them (BatchPuller); nats-py's own `fetch`
    # is printed too (it costs several times the CPU per message).
    fetch_sub = await js.pull_subscribe(
        settings.bus.subjects,
        stream=settings.bus.stream,
        config=ConsumerConfig(
            deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.EXPLICIT, max_ack_pending=2000
        ),
    )
    started = time.perf_counter()
    seen = 0
    while seen < len(events):
        for msg in await fetch_sub.fetch(500, timeout=5):
            await msg.ack()
            seen += 1
    nats_py_fetch = len(events) / (time.perf_counter() - started)

    await js.add_consumer(
        settings.bus.stream,
        ConsumerConfig(
            durable_name="bench-ceiling",
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            max_ack_pending=2000,
        ),
    )
    puller = BatchPuller(nc, settings.bus.stream, "bench-ceiling")
    await puller.start()
    started = time.perf_counter()
    seen = 0
    while seen < len(events):
        for msg in await puller.fetch(500, expires=5):
            await msg.ack()
            seen += 1
    ceiling = len(events) / (time.perf_counter() - started)
    await puller.close()
    await nc.close()

    pool = await open_pool(settings.database_url, max_size=4)
    stop = asyncio.Event()
    started = time.perf_counter()
    task = asyncio.create_task(
        run_ingest(
            pool=pool,
            registry=registry,
            bus=settings.bus,
            settings=IngestSettings(batch_size=500),
            stop=stop,
        )
    )
    # Polled on one open async connection: a blocking connect + count every 20 ms
    # stalled the event loop the consumer runs on and forked a backend each time.
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as poll:

        async def all_in_ledger() -> bool:
            row = await (await poll.execute("SELECT count(*) FROM ledger")).fetchone()
            return row is not None and row[0] == len(events)

        await eventually(all_in_ledger, within=600)
    ours = len(events) / (time.perf_counter() - started)
    stop.set()
    await task
    await pool.close()
    files = _count(pg_url, "SELECT count(*) FROM files")
    print(f"\nmachine: {machine_description()}")
    print(
        f"catalog ingest: {len(events)} events ({files} files), batch 500: {ours:,.0f} events/s; "
        f"ceiling (fetch+ack, no database) {ceiling:,.0f}/s; ratio {ours / ceiling:.0%} "
        f"(fetch+ack with nats-py's fetch: {nats_py_fetch:,.0f}/s)"
    )
    assert files > 1000


_MULTIPLY = """
INSERT INTO ledger (event_id, type, known, stream_id, occurred_at, file_id, session_id, tag,
                    subject, stream_sequence, data)
SELECT gen_random_uuid(), l.type, l.known, l.stream_id || '-' || k,
       l.occurred_at + make_interval(days => k), m.file_id, m.session_id, l.tag, l.subject, NULL,
       CASE WHEN m.file_id IS NULL THEN l.data ELSE jsonb_set(
           CASE WHEN m.session_id IS NULL THEN l.data
                ELSE jsonb_set(l.data, '{session_id}', to_jsonb(m.session_id::text)) END,
           '{file_id}', to_jsonb(m.file_id::text)) END
FROM ledger l CROSS JOIN generate_series(1, %(copies)s) k
CROSS JOIN LATERAL (
    SELECT md5(l.file_id::text || k)::uuid AS file_id,
           md5(l.session_id::text || k)::uuid AS session_id
) m
WHERE l.tag IS NULL  -- tags are not per file: one copy of each
"""


async def test_rebuild_throughput(stack: StackSettings, pg_url: str) -> None:
    settings = _settings(stack, pg_url, NatsNamespace(admin_url(stack), "UNUSED", "unused"))
    await apply_migrations(settings)
    registry = build_registry()
    seed_events = synthetic_events(REBUILD_EVENTS // 10, owners=1000, seed=2)
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        # COPY the seed, then nine renamed copies of it (new file and session ids) in SQL.
        async with (
            conn.cursor() as cur,
            cur.copy(
                "COPY ledger (event_id, type, known, stream_id, occurred_at, file_id, session_id, "
                "tag, subject, data) FROM STDIN"
            ) as copy,
        ):
            for e in entries(registry, seed_events):
                await copy.write_row(
                    (
                        e.event_id,
                        e.type,
                        e.known,
                        e.stream_id,
                        e.occurred_at,
                        e.file_id,
                        e.session_id,
                        e.tag,
                        e.subject,
                        e.body,
                    )
                )
        copies = -(-REBUILD_EVENTS // len(seed_events)) - 1  # rounded up: at least 1M
        await conn.execute(_MULTIPLY, {"copies": copies})
        await conn.execute("VACUUM ANALYZE ledger")
        events = _count(pg_url, "SELECT count(*) FROM ledger")

        # Ceiling: copying the ledger as is (same rows read and written, no projection work).
        started = time.perf_counter()
        await conn.execute("CREATE TABLE ledger_copy AS SELECT * FROM ledger")
        ceiling = events / (time.perf_counter() - started)

    started = time.perf_counter()
    reports = await rebuild(pg_url)
    ours = events / (time.perf_counter() - started)
    rows = {r.name: r.rows for r in reports}
    print(f"\nmachine: {machine_description()}")
    print(
        f"catalog rebuild: {events:,} ledger events -> {rows}: {ours:,.0f} events/s; "
        f"ceiling (CREATE TABLE AS the ledger) {ceiling:,.0f}/s; ratio {ours / ceiling:.0%}"
    )
    assert rows["files"] > 100_000


_FILL_FILES = """
INSERT INTO files (file_id, owner, filename, size, content_type, media_type, kind, sha256, bucket,
                   object_key, status, thumbnail_status, purged, created_at, updated_at)
SELECT md5(i::text)::uuid, 'user-' || (i %% %(owners)s), 'file-' || i || '.png', i, 'image/png',
       'image/png', 'image', NULL, 'originals', 'k/' || i,
       (ARRAY['ready', 'ready', 'ready', 'verifying', 'rejected', 'deleted'])[1 + i %% 6],
       'ready', false,
       timestamptz '2026-01-01' + make_interval(secs => i),
       timestamptz '2026-01-01' + make_interval(secs => i)
FROM generate_series(1, %(files)s) i
"""
_FILL_TAGS = """
INSERT INTO file_tags
SELECT file_id, (ARRAY['holiday', 'work', 'cats'])[1 + abs(hashtext(filename)) % 3]
FROM files WHERE abs(hashtext(filename)) % 4 = 0
"""


def _p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98] * 1000


async def test_list_files_p99_with_a_million_files(stack: StackSettings, pg_url: str) -> None:
    settings = _settings(stack, pg_url, NatsNamespace(admin_url(stack), "UNUSED", "unused"))
    await apply_migrations(settings)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(_FILL_FILES, {"owners": LIST_OWNERS, "files": LIST_FILES})
        conn.execute(_FILL_TAGS)
        conn.execute("VACUUM ANALYZE files")
        conn.execute("VACUUM ANALYZE file_tags")
    rng = random.Random(3)
    variants: list[dict[str, Any]] = [
        {},
        {"status": "ready"},
        {"tag": "holiday"},
        {"kind": "image"},
        {"q": "file-12"},
        {"limit": 100},
    ]
    requests = [
        (f"user-{rng.randrange(LIST_OWNERS)}", rng.choice(variants)) for _ in range(LIST_REQUESTS)
    ]

    latencies: list[float] = []
    async with served(create_app(settings), ready="/health/live") as http:
        tokens = {
            owner: jwt.encode({"sub": owner, "exp": int(time.time()) + 3600}, SECRET, "HS256")
            for owner, _ in requests
        }
        cursor = None
        for owner, params in requests:
            query = dict(params)
            if cursor and rng.random() < 0.5:
                query["cursor"] = cursor  # the next page of the previous listing
            started = time.perf_counter()
            response = await http.get(
                "/v1/files",
                params=query,
                headers={"Authorization": f"Bearer {tokens[owner]}"},
            )
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
            cursor = response.json()["next_cursor"]

    # Ceiling: the list's SQL alone (first page of a random owner), same database.
    sql_latencies = []
    with psycopg.connect(pg_url) as conn:
        for owner, _ in requests[:500]:
            started = time.perf_counter()
            conn.execute(
                "SELECT * FROM files WHERE owner = %s AND status <> 'deleted' "
                "ORDER BY created_at DESC, file_id DESC LIMIT 51",
                (owner,),
            ).fetchall()
            sql_latencies.append(time.perf_counter() - started)
    print(f"\nmachine: {machine_description()}")
    print(
        f"catalog GET /v1/files, {LIST_FILES:,} files / {LIST_OWNERS} owners, "
        f"{LIST_REQUESTS} sequential requests (mixed filters, half following cursors): "
        f"p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {_p99(latencies):.1f} ms; "
        f"SQL alone p50 {statistics.median(sql_latencies) * 1000:.2f} ms, "
        f"p99 {_p99(sql_latencies):.2f} ms"
    )
