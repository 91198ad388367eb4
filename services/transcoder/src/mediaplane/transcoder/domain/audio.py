"""The audio-only HLS ladder and the waveform peaks of an audio file (pure).

Audio files get AAC renditions at a few bitrates (one stereo AAC encode
each, like the video rungs' audio) and a waveform: the source is decoded to
mono 16-bit PCM at `PEAK_SAMPLE_RATE`, cut into `count` equal buckets, and
each bucket's peak absolute amplitude is kept, normalized so the loudest
bucket is 1 (a quiet recording still draws a full-height waveform).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

PEAK_SAMPLE_RATE = 8000  # Hz: plenty for a display of ~1000 columns
DEFAULT_PEAKS = 1000
DEFAULT_AUDIO_LADDER = (128, 64)  # AAC kbit/s, highest first


@dataclass(frozen=True, kw_only=True)
class AudioMedia:
    """What ffprobe found in an audio file."""

    duration: float
    codec: str
    channels: int
    sample_rate: int


@dataclass(frozen=True, kw_only=True)
class AudioRendition:
    name: str  # e.g. "128k"
    kbps: int


def parse_audio_ladder(text: str) -> tuple[int, ...]:
    """`"128,64"` -> (128, 64): distinct positive kbit/s, highest first."""
    rates = [int(item) for item in text.split(",") if item.strip()]
    if not rates or min(rates) <= 0 or len(set(rates)) != len(rates):
        raise ValueError("the audio ladder needs distinct positive bitrates")
    return tuple(sorted(rates, reverse=True))


def plan_audio_ladder(rates: Sequence[int]) -> list[AudioRendition]:
    return [AudioRendition(name=f"{kbps}k", kbps=kbps) for kbps in sorted(rates, reverse=True)]


def bucket_bounds(samples: int, count: int) -> list[tuple[int, int]]:
    """`count` contiguous [start, end) sample ranges covering `samples` (fewer if too short)."""
    count = min(count, samples)
    return [(i * samples // count, (i + 1) * samples // count) for i in range(count)]


def normalize_peaks(raw: Sequence[int]) -> list[float]:
    """Peak amplitudes -> [0, 1] relative to the loudest, three decimals (all 0 for silence)."""
    loudest = max(raw, default=0)
    if loudest <= 0:
        return [0.0] * len(raw)
    return [round(value / loudest, 3) for value in raw]
