"""A three-node JetStream cluster loses a node under load: nothing lost, nothing doubled.

The devstack starts a cluster of its own (`Nats` in cluster mode, on free ports
and a data folder of this test, so the shared stack is untouched), with the
same identities as `just up --cluster`. Producers append events to an event
log (Postgres); an outbox relay publishes them to the R3 stream; a batch
consumer writes them to a ledger. Mid-load the node leading the stream is
killed with SIGKILL. Then every event of the log must be in the stream once
(the relay republishes what lost its ack: the stream's dedup window must drop
the copy across the leader change) and in the ledger once. The recovery
time (kill to a new stream leader, and to the next event consumed) is printed
for docs/benchmarks.md; nothing bounds it from above.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path

import nats
import psycopg
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from mediaplane.bus import Bus, BusSettings, Delivery
from mediaplane.bus.permissions import ADMIN
from mediaplane.contracts import ALL_EVENTS, EventContext, Registry, TagCreated, new_event, utc_now
from mediaplane.devstack import natsauth
from mediaplane.devstack.ports import free_port_block
from mediaplane.devstack.servers import Nats
from mediaplane.devstack.settings import CLUSTER_SIZE, StackSettings
from mediaplane.eventlog import ANY, EventStore, OutboxRelay, migrate, open_pool

pytestmark = [pytest.mark.integration, pytest.mark.soak, pytest.mark.timeout(900)]

STREAMS, PER_STREAM = 20, 40  # 800 events, written over several seconds
KILL_AFTER = 250  # events in the ledger before the leader dies
POLLS = 1200  # of 0.25 s: generous for a busy 2-core machine
CONTEXT = EventContext(producer="cluster-test", correlation_id="cluster-1")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Nats]:
    base = free_port_block(3 * CLUSTER_SIZE)
    settings = StackSettings(
        data_dir=tmp_path,
        nats_port=base,
        nats_monitor_port=base + CLUSTER_SIZE,
        nats_route_port=base + 2 * CLUSTER_SIZE,
        nats_cluster=True,
    )
    servers = Nats(settings)
    servers.start()
    try:
        yield servers
    finally:
        servers.stop()


async def poll(what: str, check: Callable[[], Awaitable[bool]]) -> float:
    """Await `check()` true within POLLS polls; returns when (monotonic)."""
    for _ in range(POLLS):
        if await check():
            return time.monotonic()
        await asyncio.sleep(0.25)
    raise AssertionError(f"{what}: not after {POLLS} polls")


async def test_a_node_killed_under_load_loses_and_doubles_nothing(
    cluster: Nats, pg_url: str
) -> None:
    stack = cluster.settings
    admin = natsauth.passwords(stack)[ADMIN]
    settings = BusSettings(url=stack.nats_url, replicas=3, user=ADMIN, password=admin)
    registry = Registry(ALL_EVENTS)
    await migrate(pg_url)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE ledger (event_id text PRIMARY KEY, deliveries int NOT NULL)")

    pool = await open_pool(pg_url, max_size=8)
    store = EventStore(pool, registry)
    bus = Bus(settings, registry, producer="cluster-test")

    def event_id(data: bytes, delivery: Delivery) -> str:
        return str(registry.decode(data).event_id)

    @bus.batch_consumer("ledger", decode=event_id, events=[TagCreated], batch_size=100)
    async def write(ids: Sequence[str]) -> None:
        async with pool.connection() as conn:
            await conn.execute(
                "INSERT INTO ledger SELECT unnest(%s::text[]), 1 ON CONFLICT (event_id) "
                "DO UPDATE SET deliveries = ledger.deliveries + 1",
                (list(ids),),
            )

    async def ledger_size() -> int:
        async with pool.connection() as conn:
            row = await (await conn.execute("SELECT count(*) FROM ledger")).fetchone()
            return int(row[0]) if row else 0

    async def produce() -> None:
        async def writer(stream_id: str) -> None:
            for n in range(PER_STREAM):
                tag = new_event(
                    TagCreated, occurred_at=utc_now(), stream_id=stream_id, context=CONTEXT,
                    name=f"{stream_id}-{n}", created_by="cluster-test",
                )  # fmt: skip
                await store.append(stream_id, ANY, [tag])
                await asyncio.sleep(0.02)

        await asyncio.gather(*(writer(f"tag-{n}") for n in range(STREAMS)))

    nc = await nats.connect(natsauth.admin_url(stack).split(","))
    js = nc.jetstream()
    relay = OutboxRelay(pg_url, natsauth.admin_url(stack), batch_size=50, poll_interval=0.1)
    try:
        async with bus.running(), relay:
            info = await js.stream_info(settings.stream)
            assert info.config.num_replicas == 3
            assert info.cluster is not None
            producing = asyncio.create_task(produce())
            await poll("the ledger filling", lambda: _at_least(ledger_size, KILL_AFTER))

            at_kill = await js.stream_info(settings.stream)
            assert at_kill.cluster is not None
            leader = at_kill.cluster.leader
            node = next(n for n in stack.nats_nodes if f"mediaplane-dev-{n.index}" == leader)
            # Consumed beyond what the stream held at the kill: published after it, too.
            before = at_kill.state.messages
            killed_at = time.monotonic()
            assert cluster.stop_node(node, kill=True)

            async def new_leader() -> bool:
                try:
                    now = await js.stream_info(settings.stream)
                except Exception:  # no leader yet: the API times out or says so
                    return False
                return now.cluster is not None and now.cluster.leader not in (None, leader)

            led_at, flowing_at = await asyncio.gather(
                poll("a new stream leader", new_leader),
                poll(
                    "events published after the kill consumed",
                    lambda: _at_least(ledger_size, before + 1),
                ),
            )
            await producing
            log_ids = await _log_ids(store)
            await poll("every event in the ledger", lambda: _at_least(ledger_size, len(log_ids)))

            cluster.start_node(node)  # back, it catches up from its peers
            await poll("the restarted node current", lambda: _all_current(js, settings.stream))
            published = await _stream_ids(js, settings.stream)
    finally:
        await nc.close()
        await pool.close()

    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("SELECT event_id, deliveries FROM ledger").fetchall()
    ledger: dict[str, int] = dict(rows)
    assert len(log_ids) == STREAMS * PER_STREAM
    doubled = [i for i, count in Counter(published).items() if count > 1]
    assert doubled == [], f"{len(doubled)} events twice in the stream"
    assert set(published) == set(log_ids), "events of the log missing from the stream"
    assert set(ledger) == set(log_ids), "events of the log missing from the ledger"
    redelivered = sum(count - 1 for count in ledger.values())
    print(
        f"\nnode kill: {len(log_ids)} events, lost 0, doubled 0, redelivered {redelivered}; "
        f"new leader after {led_at - killed_at:.2f}s, events flowing again after "
        f"{flowing_at - killed_at:.2f}s"
    )


async def _at_least(size: Callable[[], Awaitable[int]], wanted: int) -> bool:
    return await size() >= wanted


async def _log_ids(store: EventStore) -> list[str]:
    async with store.pool.connection() as conn:
        rows = await (await conn.execute("SELECT event_id FROM event_log")).fetchall()
    return [str(row[0]) for row in rows]


async def _all_current(js: nats.js.JetStreamContext, stream: str) -> bool:
    try:
        info = await js.stream_info(stream)
    except Exception:
        return False
    peers = info.cluster.replicas if info.cluster else None
    return bool(peers) and len(peers or []) == 2 and all(p.current for p in peers or [])


async def _stream_ids(js: nats.js.JetStreamContext, stream: str) -> list[str]:
    """Every message's Nats-Msg-Id (the event id), read with an ephemeral consumer."""
    subscription = await js.pull_subscribe(
        "media.>",
        stream=stream,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE),
    )
    info = await js.stream_info(stream)
    found: list[str] = []
    while len(found) < info.state.messages:
        for message in await subscription.fetch(batch=500, timeout=5):
            found.append((message.headers or {})["Nats-Msg-Id"])
    await subscription.unsubscribe()
    return found
