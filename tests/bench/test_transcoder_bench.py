"""The transcoder's ladder vs the plain single ffmpeg command with the same settings.

Source: 20 s of 1080p30 with a stereo tone (testsrc2 + sine, generated once).
Ours: `transcode_locally`, the media part of a job (ffprobe, ladder plan, ONE
ffmpeg through asyncio with its process-group handling, output checks, the
measured master playlist). Ceiling: the very command line ours builds, run
with `subprocess` and nothing else. Each side runs in a fresh Python process
that measures itself (wall clock, CPU of itself and its children, peak RSS of
the encoder and of the Python process), alternating over ROUNDS rounds on a
shared machine; medians and the median of per-round ratios are reported.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from .conftest import machine_description

ROUNDS = 3
SECONDS = 20

# Both runners print one JSON line: wall, cpu (self + children, user + sys),
# encoder_rss and python_rss (peak KiB of the children and of the runner).
_COMMON = """
import asyncio, json, resource, sys, time
from pathlib import Path
from mediaplane.bus import BusSettings
from mediaplane.storage import StorageSettings
from mediaplane.transcoder.config import TranscoderSettings

settings = TranscoderSettings(
    database_url="unused",
    bus=BusSettings(),
    storage=StorageSettings.from_urls(
        "http://127.0.0.1:1", access_key="unused", secret_key="unused", region="us-east-1"
    ),
)
source, out = Path(sys.argv[1]), Path(sys.argv[2])

def cpu():
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

def report(wall, cpu_used, **extra):
    print(json.dumps({
        "wall": wall,
        "cpu": cpu_used,
        "encoder_rss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        "python_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        **extra,
    }))
"""

OURS = (
    _COMMON
    + """
from mediaplane.transcoder.app.transcode import transcode_locally
cpu0, t0 = cpu(), time.perf_counter()
ladder = asyncio.run(transcode_locally(settings, source, out, "video/mp4"))
report(time.perf_counter() - t0, cpu() - cpu0,
       renditions=[r.variant.name for r in ladder.packaged.renditions])
"""
)

PLAIN = (
    _COMMON
    + """
import subprocess
from mediaplane.transcoder.adapters.ffmpeg import build_command
from mediaplane.transcoder.adapters.ffprobe import demuxer, probe
from mediaplane.transcoder.domain.ladder import plan_ladder
from mediaplane.transcoder.domain.mp4 import plan_mp4
# The same command line ours runs (ladder and MP4 fallback), built before the clock starts.
media = asyncio.run(probe(settings.ffprobe, source, "video/mp4", settings.limits, settings.tools))
ladder = plan_ladder(media, settings.encoding.ladder)
argv = build_command(settings.ffmpeg, demuxer("video/mp4"), source, out, media, ladder,
                     settings.encoding, mp4=plan_mp4(media, ladder))
cpu0, t0 = cpu(), time.perf_counter()
subprocess.run(argv, check=True)
report(time.perf_counter() - t0, cpu() - cpu0)
"""
)


def _make_source(path: Path) -> None:
    subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={SECONDS}",
            "-f", "lavfi", "-i", f"sine=frequency=440:duration={SECONDS}",
            "-c:v", "libx264", "-preset", "fast", "-crf", "18", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-ac", "2", str(path),
        ],
        check=True,
    )  # fmt: skip


def _run(script: str, source: Path, out: Path) -> dict[str, Any]:
    out.mkdir()
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), str(source), str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def test_ladder_vs_plain_ffmpeg(tmp_path: Path) -> None:
    source = tmp_path / "source.mp4"
    _make_source(source)
    ours: list[dict[str, Any]] = []
    plain: list[dict[str, Any]] = []
    for round_ in range(ROUNDS):
        # Alternate who goes first: load on the shared machine drifts.
        order = [("ours", OURS, ours), ("plain", PLAIN, plain)]
        for name, script, results in order if round_ % 2 == 0 else reversed(order):
            results.append(_run(script, source, tmp_path / f"{name}-{round_}"))

    def median(results: list[dict[str, Any]], key: str) -> float:
        return float(statistics.median(float(r[key]) for r in results))

    def ratio(key: str) -> float:
        return float(statistics.median(o[key] / p[key] for o, p in zip(ours, plain, strict=True)))

    print(f"\nmachine: {machine_description()}")
    print(f"source: {SECONDS} s 1080p30 + stereo AAC, ladder {ours[0]['renditions']}")
    for key, unit, scale in [
        ("wall", "s", 1.0),
        ("cpu", "s", 1.0),
        ("encoder_rss", "MiB", 1 / 1024),
        ("python_rss", "MiB", 1 / 1024),
    ]:
        print(
            f"{key}: ours {median(ours, key) * scale:.2f} {unit}, "
            f"plain {median(plain, key) * scale:.2f} {unit}, ratio {ratio(key):.3f}"
        )
    assert ours[0]["renditions"] == ["1080p", "720p", "480p", "360p"]
    # Loose bounds: a second decode or a second encoder process would show as ~2x.
    assert ratio("wall") < 1.5
    assert ratio("cpu") < 1.5
    assert ratio("encoder_rss") < 1.5
