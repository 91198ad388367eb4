"""Thumbnailer benchmark: 12 MP JPEGs to the three default sizes (WebP), against the ceiling
of Pillow's reduced-size (draft) JPEG decode alone, in the same run.

The ceiling is Pillow's own reduced decode for the largest size (`draft`:
2000x1500 for 4000x3000) and nothing else: no resize, rotation, colour
handling or encoding. Ours decodes less (libjpeg's 3/8 scale, 1500x1125: see
`shrink_on_load`); that decode alone is measured too, to show what the rest
of the pipeline costs. Ours is `render_thumbnails` as the worker calls it.
Rates per core are images per CPU-second of the measuring thread
(`time.thread_time`): on a machine shared with other jobs, wall-clock rates
mostly measure the neighbours. Rounds alternate the contenders so what noise
is left hits all alike; medians are reported. The worker's real setup (one
thread per core through its pool) is measured in wall-clock time. Numbers go
to docs/benchmarks.md (`## Thumbnailer`). The aim
(>= 20 images/s per core) is reported, not asserted: a shared, slow machine
must not make the suite flaky.
"""

from __future__ import annotations

import asyncio
import io
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from mediaplane.thumbnailer import testing
from mediaplane.thumbnailer.adapters.cpu import CpuPool
from mediaplane.thumbnailer.adapters.images import render_thumbnails, shrink_on_load
from mediaplane.thumbnailer.config import OutputOptions
from mediaplane.thumbnailer.domain.policy import MediaLimits
from mediaplane.thumbnailer.domain.sizing import DEFAULT_SIZES

from .conftest import machine_description

pytestmark = pytest.mark.bench

ROUNDS = 5
SOURCES = 3  # distinct photos (their grain is random)
PER_ROUND = 12  # images per contender per round


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("photos")
    paths = []
    for index in range(SOURCES):
        path = folder / f"photo-{index}.jpg"
        path.write_bytes(testing.encode(testing.photo(4000, 3000), "JPEG", quality=90))
        paths.append(path)
    return paths


def _draft_decode(path: Path) -> None:
    with Image.open(path) as image:
        image.draft("RGB", (1280, 960))
        image.load()


def _shrink_on_load_decode(path: Path) -> None:
    with Image.open(path) as image:
        shrink_on_load(image, (1280, 960))
        image.load()


def _thumbnails(output: OutputOptions) -> Callable[[Path], None]:
    def run(path: Path) -> None:
        render_thumbnails(
            path,
            media_type="image/jpeg",
            sizes=DEFAULT_SIZES,
            output=output,
            limits=MediaLimits(),
        )

    return run


def _rate(work: Callable[[Path], None], photos: list[Path]) -> float:
    """Images per CPU-second of `work` on this thread: the rate of one dedicated core."""
    started = time.thread_time()
    for n in range(PER_ROUND):
        work(photos[n % len(photos)])
    return PER_ROUND / (time.thread_time() - started)


def _parallel_rate(work: Callable[[Path], None], photos: list[Path], workers: int) -> float:
    """Images per wall-clock second of `work` through the worker's pool of `workers` threads."""

    async def run() -> float:
        pool = CpuPool(workers)
        try:
            started = time.perf_counter()
            await asyncio.gather(
                *(pool.run(work, photos[n % len(photos)]) for n in range(PER_ROUND * workers))
            )
            return PER_ROUND * workers / (time.perf_counter() - started)
        finally:
            pool.close()

    return asyncio.run(run())


def test_thumbnails_of_12_megapixel_jpegs_vs_draft_decode(photos: list[Path]) -> None:
    # The output is right before its speed matters.
    source, thumbnails = render_thumbnails(
        photos[0],
        media_type="image/jpeg",
        sizes=DEFAULT_SIZES,
        output=OutputOptions(),
        limits=MediaLimits(),
    )
    assert (source.width, source.height) == (4000, 3000)
    assert [(t.width, t.height) for t in thumbnails] == [(160, 120), (320, 240), (1280, 960)]
    assert Image.open(io.BytesIO(thumbnails[-1].data)).format == "WEBP"

    contenders: dict[str, Callable[[Path], None]] = {
        "draft decode alone (ceiling)": _draft_decode,
        "our 3/8 decode alone": _shrink_on_load_decode,
        "ours, WebP (method 2, default)": _thumbnails(OutputOptions()),
        "ours, WebP method 0": _thumbnails(OutputOptions(webp_method=0)),
        "ours, JPEG output": _thumbnails(OutputOptions(format="jpeg")),
    }
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    for round_number in range(ROUNDS):
        names = list(contenders)
        if round_number % 2:
            names.reverse()  # alternate the order: noise and warm-up hit everyone alike
        for name in names:
            rates[name].append(_rate(contenders[name], photos))

    cores = os.cpu_count() or 1
    parallel = [_parallel_rate(_thumbnails(OutputOptions()), photos, cores) for _ in range(3)]

    ceiling = rates["draft decode alone (ceiling)"]
    print(f"\nmachine: {machine_description()}")
    print(f"12 MP JPEG (4000x3000, q90) -> 160/320/1280 px, {ROUNDS} rounds x {PER_ROUND} images")
    for name, measured in rates.items():
        ratio = statistics.median(m / c for m, c in zip(measured, ceiling, strict=True))
        print(
            f"  {name}: {statistics.median(measured):.1f} images/s per core "
            f"({ratio:.0%} of the ceiling; rounds {[round(r, 1) for r in measured]})"
        )
    print(
        f"  ours, WebP, {cores} threads (the worker's pool): {statistics.median(parallel):.1f} "
        f"images/s = {statistics.median(parallel) / cores:.1f} per core "
        f"(runs {[round(r, 1) for r in parallel]})"
    )
    ours = statistics.median(rates["ours, WebP (method 2, default)"])
    assert ours > 0.05 * statistics.median(ceiling)  # loosely: the pipeline is not pathological
