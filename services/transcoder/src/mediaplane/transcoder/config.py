"""Configuration from the environment (12-factor): one frozen settings object per process."""

from __future__ import annotations

import os
import socket
import tempfile
from dataclasses import dataclass, field

from mediaplane.bus import BusSettings
from mediaplane.storage import StorageSettings
from mediaplane.transcoder.domain.audio import (
    DEFAULT_AUDIO_LADDER,
    DEFAULT_PEAKS,
    parse_audio_ladder,
)
from mediaplane.transcoder.domain.ladder import DEFAULT_LADDER, RungSpec, parse_ladder
from mediaplane.transcoder.domain.mp4 import MAX_SHORT_SIDE
from mediaplane.transcoder.domain.owners import OwnerLimit
from mediaplane.transcoder.domain.progress import ProgressThrottle
from mediaplane.transcoder.domain.retirement import (
    DEFAULT_GRACE,
    DEFAULT_SWEEP_INTERVAL,
    Retirement,
)

SERVICE = "transcoder"
DEFAULT_BACKOFF = (5.0, 30.0, 120.0, 300.0)


def _worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True, kw_only=True)
class EncodingSettings:
    """How renditions are encoded: same for the service and the benchmark's plain command."""

    ladder: tuple[RungSpec, ...] = DEFAULT_LADDER
    segment_seconds: float = 4.0
    preset: str = "veryfast"
    max_fps: float = 60.0
    mp4_max_short_side: int = MAX_SHORT_SIDE  # the progressive fallback: at most 720p
    audio_ladder: tuple[int, ...] = DEFAULT_AUDIO_LADDER  # AAC kbit/s of audio files
    waveform_peaks: int = DEFAULT_PEAKS

    def __post_init__(self) -> None:
        if self.mp4_max_short_side < 2 or self.waveform_peaks < 1:
            raise ValueError("mp4_max_short_side must be >= 2 and waveform_peaks >= 1")
        if self.segment_seconds <= 0:
            raise ValueError("segment_seconds must be positive")
        if self.max_fps <= 0:
            raise ValueError("max_fps must be positive")


@dataclass(frozen=True, kw_only=True)
class ChunkingSettings:
    """When a video is cut into chunks encoded apart (domain/chunks.py), and how long they are."""

    threshold: float = 300.0  # seconds of source; shorter videos keep one ffmpeg (0: never)
    chunk_segments: int = 8  # output segments per chunk
    # Chunk ffmpegs one worker process runs at once (any jobs' chunks, from the shared
    # `transcoder-chunks` queue; each uses every core it gets).
    workers: int = 1
    # Seconds encoded before every chunk but the first, then thrown away. x264's one-pass
    # rate control starts cold: without this, the first second of each chunk came out
    # 1.7-2.2 dB PSNR worse than the same second of a single-process encode (its first
    # frames at QP 33 where the single encode had 27). Shorter than a segment.
    preroll: float = 1.0

    def __post_init__(self) -> None:
        if self.chunk_segments < 1 or self.workers < 1:
            raise ValueError("chunk_segments and workers must be at least 1")
        if self.preroll < 0:
            raise ValueError("preroll must not be negative")


@dataclass(frozen=True, kw_only=True)
class SourceLimits:
    """Inputs beyond these are `unsupported_media` (they would tie a worker up for hours)."""

    max_duration: float = 6 * 3600.0
    max_dimension: int = 8192


