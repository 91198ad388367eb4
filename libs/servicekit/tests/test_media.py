"""Which container the media tools read a file as (pure)."""

from __future__ import annotations

import pytest

from mediaplane.servicekit.media import (
    ContainerRefused,
    check_format_name,
    demuxer_for,
    input_options,
    script_signature,
)


@pytest.mark.parametrize(
    ("media_type", "demuxer"),
    [
        ("video/mp4", "mov"),
        ("video/quicktime", "mov"),
        ("Video/MP4; codecs=avc1", "mov"),
        ("video/webm", "matroska"),
        ("video/x-matroska", "matroska"),
        ("video/x-msvideo", "avi"),
        ("video/mp2t", "mpegts"),
        ("audio/mpeg", "mp3"),
        ("audio/wave", "wav"),
        ("audio/flac", "flac"),
        ("audio/ogg", "ogg"),
        ("audio/mp4", "mov"),
    ],
)
def test_each_verified_video_type_has_one_demuxer(media_type: str, demuxer: str) -> None:
    assert demuxer_for(media_type).name == demuxer


@pytest.mark.parametrize(
    "media_type", ["application/vnd.apple.mpegurl", "application/dash+xml", "image/png", ""]
)
def test_types_without_a_trusted_demuxer_are_refused(media_type: str) -> None:
    with pytest.raises(ContainerRefused, match="not a media container"):
        demuxer_for(media_type)


def test_the_tools_never_probe_and_read_local_files_only() -> None:
    assert input_options(demuxer_for("video/webm")) == [
        "-f",
        "matroska",
        "-protocol_whitelist",
        "file",
    ]


@pytest.mark.parametrize("format_name", ["hls", "concat", "dash", "image2", "sdp", "tty"])
def test_playlist_and_script_demuxers_are_refused(format_name: str) -> None:
    with pytest.raises(ContainerRefused, match="a playlist or script"):
        check_format_name(format_name, demuxer_for("video/mp4"))


def test_only_the_expected_demuxer_passes() -> None:
    check_format_name("mov,mp4,m4a,3gp,3g2,mj2", demuxer_for("video/mp4"))
    with pytest.raises(ContainerRefused, match="'avi', not mov"):
        check_format_name("avi", demuxer_for("video/mp4"))


def id3(body: bytes, tag_size: int, *, footer: bool = False) -> bytes:
    size = bytes((tag_size >> shift) & 0x7F for shift in (21, 14, 7, 0))
    flags = b"\x10" if footer else b"\x00"
    return b"ID3\x04\x00" + flags + size + b"\x00" * (tag_size + (10 if footer else 0)) + body


@pytest.mark.parametrize(
    ("head", "what"),
    [
        (b"#EXTM3U\n#EXT-X-ftyp\niso2avc1mp41\n", "an M3U/HLS playlist"),
        (b"#EXT-X-VERSION:3\n", "an HLS playlist"),
        (id3(b"#EXTM3U\n", 200), "an M3U/HLS playlist"),
        (id3(id3(b"#EXTM3U\n", 5), 7, footer=True), "an M3U/HLS playlist"),
        (b"\xef\xbb\xbf\r\n ffconcat version 1.0\n", "an ffconcat script"),
        (b";FFMETADATA1\n", "an ffmetadata script"),
        (b'<?xml version="1.0"?><MPD type="static">', "a DASH manifest (MPD)"),
        (b"<SmoothStreamingMedia MajorVersion='2'>", "a Smooth Streaming manifest"),
        (b"[playlist]\nFile1=x\n", "a PLS playlist"),
    ],
)
def test_playlists_and_scripts_are_recognised(head: bytes, what: str) -> None:
    assert script_signature(head) == what


@pytest.mark.parametrize(
    "head",
    [
        b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41",
        b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01",
        id3(b"\xff\xfb\x90\x64", 20),  # an MP3
        id3(b"#EXTM3U\n", 9000)[:8192],  # the tag runs past what was read: cannot tell
        b'<svg xmlns="http://www.w3.org/2000/svg"/>',
        b"",
    ],
)
def test_media_is_not_a_script(head: bytes) -> None:
    assert script_signature(head) is None
