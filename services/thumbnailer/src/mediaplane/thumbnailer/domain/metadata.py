"""What a file is, from what the tools reported: pure parsing of EXIF and ffprobe output.

The adapters hand over plain data (EXIF as tag number -> value, ffprobe's
JSON as a dict); nothing here does I/O. Tools report odd values for odd
files (`0/0` frame rates, `N/A`, bytes in text tags, out-of-range GPS), so
every field is read defensively and left out rather than guessed.

Privacy: GPS location is kept only when the owner opted in (`keep_location`).
Otherwise it is dropped here, before any event is written, whatever the
adapter passed in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from mediaplane.contracts import (
    AudioMetadata,
    GeoLocation,
    ImageMetadata,
    PdfMetadata,
    VideoMetadata,
)
from mediaplane.thumbnailer.domain.errors import CorruptInput, UnsupportedMedia

# EXIF tag numbers (TIFF/EXIF 2.32): IFD0, the Exif IFD and the GPS IFD.
MAKE, MODEL, ORIENTATION, DATE_TIME = 0x010F, 0x0110, 0x0112, 0x0132
DATE_TIME_ORIGINAL, OFFSET_TIME_ORIGINAL = 0x9003, 0x9011
LENS_MAKE, LENS_MODEL = 0xA433, 0xA434
GPS_LATITUDE_REF, GPS_LATITUDE, GPS_LONGITUDE_REF, GPS_LONGITUDE = 1, 2, 3, 4
GPS_ALTITUDE_REF, GPS_ALTITUDE = 5, 6
EXIF_IFD, GPS_IFD = 0x8769, 0x8825

_SWAPS_SIDES = frozenset({5, 6, 7, 8})  # orientations that turn the picture a quarter
_MAX_TEXT = 200
# ffprobe's color_transfer for the two HDR transfer functions.
_HDR_TRANSFERS = {"smpte2084": "pq", "arib-std-b67": "hlg"}


# -- images ---------------------------------------------------------------------------------


def image_metadata(
    *,
    width: int,
    height: int,
    format: str,
    exif: Mapping[int, Any],
    gps: Mapping[int, Any],
    keep_location: bool,
) -> ImageMetadata:
    """`width`/`height` as stored; `exif` holds IFD0 and the Exif IFD's tags, `gps` the GPS IFD."""
    if width < 1 or height < 1:
        raise CorruptInput(f"the picture is {width}x{height} pixels")
    orientation = _int(exif.get(ORIENTATION))
    if orientation is None or not 1 <= orientation <= 8:
        orientation = 1
    if orientation in _SWAPS_SIDES:
        width, height = height, width
    lens = _text(exif.get(LENS_MODEL))
    lens_make = _text(exif.get(LENS_MAKE))
    if lens and lens_make and not lens.lower().startswith(lens_make.lower()):
        lens = f"{lens_make} {lens}"
    return ImageMetadata(
        width=width,
        height=height,
        orientation=orientation,
        format=format.lower(),
        camera_make=_text(exif.get(MAKE)),
        camera_model=_text(exif.get(MODEL)),
        lens=lens,
        taken_at=exif_time(
            exif.get(DATE_TIME_ORIGINAL) or exif.get(DATE_TIME), exif.get(OFFSET_TIME_ORIGINAL)
        ),
        location=gps_location(gps) if keep_location else None,
    )


def exif_time(value: Any, offset: Any = None) -> datetime | None:
    """EXIF `YYYY:MM:DD HH:MM:SS` (+ `±HH:MM` offset) in UTC; local time read as UTC
    when the camera recorded no offset. None for blank or impossible dates."""
    text = _text(value)
    if text is None:
        return None
    try:
        naive = datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    zone = _offset(_text(offset)) or UTC
    return naive.replace(tzinfo=zone).astimezone(UTC)


def _offset(text: str | None) -> timezone | None:
    if text is None or len(text) != 6 or text[0] not in "+-" or text[3] != ":":
        return None
    try:
        hours, minutes = int(text[1:3]), int(text[4:6])
    except ValueError:
        return None
    if hours > 14 or minutes > 59:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if text[0] == "-" else delta)


def gps_location(gps: Mapping[int, Any]) -> GeoLocation | None:
    """Degrees from the GPS IFD's degree/minute/second triples; None when absent or invalid."""
    latitude = _degrees(gps.get(GPS_LATITUDE), _text(gps.get(GPS_LATITUDE_REF)), "S", 90)
    longitude = _degrees(gps.get(GPS_LONGITUDE), _text(gps.get(GPS_LONGITUDE_REF)), "W", 180)
    if latitude is None or longitude is None:
        return None
    altitude = _float(gps.get(GPS_ALTITUDE))
    if altitude is not None and _int(gps.get(GPS_ALTITUDE_REF)) == 1:
        altitude = -altitude  # below sea level
    return GeoLocation(latitude=latitude, longitude=longitude, altitude=altitude)


def _degrees(value: Any, ref: str | None, negative: str, limit: float) -> float | None:
    if not isinstance(value, Sequence) or isinstance(value, str | bytes) or len(value) != 3:
        return None
    parts = [_float(p) for p in value]
    if any(p is None or p < 0 for p in parts):
        return None
    degrees, minutes, seconds = (p or 0.0 for p in parts)
    result = degrees + minutes / 60 + seconds / 3600
    if result > limit:
        return None
    return round(-result if ref and ref.upper().startswith(negative) else result, 7)