@dataclass(frozen=True, kw_only=True)
class ToolLimits:
    """What ffprobe and ffmpeg may use (enforced by the kernel, per child process).

    The encode's CPU time and wall time grow with the source duration (the
    default ladder measured 1.65 CPU-seconds per second of 1080p30 video,
    docs/benchmarks.md; 4K or 60 fps costs a few times more); the wall time
    is also capped absolutely.
    """

    memory_mb: int = 4096  # address space; the 4-rung 1080p ladder peaks at ~1.4 GiB on 2 cores
    cpu_base: float = 60.0
    cpu_per_second: float = 10.0
    max_job_seconds: float = 86400.0
    probe_cpu: float = 30.0
    probe_timeout: float = 120.0

    def __post_init__(self) -> None:
        if min(self.memory_mb, self.cpu_base, self.max_job_seconds) <= 0:
            raise ValueError("memory_mb, cpu_base and max_job_seconds must be positive")
        if min(self.probe_cpu, self.probe_timeout) <= 0 or self.cpu_per_second < 0:
            raise ValueError("probe limits must be positive, cpu_per_second not negative")

    @property
    def memory_bytes(self) -> int:
        return self.memory_mb * 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class TranscoderSettings:
    database_url: str
    bus: BusSettings
    storage: StorageSettings
    bucket: str = "renditions"
    # Where sources may come from: a file.verified naming another bucket is refused.
    originals_bucket: str = "originals"
    encoding: EncodingSettings = field(default_factory=EncodingSettings)
    chunking: ChunkingSettings = field(default_factory=ChunkingSettings)
    limits: SourceLimits = field(default_factory=SourceLimits)
    tools: ToolLimits = field(default_factory=ToolLimits)
    progress: ProgressThrottle = field(default_factory=ProgressThrottle)
    # Job budget: timeout_base + timeout_per_second * source duration.
    timeout_base: float = 120.0
    timeout_per_second: float = 10.0
    # Consumer: a silent worker keeps a message ack_wait seconds; the job lease
    # (Postgres) lasts as long, so a dead worker's job is free when redelivered.
    ack_wait: float = 60.0
    max_deliver: int = 5
    backoff: tuple[float, ...] = DEFAULT_BACKOFF
    # Jobs of one owner running at once over every replica; a job over it waits
    # (is redelivered after owner_limit.retry_after) up to max_deferrals times.
    owner_limit: OwnerLimit = field(default_factory=OwnerLimit)
    max_deferrals: int = 100_000
    # Seconds a stopping worker lets a running job go on before killing ffmpeg
    # and handing the message back (0: at once).
    shutdown_grace: float = 0.0
    # How long a superseded generation stays readable, and how often the worker sweeps.
    retirement: Retirement = field(default_factory=Retirement)
    work_dir: str = field(default_factory=tempfile.gettempdir)
    ffmpeg: str = "ffmpeg"
    ffprobe: str = "ffprobe"
    worker_id: str = field(default_factory=_worker_id)
    http_host: str = "127.0.0.1"
    ops_port: int = 9121

    def __post_init__(self) -> None:
        if self.chunking.preroll >= self.encoding.segment_seconds:
            raise ValueError("the chunk preroll must be shorter than a segment")

    @property
    def lease_seconds(self) -> float:
        return self.ack_wait

    @classmethod
    def from_env(cls) -> TranscoderSettings:
        env = os.environ
        prefix = "MEDIAPLANE_TRANSCODER_"

        def text(name: str, default: str) -> str:
            return env.get(prefix + name, default)

        def number(name: str, default: float) -> float:
            raw = env.get(prefix + name)
            if raw is None:
                return default
            try:
                return float(raw)
            except ValueError:
                raise ValueError(f"{prefix}{name} must be a number (got {raw!r})") from None

        ladder = env.get(prefix + "LADDER")
        audio_ladder = env.get(prefix + "AUDIO_LADDER")
        backoff = env.get(prefix + "BACKOFF")
        return cls(
            database_url=env[prefix + "DATABASE_URL"],
            bus=BusSettings.from_env(service="transcoder"),
            storage=StorageSettings.from_env(service="transcoder"),
            bucket=env.get("MEDIAPLANE_RENDITIONS_BUCKET", "renditions"),
            originals_bucket=env.get("MEDIAPLANE_ORIGINALS_BUCKET", "originals"),
            encoding=EncodingSettings(
                ladder=parse_ladder(ladder) if ladder else DEFAULT_LADDER,
                segment_seconds=number("SEGMENT_SECONDS", 4.0),
                preset=text("PRESET", "veryfast"),
                max_fps=number("MAX_FPS", 60.0),
                mp4_max_short_side=int(number("MP4_MAX_HEIGHT", MAX_SHORT_SIDE)),
                audio_ladder=parse_audio_ladder(audio_ladder)
                if audio_ladder
                else DEFAULT_AUDIO_LADDER,
                waveform_peaks=int(number("WAVEFORM_PEAKS", DEFAULT_PEAKS)),
            ),
            chunking=ChunkingSettings(
                threshold=number("CHUNK_THRESHOLD", 300.0),
                chunk_segments=int(number("CHUNK_SEGMENTS", 8)),
                workers=int(number("CHUNK_WORKERS", 1)),
                preroll=number("CHUNK_PREROLL", 1.0),
            ),
            progress=ProgressThrottle(
                step=number("PROGRESS_STEP", 5.0),
                min_interval=number("PROGRESS_INTERVAL", 3.0),
            ),
            limits=SourceLimits(
                max_duration=number("MAX_DURATION", 6 * 3600.0),
                max_dimension=int(number("MAX_DIMENSION", 8192)),
            ),
            tools=ToolLimits(
                memory_mb=int(number("MEMORY_LIMIT_MB", 4096)),
                cpu_base=number("CPU_BASE", 60.0),
                cpu_per_second=number("CPU_PER_SECOND", 10.0),
                max_job_seconds=number("MAX_JOB_SECONDS", 86400.0),
                probe_cpu=number("PROBE_CPU", 30.0),
                probe_timeout=number("PROBE_TIMEOUT", 120.0),
            ),
            timeout_base=number("TIMEOUT_BASE", 120.0),
            timeout_per_second=number("TIMEOUT_PER_SECOND", 10.0),
            ack_wait=number("ACK_WAIT", 60.0),
            max_deliver=int(number("MAX_DELIVER", 5)),
            backoff=tuple(float(b) for b in backoff.split(",")) if backoff else DEFAULT_BACKOFF,
            owner_limit=OwnerLimit(
                max_running=int(number("MAX_CONCURRENT_PER_OWNER", 2)),
                retry_after=number("OWNER_RETRY_AFTER", 30.0),
            ),
            max_deferrals=int(number("MAX_DEFERRALS", 100_000)),
            shutdown_grace=number("SHUTDOWN_GRACE", 0.0),
            retirement=Retirement(
                grace=number("RETIRE_GRACE", DEFAULT_GRACE),
                sweep_interval=number("RETIRE_SWEEP_INTERVAL", DEFAULT_SWEEP_INTERVAL),
            ),
            work_dir=text("WORK_DIR", tempfile.gettempdir()),
            ffmpeg=env.get("MEDIAPLANE_FFMPEG", "ffmpeg"),
            ffprobe=env.get("MEDIAPLANE_FFPROBE", "ffprobe"),
            http_host=text("HOST", "127.0.0.1"),
            ops_port=int(number("OPS_PORT", 9121)),
        )
