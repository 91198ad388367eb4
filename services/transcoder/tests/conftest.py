"""Fixtures: clips made by ffmpeg; a transcoder on this test's database, buckets and streams."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from mediaplane.bus import Bus, BusSettings
from mediaplane.bus.testing import namespaced_settings
from mediaplane.contracts import EventContext, FileVerified, new_event, utc_now
from mediaplane.devstack.pytest_plugin import NatsNamespace, bucket_admin
from mediaplane.devstack.settings import StackSettings
from mediaplane.storage import ObjectStore, StorageSettings
from mediaplane.transcoder.app.bootstrap import Resources, apply_migrations, open_resources
from mediaplane.transcoder.config import ChunkingSettings, EncodingSettings, TranscoderSettings
from mediaplane.transcoder.domain.ladder import DEFAULT_LADDER
from mediaplane.transcoder.worker.consumer import register_chunk_encoder, register_transcoder


@dataclass(frozen=True, kw_only=True)
class ClipSpec:
    """A test clip: testsrc2 picture (+ a sine tone), optionally rotated or damaged."""

    width: int
    height: int
    seconds: float = 2.0
    fps: int = 10
    audio: bool = True
    rotate: int = 0  # display-matrix rotation metadata, degrees
    truncate_to: float | None = None  # keep this fraction of the bytes
    faststart: bool = False  # index first: a truncated file still opens

    @property
    def name(self) -> str:
        return (
            f"{self.width}x{self.height}-{self.seconds}s-{self.fps}fps-a{int(self.audio)}"
            f"-r{self.rotate}-t{self.truncate_to}-f{int(self.faststart)}.mp4"
        )


MakeClip = Callable[..., Path]


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


@pytest.fixture(scope="session")
def make_clip(tmp_path_factory: pytest.TempPathFactory) -> MakeClip:
    """`make_clip(width=..., height=..., **ClipSpec fields)` -> path of the clip, generated
    once per session."""
    directory = tmp_path_factory.mktemp("clips")

    def make(**fields: Any) -> Path:
        spec = ClipSpec(**fields)
        path = directory / spec.name
        if path.exists():
            return path
        plain = directory / f"plain-{spec.name}"
        inputs = [
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={spec.width}x{spec.height}:rate={spec.fps}:duration={spec.seconds}",
        ]
        if spec.audio:
            inputs += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={spec.seconds}"]
        _ffmpeg(
            *inputs,
            *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
            *(("-c:a", "aac") if spec.audio else ()),
            *(("-movflags", "+faststart") if spec.faststart else ()),
            str(plain),
        )
        if spec.rotate:
            _ffmpeg("-i", str(plain), "-c", "copy", "-metadata:s:v:0", f"rotate={spec.rotate}",
                     str(path))  # fmt: skip
        else:
            plain.rename(path)
        if spec.truncate_to is not None:
            data = path.read_bytes()
            path.write_bytes(data[: int(len(data) * spec.truncate_to)])
        return path

    return make


def bus_settings(namespace: NatsNamespace) -> BusSettings:
    return namespaced_settings(namespace)


def storage_settings(stack: StackSettings) -> StorageSettings:
    return stack.storage_settings()


@pytest.fixture
def renditions_bucket(stack: StackSettings, s3_bucket: str) -> Iterator[str]:
    """The transcoder's own bucket, apart from the one holding the originals (the admin's
    to create: the transcoder only checks for it)."""
    name = f"{s3_bucket}-hls"
    bucket_admin(stack).ensure(name)
    yield name
    bucket_admin(stack).empty_and_remove(name)


@pytest.fixture
def make_settings(
    stack: StackSettings,
    pg_url: str,
    nats_namespace: NatsNamespace,
    s3_bucket: str,
    renditions_bucket: str,
    tmp_path: Path,
) -> Callable[..., TranscoderSettings]:
    def build(**overrides: Any) -> TranscoderSettings:
        fields: dict[str, Any] = {
            "database_url": pg_url,
            "bus": bus_settings(nats_namespace),
            "storage": storage_settings(stack),
            "bucket": renditions_bucket,
            "originals_bucket": s3_bucket,
            # 1 s segments: 2 s clips still get several segments to align.
            "encoding": EncodingSettings(ladder=DEFAULT_LADDER, segment_seconds=1.0),
            "chunking": ChunkingSettings(preroll=0.5),  # shorter than those segments
            "work_dir": str(tmp_path),
            "backoff": (0.5,),
        }
        fields.update(overrides)
        return TranscoderSettings(**fields)

    return build


@pytest.fixture
async def settings(make_settings: Callable[..., TranscoderSettings]) -> TranscoderSettings:
    built = make_settings()
    await apply_migrations(built)
    return built


@pytest.fixture
async def resources(settings: TranscoderSettings) -> AsyncIterator[Resources]:
    async with open_resources(settings) as built:
        yield built


@pytest.fixture
async def worker(resources: Resources) -> AsyncIterator[Bus]:
    """A transcoder worker running in this process, consuming the test's stream."""
    bus = Bus(resources.settings.bus, resources.registry, producer="transcoder")
    register_transcoder(bus, resources.transcoder, resources.settings)
    register_chunk_encoder(bus, resources.chunk_encoder, resources.settings)
    async with bus.running():
        yield bus


