"""Pure parsing of EXIF and ffprobe output into the metadata contract."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mediaplane.contracts import GeoLocation, ImageMetadata
from mediaplane.thumbnailer.domain import metadata as m
from mediaplane.thumbnailer.domain.errors import CorruptInput, UnsupportedMedia

EXIF = {
    m.MAKE: "Canon\x00",
    m.MODEL: " Canon EOS R5 ",
    m.ORIENTATION: 6,
    m.DATE_TIME_ORIGINAL: "2024:07:14 18:30:05",
    m.OFFSET_TIME_ORIGINAL: "+02:00",
    m.LENS_MAKE: "Canon",
    m.LENS_MODEL: "RF24-105mm F4 L IS USM",
}
GPS = {
    m.GPS_LATITUDE_REF: "N",
    m.GPS_LATITUDE: (48.0, 51.0, 29.6),
    m.GPS_LONGITUDE_REF: "W",
    m.GPS_LONGITUDE: ((2, 1), (17, 1), (4026, 100)),
    m.GPS_ALTITUDE_REF: 0,
    m.GPS_ALTITUDE: 35.0,
}


def _image(keep_location: bool, gps: dict[int, object] = GPS) -> ImageMetadata:
    return m.image_metadata(
        width=4000, height=3000, format="JPEG", exif=EXIF, gps=gps, keep_location=keep_location
    )


def test_exif_gives_upright_size_camera_lens_and_utc_time_without_gps() -> None:
    image = _image(keep_location=False)
    assert (image.width, image.height, image.orientation) == (3000, 4000, 6)
    assert image.format == "jpeg"
    assert (image.camera_make, image.camera_model) == ("Canon", "Canon EOS R5")
    assert image.lens == "Canon RF24-105mm F4 L IS USM"
    assert image.taken_at == datetime(2024, 7, 14, 16, 30, 5, tzinfo=UTC)
    assert image.location is None  # GPS present in the file, owner did not opt in


def test_gps_is_kept_only_when_the_owner_opted_in() -> None:
    location = _image(keep_location=True).location
    assert location == GeoLocation(latitude=48.8582222, longitude=-2.2945167, altitude=35.0)


def test_gps_below_sea_level_and_invalid_gps() -> None:
    below = m.gps_location({**GPS, m.GPS_ALTITUDE_REF: 1, m.GPS_ALTITUDE: (1234, 100)})
    assert below is not None
    assert below.altitude == -12.34
    assert m.gps_location({**GPS, m.GPS_LATITUDE: (91.0, 0.0, 0.0)}) is None
    assert m.gps_location({m.GPS_LATITUDE: "nonsense"}) is None
    assert _image(keep_location=True, gps={}).location is None


def test_a_picture_without_exif_has_its_size_and_nothing_else() -> None:
    image = m.image_metadata(
        width=640, height=480, format="PNG", exif={}, gps={}, keep_location=True
    )
    assert (image.width, image.height, image.orientation) == (640, 480, 1)
    assert image.camera_make is None
    assert image.taken_at is None
    assert image.location is None


@pytest.mark.parametrize(
    ("value", "offset", "expected"),
    [
        ("2024:07:14 18:30:05", None, datetime(2024, 7, 14, 18, 30, 5, tzinfo=UTC)),
        (b"2024:07:14 18:30:05\x00", "-05:30", datetime(2024, 7, 15, 0, 0, 5, tzinfo=UTC)),
        ("0000:00:00 00:00:00", None, None),
        ("    :  :     :  :  ", None, None),
        ("2024:07:14 18:30:05", "bogus", datetime(2024, 7, 14, 18, 30, 5, tzinfo=UTC)),
        (None, None, None),
    ],
)
def test_exif_times(value: object, offset: object, expected: datetime | None) -> None:
    assert m.exif_time(value, offset) == expected


def test_a_bad_orientation_is_ignored_and_an_empty_picture_refused() -> None:
    image = m.image_metadata(
        width=10, height=20, format="png", exif={m.ORIENTATION: 42}, gps={}, keep_location=False
    )
    assert (image.width, image.height, image.orientation) == (10, 20, 1)
    with pytest.raises(CorruptInput):
        m.image_metadata(width=0, height=20, format="png", exif={}, gps={}, keep_location=False)


def _probe(*streams: dict[str, object], **container: object) -> dict[str, object]:
    return {"streams": list(streams), "format": container}


PHONE_HDR = _probe(
    {
        "codec_type": "video",
        "codec_name": "hevc",
        "profile": "Main 10",
        "width": 3840,
        "height": 2160,
        "avg_frame_rate": "30000/1001",
        "pix_fmt": "yuv420p10le",
        "color_transfer": "arib-std-b67",
        "color_primaries": "bt2020",
        "side_data_list": [{"side_data_type": "Display Matrix", "rotation": -90}],
    },
    {"codec_type": "audio", "codec_name": "aac", "channels": 2, "sample_rate": "48000"},
    format_name="mov,mp4,m4a,3gp,3g2,mj2",
    duration="12.512000",
    bit_rate="48000000",
)


def test_a_rotated_hlg_phone_video() -> None:
    video = m.video_metadata(PHONE_HDR)
    assert (video.width, video.height, video.rotation) == (3840, 2160, 90)
    assert (video.video_codec, video.video_profile, video.audio_codec) == ("hevc", "Main 10", "aac")
    assert (video.fps, video.duration, video.bitrate) == (29.97, 12.512, 48_000_000)
    assert (video.color_transfer, video.color_primaries, video.hdr) == (
        "arib-std-b67",
        "bt2020",
        "hlg",
    )
    assert video.container == "mov,mp4,m4a,3gp,3g2,mj2"


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        ({"side_data_list": [{"rotation": 90}]}, 270),
        ({"side_data_list": [{"rotation": 180}]}, 180),
        ({"side_data_list": [{"rotation": -90.0}]}, 90),
        ({"tags": {"rotate": "90"}}, 90),
        ({}, 0),
    ],
)
def test_rotation_is_clockwise(stream: dict[str, object], expected: int) -> None:
    assert m.rotation(stream) == expected


def test_pq_sdr_and_odd_values() -> None:
    pq = _probe(
        {
            "codec_type": "video",
            "codec_name": "hevc",
            "width": 1920,
            "height": 1080,
            "avg_frame_rate": "0/0",
            "r_frame_rate": "25/1",
            "color_transfer": "smpte2084",
        },
        duration="N/A",
        bit_rate="N/A",
    )
    video = m.video_metadata(pq)
    assert (video.hdr, video.fps, video.duration, video.bitrate) == ("pq", 25.0, None, None)
    assert video.container == "unknown"
    assert video.audio_codec is None
    sdr = _probe({"codec_type": "video", "codec_name": "h264", "width": 2, "height": 2})
    assert m.video_metadata(sdr).hdr is None
    assert m.frame_rate("1/0") is None
    assert m.frame_rate("x") is None


def test_a_video_without_pictures_is_refused() -> None:
    with pytest.raises(UnsupportedMedia):
        m.video_metadata(_probe({"codec_type": "audio", "channels": 2, "sample_rate": "1"}))
    with pytest.raises(CorruptInput):
        m.video_metadata(_probe({"codec_type": "video", "codec_name": "h264"}))


def test_audio_with_cover_art() -> None:
    probe = _probe(
        {"codec_type": "video", "codec_name": "mjpeg", "disposition": {"attached_pic": 1}},
        {
            "codec_type": "audio",
            "codec_name": "mp3",
            "channels": 2,
            "sample_rate": "44100",
            "bit_rate": "192000",
            "duration": "215.4",
        },
        format_name="mp3",
    )
    assert not m.has_video(probe)
    audio = m.audio_metadata(probe)
    assert (audio.codec, audio.channels, audio.sample_rate) == ("mp3", 2, 44_100)
    assert (audio.duration, audio.bitrate, audio.container) == (215.4, 192_000, "mp3")


def test_audio_without_a_stream_or_rate_is_refused() -> None:
    with pytest.raises(UnsupportedMedia):
        m.audio_metadata(_probe())
    with pytest.raises(CorruptInput):
        m.audio_metadata(_probe({"codec_type": "audio", "codec_name": "flac", "channels": 0}))


def test_pdf_title() -> None:
    assert m.pdf_metadata(page_count=3, title="  Annual report\x00 ").title == "Annual report"
    assert m.pdf_metadata(page_count=1, title="").title is None
    with pytest.raises(CorruptInput):
        m.pdf_metadata(page_count=0, title=None)
