"""Chunk-parallel ladders: where to cut a long source, and the playlists stitched from the
chunks (pure).

A chunk is a whole number of output segments: it starts on a segment boundary
(`n * segment_seconds`) and every chunk but the last ends on one, so the
segments that different workers encode join into one rendition per rung
(keyframes are forced at every segment boundary). Among the segment
boundaries near the target length, the cut goes where the source itself has a
keyframe at or just before it: a worker seeking there decodes the fewest
frames it then throws away.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# A chunk may be this share of its target length shorter or longer, to land on a keyframe.
SLACK = 0.25
# Durations are floats from ffprobe: a boundary this close to the end is the end.
_EPSILON = 1e-3


@dataclass(frozen=True, kw_only=True)
class Chunk:
    index: int
    start: float  # seconds of source, a segment boundary
    end: float  # seconds of source; a segment boundary, or the source's end for the last
    first_segment: int  # the number of its first output segment in every rung
    segments: int

    @property
    def duration(self) -> float:
        return self.end - self.start


def segment_count(duration: float, segment_seconds: float) -> int:
    """Output segments of a rendition of `duration` seconds (the last may be shorter)."""
    if duration <= 0 or segment_seconds <= 0:
        raise ValueError("duration and segment length must be positive")
    return max(1, math.ceil(duration / segment_seconds - _EPSILON))


def use_chunks(duration: float, threshold: float) -> bool:
    """Sources at least `threshold` seconds long are chunked; shorter ones keep one ffmpeg
    (a threshold of 0 or less turns chunking off)."""
    return threshold > 0 and duration >= threshold


def _decode_lead(boundary: float, keyframes: Sequence[float]) -> float:
    """Seconds a worker starting at `boundary` decodes before it: back to the keyframe
    at or before it (0 when the keyframes are unknown: then no boundary is better)."""
    if not keyframes:
        return 0.0
    at = bisect.bisect_right(keyframes, boundary + _EPSILON)
    return max(0.0, boundary - keyframes[at - 1]) if at else boundary


def plan_chunks(
    *,
    duration: float,
    segment_seconds: float,
    chunk_segments: int,
    keyframes: Sequence[float] = (),
    preroll: float = 0.0,
) -> list[Chunk]:
    """Cut `duration` seconds into chunks of about `chunk_segments` segments each.

    `keyframes` are the source's keyframe times (ffprobe); a chunk's worker seeks
    `preroll` seconds before its start. A remainder shorter than half a chunk
    joins the chunk before it.
    """
    if chunk_segments < 1:
        raise ValueError("a chunk holds at least one segment")
    total = segment_count(duration, segment_seconds)
    frames = sorted(keyframes)
    slack = math.floor(chunk_segments * SLACK)
    chunks: list[Chunk] = []
    first = 0
    while first < total:
        left = total - first
        if left < chunk_segments + math.ceil(chunk_segments / 2):
            count = left  # the rest, rather than a stub chunk after it
        else:
            options = range(
                max(1, chunk_segments - slack),
                min(chunk_segments + slack, left - math.ceil(chunk_segments / 2)) + 1,
            )
            count = min(
                options,
                key=lambda n: (
                    round(_decode_lead((first + n) * segment_seconds - preroll, frames), 6),
                    abs(n - chunk_segments),
                ),
            )
        last = first + count >= total
        chunks.append(
            Chunk(
                index=len(chunks),
                start=first * segment_seconds,
                end=duration if last else (first + count) * segment_seconds,
                first_segment=first,
                segments=count,
            )
        )
        first += count
    return chunks


@dataclass(frozen=True, kw_only=True)
class PlaylistEntry:
    uri: str
    duration: float


def render_media_playlist(
    entries: Sequence[PlaylistEntry], *, segment_seconds: float, ended: bool
) -> str:
    """A rung's media playlist from its segments in order.

    While chunks are still being encoded it is an EVENT playlist (segments are
    only ever appended, a player keeps reloading it); with the last chunk it
    gets `#EXT-X-ENDLIST` and becomes VOD.
    """
    if not entries:
        raise ValueError("a playlist needs at least one segment")
    target = max(math.ceil(segment_seconds), *(math.ceil(e.duration - _EPSILON) for e in entries))
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{target}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        f"#EXT-X-PLAYLIST-TYPE:{'VOD' if ended else 'EVENT'}",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    for entry in entries:
        lines += [f"#EXTINF:{entry.duration:.6f},", entry.uri]
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def leading_done(done: Iterable[int], planned: int) -> int:
    """How many chunks from the start are done without a gap (what a player may be given)."""
    finished = set(done)
    count = 0
    while count < planned and count in finished:
        count += 1
    return count
