"""The ladder plan: which rungs a source gets, at what size (pure)."""

from __future__ import annotations

import pytest

from mediaplane.transcoder.domain.ladder import (
    DEFAULT_LADDER,
    RungSpec,
    SourceMedia,
    job_timeout,
    output_fps,
    parse_ladder,
    plan_ladder,
)


def source(width: int, height: int, fps: float = 30.0) -> SourceMedia:
    return SourceMedia(
        width=width, height=height, duration=10.0, fps=fps, video_codec="h264", audio_codec=None
    )


def sizes(width: int, height: int) -> list[tuple[str, int, int]]:
    return [(r.name, r.width, r.height) for r in plan_ladder(source(width, height), DEFAULT_LADDER)]


def test_a_1080p_source_gets_every_rung() -> None:
    assert sizes(1920, 1080) == [
        ("1080p", 1920, 1080),
        ("720p", 1280, 720),
        ("480p", 854, 480),
        ("360p", 640, 360),
    ]


def test_a_4k_source_is_capped_at_the_tallest_rung() -> None:
    assert [name for name, _, _ in sizes(3840, 2160)] == ["1080p", "720p", "480p", "360p"]


def test_a_480p_source_gets_480p_and_360p_only() -> None:
    assert sizes(854, 480) == [("480p", 854, 480), ("360p", 640, 360)]


def test_a_source_between_rungs_is_never_upscaled() -> None:
    assert sizes(1000, 600) == [("480p", 800, 480), ("360p", 600, 360)]


def test_a_portrait_source_is_ranked_by_its_short_side() -> None:
    assert sizes(1080, 1920) == [
        ("1080p", 1080, 1920),
        ("720p", 720, 1280),
        ("480p", 480, 854),
        ("360p", 360, 640),
    ]


def test_a_source_below_the_smallest_rung_gets_one_rendition_at_its_own_size() -> None:
    plan = plan_ladder(source(320, 180), DEFAULT_LADDER)
    assert [(r.name, r.width, r.height) for r in plan] == [("180p", 320, 180)]
    lowest = DEFAULT_LADDER[-1]
    assert (plan[0].video_kbps, plan[0].audio_kbps) == (lowest.video_kbps, lowest.audio_kbps)


def test_odd_sizes_become_even_and_keep_the_aspect_ratio() -> None:
    # 4:3 at odd size; every dimension even, ratio within rounding.
    for rendition in plan_ladder(source(721, 541), DEFAULT_LADDER):
        assert rendition.width % 2 == 0
        assert rendition.height % 2 == 0
        assert rendition.width / rendition.height == pytest.approx(721 / 541, rel=0.01)
    assert sizes(201, 113) == [("112p", 200, 112)]


def test_peak_and_buffer_follow_the_target_bitrate() -> None:
    top = plan_ladder(source(1920, 1080), DEFAULT_LADDER)[0]
    assert (top.video_kbps, top.maxrate_kbps, top.bufsize_kbps) == (5000, 5350, 10000)


def test_a_ladder_is_configured_as_height_video_audio_triples() -> None:
    assert parse_ladder("360:800:64, 720:2800:128") == (
        RungSpec(height=720, video_kbps=2800, audio_kbps=128),
        RungSpec(height=360, video_kbps=800, audio_kbps=64),
    )


@pytest.mark.parametrize("text", ["", "720:2800", "721:2800:128", "720:0:128", "720:1:1,720:2:2"])
def test_a_bad_ladder_is_refused(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - every message names the bad part
        parse_ladder(text)


@pytest.mark.parametrize(("fps", "expected"), [(25, 25), (60, 60), (120, 60), (240, 60), (90, 45)])
def test_high_frame_rates_are_halved_under_the_cap(fps: float, expected: float) -> None:
    assert output_fps(source(1920, 1080, fps=fps), 60) == expected


def test_the_job_budget_grows_with_the_duration() -> None:
    assert job_timeout(0, base=120, per_second=10) == 120
    assert job_timeout(60, base=120, per_second=10) == 720
