"""Measured bandwidths and the master playlist (pure), read back with the strict parser."""

from __future__ import annotations

import pytest

from mediaplane.transcoder.adapters.playlists import (
    PlaylistError,
    parse_master_playlist,
    parse_media_playlist,
)
from mediaplane.transcoder.domain.hls import (
    Segment,
    Variant,
    average_bandwidth,
    peak_bandwidth,
    render_master,
)


def segments(*pairs: tuple[float, int]) -> list[Segment]:
    return [Segment(uri=f"s{i}.ts", duration=d, size=s) for i, (d, s) in enumerate(pairs)]


def test_average_bandwidth_is_bits_over_the_whole_duration() -> None:
    assert average_bandwidth(segments((4.0, 500_000), (4.0, 1_500_000))) == 2_000_000


def test_peak_bandwidth_is_the_busiest_window_near_the_target_duration() -> None:
    # Windows of 2-6 s (0.5-1.5 x 4 s): the busiest single segment is 3 Mbit/s.
    assert peak_bandwidth(segments((4.0, 500_000), (4.0, 1_500_000), (4.0, 500_000)), 4) == (
        3_000_000
    )


def test_a_short_last_segment_alone_does_not_set_the_peak() -> None:
    # 0.5 s is below half the target duration: only rated together with its neighbour.
    rated = peak_bandwidth(segments((4.0, 1_000_000), (0.5, 500_000)), 4)
    assert rated == round(1_500_000 * 8 / 4.5)


def test_a_clip_shorter_than_half_a_segment_is_rated_over_its_length() -> None:
    assert peak_bandwidth(segments((1.0, 100_000)), 4) == 800_000


def test_the_master_lists_every_attribute_players_choose_by() -> None:
    variants = [
        Variant(name="360p", uri="360p/index.m3u8", width=640, height=360,
                codecs="avc1.64001e,mp4a.40.2", frame_rate=29.97, bandwidth=900_000,
                average_bandwidth=850_000),
        Variant(name="720p", uri="720p/index.m3u8", width=1280, height=720,
                codecs="avc1.64001f,mp4a.40.2", frame_rate=29.97, bandwidth=3_000_000,
                average_bandwidth=2_800_000),
    ]  # fmt: skip
    text = render_master(variants, version=6)

    assert "#EXT-X-INDEPENDENT-SEGMENTS" in text
    parsed = parse_master_playlist(text)
    assert [(v.uri, v.bandwidth, v.average_bandwidth) for v in parsed] == [
        ("720p/index.m3u8", 3_000_000, 2_800_000),
        ("360p/index.m3u8", 900_000, 850_000),
    ]
    assert parsed[0].resolution == (1280, 720)
    assert parsed[0].codecs == "avc1.64001f,mp4a.40.2"
    assert parsed[0].frame_rate == pytest.approx(29.97)


VOD = """#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:4
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXTINF:4.000000,
seg_00000.ts
#EXTINF:1.500000,
seg_00001.ts
#EXT-X-ENDLIST
"""


def test_a_vod_media_playlist_is_read_with_its_segments() -> None:
    playlist = parse_media_playlist(VOD)
    assert playlist.segments == [("seg_00000.ts", 4.0), ("seg_00001.ts", 1.5)]
    assert (playlist.duration, playlist.target_duration, playlist.version) == (5.5, 4.0, 6)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (VOD.replace("#EXT-X-ENDLIST\n", ""), "VOD"),  # still being written
        (VOD.replace("#EXT-X-PLAYLIST-TYPE:VOD\n", ""), "VOD"),
        (VOD.replace("#EXTINF:4.000000,", "#EXTINF:four,"), "parse"),
        (VOD.replace("#EXT-X-TARGETDURATION:4", "#EXT-X-BOGUS"), "parse"),
        ("#EXTM3U\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-ENDLIST\n", "no segments"),
    ],
)
def test_a_broken_media_playlist_is_refused(text: str, why: str) -> None:
    with pytest.raises(PlaylistError, match=why):
        parse_media_playlist(text)


def test_a_media_playlist_is_not_a_master() -> None:
    with pytest.raises(PlaylistError, match="master"):
        parse_master_playlist(VOD)
