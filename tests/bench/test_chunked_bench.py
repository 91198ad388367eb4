"""Chunk-parallel ladder vs the single-process ladder, on one machine.

Source: SECONDS of 1080p30 with a stereo tone (testsrc2 + sine), the default
4-rung ladder, 4 s segments, chunks of CHUNK_SEGMENTS segments. Each variant
runs in a fresh Python process that measures itself (wall clock, CPU of
itself and its ffmpeg children):

- single: today's ladder, ONE ffmpeg for every rung (HLS only: the chunked
  ladder makes no MP4 fallback, so the baseline makes none either), its checks.
- chunked x1: `encode_chunked_ladder` with one ffmpeg at a time (one worker).
- chunked x2: two at a time (two ffmpegs in one process on this machine).
- through the queue (`test_two_worker_processes_vs_one_through_the_chunk_queue`):
  real worker processes taking the chunks of one file from `transcoder-chunks`,
  two vs one, with the relay, Postgres, JetStream and SeaweedFS in the loop.

Also measured: time to first playable (the first chunk of every rung and the
audio are written, with EVENT playlists), as a fraction of the chunked x1 wall.
The overhead test uses the issue's 2-minute source with the transcoder's
default chunk size (one round: about 15 minutes on an idle 2-core machine);
`test_first_playable_on_a_ten_minute_source` the 10-minute one. The ceiling
is the single process measured in the same run.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from mediaplane.bus import Bus
from mediaplane.bus.testing import namespaced_settings
from mediaplane.contracts import EventContext, FileVerified, build_registry, new_event, utc_now
from mediaplane.devstack.pytest_plugin import NatsNamespace, bucket_admin, free_ports
from mediaplane.devstack.settings import StackSettings
from mediaplane.storage import ObjectStore
from mediaplane.transcoder.app.bootstrap import apply_migrations
from mediaplane.transcoder.config import TranscoderSettings

from .conftest import machine_description

ROUNDS = 1
SECONDS = 120
CHUNK_SEGMENTS = 8  # the transcoder's default (MEDIAPLANE_TRANSCODER_CHUNK_SEGMENTS)

_COMMON = """
import asyncio, json, resource, sys, time
from pathlib import Path
from mediaplane.bus import BusSettings
from mediaplane.storage import StorageSettings
from mediaplane.transcoder.adapters import ffprobe
from mediaplane.transcoder.config import ChunkingSettings, TranscoderSettings

settings = TranscoderSettings(
    database_url="unused",
    bus=BusSettings(),
    storage=StorageSettings.from_urls(
        "http://127.0.0.1:1", access_key="unused", secret_key="unused", region="us-east-1"
    ),
    chunking=ChunkingSettings(threshold=1.0, chunk_segments=int(sys.argv[4])),  # per chunk
)
source, out, workers = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
media = asyncio.run(
    ffprobe.probe(settings.ffprobe, source, "video/mp4", settings.limits, settings.tools)
)

def cpu():
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
"""

SINGLE = (
    _COMMON
    + """
from mediaplane.transcoder.adapters import ffmpeg
from mediaplane.transcoder.adapters.packager import finish_ladder
from mediaplane.transcoder.app.transcode import encode_limits
from mediaplane.transcoder.domain.ladder import output_fps, plan_ladder
ladder = plan_ladder(media, settings.encoding.ladder)
argv = ffmpeg.build_command(settings.ffmpeg, ffprobe.demuxer("video/mp4"), source, out, media,
                            ladder, settings.encoding)
cpu0, t0 = cpu(), time.perf_counter()
asyncio.run(ffmpeg.encode(argv, encode_limits(settings, media.duration)))
finish_ladder(out, ladder, source_duration=media.duration, fps=output_fps(media, 60))
print(json.dumps({"wall": time.perf_counter() - t0, "cpu": cpu() - cpu0}))
"""
)

CHUNKED = (
    _COMMON
    + """
from mediaplane.transcoder.app.chunked import encode_chunked_ladder
playable = []
async def main():
    t0 = time.perf_counter()
    async def landed(news):
        if news.playable and not playable:
            playable.append(time.perf_counter() - t0)
    ladder = await encode_chunked_ladder(settings, media, source, out, "video/mp4",
                                         workers=workers, on_landed=landed)
    return ladder, time.perf_counter() - t0
cpu0 = cpu()
ladder, wall = asyncio.run(main())
print(json.dumps({"wall": wall, "cpu": cpu() - cpu0, "first_playable": playable[0],
                  "renditions": [r.variant.name for r in ladder.packaged.renditions]}))