@pytest.fixture
def originals(stack: StackSettings) -> ObjectStore:
    return ObjectStore(storage_settings(stack))


Upload = Callable[..., Awaitable[FileVerified]]


@pytest.fixture
def upload(originals: ObjectStore, s3_bucket: str) -> Upload:
    """Put a clip in the originals bucket; returns the `file.verified` event the gateway
    would publish for it."""

    def digest(path: Path) -> tuple[str, int]:
        return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_size

    async def put(path: Path, owner: str = "alice") -> FileVerified:
        sha256, size = await asyncio.to_thread(digest, path)
        file_id = uuid.uuid4()
        key = f"{owner}/{file_id}"
        await originals.upload_file(s3_bucket, key, path, content_type="video/mp4")
        return new_event(
            FileVerified,
            occurred_at=utc_now(),
            stream_id=f"file-{file_id}",
            context=EventContext(producer="upload-gateway", correlation_id=str(uuid.uuid4())),
            file_id=file_id,
            owner=owner,
            bucket=s3_bucket,
            object_key=key,
            sha256=sha256,
            size=size,
            media_type="video/mp4",
            kind="video",
        )

    return put


FINAL_TYPES = ("transcode.completed.v1", "transcode.failed.v1")


@dataclass(frozen=True)
class StoredEvent:
    type: str
    data: dict[str, Any]


ReadEvents = Callable[[uuid.UUID], list[StoredEvent]]


@pytest.fixture
def transcode_events(pg_url: str) -> ReadEvents:
    """`transcode_events(file_id)` -> the events of `transcode-<file_id>`, in order."""

    def read(file_id: uuid.UUID) -> list[StoredEvent]:
        with psycopg.connect(pg_url) as conn:
            rows = conn.execute(
                "SELECT type, data FROM event_log WHERE stream_id = %s ORDER BY version",
                (f"transcode-{file_id}",),
            ).fetchall()
        return [StoredEvent(type=row[0], data=row[1]) for row in rows]

    return read


WaitFinal = Callable[[uuid.UUID], Awaitable[StoredEvent]]


@pytest.fixture
def wait_final(transcode_events: ReadEvents) -> WaitFinal:
    """`await wait_final(file_id)` -> the job's completed or failed event, once recorded."""

    async def wait(file_id: uuid.UUID, within: float = 120.0) -> StoredEvent:
        deadline = asyncio.get_running_loop().time() + within
        while asyncio.get_running_loop().time() < deadline:
            final = [e for e in transcode_events(file_id) if e.type in FINAL_TYPES]
            if final:
                return final[0]
            await asyncio.sleep(0.2)
        raise AssertionError(f"no final transcode event for {file_id} within {within} s")

    return wait
