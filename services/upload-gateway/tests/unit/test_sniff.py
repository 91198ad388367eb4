"""The verifier judges bytes by their magic numbers, not by what the client declared."""

from __future__ import annotations

import pytest

from mediaplane.upload_gateway.worker.sniff import PLAYLIST, Sniffed, kind_of, sniff


@pytest.mark.parametrize(
    ("head", "media_type", "kind"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png", "image"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg", "image"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "application/pdf", "pdf"),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", "video/mp4", "video"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "image/heic", "image"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1", "image/avif", "image"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "audio/mpeg", "audio"),
        (b"plain words, no magic", "application/octet-stream", "other"),
        (b"", "application/octet-stream", "other"),
    ],
)
def test_sniffed_type_and_kind(head: bytes, media_type: str, kind: str) -> None:
    assert sniff(head) == Sniffed(media_type)
    assert kind_of(media_type) == kind


# A playlist whose comment line puts `iso2avc1mp41` at offset 20: puremagic's
# rule for that (confidence 0.8) beats its `#EXTM3U` rule (0.7).
POLYGLOT = (
    b"#EXTM3U\n#EXT-X-ftyp\niso2avc1mp41\n#EXT-X-TARGETDURATION:10\n"
    b"#EXTINF:2,\n/etc/passwd.ts\n#EXT-X-ENDLIST\n"
)


def id3(body: bytes, tag_size: int = 30) -> bytes:
    size = bytes((tag_size >> shift) & 0x7F for shift in (21, 14, 7, 0))
    return b"ID3\x04\x00\x00" + size + b"\x00" * tag_size + body


@pytest.mark.parametrize(
    ("head", "what"),
    [
        (POLYGLOT, "an M3U/HLS playlist"),
        (id3(POLYGLOT), "an M3U/HLS playlist"),
        (b"\xef\xbb\xbf  #extm3u\n", "an M3U/HLS playlist"),
        (b"ffconcat version 1.0\nfile /etc/passwd\n", "an ffconcat script"),
        (b'<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011">', "a DASH manifest"),
        (b"[playlist]\nFile1=/etc/passwd\n", "a PLS playlist"),
    ],
)
def test_playlists_and_scripts_are_refused_whatever_else_they_look_like(
    head: bytes, what: str
) -> None:
    sniffed = sniff(head)
    assert sniffed.media_type == PLAYLIST
    assert sniffed.refusal is not None
    assert what in sniffed.refusal
    assert kind_of(sniffed.media_type) == "other"


def test_iso_bmff_only_with_ftyp_as_the_first_box() -> None:
    # The brand names of an MP4 at offset 20, behind something that is not an `ftyp` box.
    assert sniff(b"\x00" * 20 + b"iso2avc1mp41" + b"\x00" * 16).media_type != "video/mp4"
    mp4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41"
    assert sniff(mp4) == Sniffed("video/mp4")


def test_an_mp3_with_id3_tags_is_still_audio() -> None:
    assert sniff(id3(b"\xff\xfb\x90\x64" + b"\x00" * 64)) == Sniffed("audio/mpeg")


AUDIO_SAMPLES = {
    # ffmpeg -f lavfi -i sine -c:a <codec> <file>: the first bytes of each.
    "m4a": b"\x00\x00\x00\x1cftypM4A \x00\x00\x02\x00M4A isomiso2",
    "ogg-vorbis": b"OggS\x00\x02" + b"\x00" * 20 + b"\x01\x1e\x01vorbis\x00\x00\x00\x00",
    "ogg-opus": b"OggS\x00\x02" + b"\x00" * 20 + b"\x01\x13OpusHead\x01\x01",
    "flac": b"fLaC\x00\x00\x00\x22\x10\x00\x10\x00",
    "wav": b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00",
}


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("m4a", "audio/mp4"),
        ("ogg-vorbis", "audio/ogg"),
        ("ogg-opus", "audio/ogg"),
        ("flac", "audio/flac"),
        ("wav", "audio/wave"),
    ],
)
def test_common_audio_formats_are_audio(name: str, media_type: str) -> None:
    assert sniff(AUDIO_SAMPLES[name]) == Sniffed(media_type)
    assert kind_of(media_type) == "audio"


def test_ogg_video_is_video_and_an_unknown_ogg_codec_stays_unallowed() -> None:
    theora = b"OggS\x00\x02" + b"\x00" * 20 + b"\x01\x2a\x80theora\x03\x02"
    assert sniff(theora) == Sniffed("video/ogg")
    other = b"OggS\x00\x02" + b"\x00" * 20 + b"\x01\x08unknown!"
    assert sniff(other).media_type == "application/ogg"


def test_text_named_like_audio_is_not_audio() -> None:
    assert (
        kind_of(sniff(b"these are not the samples you are looking for\n" * 100).media_type)
        == "other"
    )
