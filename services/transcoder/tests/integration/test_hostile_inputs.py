"""A playlist posing as video never makes ffprobe or ffmpeg open the files it names.

The canary the playlist names is a FIFO: a tool that opens it for reading
blocks there (nobody writes), and while it does, opening the FIFO for
writing without blocking succeeds. So "the open never happened" is a
deterministic check, not a guess from timestamps. The first test shows the
check catches plain ffprobe following the playlist.
"""

from __future__ import annotations

import asyncio
import errno
import os
import sys
from pathlib import Path

import pytest

from mediaplane.servicekit import children
from mediaplane.transcoder.adapters import ffmpeg, ffprobe
from mediaplane.transcoder.config import EncodingSettings, SourceLimits, ToolLimits
from mediaplane.transcoder.domain.errors import ContainerNotAllowed, CorruptInput
from mediaplane.transcoder.domain.ladder import DEFAULT_LADDER, SourceMedia, plan_ladder

pytestmark = pytest.mark.integration

TOOLS = ToolLimits(probe_timeout=20)


def playlist(canary: Path) -> bytes:
    """An HLS playlist that sniffs as video/mp4 by puremagic's rules (`iso2avc1mp4` at 20)."""
    return (
        b"#EXTM3U\n#EXT-X-ftyp\niso2avc1mp41\n#EXT-X-TARGETDURATION:10\n"
        b"#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:2,\n" + str(canary).encode() + b"\n#EXT-X-ENDLIST\n"
    )


def id3_tag(size: int) -> bytes:
    synchsafe = bytes((size >> shift) & 0x7F for shift in (21, 14, 7, 0))
    return b"ID3\x04\x00\x00" + synchsafe + b"\x00" * size


@pytest.fixture
def canary(tmp_path: Path) -> Path:
    # `.ts`: Debian's ffmpeg only follows playlist entries with media extensions.
    path = tmp_path / "canary.ts"
    os.mkfifo(path)
    return path


def reader_waiting(fifo: Path) -> bool:
    """True while some process has the FIFO open for reading."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as error:
        if error.errno == errno.ENXIO:  # no reader
            return False
        raise
    os.close(fd)
    return True


async def test_plain_ffprobe_opens_what_a_playlist_names(tmp_path: Path, canary: Path) -> None:
    source = tmp_path / "source"
    source.write_bytes(playlist(canary))
    plain = asyncio.ensure_future(
        children.run(["ffprobe", "-v", "error", "-show_format", str(source)])
    )
    try:
        # The first sighting is the answer: each check opens and closes the FIFO for
        # writing, which hands the reader an end of file, and ffprobe may then close it.
        opened = False
        for _ in range(400):
            if opened := reader_waiting(canary):
                break
            await asyncio.sleep(0.05)
        assert opened
    finally:
        plain.cancel()
        with pytest.raises(asyncio.CancelledError):
            await plain


@pytest.mark.parametrize("tagged", [False, True], ids=["polyglot", "id3-polyglot"])
async def test_ffprobe_refuses_a_playlist_labelled_video(
    tmp_path: Path, canary: Path, tagged: bool
) -> None:
    source = tmp_path / "source"
    source.write_bytes((id3_tag(64) if tagged else b"") + playlist(canary))

    with pytest.raises(ContainerNotAllowed, match="M3U/HLS playlist, which names other files"):
        await ffprobe.probe("ffprobe", source, "video/mp4", SourceLimits(), TOOLS)
    assert not reader_waiting(canary)


async def test_a_playlist_hidden_from_the_head_check_still_is_not_followed(
    tmp_path: Path, canary: Path
) -> None:
    # An ID3 tag longer than the bytes checked hides the playlist from the head check;
    # ffmpeg skips it and would probe HLS, but the demuxer is forced to mov.
    source = tmp_path / "source"
    source.write_bytes(id3_tag(9000) + playlist(canary))
    ffprobe.check_head(source)  # cannot tell

    with pytest.raises(CorruptInput, match="ffprobe cannot read the file"):
        await ffprobe.probe("ffprobe", source, "video/mp4", SourceLimits(), TOOLS)
    assert not reader_waiting(canary)

    media = SourceMedia(
        width=640, height=360, duration=2.0, fps=10.0, video_codec="h264", audio_codec=None
    )
    out = tmp_path / "hls"
    out.mkdir()
    argv = ffmpeg.build_command(
        "ffmpeg",
        ffprobe.demuxer("video/mp4"),
        source,
        out,
        media,
        plan_ladder(media, DEFAULT_LADDER),
        EncodingSettings(),
    )
    with pytest.raises(CorruptInput):
        await ffmpeg.encode(argv, children.Limits(wall_seconds=20))
    assert not reader_waiting(canary)


async def test_a_type_without_a_trusted_demuxer_is_refused_before_any_tool_runs(
    tmp_path: Path,
) -> None:
    source = tmp_path / "source"
    source.write_bytes(b"\x00" * 64)
    with pytest.raises(ContainerNotAllowed, match=r"application/vnd\.apple\.mpegurl is not"):
        await ffprobe.probe(
            sys.executable, source, "application/vnd.apple.mpegurl", SourceLimits(), TOOLS
        )
