"""The waveform peaks of the mono 16-bit PCM ffmpeg decoded (`build_audio_command`)."""

from __future__ import annotations

import array
import sys
from pathlib import Path

from mediaplane.transcoder.domain.audio import bucket_bounds, normalize_peaks

_SAMPLE_BYTES = 2


def read_peaks(pcm_path: Path, count: int) -> list[float]:
    """`count` normalized peaks of the PCM file (fewer for a very short file, none if empty).

    One bucket is in memory at a time: a six-hour file is ~350 MB of PCM.
    """
    samples = pcm_path.stat().st_size // _SAMPLE_BYTES
    raw: list[int] = []
    with pcm_path.open("rb") as file:
        for start, end in bucket_bounds(samples, count):
            file.seek(start * _SAMPLE_BYTES)
            bucket = array.array("h")
            bucket.frombytes(file.read((end - start) * _SAMPLE_BYTES))
            if sys.byteorder == "big":
                bucket.byteswap()  # s16le on disk
            raw.append(max(max(bucket), -min(bucket)) if bucket else 0)
    return normalize_peaks(raw)
