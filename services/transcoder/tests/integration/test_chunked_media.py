"""The chunked ladder against the single-process ladder of the same source (real ffmpeg).

A 12 s 640x360 clip with 2 s segments and 3-segment chunks: two chunks,
encoded apart, stitched. Each rung must pass the HLS checks the transcoder
runs, cut segments at the same instants as every other rung, keep a keyframe
at each segment start, end with its audio within 50 ms, and come within
0.3 dB PSNR of the single-process encode.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mediaplane.transcoder.adapters import ffprobe
from mediaplane.transcoder.adapters.playlists import parse_media_playlist
from mediaplane.transcoder.app.chunked import Landed, encode_chunked_ladder
from mediaplane.transcoder.app.transcode import encode_ladder
from mediaplane.transcoder.config import ChunkingSettings, EncodingSettings, TranscoderSettings
from mediaplane.transcoder.domain.ladder import RungSpec

from ..conftest import MakeClip

pytestmark = pytest.mark.integration

LADDER = (
    RungSpec(height=360, video_kbps=500, audio_kbps=128),
    RungSpec(height=180, video_kbps=200, audio_kbps=64),
)


def _settings(make_settings: Callable[..., TranscoderSettings]) -> TranscoderSettings:
    return make_settings(
        encoding=EncodingSettings(ladder=LADDER, segment_seconds=2.0),
        chunking=ChunkingSettings(threshold=1.0, chunk_segments=3),
    )


def _probe(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", *args],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    data: dict[str, Any] = json.loads(out)
    return data


def _psnr(reference: Path, encoded: Path) -> tuple[float, list[float]]:
    """PSNR (dB) of `encoded` against the source it was made from: the average, and each
    frame's."""
    frames = encoded.with_suffix(".psnr")
    result = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-i", str(encoded), "-i", str(reference),
         "-lavfi", "[0:v]setpts=PTS-STARTPTS[a];[1:v]setpts=PTS-STARTPTS,scale=640:360[b];"
         f"[a][b]psnr=stats_file={frames}", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    match = re.search(r"PSNR .* average:([0-9.]+|inf)", result.stderr)
    assert match, result.stderr[-2000:]
    each = [float(m) for m in re.findall(r"psnr_avg:([0-9.]+)", frames.read_text())]
    return float(match.group(1)), each


def _join(rendition: Path, target: Path) -> Path:
    """The rendition's segments in playlist order as one transport stream (as a player reads it)."""
    playlist = parse_media_playlist((rendition / "index.m3u8").read_text())
    with target.open("wb") as out:
        for uri, _ in playlist.segments:
            out.write((rendition / uri).read_bytes())
    return target


@pytest.fixture(scope="module")
def clip(make_clip: MakeClip) -> Path:
    return make_clip(width=640, height=360, seconds=12.0, fps=15)


