"""ffmpeg posters and PDFium first pages through the renderer, and the kill of timed-out tools.

Local files and child processes only (Debian's ffmpeg, the PDF child), no servers.
"""

from __future__ import annotations

import asyncio
import errno
import io
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from mediaplane.bus import BusSettings
from mediaplane.bus.testing import eventually
from mediaplane.servicekit.children import run
from mediaplane.storage import StorageSettings
from mediaplane.thumbnailer import testing
from mediaplane.thumbnailer.adapters.cpu import CpuPool
from mediaplane.thumbnailer.adapters.video import Ffmpeg
from mediaplane.thumbnailer.app.render import Renderer
from mediaplane.thumbnailer.config import ThumbnailerSettings
from mediaplane.thumbnailer.domain.errors import (
    ContainerNotAllowed,
    CorruptInput,
    TooLarge,
    UnsupportedMedia,
)
from mediaplane.thumbnailer.domain.policy import MediaLimits


def settings(**overrides: object) -> ThumbnailerSettings:
    fields: dict[str, object] = {
        "database_url": "unused",
        "bus": BusSettings(),
        "storage": StorageSettings.from_urls(
            "http://127.0.0.1:9", access_key="unused", secret_key="unused", region="us-east-1"
        ),
        **overrides,
    }
    return ThumbnailerSettings(**fields)  # type: ignore[arg-type]


@pytest.fixture
async def renderer() -> AsyncIterator[Renderer]:
    cpu = CpuPool(2)
    yield Renderer(settings(), cpu, Ffmpeg())
    cpu.close()


def pixel(data: bytes, x: float, y: float) -> tuple[int, ...]:
    picture = Image.open(io.BytesIO(data)).convert("RGB")
    value = picture.getpixel((int(picture.width * x), int(picture.height * y)))
    assert isinstance(value, tuple)
    return value


def posters(work_dir: Path) -> list[str]:
    return sorted(path.name for path in work_dir.glob("poster-*"))


def is_red(rgb: tuple[int, ...]) -> bool:
    return rgb[0] > 160 and rgb[1] < 80 and rgb[2] < 80


async def test_ffprobe_describes_the_video(tmp_path: Path) -> None:
    info = await Ffmpeg().probe(testing.video(tmp_path / "v.mp4", seconds=2.0), "video/mp4")
    assert (info.width, info.height, info.codec) == (320, 240, "h264")
    assert info.duration == pytest.approx(2.0, abs=0.1)


async def test_the_poster_skips_a_black_intro(renderer: Renderer, tmp_path: Path) -> None:
    # Black for the first 30%: the frame at 10% is black, a later candidate is not.
    source = testing.video(tmp_path / "v.mp4", seconds=5.0, black_until=1.5)
    rendering = await renderer.render("video", source, "video/mp4", tmp_path)
    assert (rendering.source.width, rendering.source.height) == (320, 240)
    assert rendering.source.format == "h264"
    assert [(t.name, t.width, t.height) for t in rendering.thumbnails] == [
        ("small", 160, 120),
        ("medium", 320, 240),
        ("large", 320, 240),
    ]
    assert all(is_red(pixel(t.data, 0.5, 0.5)) for t in rendering.thumbnails)
    assert (tmp_path / "poster-1.png").exists()  # it had to look past 10%


@pytest.mark.parametrize(
    ("size", "pixel_aspect", "shown", "large"),
    [
        ("1600x900", "1/1", (1600, 900), (1280, 720)),
        ("720x480", "32/27", (853, 480), (853, 480)),  # anamorphic widescreen
    ],
)
async def test_posters_have_the_display_aspect_and_fit_the_largest_size(
    renderer: Renderer,
    tmp_path: Path,
    size: str,
    pixel_aspect: str,
    shown: tuple[int, int],
    large: tuple[int, int],
) -> None:
    source = testing.video(
        tmp_path / "v.mp4", seconds=1.0, black_until=0.0, size=size, pixel_aspect=pixel_aspect
    )
    rendering = await renderer.render("video", source, "video/mp4", tmp_path)
    assert (rendering.source.width, rendering.source.height) == shown
    assert (rendering.thumbnails[-1].width, rendering.thumbnails[-1].height) == large
    poster = Image.open(tmp_path / "poster-0.png")
    assert max(poster.size) <= 1280  # scaled down by ffmpeg before any buffering


async def test_the_poster_is_taken_at_ten_percent(renderer: Renderer, tmp_path: Path) -> None:
    source = testing.video(tmp_path / "v.mp4", seconds=3.0, black_until=0.0)
    rendering = await renderer.render("video", source, "video/mp4", tmp_path)
    assert is_red(pixel(rendering.thumbnails[-1].data, 0.5, 0.5))
    assert posters(tmp_path) == ["poster-0.png"]


