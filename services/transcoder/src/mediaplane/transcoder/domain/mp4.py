"""The progressive MP4 fallback: its size, and the faststart check of its box layout (pure).

A progressive download plays while it downloads, and a player can seek with
Range requests, only when the `moov` box (the index of every sample) comes
before `mdat` (the samples). ffmpeg's `-movflags +faststart` moves it there;
`top_level_boxes` reads the file's top-level boxes so the job can check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mediaplane.transcoder.domain.ladder import PlannedRendition, SourceMedia, even

MAX_SHORT_SIDE = 720  # "at most 720p"


class BoxError(ValueError):
    """The bytes are not a well-formed sequence of ISO-BMFF boxes."""


def plan_mp4(
    source: SourceMedia, ladder: Sequence[PlannedRendition], max_short_side: int = MAX_SHORT_SIDE
) -> PlannedRendition:
    """The fallback's size: the tallest planned rung at or below `max_short_side`; never above
    the source (the ladder never is). Without such a rung, the source fitted to that size."""
    fitting = [r for r in ladder if min(r.width, r.height) <= max_short_side]
    if fitting:
        best = max(fitting, key=lambda r: min(r.width, r.height))
        return PlannedRendition(
            name="mp4",
            width=best.width,
            height=best.height,
            video_kbps=best.video_kbps,
            audio_kbps=best.audio_kbps,
        )
    smallest = min(ladder, key=lambda r: min(r.width, r.height))
    scale = max_short_side / min(source.width, source.height)
    return PlannedRendition(
        name="mp4",
        width=even(source.width * scale),
        height=even(source.height * scale),
        video_kbps=smallest.video_kbps,
        audio_kbps=smallest.audio_kbps,
    )


def top_level_boxes(read_at: Callable[[int, int], bytes], size: int) -> list[str]:
    """The types of the top-level boxes of a file of `size` bytes, in order.

    `read_at(offset, n)` returns up to n bytes at offset; only headers are read.
    """
    boxes: list[str] = []
    offset = 0
    while offset < size:
        header = read_at(offset, 16)
        if len(header) < 8:
            raise BoxError(f"a truncated box header at {offset}")
        length = int.from_bytes(header[:4], "big")
        kind = header[4:8].decode("latin-1")
        if length == 1:
            if len(header) < 16:
                raise BoxError(f"a truncated 64-bit box size at {offset}")
            length = int.from_bytes(header[8:16], "big")
        elif length == 0:
            length = size - offset  # the box runs to the end of the file
        if length < 8 or offset + length > size:
            raise BoxError(f"box {kind!r} at {offset} has an impossible size {length}")
        boxes.append(kind)
        offset += length
    return boxes


def is_faststart(boxes: Sequence[str]) -> bool:
    """`moov` present and before the first `mdat`."""
    if "moov" not in boxes or "mdat" not in boxes:
        return False
    return boxes.index("moov") < boxes.index("mdat")