"""
)


def _make_source(path: Path, seconds: int = SECONDS) -> None:
    subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
            "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-ac", "2", str(path),
        ],
        check=True,
    )  # fmt: skip


def _run(
    script: str, source: Path, out: Path, workers: int, chunk_segments: int = CHUNK_SEGMENTS
) -> dict[str, Any]:
    out.mkdir()
    argv = [str(source), str(out), str(workers), str(chunk_segments)]
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *argv],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.timeout(3600)  # a hang guard: three 2-minute 1080p ladders
def test_chunked_vs_single_process(tmp_path: Path) -> None:
    source = tmp_path / "source.mp4"
    _make_source(source)
    runs: dict[str, list[dict[str, Any]]] = {"single": [], "chunked1": [], "chunked2": []}
    variants = [("single", SINGLE, 1), ("chunked1", CHUNKED, 1), ("chunked2", CHUNKED, 2)]
    for round_ in range(ROUNDS):
        # Alternate the order: load on the shared machine drifts.
        for name, script, workers in variants if round_ % 2 == 0 else reversed(variants):
            runs[name].append(_run(script, source, tmp_path / f"{name}-{round_}", workers))

    def median(name: str, key: str) -> float:
        return float(statistics.median(float(r[key]) for r in runs[name]))

    def ratio(name: str, base: str, key: str) -> float:
        pairs = zip(runs[name], runs[base], strict=True)
        return float(statistics.median(a[key] / b[key] for a, b in pairs))

    print(f"\nmachine: {machine_description()}")
    print(f"source: {SECONDS} s 1080p30 + stereo AAC; chunks of {CHUNK_SEGMENTS} x 4 s segments")
    for name in runs:
        print(f"{name}: wall {median(name, 'wall'):.1f} s, cpu {median(name, 'cpu'):.1f} s")
    one_wall, one_cpu = ratio("chunked1", "single", "wall"), ratio("chunked1", "single", "cpu")
    speedup = 1 / ratio("chunked2", "chunked1", "wall")
    first = float(statistics.median(r["first_playable"] / r["wall"] for r in runs["chunked1"]))
    print(f"chunked x1 / single: wall {one_wall:.3f}, cpu {one_cpu:.3f}")
    print(f"chunked x2 vs x1: speedup {speedup:.2f}")
    print(
        f"first playable (x1): {median('chunked1', 'first_playable'):.1f} s = {first:.1%} of wall"
    )
    assert runs["chunked1"][0]["renditions"][:4] == ["1080p", "720p", "480p", "360p"]
    # Loose bounds on work, not on time (the aims are recorded in docs/benchmarks.md): on
    # a shared machine the wall clock follows the other tenants' load.
    assert one_cpu < 1.5
    assert first < 0.6


LONG_SECONDS = 600
LONG_CHUNK_SEGMENTS = CHUNK_SEGMENTS


@pytest.mark.timeout(7200)  # a hang guard: the run is long by design
def test_first_playable_on_a_ten_minute_source(tmp_path: Path) -> None:
    """The issue's 10-minute measurement: one chunked x1 run with the default chunk size
    (about 25 minutes of encoding on a 2-core machine, hence one round, alone)."""
    source = tmp_path / "source.mp4"
    _make_source(source, LONG_SECONDS)
    run = _run(CHUNKED, source, tmp_path / "chunked1", 1, LONG_CHUNK_SEGMENTS)
    first = run["first_playable"] / run["wall"]
    print(f"\nmachine: {machine_description()}")
    print(f"source: {LONG_SECONDS} s 1080p30 + stereo AAC; chunks of {LONG_CHUNK_SEGMENTS} x 4 s")
    print(f"chunked x1: wall {run['wall']:.1f} s, cpu {run['cpu']:.1f} s")
    print(f"first playable: {run['first_playable']:.1f} s = {first:.1%} of wall")
    assert run["renditions"][:4] == ["1080p", "720p", "480p", "360p"]
    assert first < 0.5  # a loose bound on work: the aim (15 %) is in docs/benchmarks.md


# Two worker processes vs one through the `transcoder-chunks` queue: real processes, the
# outbox relay, Postgres, JetStream and SeaweedFS, one file at a time. Wall time from the
# publication of `file.verified` to `transcode.completed` (workers already running).
QUEUE_SECONDS = 32
QUEUE_CHUNK_SEGMENTS = 2  # 8 segments of 4 s: 4 chunks
QUEUE_ROUNDS = 2


def _role(env: dict[str, str], role: str, port: int, logs: Path) -> subprocess.Popen[bytes]:
    with (logs / f"{role}-{port}.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "mediaplane.transcoder", role],
            env={**env, "MEDIAPLANE_TRANSCODER_OPS_PORT": str(port)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def test_two_worker_processes_vs_one_through_the_chunk_queue(
    tmp_path: Path,
    stack: StackSettings,
    pg_url: str,
    nats_namespace: NatsNamespace,
    s3_bucket: str,
) -> None:
    source = tmp_path / "source.mp4"
    _make_source(source, QUEUE_SECONDS)
    bus = namespaced_settings(nats_namespace)
    renditions = f"{s3_bucket}-hls"
    bucket_admin(stack).ensure(renditions)  # the admin's to create, never the transcoder's
    settings = TranscoderSettings(
        database_url=pg_url,
        bus=bus,
        storage=stack.storage_settings(),
        bucket=renditions,
        originals_bucket=s3_bucket,
    )
    await apply_migrations(settings)
    env = {
        **os.environ,
        "MEDIAPLANE_TRANSCODER_DATABASE_URL": pg_url,
        "MEDIAPLANE_NATS_URL": bus.url,
        "MEDIAPLANE_STREAM": bus.stream,
        "MEDIAPLANE_SUBJECT_ROOT": bus.subject_root,
        "MEDIAPLANE_DLQ_STREAM": bus.dlq_stream,
        "MEDIAPLANE_DLQ_SUBJECT_ROOT": bus.dlq_subject_root,
        "MEDIAPLANE_S3_ENDPOINT": stack.s3_endpoint,
        "MEDIAPLANE_TRANSCODER_S3_ACCESS_KEY": stack.s3_admin.access_key,
        "MEDIAPLANE_TRANSCODER_S3_SECRET_KEY": stack.s3_admin.secret_key,
        "MEDIAPLANE_S3_REGION": stack.s3_region,
        "MEDIAPLANE_RENDITIONS_BUCKET": renditions,
        "MEDIAPLANE_ORIGINALS_BUCKET": s3_bucket,
        "MEDIAPLANE_TRANSCODER_WORK_DIR": str(tmp_path),
        "MEDIAPLANE_TRANSCODER_CHUNK_THRESHOLD": "1",
        "MEDIAPLANE_TRANSCODER_CHUNK_SEGMENTS": str(QUEUE_CHUNK_SEGMENTS),
    }
    logs = tmp_path / "logs"
    logs.mkdir()
    originals = ObjectStore(stack.storage_settings())
    publisher = Bus(bus, build_registry(bus.subject_root), producer="upload-gateway")
    digest = hashlib.sha256(source.read_bytes()).hexdigest()

    async def one_file() -> float:
        file_id = uuid.uuid4()
        key = f"alice/{file_id}"
        await originals.upload_file(s3_bucket, key, source, content_type="video/mp4")
        event = new_event(
            FileVerified,
            occurred_at=utc_now(),
            stream_id=f"file-{file_id}",
            context=EventContext(producer="upload-gateway", correlation_id=str(file_id)),
            file_id=file_id, owner="alice", bucket=s3_bucket, object_key=key, sha256=digest,
            size=source.stat().st_size, media_type="video/mp4", kind="video",
        )  # fmt: skip
        started = time.perf_counter()
        await publisher.publish(event)
        while True:
            with psycopg.connect(pg_url) as conn:
                row = conn.execute(
                    "SELECT type FROM event_log WHERE stream_id = %s AND type IN"
                    " ('transcode.completed.v1', 'transcode.failed.v1')",
                    (f"transcode-{file_id}",),
                ).fetchone()
            if row is not None:
                tails = [log.read_text()[-3000:] for log in logs.iterdir()]
                assert row[0] == "transcode.completed.v1", tails
                return time.perf_counter() - started
            await asyncio.sleep(0.2)

    walls: dict[int, list[float]] = {1: [], 2: []}
    relay = _role(env, "relay", free_ports(2) - 1, logs)
    first = _role(env, "worker", free_ports(2), logs)
    second: subprocess.Popen[bytes] | None = None
    try:
        async with publisher.running():
            for round_ in range(QUEUE_ROUNDS):
                # Alternate the order (load on the shared machine drifts): 1, 2 then 2, 1.
                for workers in (1, 2) if round_ % 2 == 0 else (2, 1):
                    if workers == 2 and second is None:
                        second = _role(env, "worker", free_ports(2), logs)
                    if workers == 1 and second is not None:
                        _stop(second)
                        second = None
                    await asyncio.sleep(3)  # the new worker's consumers are fetching
                    walls[workers].append(await one_file())
    finally:
        for proc in (relay, first, second):
            if proc is not None:
                _stop(proc)
        bucket_admin(stack).empty_and_remove(renditions)

    speedups = [one / two for one, two in zip(walls[1], walls[2], strict=True)]
    speedup = float(statistics.median(speedups))
    chunks = QUEUE_SECONDS // 4 // QUEUE_CHUNK_SEGMENTS
    print(f"\nmachine: {machine_description()}; load average {os.getloadavg()}")
    print(f"queue: {QUEUE_SECONDS} s 1080p30, {chunks} chunks; one file at a time")
    for workers, values in walls.items():
        print(f"{workers} worker process(es): wall {statistics.median(values):.1f} s {values}")
    print(f"two worker processes vs one: speedup {speedup:.2f} (rounds {speedups})")
    # Both ran the same chunks to a completed ladder (asserted above); the speedup is
    # recorded, not bounded: on 2 shared cores the other tenants decide it.
    assert speedup > 0
