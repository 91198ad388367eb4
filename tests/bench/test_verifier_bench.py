"""Verifier benchmark: copy-then-hash of 100 MiB uploads, against a raw S3 GET + SHA-256 of
the same objects, in the same run.

Ours is `verify()` as the consumer calls it for one `file.uploaded.v2`: the
file's verification lock, its stream loaded, the server-side copy of the
staging object to the original (CopyObject), the original streamed and hashed
(1 MiB chunks through `ObjectStore.iter_object`) and scanned by clamd in the
same pass (test_scan_bench measures the scan alone), sniffed, the verdict
appended with its outbox row and projection, the staging object deleted.

The ceiling reads the same staging objects with the least code that can: one
plain GET over one kept-alive connection (urllib3, presigned URL, 1 MiB
reads, in a thread) into `hashlib.sha256`. Two parts of ours are measured
alone too, to show where the time goes: the verifier's read path
(`ObjectStore.iter_object` + SHA-256, no copy) and the server-side copy.
Rounds alternate the contenders over fresh objects; medians are reported.
The aim (>= 50 % of the ceiling) is reported, not asserted: a shared 2-core
machine must not make the suite flaky.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from datetime import timedelta
from pathlib import Path

import pytest
import urllib3

from mediaplane.bus.testing import namespaced_settings
from mediaplane.contracts import EventContext, FileUploadedV2, new_event, utc_now
from mediaplane.devstack.pytest_plugin import NatsNamespace
from mediaplane.devstack.settings import StackSettings
from mediaplane.servicekit.auth import AuthSettings
from mediaplane.storage import ObjectStore
from mediaplane.upload_gateway.adapters import projections
from mediaplane.upload_gateway.app.bootstrap import (
    Resources,
    apply_migrations,
    clamd_scanner,
    open_resources,
)
from mediaplane.upload_gateway.config import GatewaySettings
from mediaplane.upload_gateway.worker.verifier import verify

from .conftest import machine_description

pytestmark = pytest.mark.bench

MIB = 1024 * 1024
SIZE = 100 * MIB
PER_ROUND = 3  # objects per contender per round
ROUNDS = 3
CHUNK = MIB
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


@pytest.fixture
async def resources(
    stack: StackSettings, pg_url: str, s3_bucket: str, nats_namespace: NatsNamespace
) -> AsyncIterator[Resources]:
    settings = GatewaySettings(
        database_url=pg_url,
        bus=namespaced_settings(nats_namespace),
        storage=stack.storage_settings(),
        auth=AuthSettings(hs256_secret="bench-secret-that-is-long-enough-for-hs256"),
        bucket=s3_bucket,
        clamd_url=stack.clamd_url,
    )
    await apply_migrations(settings)
    async with open_resources(settings, pool_size=4) as built:
        yield built


async def _stage(objects: ObjectStore, bucket: str, source: Path, count: int) -> list[str]:
    """Fresh staging objects `<owner>/<file_id>/upload` holding the source's bytes."""
    folders = [f"bench/{uuid.uuid4()}" for _ in range(count)]
    for folder in folders:
        await objects.upload_file(bucket, f"{folder}/upload", source, content_type="image/png")
    return folders


def _raw_get_and_hash(pool: urllib3.PoolManager, url: str) -> str:
    response = pool.request("GET", url, preload_content=False)
    assert response.status == 200, response.status
    digest = hashlib.sha256()
    for chunk in response.stream(CHUNK):
        digest.update(chunk)
    response.release_conn()
    return digest.hexdigest()


async def _ceiling(
    pool: urllib3.PoolManager, objects: ObjectStore, bucket: str, keys: list[str]
) -> float:
    """Seconds to GET and hash every key: one plain urllib3 request each, 1 MiB reads."""
    started = time.perf_counter()
    for key in keys:
        url = objects.presign_get(bucket, key, expires=timedelta(minutes=10)).url
        await asyncio.to_thread(_raw_get_and_hash, pool, url)
    return time.perf_counter() - started


