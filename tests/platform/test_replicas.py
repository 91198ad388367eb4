"""Two replicas of every role, under a load of uploads: each file processed once, no drift.

A private platform runs with `MEDIAPLANE_REPLICAS=2` (`just up --replicas 2`):
two gateway APIs, verifiers and relays, two catalog APIs and ingests, two
transcoder, thumbnailer and janitor workers, two identity APIs, the edge
balancing the APIs. Several owners upload images and short audio files at
once through the edge. Then:

- every accepted upload finishes (verified, thumbnailed, audio transcoded);
- nothing is done twice: per file, the catalog's ledger holds one
  `file.verified`, one thumbnail outcome and one transcode outcome, and the
  producers' own event logs agree (the gateway's `file.verified`, the
  thumbnailer's and transcoder's outcomes);
- both replicas of each API answered (the edge balanced them);
- no projection drift: the catalog's projections checksum the same before
  and after `catalog projections rebuild` from the ledger.

Nothing is lost either: every event of the gateway's, thumbnailer's and
transcoder's own event logs is in the ledger (whose event ids are unique).

The same load runs again on a three-node NATS cluster of the test's own (R3
streams, as `just up --cluster --replicas 2`), and once the ledger holds
`KILL_AFTER` events the node leading the stream is killed with SIGKILL: the
same checks must hold. The time to a new stream leader and to the next event
ingested are printed for docs/benchmarks.md.

No wall-clock bound: the only deadline is a generous one for the work.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import psycopg
import pytest
from PIL import Image

from mediaplane.bus.permissions import ADMIN
from mediaplane.client import MediaplaneClient
from mediaplane.client.upload import upload_file
from mediaplane.devstack import natsauth
from mediaplane.devstack import platform as local_platform
from mediaplane.devstack.ports import free_port_block
from mediaplane.devstack.private_platform import PrivatePlatform
from mediaplane.devstack.pytest_plugin import PrivateNats
from mediaplane.devstack.servers import Nats
from mediaplane.devstack.settings import CLUSTER_SIZE, StackSettings

pytestmark = [pytest.mark.integration, pytest.mark.soak, pytest.mark.timeout(1800)]

REPLICAS = 2
OWNERS = ("ann", "ben", "cy")
IMAGES_PER_OWNER = 8
AUDIO_PER_OWNER = 2
PROCESSING_DEADLINE = 900.0  # ~30 processes on a busy 2-core machine; normally far less
PLATFORM_ENV = {"MEDIAPLANE_TRANSCODER_LADDER": "240:300:64"}


@pytest.fixture
def platform(
    stack: StackSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrivatePlatform]:
    nats = PrivateNats(tmp_path_factory.mktemp("nats"))
    nats.start()
    private = PrivatePlatform(
        stack,
        tmp_path_factory.mktemp("replicas"),
        name="rep",
        extra_env=PLATFORM_ENV,
        nats=nats,
        replicas=REPLICAS,
    )
    try:
        private.start(timeout=900)
        yield private
    finally:
        private.stop()
        nats.stop()


def make_image(path: Path, shade: int) -> None:
    Image.new("RGB", (800, 600), (shade % 256, 90, 160)).save(path, "JPEG", quality=85)


def make_audio(path: Path, hz: int) -> None:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"sine=frequency={hz}:duration=1",
         "-c:a", "libmp3lame", str(path)],
        check=True,
    )  # fmt: skip


async def upload_all(base_url: str, files: dict[str, list[Path]]) -> dict[str, str]:
    """Every owner's files at once (four at a time each); file id -> kind."""
    kinds: dict[str, str] = {}

    async def one_owner(owner: str, paths: list[Path]) -> None:
        async with MediaplaneClient(base_url) as anonymous:
            token = await anonymous.dev_token(owner)
        async with MediaplaneClient(base_url, token) as client:
            gate = asyncio.Semaphore(4)

            async def one(path: Path) -> None:
                async with gate:
                    # One state file per file: `a.jpg` and `a.mp3` must not share `a.state`.
                    state = path.with_name(f"{path.name}.state")
                    done = await upload_file(client, path, state_path=state)
                kinds[str(done.file_id)] = "audio" if path.suffix == ".mp3" else "image"

            await asyncio.gather(*(one(p) for p in paths))

    await asyncio.gather(*(one_owner(owner, paths) for owner, paths in files.items()))
    return kinds