async def test_a_heic_photo_labelled_as_video_is_rendered_as_a_photo(
    renderer: Renderer, tmp_path: Path
) -> None:
    # The upload verifier's sniffer calls HEIC files video/mp4 (both are ISO-BMFF).
    source = tmp_path / "photo"
    source.write_bytes(testing.encode(testing.photo(400, 300), "HEIF"))
    rendering = await renderer.render("video", source, "video/mp4", tmp_path)
    assert (rendering.source.format, rendering.source.width) == ("heif", 400)
    assert [t.width for t in rendering.thumbnails] == [160, 320, 400]


async def test_garbage_in_a_video_is_corrupt(renderer: Renderer, tmp_path: Path) -> None:
    source = tmp_path / "v.mp4"
    source.write_bytes(os.urandom(4096))
    with pytest.raises(CorruptInput, match="ffprobe"):
        await renderer.render("video", source, "video/mp4", tmp_path)


async def test_a_file_without_pictures_is_unsupported(renderer: Renderer, tmp_path: Path) -> None:
    source = tmp_path / "a.m4a"
    made = await run(["ffmpeg", "-nostdin", "-f", "lavfi", "-i", "sine=d=1", str(source)])
    assert made.returncode == 0, made.stderr
    with pytest.raises(UnsupportedMedia, match="no video stream"):
        await renderer.render("video", source, "video/mp4", tmp_path)


async def test_oversized_video_frames_are_refused_before_decoding(tmp_path: Path) -> None:
    cpu = CpuPool(1)
    small_limit = Renderer(settings(limits=MediaLimits(max_pixels=320 * 240 - 1)), cpu, Ffmpeg())
    source = testing.video(tmp_path / "v.mp4", seconds=1.0)
    try:
        with pytest.raises(TooLarge, match="320x240"):
            await small_limit.render("video", source, "video/mp4", tmp_path)
    finally:
        cpu.close()
    assert posters(tmp_path) == []


async def test_a_pdf_gives_its_first_page(renderer: Renderer, tmp_path: Path) -> None:
    source = tmp_path / "d.pdf"
    source.write_bytes(testing.pdf(pages=3))
    rendering = await renderer.render("pdf", source, "application/pdf", tmp_path)
    assert (rendering.source.width, rendering.source.height) == (612, 792)  # points
    assert (rendering.source.format, rendering.source.page_count) == ("pdf", 3)
    assert [(t.name, t.width, t.height) for t in rendering.thumbnails] == [
        ("small", 124, 160),
        ("medium", 248, 320),
        ("large", 990, 1280),  # vector pages render at the size asked for
    ]
    large = rendering.thumbnails[-1].data
    assert is_red(pixel(large, 0.5, 0.1))
    assert pixel(large, 0.5, 0.9)[2] > 160  # blue bottom half: page one, upright


@pytest.mark.parametrize(
    "data", [b"%PDF-1.7\n" + os.urandom(2048), testing.pdf()[:600], b"%PDF-1.4\n%%EOF"]
)
async def test_a_broken_pdf_is_corrupt(renderer: Renderer, tmp_path: Path, data: bytes) -> None:
    source = tmp_path / "d.pdf"
    source.write_bytes(data)
    with pytest.raises(CorruptInput):
        await renderer.render("pdf", source, "application/pdf", tmp_path)


async def test_a_cancelled_tool_is_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    script = (
        f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    )
    job = asyncio.create_task(run([sys.executable, "-c", script]))
    await eventually(lambda: pid_file.exists() and bool(pid_file.read_text()))
    job.cancel()  # what a job timeout or a shutdown does
    with pytest.raises(asyncio.CancelledError):
        await job
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # gone, and reaped (a zombie would still accept signal 0)


def reader_waiting(fifo: Path) -> bool:
    """True while some process has the FIFO open for reading (it would block there)."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as error:
        if error.errno == errno.ENXIO:  # no reader
            return False
        raise
    os.close(fd)
    return True


@pytest.mark.parametrize(("id3_size", "refusal"), [(0, ContainerNotAllowed), (9000, CorruptInput)])
async def test_a_playlist_labelled_video_never_opens_what_it_names(
    renderer: Renderer, tmp_path: Path, id3_size: int, refusal: type[Exception]
) -> None:
    # The canary is a FIFO: a tool that opened it would block there, visibly to
    # `reader_waiting`. An ID3 tag longer than the head check reads hides the
    # playlist from it; the forced demuxer still refuses.
    canary = tmp_path / "canary.ts"
    os.mkfifo(canary)
    synchsafe = bytes((id3_size >> shift) & 0x7F for shift in (21, 14, 7, 0))
    tag = b"ID3\x04\x00\x00" + synchsafe + b"\x00" * id3_size if id3_size else b""
    source = tmp_path / "v.mp4"
    source.write_bytes(
        tag + b"#EXTM3U\n#EXT-X-ftyp\niso2avc1mp41\n#EXT-X-TARGETDURATION:10\n"
        b"#EXTINF:2,\n" + str(canary).encode() + b"\n#EXT-X-ENDLIST\n"
    )
    with pytest.raises(refusal):
        await renderer.render("video", source, "video/mp4", tmp_path)
    assert not reader_waiting(canary)
    assert posters(tmp_path) == []
