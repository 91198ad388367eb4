"""Pillow: open a picture safely, decode it as small as possible, make every thumbnail size.

Everything here is blocking and CPU-heavy; the service runs it in the CPU pool
(Pillow releases the GIL while it decodes, resizes and encodes, so threads
give real parallelism). Steps, cheapest order first:

1. Open lazily (header only) with an allow-list of formats, and check the
   declared pixel count against the limit: decompression bombs never decode.
2. JPEG: ask the decoder for the smallest reduced-size decode (1/8, 1/4, 3/8,
   1/2) that still covers the largest thumbnail (shrink-on-load): a 12 MP
   photo decodes to 1500x1125 for a 1280 px thumbnail.
3. Resize to the largest thumbnail in the stored orientation, then rotate by
   the EXIF orientation and convert to sRGB: both on the small picture.
4. Each smaller size is made from the previous one; encode WebP (or JPEG)
   without any metadata.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pillow_heif
from PIL import ExifTags, Image, ImageCms, ImageFile, TiffImagePlugin, UnidentifiedImageError

from mediaplane.contracts import ImageMetadata
from mediaplane.thumbnailer.config import OutputOptions
from mediaplane.thumbnailer.domain import metadata
from mediaplane.thumbnailer.domain.errors import CorruptInput, TooLarge, UnsupportedMedia
from mediaplane.thumbnailer.domain.policy import MediaLimits, check_pixels, unidentified_image
from mediaplane.thumbnailer.domain.sizing import ThumbnailSize, fit

# HEIC comes from pillow-heif; AVIF is native in Pillow 11.2+. Registering is idempotent.
pillow_heif.register_heif_opener()

# Parsers we let near untrusted bytes; anything else Pillow could read is refused.
# (JPEG's opener also returns camera MPO files, which are JPEGs with extra frames.)
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "HEIF", "AVIF", "TIFF", "BMP")
_JPEG_FORMATS = ("JPEG", "MPO")
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
_WHITE = (255, 255, 255)

# EXIF orientation -> the transposition that makes the picture upright.
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
SWAPS_SIDES = frozenset({5, 6, 7, 8})


@dataclass(frozen=True)
class SourceImage:
    """The picture as a viewer sees it (after EXIF rotation) and its format, e.g. `jpeg`."""

    width: int
    height: int
    format: str


@dataclass(frozen=True)
class EncodedThumbnail:
    name: str
    width: int
    height: int
    data: bytes


def limit_pillow(max_pixels: int) -> None:
    """Pillow's own bomb check as a backstop: it refuses more than twice this when opening."""
    Image.MAX_IMAGE_PIXELS = max_pixels


def render_thumbnails(
    path: Path,
    *,
    media_type: str,
    sizes: Sequence[ThumbnailSize],
    output: OutputOptions,
    limits: MediaLimits,
) -> tuple[SourceImage, list[EncodedThumbnail]]:
    """Every size of `sizes` (in that order) from the picture at `path`, encoded per `output`."""
    with open_checked(path, media_type, limits) as image:
        orientation = exif_orientation(image)
        width, height = image.size
        if orientation in SWAPS_SIDES:
            width, height = height, width
        source = SourceImage(width=width, height=height, format=(image.format or "").lower())
        largest = fit(width, height, max(size.longest for size in sizes))
        # Sizes below are in the stored orientation until the picture is turned upright.
        stored = (largest[1], largest[0]) if orientation in SWAPS_SIDES else largest
        icc_profile = image.info.get("icc_profile")
        # Closing the file also discards its pixels: finish with them inside the block.
        picture = upright(resize(decode(image, stored), stored), orientation)
        picture = to_srgb(picture, icc_profile)
        return source, _encode_sizes(picture, width, height, sizes, output)