def finished(summary: dict[str, Any], kind: str) -> bool:
    if summary["status"] == "rejected":
        return True
    if summary["status"] != "ready":
        return False
    if kind == "audio":
        return bool(summary["transcode_status"] in ("ready", "failed"))
    return bool(summary["thumbnail_status"] in ("ready", "failed"))


def wait_all_finished(
    base_url: str, tokens: dict[str, str], owners: dict[str, str], kinds: dict[str, str]
) -> dict[str, dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + PROCESSING_DEADLINE
    with httpx.Client(base_url=base_url, timeout=30) as http:
        while time.monotonic() < deadline:
            for file_id, kind in kinds.items():
                if file_id in seen and finished(seen[file_id], kind):
                    continue
                answer = http.get(
                    f"/v1/files/{file_id}",
                    headers={"Authorization": f"Bearer {tokens[owners[file_id]]}"},
                )
                if answer.status_code == 200:
                    seen[file_id] = answer.json()["file"]
            if all(f in seen and finished(seen[f], k) for f, k in kinds.items()):
                return seen
            time.sleep(2)
    pending = {f: seen.get(f) for f, k in kinds.items() if not (f in seen and finished(seen[f], k))}
    raise AssertionError(f"{len(pending)} uploads not finished in time: {pending}")


def per_file(database_url: str, query: str) -> Counter[tuple[str, str]]:
    """(file id, event type) -> how many rows `query` returns for them."""
    with psycopg.connect(database_url) as conn:
        return Counter((str(f), str(t)) for f, t in conn.execute(query).fetchall())


def catalog(env: dict[str, str], *args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "mediaplane.catalog", *args],
        env={**os.environ, **env}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


Disruption = Callable[[dict[str, str]], Awaitable[dict[str, float]]]


def make_files(tmp_path: Path) -> dict[str, list[Path]]:
    files: dict[str, list[Path]] = {}
    for o, owner in enumerate(OWNERS):
        paths = []
        for i in range(IMAGES_PER_OWNER):
            path = tmp_path / f"{owner}-{i}.jpg"
            make_image(path, 40 * o + 7 * i)
            paths.append(path)
        for i in range(AUDIO_PER_OWNER):
            path = tmp_path / f"{owner}-{i}.mp3"
            make_audio(path, 220 + 110 * o + 55 * i)
            paths.append(path)
        files[owner] = paths
    return files


async def load(
    base_url: str, files: dict[str, list[Path]], env: dict[str, str], during: Disruption | None
) -> tuple[dict[str, str], dict[str, float]]:
    """The uploads, and `during` (e.g. a NATS node's death) run beside them."""
    if during is None:
        return await upload_all(base_url, files), {}
    kinds, measured = await asyncio.gather(upload_all(base_url, files), during(env))
    return kinds, measured


def load_and_check(
    platform: PrivatePlatform, tmp_path: Path, during: Disruption | None = None
) -> dict[str, float]:
    """Upload, wait for every file, check nothing was done twice or lost and that the
    projections equal a rebuild; what `during` measured, with the run's numbers."""
    env = _platform_env(platform)
    files = make_files(tmp_path)
    started = time.monotonic()
    kinds, measured = asyncio.run(load(platform.base_url, files, env, during))
    total = len(OWNERS) * (IMAGES_PER_OWNER + AUDIO_PER_OWNER)
    assert len(kinds) == total  # every upload was accepted and completed

    tokens = {owner: asyncio.run(_token(platform.base_url, owner)) for owner in OWNERS}
    owners = _owners(env, kinds)
    summaries = wait_all_finished(platform.base_url, tokens, owners, kinds)
    elapsed = time.monotonic() - started
    assert all(s["status"] == "ready" for s in summaries.values()), summaries
    assert all(
        s["transcode_status" if kinds[f] == "audio" else "thumbnail_status"] == "ready"
        for f, s in summaries.items()
    ), summaries

    # Nothing done twice: one outcome per file and kind of work, in the ledger ...
    ledger = per_file(
        env["MEDIAPLANE_CATALOG_DATABASE_URL"],
        "SELECT file_id, regexp_replace(type, '[.]v[0-9]+$', '') FROM ledger "
        "WHERE file_id IS NOT NULL",
    )
    outcomes = {
        "file.verified": set(kinds),
        "thumbnail.generated": {f for f, k in kinds.items() if k == "image"},
        "transcode.completed": {f for f, k in kinds.items() if k == "audio"},
    }
    for event_type, expected in outcomes.items():
        counts = {f: ledger[(f, event_type)] for f in expected}
        assert set(counts.values()) == {1}, (event_type, counts)
    for file_id in kinds:
        assert ledger[(file_id, "thumbnail.failed")] == 0
        assert ledger[(file_id, "transcode.failed")] == 0
        assert ledger[(file_id, "file.uploaded")] == 1
    # ... and in each producer's own event log.
    for service, event_type in (
        ("gateway", "file.verified"),
        ("thumbnailer", "thumbnail.generated"),
        ("transcoder", "transcode.completed"),
    ):
        produced = per_file(
            env[f"MEDIAPLANE_{service.upper()}_DATABASE_URL"],
            "SELECT data->>'file_id', regexp_replace(type, '[.]v[0-9]+$', '') FROM event_log "
            f"WHERE type LIKE '{event_type}%'",
        )
        assert outcomes[event_type] <= {f for f, _ in produced}, service
        assert set(produced.values()) == {1}, (service, produced)

    # The edge balanced the APIs: both replicas of each answered requests.
    for api in ("gateway-api", "catalog-api"):
        for name in (api, f"{api}-2"):
            log = (platform.data_dir / "platform" / "logs" / f"{name}.log").read_text()
            assert "/v1/" in log, f"{name} answered no API request"

    # No drift: the projections equal a rebuild from the ledger.
    before = catalog(env, "projections", "checksum")
    catalog(env, "projections", "rebuild")
    after = catalog(env, "projections", "checksum")
    assert after == before
    # Nothing lost: every event of every producer's own log is in the ledger (once: the
    # ledger's event ids are unique).
    in_ledger = event_ids(env["MEDIAPLANE_CATALOG_DATABASE_URL"], "ledger")
    lost = {
        service: len(
            event_ids(env[f"MEDIAPLANE_{service.upper()}_DATABASE_URL"], "event_log") - in_ledger
        )
        for service in ("gateway", "thumbnailer", "transcoder")
    }
    assert lost == {"gateway": 0, "thumbnailer": 0, "transcoder": 0}
    numbers = {
        **measured,
        "uploads": float(total),
        "seconds_to_all_finished": elapsed,
        "ledger_events": float(len(in_ledger)),
    }
    print(f"replicas={REPLICAS}: {numbers}; projections={before}")
    return numbers


def event_ids(database_url: str, table: str) -> set[str]:
    with psycopg.connect(database_url) as conn:
        return {str(i) for (i,) in conn.execute(f"SELECT event_id FROM {table}").fetchall()}


def test_two_replicas_of_every_role_process_each_upload_once_without_drift(
    platform: PrivatePlatform, tmp_path: Path
) -> None:
    load_and_check(platform, tmp_path)


def _platform_env(platform: PrivatePlatform) -> dict[str, str]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in platform.env.items():
            patch.setenv(name, value)
        settings = local_platform.PlatformSettings.from_env()
    return local_platform.read_env_file(settings)


async def _token(base_url: str, owner: str) -> str:
    async with MediaplaneClient(base_url) as anonymous:
        return await anonymous.dev_token(owner)


def _owners(env: dict[str, str], kinds: dict[str, str]) -> dict[str, str]:
    """file id -> owner, from the gateway's projection."""
    with psycopg.connect(env["MEDIAPLANE_GATEWAY_DATABASE_URL"]) as conn:
        rows = conn.execute(
            "SELECT file_id::text, owner FROM gateway_files WHERE file_id::text = ANY(%s)",
            (list(kinds),),
        ).fetchall()
    return {str(f): str(o) for f, o in rows}


KILL_AFTER = 40  # ledger events before the stream's leader node dies (~150 in all)
POLL = 0.25
POLLS = 2400  # of POLL: generous for ~30 processes on a busy 2-core machine


@pytest.fixture
def clustered(
    stack: StackSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[PrivatePlatform, Nats]]:
    """Two replicas of every role on a three-node NATS cluster of this test, R3 streams."""
    base = free_port_block(3 * CLUSTER_SIZE)
    nats_stack = StackSettings(
        data_dir=tmp_path_factory.mktemp("cluster"),
        nats_port=base,
        nats_monitor_port=base + CLUSTER_SIZE,
        nats_route_port=base + 2 * CLUSTER_SIZE,
        nats_cluster=True,
    )
    cluster = Nats(nats_stack)
    cluster.start()
    admin = natsauth.passwords(nats_stack)[ADMIN]
    # Every service as the admin: the stream names are this run's, not production's.
    identities = {
        f"MEDIAPLANE_{s.name.upper()}_NATS_{part}": value
        for s in local_platform.SERVICES
        for part, value in (("USER", ADMIN), ("PASSWORD", admin))
    }
    private = PrivatePlatform(
        stack,
        tmp_path_factory.mktemp("replicas-cluster"),
        name="repk",
        extra_env={
            **PLATFORM_ENV,
            "MEDIAPLANE_NATS_URL": nats_stack.nats_url,
            "MEDIAPLANE_STREAM_REPLICAS": "3",
            "MEDIAPLANE_NATS_USER": ADMIN,
            "MEDIAPLANE_NATS_PASSWORD": admin,
            **identities,
        },
        replicas=REPLICAS,
    )
    try:
        private.start(timeout=900)
        yield private, cluster
    finally:
        private.stop()
        cluster.stop()


async def poll(what: str, check: Callable[[], Awaitable[bool]]) -> float:
    for _ in range(POLLS):
        if await check():
            return time.monotonic()
        await asyncio.sleep(POLL)
    raise AssertionError(f"{what}: not after {POLLS} polls")


def ledger_size(env: dict[str, str]) -> int:
    with psycopg.connect(env["MEDIAPLANE_CATALOG_DATABASE_URL"]) as conn:
        row = conn.execute("SELECT count(*) FROM ledger").fetchone()
    return int(row[0]) if row else 0


def test_a_nats_node_killed_mid_load_loses_and_doubles_nothing(
    clustered: tuple[PrivatePlatform, Nats], tmp_path: Path
) -> None:
    private, cluster = clustered
    stack = cluster.settings
    admin = natsauth.passwords(stack)[ADMIN]

    async def kill_the_stream_leader(env: dict[str, str]) -> dict[str, float]:
        stream = env["MEDIAPLANE_STREAM"]
        nc = await nats.connect(stack.nats_url.split(","), user=ADMIN, password=admin)
        js = nc.jetstream()
        try:
            assert (await js.stream_info(stream)).config.num_replicas == 3

            async def filled() -> bool:
                return await asyncio.to_thread(ledger_size, env) >= KILL_AFTER

            await poll("the ledger filling", filled)
            at_kill = await js.stream_info(stream)
            assert at_kill.cluster is not None
            leader = at_kill.cluster.leader
            node = next(n for n in stack.nats_nodes if f"mediaplane-dev-{n.index}" == leader)
            size_at_kill = await asyncio.to_thread(ledger_size, env)
            killed_at = time.monotonic()
            assert await asyncio.to_thread(cluster.stop_node, node, kill=True)

            async def new_leader() -> bool:
                try:
                    now = await js.stream_info(stream)
                except Exception:  # no leader yet: the API times out or says so
                    return False
                return now.cluster is not None and now.cluster.leader not in (None, leader)

            async def flowing() -> bool:
                return await asyncio.to_thread(ledger_size, env) > size_at_kill

            led_at, flowing_at = await asyncio.gather(
                poll("a new stream leader", new_leader), poll("ingest after the kill", flowing)
            )
            await asyncio.to_thread(cluster.start_node, node)  # back; catches up from peers
            return {
                "ledger_events_at_kill": float(size_at_kill),
                "seconds_to_new_leader": led_at - killed_at,
                "seconds_to_next_ingested_event": flowing_at - killed_at,
            }
        finally:
            await nc.close()

    numbers = load_and_check(private, tmp_path, during=kill_the_stream_leader)
    assert numbers["ledger_events"] > numbers["ledger_events_at_kill"]
