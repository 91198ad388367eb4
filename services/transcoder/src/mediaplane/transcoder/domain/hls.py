"""HLS facts computed from what ffmpeg wrote: measured bitrates and the master playlist (pure).

ffmpeg's own master playlist advertises the *configured* bitrate as
BANDWIDTH and has no AVERAGE-BANDWIDTH or FRAME-RATE. Players pick variants
by these numbers, so they are measured on the real segments, the way
RFC 8216 section 4.3.4.2 defines them, and the master is written anew.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Segment:
    uri: str
    duration: float
    size: int


@dataclass(frozen=True, kw_only=True)
class Variant:
    """One rendition as it will be announced (audio-only: width, height and frame rate 0)."""

    name: str
    uri: str
    width: int
    height: int
    codecs: str
    frame_rate: float
    bandwidth: int
    average_bandwidth: int
    audio_group: str | None = None  # a chunked ladder's video rung plays this audio rendition


@dataclass(frozen=True, kw_only=True)
class AudioTrack:
    """An audio rendition of a chunked ladder (`EXT-X-MEDIA`), encoded once for every rung."""

    group: str
    uri: str


def average_bandwidth(segments: Sequence[Segment]) -> int:
    """Bits per second over the whole rendition."""
    seconds = sum(s.duration for s in segments)
    if seconds <= 0:
        raise ValueError("a rendition needs a positive duration")
    return round(sum(s.size for s in segments) * 8 / seconds)


def peak_bandwidth(segments: Sequence[Segment], target_duration: float) -> int:
    """The peak segment bit rate: the highest rate of any run of contiguous segments whose
    total duration lies between 0.5 and 1.5 times the target duration.

    Short clips with no such run are rated over their whole length. Never below
    the average (the spec's BANDWIDTH is an upper bound).
    """
    low, high = 0.5 * target_duration, 1.5 * target_duration
    peak = 0.0
    for start in range(len(segments)):
        seconds, size = 0.0, 0
        for segment in segments[start:]:
            seconds += segment.duration
            size += segment.size
            if seconds > high:
                break
            if seconds >= low:
                peak = max(peak, size * 8 / seconds)
    return max(round(peak), average_bandwidth(segments))


def render_master(
    variants: Sequence[Variant], *, version: int, audio: Sequence[AudioTrack] = ()
) -> str:
    """The master playlist: one EXT-X-STREAM-INF per variant, highest bandwidth first, after
    the `EXT-X-MEDIA` audio renditions the variants name."""
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{version}", "#EXT-X-INDEPENDENT-SEGMENTS"]
    lines += [
        f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="{track.group}",NAME="{track.group}",'
        f'DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="{track.uri}"'
        for track in audio
    ]
    for variant in sorted(variants, key=lambda v: v.bandwidth, reverse=True):
        attributes = [
            f"BANDWIDTH={variant.bandwidth}",
            f"AVERAGE-BANDWIDTH={variant.average_bandwidth}",
        ]
        if variant.width and variant.height:
            attributes.append(f"RESOLUTION={variant.width}x{variant.height}")
        attributes.append(f'CODECS="{variant.codecs}"')
        if variant.frame_rate:
            attributes.append(f"FRAME-RATE={variant.frame_rate:.3f}")
        if variant.audio_group:
            attributes.append(f'AUDIO="{variant.audio_group}"')
        lines += [f"#EXT-X-STREAM-INF:{','.join(attributes)}", variant.uri]
    return "\n".join(lines) + "\n"
