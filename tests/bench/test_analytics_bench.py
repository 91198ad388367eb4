"""Beacon ingest into rollups, in beacons/s on one process, against raw JetStream
publish and consume of the same messages in the same run (docs/benchmarks.md).

Both sides publish the same encoded beacon batches (10 beacons each, 4 batches per
view, 100 files) with JetStream acks, 500 in flight. The ceiling then pulls them
with a bare nats-py pull subscription and acks each; the rollup runs the analytics
worker's consumer (`register_rollup`: decode, fold, upsert views, recompute the day
rollups of the touched keys, one transaction per fetch of 500) until every batch is
folded (the clock stops there, before the consumer stops). Aim: >= 30 % of the
ceiling (asserted) and >= 10,000 beacons/s (reported).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import nats
import psycopg

from mediaplane.analytics.app.bootstrap import apply_migrations
from mediaplane.analytics.config import AnalyticsSettings, beacon_bus
from mediaplane.analytics.worker.consumers import register_rollup
from mediaplane.bus import Bus, provision
from mediaplane.bus.testing import namespaced_settings
from mediaplane.contracts import (
    Beacon,
    EventContext,
    PlaybackBeacons,
    build_beacon_registry,
    new_event,
)
from mediaplane.devstack.pytest_plugin import NatsNamespace
from mediaplane.eventlog.database import open_pool
from mediaplane.servicekit.auth import AuthSettings

from .conftest import machine_description

BATCHES = 4_000
PER_BATCH = 10
PER_VIEW = 4
FILES = 100


def _batches() -> list[PlaybackBeacons]:
    context = EventContext(producer="bench", correlation_id="bench")
    start = datetime.now(UTC) - timedelta(hours=1)
    files = [uuid.uuid4() for _ in range(FILES)]
    out = []
    for v in range(BATCHES // PER_VIEW):
        view, file_id = uuid.uuid4(), files[v % FILES]
        for b in range(PER_VIEW):
            t0 = start + timedelta(seconds=b * PER_BATCH * 5)
            beacons = [
                Beacon(
                    kind="view_start" if b == 0 and n == 0 else "heartbeat",
                    at=t0 + timedelta(seconds=5 * n),
                    position=float((b * PER_BATCH + n) * 5),
                    rendition="720p" if n % 3 else "360p",
                    startup_ms=900 if b == 0 and n == 0 else None,
                )
                for n in range(PER_BATCH)
            ]
            out.append(
                new_event(
                    PlaybackBeacons,
                    stream_id=f"view-{view}",
                    context=context,
                    occurred_at=t0,
                    view_id=view,
                    file_id=file_id,
                    owner=f"owner-{v % 10}",
                    viewer=f"viewer-{v % 500}",
                    beacons=beacons,
                )
            )
    return out


async def _publish(
    js: nats.js.JetStreamContext, subject: str, stream: str, bodies: list[bytes]
) -> None:
    for start in range(0, len(bodies), 500):
        await asyncio.gather(
            *(js.publish(subject, body, stream=stream) for body in bodies[start : start + 500])
        )


async def test_rollup_throughput_against_raw_jetstream(
    nats_namespace: NatsNamespace, pg_url: str
) -> None:
    media = namespaced_settings(nats_namespace)
    beacons = beacon_bus(
        media,
        stream=f"{nats_namespace.stream_prefix}_BEACONS",
        subject_root=f"{nats_namespace.subject_prefix}.beacon",
    )
    settings = AnalyticsSettings(
        database_url=pg_url, bus=media, beacons=beacons, auth=AuthSettings(hs256_secret="x" * 32)
    )
    await apply_migrations(settings)
    registry = build_beacon_registry(beacons.subject_root)
    batches = _batches()
    bodies = [registry.encode(b) for b in batches]
    subject = registry.subject_of(batches[0])
    total = BATCHES * PER_BATCH

    # Ceiling: raw publish, then a bare pull consumer acking every message.
    raw = beacon_bus(media, stream=f"{nats_namespace.stream_prefix}_RAW",
                     subject_root=f"{nats_namespace.subject_prefix}.raw")  # fmt: skip
    nc = await nats.connect(raw.url)
    js = nc.jetstream()
    await provision(js, raw)
    raw_subject = subject.replace(beacons.subject_root, raw.subject_root, 1)
    t0 = time.perf_counter()
    await _publish(js, raw_subject, raw.stream, bodies)
    sub = await js.pull_subscribe(raw_subject, durable="raw", stream=raw.stream)
    received = 0
    while received < BATCHES:
        for msg in await sub.fetch(500, timeout=5):
            await msg.ack()
            received += 1
    ceiling = total / (time.perf_counter() - t0)

    # The rollup: the same publish, then the worker's consumer until all is folded.
    await provision(js, beacons)
    pool = await open_pool(pg_url, max_size=4)
    try:
        bus = Bus(beacons, registry, producer="bench")
        register_rollup(bus, pool, registry, batch_size=500)
        t0, cpu0 = time.perf_counter(), time.process_time()
        await _publish(js, subject, beacons.stream, bodies)
        async with bus.running():
            folded = 0
            while folded < BATCHES:
                await asyncio.sleep(0.01)
                async with pool.connection() as conn:
                    row = await (
                        await conn.execute("SELECT count(*) FROM applied_batches")
                    ).fetchone()
                folded = row[0] if row else 0
            # The clock stops when the last batch is folded: stopping the consumer
            # (its open pull request expires after up to a second) is not ingest.
            rollup = total / (time.perf_counter() - t0)
            # This process's CPU per beacon (publish, fold, drivers; not the servers'):
            # steadier than wall time on a shared machine, for comparing changes.
            cpu_us = (time.process_time() - cpu0) / total * 1e6
        async with await psycopg.AsyncConnection.connect(pg_url) as conn:
            views = await (await conn.execute("SELECT sum(views) FROM platform_day")).fetchone()
    finally:
        await pool.close()
        await nc.close()
    assert views is not None
    assert views[0] == BATCHES // PER_VIEW
    ratio = rollup / ceiling
    print(f"\nmachine: {machine_description()}")
    print(
        f"raw JetStream publish+consume: {ceiling:10,.0f} beacons/s "
        f"({ceiling / PER_BATCH:,.0f} msg/s)"
    )
    print(
        f"beacons into rollups:          {rollup:10,.0f} beacons/s "
        f"({rollup / PER_BATCH:,.0f} msg/s)"
    )
    print(f"rollup process CPU: {cpu_us:.1f} us/beacon")
    print(f"ratio: {ratio:.0%} of the ceiling (aim: >= 30 %)")
    # The absolute aim (10,000 beacons/s) depends on the machine more than on the code:
    # reported, the ratio is what the benchmark holds the code to.
    print(f"aim of 10,000 beacons/s: {'met' if rollup >= 10_000 else 'not met'} on this machine")
    assert ratio >= 0.30
