"""Chunk planning and the stitched playlists (pure)."""

from __future__ import annotations

import itertools

import pytest

from mediaplane.transcoder.domain.chunks import (
    Chunk,
    PlaylistEntry,
    leading_done,
    plan_chunks,
    render_media_playlist,
    segment_count,
    use_chunks,
)


def _bounds(chunks: list[Chunk]) -> list[tuple[float, float, int, int]]:
    return [(c.start, c.end, c.first_segment, c.segments) for c in chunks]


def test_chunks_are_whole_segments_and_cover_the_source() -> None:
    chunks = plan_chunks(duration=100.0, segment_seconds=4.0, chunk_segments=8)
    # 25 segments: 8, 8, then 9 (a stub of 1 joins the last chunk).
    assert _bounds(chunks) == [(0.0, 32.0, 0, 8), (32.0, 64.0, 8, 8), (64.0, 100.0, 16, 9)]
    assert [c.index for c in chunks] == [0, 1, 2]
    for before, after in itertools.pairwise(chunks):
        assert before.end == after.start
        assert before.first_segment + before.segments == after.first_segment
        assert before.end == after.first_segment * 4.0  # a segment boundary
    assert sum(c.segments for c in chunks) == segment_count(100.0, 4.0)


def test_a_remainder_of_half_a_chunk_or_more_is_its_own_chunk() -> None:
    chunks = plan_chunks(duration=44.0, segment_seconds=4.0, chunk_segments=8)
    assert _bounds(chunks) == [(0.0, 44.0, 0, 11)]  # 3 segments left: they join
    chunks = plan_chunks(duration=48.0, segment_seconds=4.0, chunk_segments=8)
    assert _bounds(chunks) == [(0.0, 32.0, 0, 8), (32.0, 48.0, 8, 4)]


def test_cuts_move_to_a_source_keyframe_within_the_slack() -> None:
    # Source GOPs of 10 s: keyframes at 0, 10, 20, ... The 32 s target moves to 40 s
    # (8 +/- 2 segments of 4 s: 24..40 s), where a keyframe sits exactly.
    frames = [float(t) for t in range(0, 200, 10)]
    chunks = plan_chunks(duration=200.0, segment_seconds=4.0, chunk_segments=8, keyframes=frames)
    assert chunks[0].end == 40.0
    assert all(c.start in frames for c in chunks)
    # Without keyframes nearby the target length wins.
    plain = plan_chunks(duration=200.0, segment_seconds=4.0, chunk_segments=8)
    assert plain[0].end == 32.0


def test_a_keyframe_just_before_a_boundary_beats_one_far_before() -> None:
    # Keyframes at 0, 27.9 and 35: boundary 28 (lead 0.1 s) beats 36 (lead 1 s) and 32 (lead 4.1 s).
    chunks = plan_chunks(
        duration=120.0, segment_seconds=4.0, chunk_segments=8, keyframes=[0.0, 27.9, 35.0]
    )
    assert chunks[0].end == 28.0


def test_the_cut_counts_the_preroll_its_worker_seeks_back_by() -> None:
    # Seeking 1 s early: boundary 36 (seek 35, on a keyframe) beats 28 (seek 27, before 27.9).
    chunks = plan_chunks(
        duration=120.0,
        segment_seconds=4.0,
        chunk_segments=8,
        keyframes=[0.0, 27.9, 35.0],
        preroll=1.0,
    )
    assert chunks[0].end == 36.0


def test_short_sources_and_odd_lengths() -> None:
    assert _bounds(plan_chunks(duration=3.0, segment_seconds=4.0, chunk_segments=8)) == [
        (0.0, 3.0, 0, 1)
    ]
    # A float duration a hair over a boundary does not make a stub segment.
    assert segment_count(8.0004, 4.0) == 2
    assert segment_count(8.01, 4.0) == 3
    with pytest.raises(ValueError, match="at least one segment"):
        plan_chunks(duration=10.0, segment_seconds=4.0, chunk_segments=0)
    with pytest.raises(ValueError, match="must be positive"):
        segment_count(0.0, 4.0)


def test_threshold_chooses_chunks() -> None:
    assert use_chunks(600.0, 300.0)
    assert use_chunks(300.0, 300.0)
    assert not use_chunks(299.9, 300.0)
    assert not use_chunks(600.0, 0.0)  # turned off


def test_leading_done_stops_at_the_first_gap() -> None:
    assert leading_done({0, 1, 3}, 4) == 2
    assert leading_done({1, 2}, 3) == 0
    assert leading_done({0, 1, 2}, 3) == 3


def test_event_playlist_grows_then_ends_as_vod() -> None:
    entries = [PlaylistEntry(uri=f"seg_{n:05d}.ts", duration=4.0) for n in range(2)]
    growing = render_media_playlist(entries, segment_seconds=4.0, ended=False)
    assert "#EXT-X-PLAYLIST-TYPE:EVENT" in growing
    assert "#EXT-X-ENDLIST" not in growing
    assert growing.count("#EXTINF:4.000000,") == 2
    done = render_media_playlist(
        [*entries, PlaylistEntry(uri="seg_00002.ts", duration=4.4)],
        segment_seconds=4.0,
        ended=True,
    )
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in done
    assert done.rstrip().endswith("#EXT-X-ENDLIST")
    assert "#EXT-X-TARGETDURATION:5" in done  # rounded up, as RFC 8216 asks
    with pytest.raises(ValueError, match="at least one segment"):
        render_media_playlist([], segment_seconds=4.0, ended=True)