def luminance_histogram(path: Path) -> list[int]:
    """The 256-bin luminance histogram of a (poster) frame, from a reduced copy."""
    with Image.open(path, formats=("PNG",)) as image:
        gray = image.convert("L")
    return gray.reduce(max(1, min(gray.size) // 64)).histogram()


def open_checked(path: Path, media_type: str, limits: MediaLimits) -> Image.Image:
    """The picture with only its header read, refused when its pixel count is over the limit."""
    try:
        image = Image.open(path, formats=ALLOWED_FORMATS)
    except Image.DecompressionBombError as error:
        # Pillow's own check (see `limit_pillow`) fired while reading the header.
        raise TooLarge(str(error)) from None
    except UnidentifiedImageError:
        raise unidentified_image(media_type, "no supported image format in the bytes") from None
    except MemoryError:
        raise
    except Exception as error:  # a parser choking on the header: the bytes are bad
        raise CorruptInput(f"unreadable image header: {type(error).__name__}: {error}") from None
    try:
        check_pixels(*image.size, limits)
    except BaseException:
        image.close()
        raise
    return image


def exif_orientation(image: Image.Image) -> int:
    """The EXIF orientation (1 when absent or unreadable: a broken EXIF is not a broken picture)."""
    try:
        value = image.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:  # EXIF is optional metadata; its parser may choke on junk
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def upright(picture: Image.Image, orientation: int) -> Image.Image:
    """`picture` turned as its EXIF orientation says a viewer sees it."""
    return picture.transpose(_UPRIGHT[orientation]) if orientation in _UPRIGHT else picture


def decode(image: Image.Image, target: tuple[int, int]) -> Image.Image:
    """Decode the first frame (reduced for JPEG) into a mode that resizes well."""
    try:
        if image.format in _JPEG_FORMATS:
            shrink_on_load(image, target)
        image.load()
        return _normalize_mode(image)
    except (MemoryError, UnsupportedMedia):
        raise
    except Exception as error:  # truncated data, bad checksums, broken codec streams
        detail = f"the picture does not decode: {type(error).__name__}: {error}"
        raise CorruptInput(detail) from None


def shrink_on_load(image: Image.Image, target: tuple[int, int]) -> None:
    """Have libjpeg decode at the smallest n/8 scale that still covers `target`.

    Pillow's `draft` offers 1/2, 1/4 and 1/8. A 12 MP photo (4000x3000) for a
    1280 px thumbnail gets 1/2 from it, 2000x1500; 3/8 gives 1500x1125, and the
    bicubic resize after it costs a third less CPU (19 ms instead of 29). The
    encoded thumbnails of photos stay as close to a Lanczos reference from the
    full decode (within 0.1 dB); a synthetic zone plate, the worst case for
    DCT scaling, loses 1 dB (docs/benchmarks.md).
    """
    width, height = image.size
    draft_takes_half = min(width // target[0], height // target[1]) in (2, 3)
    scaled = _three_eighths(image.size)
    covers = scaled[0] >= target[0] and scaled[1] >= target[1]
    if draft_takes_half and covers and _THREE_EIGHTHS and _scale_by_three_eighths(image):
        return
    image.draft(image.mode, target)


def _three_eighths(size: tuple[int, int]) -> tuple[int, int]:
    return -(-size[0] * 3 // 8), -(-size[1] * 3 // 8)  # libjpeg rounds up


def _scale_by_three_eighths(image: Image.Image) -> bool:
    """Set up a 3/8 decode as `draft` sets up its own: the tile, the size, the decoder's scale.

    libjpeg scales in its inverse DCT by n/8, taking the smallest n/8 that is
    at least 1/denominator: Pillow passes the denominator, so 3 gets 3/8.
    """
    if not isinstance(image, ImageFile.ImageFile) or len(image.tile) != 1 or image.decoderconfig:
        return False
    codec, extents, offset, args = image.tile[0]
    if extents != (0, 0, *image.size):
        return False
    scaled = _three_eighths(image.size)
    image.tile = [ImageFile._Tile(codec, (0, 0, *scaled), offset, args)]
    image._size = scaled
    image.decoderconfig = (3, 0)  # (scale denominator, draft quality off)
    return True


def _libjpeg_scales_by_three_eighths() -> bool:
    """Whether this libjpeg does what `_scale_by_three_eighths` expects: checked, not assumed.

    libjpeg-turbo (Pillow's wheels) and IJG libjpeg 7+ do; IJG 6b would decode
    at 1/2, which Pillow reports as a broken stream.
    """
    stripes = Image.new("L", (16, 16), 255)
    stripes.paste(0, (8, 0, 16, 16))
    buffer = io.BytesIO()
    stripes.save(buffer, "JPEG", quality=95)
    try:
        with Image.open(buffer, formats=("JPEG",)) as probe:
            if not _scale_by_three_eighths(probe):
                return False
            probe.load()
            white, black = probe.getpixel((0, 3)), probe.getpixel((5, 3))
    except (OSError, ValueError):
        return False
    return (
        probe.size == (6, 6)
        and isinstance(white, int)
        and isinstance(black, int)
        and (white > 200 > 50 > black)
    )


_THREE_EIGHTHS = _libjpeg_scales_by_three_eighths()


def _normalize_mode(image: Image.Image) -> Image.Image:
    """One of L, LA, RGB, RGBA, CMYK: palette and high-bit-depth pictures can't be resampled."""
    mode = image.mode
    if mode in ("L", "LA", "RGB", "RGBA", "CMYK"):
        return image
    if mode in ("P", "PA"):
        return image.convert("RGBA" if image.has_transparency_data else "RGB")
    if mode == "1":
        return image.convert("L")
    if mode.startswith("I;16") or mode == "I":
        # 16-bit gray: keep the range by scaling to 8 bits instead of clipping at 255.
        return image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    if mode in ("RGBa", "La"):
        return image.convert(mode.upper())
    try:
        return image.convert("RGB")
    except ValueError as error:
        raise UnsupportedMedia(f"pictures in mode {mode} are not supported: {error}") from None


def resize(picture: Image.Image, size: tuple[int, int]) -> Image.Image:
    if picture.size == size:
        return picture
    # Pillow's own thumbnail() defaults: a cheap box reduction down to twice the
    # target, then bicubic. Measured on a 12 MP photo decoded at 3/8 (1500x1125):
    # 19 ms to 1280 px against 25 ms for Lanczos, and 4 ms against 13 ms to 320 px.
    # Bilinear (12 ms) blurs: ~4 dB further from a Lanczos reference on fine detail.
    return picture.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)


def to_srgb(picture: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """Convert from an embedded ICC profile to sRGB; CMYK without a profile naively to RGB."""
    if icc_profile and picture.mode in ("RGB", "RGBA", "CMYK"):
        try:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
            if picture.mode == "CMYK" or "srgb" not in _description(profile):
                converted = ImageCms.profileToProfile(
                    picture, profile, _SRGB, outputMode="RGBA" if picture.mode == "RGBA" else "RGB"
                )
                if converted is not None:
                    return converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: show the pixels as they are rather than fail the file
    if picture.mode == "CMYK":
        return picture.convert("RGB")
    return picture


def _description(profile: ImageCms.ImageCmsProfile) -> str:
    return ImageCms.getProfileDescription(profile).lower().replace(" ", "")


def _encode_sizes(
    picture: Image.Image,
    width: int,
    height: int,
    sizes: Sequence[ThumbnailSize],
    output: OutputOptions,
) -> list[EncodedThumbnail]:
    """Largest first, each size resized from the one before; equal sizes encode once."""
    encoded: dict[tuple[int, int], bytes] = {}
    thumbnails: list[EncodedThumbnail] = []
    for size in sorted(sizes, key=lambda s: s.longest, reverse=True):
        target = fit(width, height, size.longest)
        picture = resize(picture, target)
        if target not in encoded:
            encoded[target] = _encode(picture, output)
        thumbnails.append(EncodedThumbnail(size.name, target[0], target[1], encoded[target]))
    order = {size.name: index for index, size in enumerate(sizes)}
    return sorted(thumbnails, key=lambda t: order[t.name])


def _encode(picture: Image.Image, output: OutputOptions) -> bytes:
    """Encode with no metadata at all: no EXIF (GPS, camera serials), no ICC, no XMP."""
    picture.info = {}  # our own copy: resizing made it, or the decoded source
    buffer = io.BytesIO()
    if output.format == "webp":
        picture.save(
            buffer,
            "WEBP",
            quality=output.quality,
            method=output.webp_method,
            exif=b"",
            icc_profile=None,
            xmp=b"",
        )
    else:
        if picture.mode in ("RGBA", "LA"):
            picture = flatten(picture)
        picture.save(buffer, "JPEG", quality=output.quality, optimize=True, exif=b"")
    return buffer.getvalue()


def flatten(picture: Image.Image) -> Image.Image:
    """JPEG has no alpha: composite onto white, as browsers show transparent pictures."""
    mode = "RGB" if picture.mode == "RGBA" else "L"
    background = Image.new(mode, picture.size, _WHITE if mode == "RGB" else 255)
    background.paste(picture.convert(mode), mask=picture.getchannel("A"))
    return background


def read_metadata(
    path: Path, *, media_type: str, limits: MediaLimits, keep_location: bool
) -> ImageMetadata:
    """Size, orientation and EXIF from the header alone (no pixel is decoded).

    The GPS IFD is not even read unless the owner opted in; the domain drops
    it again otherwise. A broken EXIF block is not a broken picture: it gives
    no EXIF fields.
    """
    with open_checked(path, media_type, limits) as image:
        width, height = image.size
        exif: dict[int, object] = {}
        gps: dict[int, object] = {}
        try:
            found = image.getexif()
            exif.update(found)
            exif.update(found.get_ifd(metadata.EXIF_IFD))
            if keep_location:
                gps.update(found.get_ifd(metadata.GPS_IFD))
        except Exception:  # EXIF is optional metadata; its parser may choke on junk
            exif.clear()
            gps.clear()
        exif.pop(metadata.GPS_IFD, None)
        return metadata.image_metadata(
            width=width,
            height=height,
            format=image.format or "unknown",
            exif={tag: _plain(value) for tag, value in exif.items()},
            gps={tag: _plain(value) for tag, value in gps.items()},
            keep_location=keep_location,
        )


def _plain(value: object) -> object:
    """Pillow's rationals as floats (tuples of them as tuples): the domain takes plain values."""
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, TiffImagePlugin.IFDRational):
        return float(value) if value.denominator else None
    return value
