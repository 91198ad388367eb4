"""What a local encode produced (checked), and the budget of its ffmpeg."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mediaplane.servicekit import children
from mediaplane.transcoder.adapters.packager import OutputInvalid, PackagedLadder
from mediaplane.transcoder.config import TranscoderSettings
from mediaplane.transcoder.domain.ladder import job_timeout
from mediaplane.transcoder.domain.mp4 import BoxError, is_faststart, top_level_boxes


@dataclass(frozen=True, kw_only=True)
class LocalMp4:
    """The progressive fallback ffmpeg wrote, checked to be faststart."""

    name: str  # relative to the output directory
    width: int
    height: int
    size: int
    bandwidth: int


@dataclass(frozen=True, kw_only=True)
class LocalLadder:
    """What ffmpeg produced for a source, checked and with a measured master playlist."""

    packaged: PackagedLadder
    encode_seconds: float
    mp4: LocalMp4 | None = None
    peaks: list[float] | None = None  # audio: the waveform


def encode_limits(settings: TranscoderSettings, duration: float) -> children.Limits:
    """The ladder's ffmpeg may use CPU and wall time in proportion to the source duration."""
    tools = settings.tools
    return children.Limits(
        cpu_seconds=job_timeout(duration, base=tools.cpu_base, per_second=tools.cpu_per_second),
        memory_bytes=tools.memory_bytes,
        wall_seconds=job_timeout(
            duration,
            base=settings.timeout_base,
            per_second=settings.timeout_per_second,
            cap=tools.max_job_seconds,
        ),
    )


def check_mp4(path: Path, width: int, height: int, duration: float) -> LocalMp4:
    """The fallback exists, is a sequence of boxes and has `moov` before `mdat`."""
    if not path.is_file() or (size := path.stat().st_size) == 0:
        raise OutputInvalid(f"{path.name} is missing or empty")
    with path.open("rb") as file:

        def read_at(offset: int, n: int) -> bytes:
            file.seek(offset)
            return file.read(n)

        try:
            boxes = top_level_boxes(read_at, size)
        except BoxError as error:
            raise OutputInvalid(f"{path.name}: {error}") from None
    if not is_faststart(boxes):
        raise OutputInvalid(f"{path.name} is not faststart: its boxes are {boxes}")
    return LocalMp4(
        name=path.name,
        width=width,
        height=height,
        size=size,
        bandwidth=round(size * 8 / duration) if duration > 0 else 0,
    )