async def test_chunked_matches_the_single_process_ladder(
    clip: Path, make_settings: Callable[..., TranscoderSettings], tmp_path: Path
) -> None:
    settings = _settings(make_settings)
    media = await ffprobe.probe(
        settings.ffprobe, clip, "video/mp4", settings.limits, settings.tools
    )
    landed: list[tuple[int, int, int]] = []
    playlists_while_running: list[str] = []
    playable_at: list[int] = []

    async def on_landed(news: Landed) -> None:
        if news.chunk is None:
            assert news.audio_ready
        else:
            landed.append((news.chunk.index, news.leading, news.planned))
        if news.playable:
            playable_at.append(news.done)
        if news.leading and news.leading < news.planned and news.chunk is not None:
            playlists_while_running.append((chunked_dir / "360p" / "index.m3u8").read_text())

    chunked_dir = tmp_path / "chunked"
    chunked_dir.mkdir()
    ladder = await encode_chunked_ladder(
        settings, media, clip, chunked_dir, "video/mp4", workers=1, on_landed=on_landed
    )
    single_dir = tmp_path / "single"
    single_dir.mkdir()
    await encode_ladder(settings, media, clip, single_dir, "video/mp4")

    # Two chunks, in order with one worker; the stitched playlist grew as an EVENT playlist.
    assert [(i, lead) for i, lead, _ in landed] == [(0, 1), (1, 2)]
    assert {planned for *_, planned in landed} == {2}
    assert playable_at[0] == 1  # the first chunk and the audio: playable before the rest
    assert playlists_while_running
    assert all(
        "#EXT-X-PLAYLIST-TYPE:EVENT" in text and "#EXT-X-ENDLIST" not in text
        for text in playlists_while_running
    )
    assert playlists_while_running[0].count("#EXTINF") == 3

    # The packager's checks passed (VOD, ended, durations, alignment, A/V); the master
    # names each rung's audio rendition.
    names = [r.variant.name for r in ladder.packaged.renditions]
    assert names == ["360p", "180p", "audio_128k", "audio_64k"]
    master = (chunked_dir / "master.m3u8").read_text()
    assert 'AUDIO="audio_128k"' in master
    assert 'URI="audio_64k/index.m3u8"' in master
    assert all(len(r.segments) == 6 for r in ladder.packaged.renditions[:2])

    # Keyframes at every segment start, and the same instants in both rungs.
    starts: dict[str, list[float]] = {}
    for rung in ("360p", "180p"):
        joined = _join(chunked_dir / rung, tmp_path / f"{rung}.ts")
        frames = _probe(
            "-select_streams", "v:0", "-show_entries", "packet=pts_time,flags", str(joined)
        )["packets"]
        keys = [float(p["pts_time"]) for p in frames if "K" in p["flags"]]
        starts[rung] = keys
        assert len(keys) == 6, keys
        steps = [round(b - a, 3) for a, b in itertools.pairwise(keys)]
        assert steps == [2.0] * 5, steps
        pts = sorted(float(p["pts_time"]) for p in frames)
        assert len(pts) == 12 * 15  # every frame once: no chunk dropped or doubled one
    assert starts["360p"] == starts["180p"]

    # Audio and video end together (the player's view: playlist durations, and the streams).
    video = parse_media_playlist((chunked_dir / "360p" / "index.m3u8").read_text()).duration
    audio = parse_media_playlist((chunked_dir / "audio_128k" / "index.m3u8").read_text()).duration
    assert abs(video - audio) < 0.05, (video, audio)
    audio_ts = _join(chunked_dir / "audio_128k", tmp_path / "audio.ts")
    apackets = _probe("-show_entries", "packet=pts_time,duration_time", str(audio_ts))["packets"]
    audio_end = float(apackets[-1]["pts_time"]) + float(apackets[-1]["duration_time"])
    video_end = max(pts) + 1 / 15
    assert abs(audio_end - video_end) < 0.05, (audio_end, video_end)

    # The MP4 fallback is a remux of the 360p rung and its audio: faststart (checked by the
    # ladder), both streams, starting together and lasting as long as the source.
    assert ladder.mp4 is not None
    assert (ladder.mp4.width, ladder.mp4.height) == (640, 360)
    streams = _probe("-show_entries", "stream=codec_name,start_time,duration",
                     str(chunked_dir / "fallback.mp4"))["streams"]  # fmt: skip
    assert sorted(s["codec_name"] for s in streams) == ["aac", "h264"]
    assert all(float(s["start_time"]) == pytest.approx(0.0, abs=0.03) for s in streams)
    assert all(float(s["duration"]) == pytest.approx(12.0, abs=0.05) for s in streams)

    # Quality: within 0.3 dB of the single-process encode at the same settings, and no
    # second of it (the one after the cut at 6 s above all) over 1 dB worse.
    single = _join(single_dir / "360p", tmp_path / "single.ts")
    chunked_psnr, chunked_frames = _psnr(clip, tmp_path / "360p.ts")
    single_psnr, single_frames = _psnr(clip, single)
    assert abs(chunked_psnr - single_psnr) < 0.3, (chunked_psnr, single_psnr)
    assert len(chunked_frames) == len(single_frames) == 12 * 15
    seconds = [
        (sum(chunked_frames[s : s + 15]) - sum(single_frames[s : s + 15])) / 15
        for s in range(0, 12 * 15, 15)
    ]
    assert min(seconds) > -1.0, [round(d, 2) for d in seconds]