# -- video and audio (ffprobe -of json) -------------------------------------------------------


def video_metadata(probe: Mapping[str, Any]) -> VideoMetadata:
    """The first video stream, the first audio stream's codec and the container's facts."""
    video = _first_stream(probe, "video")
    if video is None:
        raise UnsupportedMedia("the file has no video stream")
    width, height = _int(video.get("width")) or 0, _int(video.get("height")) or 0
    if width < 1 or height < 1:
        raise CorruptInput("the video stream has no picture size")
    container = _format(probe)
    transfer = _text(video.get("color_transfer"))
    audio = _first_stream(probe, "audio")
    return VideoMetadata(
        container=_text(container.get("format_name")) or "unknown",
        duration=_duration(container, video),
        bitrate=_positive_int(container.get("bit_rate")),
        width=width,
        height=height,
        fps=frame_rate(video.get("avg_frame_rate")) or frame_rate(video.get("r_frame_rate")),
        rotation=rotation(video),
        video_codec=_text(video.get("codec_name")) or "unknown",
        video_profile=_text(video.get("profile")),
        pixel_format=_text(video.get("pix_fmt")),
        color_transfer=transfer,
        color_primaries=_text(video.get("color_primaries")),
        hdr=_HDR_TRANSFERS.get(transfer or ""),
        audio_codec=_text(audio.get("codec_name")) if audio else None,
    )


def audio_metadata(probe: Mapping[str, Any]) -> AudioMetadata:
    """The first audio stream and the container's facts."""
    audio = _first_stream(probe, "audio")
    if audio is None:
        raise UnsupportedMedia("the file has no audio stream")
    channels, rate = _int(audio.get("channels")), _int(audio.get("sample_rate"))
    if not channels or channels < 1 or not rate or rate < 1:
        raise CorruptInput("the audio stream has no channels or sample rate")
    container = _format(probe)
    return AudioMetadata(
        container=_text(container.get("format_name")) or "unknown",
        codec=_text(audio.get("codec_name")) or "unknown",
        channels=channels,
        sample_rate=rate,
        duration=_duration(container, audio),
        bitrate=_positive_int(container.get("bit_rate")) or _positive_int(audio.get("bit_rate")),
    )


def has_video(probe: Mapping[str, Any]) -> bool:
    return _first_stream(probe, "video") is not None


def frame_rate(value: Any) -> float | None:
    """ffprobe's `30000/1001` as 29.97 (3 decimals); None for `0/0` and nonsense."""
    text = _text(value)
    if text is None:
        return None
    numerator, _, denominator = text.partition("/")
    try:
        rate = float(numerator) / float(denominator or 1)
    except (ValueError, ZeroDivisionError):
        return None
    return round(rate, 3) if math.isfinite(rate) and 0 < rate <= 1000 else None


def rotation(stream: Mapping[str, Any]) -> int:
    """Display rotation in degrees clockwise: 0, 90, 180 or 270.

    ffprobe reports the display matrix's rotation counter-clockwise (a phone
    held upright records -90); old files carry a `rotate` tag, clockwise.
    """
    for side_data in stream.get("side_data_list") or []:
        if isinstance(side_data, Mapping) and (value := _float(side_data.get("rotation"))):
            return round(-value / 90) * 90 % 360
    tags = stream.get("tags")
    if isinstance(tags, Mapping) and (value := _float(tags.get("rotate"))):
        return round(value / 90) * 90 % 360
    return 0


def _first_stream(probe: Mapping[str, Any], codec_type: str) -> Mapping[str, Any] | None:
    for stream in probe.get("streams") or []:
        if isinstance(stream, Mapping) and stream.get("codec_type") == codec_type:
            # Cover art in audio files is a one-frame "video" stream: not a video.
            disposition = stream.get("disposition")
            cover = isinstance(disposition, Mapping) and disposition.get("attached_pic") == 1
            if codec_type != "video" or not cover:
                return stream
    return None


def _format(probe: Mapping[str, Any]) -> Mapping[str, Any]:
    container = probe.get("format")
    return container if isinstance(container, Mapping) else {}


def _duration(container: Mapping[str, Any], stream: Mapping[str, Any]) -> float | None:
    for value in (container.get("duration"), stream.get("duration")):
        seconds = _float(value)
        if seconds is not None and math.isfinite(seconds) and seconds > 0:
            return round(seconds, 3)
    return None


# -- PDF ------------------------------------------------------------------------------------


def pdf_metadata(*, page_count: int, title: Any) -> PdfMetadata:
    if page_count < 1:
        raise CorruptInput("the PDF has no pages")
    return PdfMetadata(page_count=page_count, title=_text(title))


# -- values ---------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    """Printable text, trimmed and bounded; None for blanks (EXIF pads with NULs and spaces)."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return None
    text = "".join(c for c in value.replace("\x00", " ") if c.isprintable()).strip()
    return text[:_MAX_TEXT] or None


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, Sequence) and not isinstance(value, str | bytes) and len(value) == 2:
        numerator, denominator = (_float(v) for v in value)  # a rational as a pair
        if numerator is None or not denominator:
            return None
        return numerator / denominator
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _int(value: Any) -> int | None:
    number = _float(value)
    return int(number) if number is not None else None


def _positive_int(value: Any) -> int | None:
    number = _int(value)
    return number if number is not None and number > 0 else None