async def _copy_only(objects: ObjectStore, bucket: str, keys: list[str]) -> float:
    """Seconds for the server-side copies alone (to a scratch key, deleted after)."""
    started = time.perf_counter()
    for key in keys:
        await objects.copy(bucket, key, bucket, f"{key}-copy")
    elapsed = time.perf_counter() - started
    await objects.delete_many(bucket, [f"{key}-copy" for key in keys])
    return elapsed


async def _sdk_read(objects: ObjectStore, bucket: str, keys: list[str]) -> float:
    """Seconds to read and hash every key the way the verifier reads (no copy)."""
    started = time.perf_counter()
    for key in keys:
        digest = hashlib.sha256()
        async with aclosing(objects.iter_object(bucket, key)) as chunks:
            async for chunk in chunks:
                digest.update(chunk)
    return time.perf_counter() - started


async def _uploaded(resources: Resources, folder: str, sha256: str) -> FileUploadedV2:
    file_id = uuid.uuid4()
    event = new_event(
        FileUploadedV2,
        occurred_at=utc_now(),
        stream_id=f"file-{file_id}",
        context=EventContext(producer="bench", correlation_id="bench"),
        file_id=file_id,
        owner="bench",
        bucket=resources.settings.bucket,
        object_key=f"{folder}/upload",
        original_key=f"{folder}/original",
        filename="big.png",
        content_type="image/png",
        size=SIZE,
        sha256=sha256,
    )
    async with resources.pool.connection() as conn, conn.transaction():
        await resources.store.append(event.stream_id, 0, [event], conn=conn)
        await projections.apply(conn, [event])
    return event


async def _ours(resources: Resources, events: list[FileUploadedV2]) -> float:
    scanner = clamd_scanner(resources.settings)
    started = time.perf_counter()
    for event in events:
        verdict = await verify(resources.service, resources.objects, scanner, event)
        assert verdict is not None
        assert verdict.rejection is None, verdict.rejection
    return time.perf_counter() - started


async def test_verifier_copy_then_hash_vs_raw_get_and_hash(
    resources: Resources, tmp_path: Path
) -> None:
    source = tmp_path / "big.png"
    with source.open("wb") as out:
        out.write(PNG)
        out.write(os.urandom(SIZE - len(PNG)))
    sha256 = hashlib.sha256(source.read_bytes()).hexdigest()
    objects, bucket = resources.objects, resources.settings.bucket
    volume = PER_ROUND * SIZE / MIB  # MiB per contender per round

    ceiling, sdk, copy, ours = [], [], [], []
    pool = urllib3.PoolManager(maxsize=1)
    for _ in range(ROUNDS):
        folders = await _stage(objects, bucket, source, PER_ROUND)
        keys = [f"{folder}/upload" for folder in folders]
        ceiling.append(volume / await _ceiling(pool, objects, bucket, keys))
        sdk.append(volume / await _sdk_read(objects, bucket, keys))
        copy.append(volume / await _copy_only(objects, bucket, keys))
        events = [await _uploaded(resources, folder, sha256) for folder in folders]
        ours.append(volume / await _ours(resources, events))
        for folder in folders:
            assert [o.key for o in await objects.list_objects(bucket, f"{folder}/")] == [
                f"{folder}/original"
            ]

    median_ceiling, median_sdk, median_copy, median_ours = (
        statistics.median(ceiling),
        statistics.median(sdk),
        statistics.median(copy),
        statistics.median(ours),
    )
    load = os.getloadavg()
    print(f"\nmachine: {machine_description()}, load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print(f"objects: {PER_ROUND} x {SIZE // MIB} MiB per contender per round, {ROUNDS} rounds")
    print(f"ceiling, raw GET + SHA-256:       {median_ceiling:.0f} MiB/s  {_rounds(ceiling)}")
    print(f"verifier's read path + SHA-256:   {median_sdk:.0f} MiB/s  {_rounds(sdk)}")
    print(f"server-side copy alone:           {median_copy:.0f} MiB/s  {_rounds(copy)}")
    print(f"verifier, copy + read + verdict:  {median_ours:.0f} MiB/s  {_rounds(ours)}")
    print(f"ratio: {median_ours / median_ceiling:.2f} (aim >= 0.50)")
    assert median_ours > 0


def _rounds(rates: list[float]) -> str:
    return "(" + ", ".join(f"{r:.0f}" for r in rates) + ")"
