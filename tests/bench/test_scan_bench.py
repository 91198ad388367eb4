"""Malware scan throughput: the verifier's one read of an original (SHA-256 + clamd
INSTREAM), against a raw read of the same objects from S3, in the same run.

Contenders, each over the same staged objects, alternating per round:
- ceiling: `ObjectStore.iter_object` drained (the S3 read every verdict needs);
- hash only: the same read into SHA-256 (the verifier before scanning);
- clamd alone: the same bytes sent from memory over INSTREAM (what clamd
  itself takes: it spools the stream to a file, then scans it);
- ours: `measure()` as the verifier calls it: the read, SHA-256, sniffing, and
  every chunk sent on to the stack's clamd (INSTREAM) with its verdict awaited.

clamd is the local stack's, with the repo's test signatures only: with the
official databases (hundreds of thousands of signatures) clamd's own scan time
grows, so this measures the pipeline (S3 -> verifier -> clamd) more than
ClamAV's engine. The objects are random bytes behind a PNG header. Medians are
reported; nothing is asserted on speed (a shared 2-core machine).
"""

from __future__ import annotations

import hashlib
import os
import statistics
import time
import uuid
from contextlib import aclosing
from pathlib import Path

import pytest

from mediaplane.devstack.settings import StackSettings
from mediaplane.storage import ObjectStore
from mediaplane.upload_gateway.adapters.clamd import ClamdScanner
from mediaplane.upload_gateway.worker.verifier import measure

from .conftest import machine_description

pytestmark = pytest.mark.bench

MIB = 1024 * 1024
SIZE = 64 * MIB
PER_ROUND = 3
ROUNDS = 3
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


@pytest.fixture
def objects(stack: StackSettings) -> ObjectStore:
    return ObjectStore(stack.storage_settings())


async def _raw(objects: ObjectStore, bucket: str, keys: list[str]) -> float:
    started = time.perf_counter()
    for key in keys:
        async with aclosing(objects.iter_object(bucket, key)) as chunks:
            async for _ in chunks:
                pass
    return time.perf_counter() - started


async def _hash(objects: ObjectStore, bucket: str, keys: list[str]) -> float:
    started = time.perf_counter()
    for key in keys:
        digest = hashlib.sha256()
        async with aclosing(objects.iter_object(bucket, key)) as chunks:
            async for chunk in chunks:
                digest.update(chunk)
    return time.perf_counter() - started


async def _clamd_alone(scanner: ClamdScanner, data: bytes, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        async with scanner.scan() as scan:
            for offset in range(0, len(data), MIB):
                await scan.feed(data[offset : offset + MIB])
            assert (await scan.finish()).outcome == "clean"
    return time.perf_counter() - started


async def _scan(objects: ObjectStore, scanner: ClamdScanner, bucket: str, keys: list[str]) -> float:
    started = time.perf_counter()
    for key in keys:
        async with scanner.scan() as scan:
            measured = await measure(objects, bucket, key, scan)
        assert (measured.scan.outcome, measured.size) == ("clean", SIZE)
    return time.perf_counter() - started


async def test_scan_throughput_vs_raw_s3_read(
    stack: StackSettings, objects: ObjectStore, s3_bucket: str, tmp_path: Path
) -> None:
    source = tmp_path / "big.png"
    with source.open("wb") as out:
        out.write(PNG)
        out.write(os.urandom(SIZE - len(PNG)))
    keys = [f"bench/{uuid.uuid4()}/original" for _ in range(PER_ROUND)]
    for key in keys:
        await objects.upload_file(s3_bucket, key, source, content_type="image/png")
    scanner = ClamdScanner(stack.clamd_url)
    await scanner.ping()
    volume = PER_ROUND * SIZE / MIB

    data = source.read_bytes()

    raw, hashed, alone, scanned = [], [], [], []
    for _ in range(ROUNDS):
        raw.append(volume / await _raw(objects, s3_bucket, keys))
        hashed.append(volume / await _hash(objects, s3_bucket, keys))
        alone.append(volume / await _clamd_alone(scanner, data, PER_ROUND))
        scanned.append(volume / await _scan(objects, scanner, s3_bucket, keys))

    m_raw, m_hash, m_alone, m_scan = (statistics.median(r) for r in (raw, hashed, alone, scanned))
    load = os.getloadavg()
    print(f"\nmachine: {machine_description()}, load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print(f"objects: {PER_ROUND} x {SIZE // MIB} MiB, {ROUNDS} rounds; clamd at {stack.clamd_url}")
    print(f"ceiling, raw S3 read:              {m_raw:.0f} MiB/s  {_rounds(raw)}")
    print(f"read + SHA-256:                    {m_hash:.0f} MiB/s  {_rounds(hashed)}")
    print(f"clamd alone, INSTREAM from memory: {m_alone:.0f} MiB/s  {_rounds(alone)}")
    print(f"read + SHA-256 + clamd INSTREAM:   {m_scan:.0f} MiB/s  {_rounds(scanned)}")
    print(f"ratio to the raw read: {m_scan / m_raw:.2f}; to clamd alone: {m_scan / m_alone:.2f}")
    assert m_scan > 0


def _rounds(rates: list[float]) -> str:
    return "(" + ", ".join(f"{r:.0f}" for r in rates) + ")"
