"""Sample media made on the spot, for the thumbnailer's tests and benchmark (no fixture files).

Every generator returns the bytes of a small file with a known look, so a test
can tell from a thumbnail's pixels that the right frame, page or orientation
came out.
"""

from __future__ import annotations

import io
import struct
import subprocess
import zlib
from pathlib import Path

import pillow_heif
from PIL import Image, ImageCms, ImageDraw

RED = (220, 30, 30)
BLUE = (30, 30, 220)


def photo(width: int, height: int) -> Image.Image:
    """Photo-like content (smooth gradients, edges, grain) so codecs work as on real photos."""
    gradient = Image.linear_gradient("L").resize((width, height))
    radial = Image.radial_gradient("L").resize((width, height))
    grain = Image.effect_noise((max(1, width // 4), max(1, height // 4)), 24).resize(
        (width, height)
    )
    picture = Image.merge("RGB", (gradient, radial, grain))
    draw = ImageDraw.Draw(picture)
    for i in range(12):
        x, y = width * i // 12, height * ((i * 7) % 12) // 12
        draw.ellipse((x, y, x + width // 8, y + height // 8), fill=(40 * i % 255, 90, 200))
    return picture


def halves(width: int, height: int, top: tuple[int, int, int] = RED) -> Image.Image:
    """Top half `top`, bottom half blue: shows which way up a thumbnail came out."""
    picture = Image.new("RGB", (width, height), BLUE)
    ImageDraw.Draw(picture).rectangle((0, 0, width - 1, height // 2 - 1), fill=top)
    return picture


def encode(picture: Image.Image, format: str, **params: object) -> bytes:
    if format in ("HEIF", "HEIC"):
        pillow_heif.register_heif_opener()
        format = "HEIF"
    buffer = io.BytesIO()
    picture.save(buffer, format, **params)
    return buffer.getvalue()


def oriented_jpeg(width: int, height: int) -> bytes:
    """A JPEG stored sideways with EXIF orientation 6 (turn 90 degrees clockwise to view).

    Upright it is `halves(width, height)`; ignoring the tag shows it on its side.
    """
    stored = halves(width, height).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "TestCam"  # Make: metadata that must not reach thumbnails
    return encode(stored, "JPEG", quality=90, exif=exif.tobytes())


def animated_gif(width: int, height: int) -> bytes:
    """Red first frame, blue second: a thumbnail shows the first."""
    frames = [Image.new("RGB", (width, height), RED), Image.new("RGB", (width, height), BLUE)]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)


def png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A few hundred bytes declaring `width` x `height` RGB pixels (2.7 GB decoded)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    # Only the first rows' worth of data: whoever decodes this reads a truncated stream.
    rows = zlib.compress(b"\x00" * (1 + 3 * width) * 4)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def swapped_primaries_profile() -> bytes:
    """An RGB ICC profile whose red and blue primaries trade places (not sRGB by name either).

    Pixels tagged with it that say (255, 0, 0) are blue: only a colour
    conversion to sRGB makes their thumbnail blue.
    """
    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    count = struct.unpack(">I", profile[128:132])[0]
    entries = {}
    for index in range(count):
        at = 132 + 12 * index
        entries[bytes(profile[at : at + 4])] = at
    red, blue = entries[b"rXYZ"], entries[b"bXYZ"]
    profile[red + 4 : red + 12], profile[blue + 4 : blue + 12] = (
        profile[blue + 4 : blue + 12],
        profile[red + 4 : red + 12],
    )
    return bytes(profile).replace("sRGB".encode("utf-16-be"), "xRGB".encode("utf-16-be"))


def pdf(pages: int = 2, size: tuple[int, int] = (612, 792)) -> bytes:
    """A Letter-size PDF (in points) whose first page is red on top, blue below."""
    first = halves(*size)
    rest = [Image.new("RGB", size, (240, 240, 240)) for _ in range(pages - 1)]
    return encode(first, "PDF", save_all=True, append_images=rest, resolution=72.0)


def video(
    path: Path,
    *,
    seconds: float = 5.0,
    black_until: float = 1.5,
    size: str = "320x240",
    pixel_aspect: str = "1/1",
) -> Path:
    """An H.264 MP4: black until `black_until` s (a fade-in), then red (ffmpeg's lavfi).

    `pixel_aspect` other than 1/1 makes anamorphic video (e.g. 32/27: 720x480
    shown as 853x480, like a widescreen DVD).
    """
    subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-loglevel",
            "error",
            "-nostdin",
            "-f",
            "lavfi",
            "-i",
            f"color=c=0xDC1E1E:s={size}:r=25:d={seconds}",
            "-vf",
            f"drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill:enable='lt(t,{black_until})'"
            f",setsar={pixel_aspect}",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-y",
            str(path),
        ],
        check=True,
        capture_output=True,
    )
    return path


def exif_jpeg(width: int = 400, height: int = 300) -> bytes:
    """A camera JPEG: make, model, lens, DateTimeOriginal (+02:00), orientation 6, and GPS
    (48.8582 N, 2.2945 E, 35 m): what a phone writes."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "Canon", "Canon EOS R5", 6
    details = exif.get_ifd(0x8769)
    details[0x9003], details[0x9011] = "2024:07:14 18:30:05", "+02:00"
    details[0xA434] = "RF24-105mm F4 L IS USM"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (48.0, 51.0, 29.6)
    gps[3], gps[4] = "E", (2.0, 17.0, 40.2)
    gps[5], gps[6] = b"\x00", 35.0
    return encode(photo(width, height), "JPEG", exif=exif)
