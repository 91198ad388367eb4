"""Which container a media tool may read a file as: pure policy, no I/O.

ffmpeg and ffprobe pick a demuxer by probing the bytes, and some demuxers
are not media but instructions: an HLS or DASH playlist, a `concat` script,
an image2 pattern name other files (local paths, or URLs) that the tool then
opens. A file that is a playlist but sniffs as video (a polyglot) would make
the tool read whatever it names. So the tools never probe: the demuxer is
the one the verified media type maps to (`-f`), only the `file` protocol is
allowed, and what ffprobe reports is checked against the expectation.
"""

from __future__ import annotations

from dataclasses import dataclass


class ContainerRefused(Exception):
    """The file is not (only) the media container it was verified as."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class Demuxer:
    name: str  # what `-f` takes
    format_name: str  # what ffprobe reports as `format.format_name`


_MOV = Demuxer("mov", "mov,mp4,m4a,3gp,3g2,mj2")
_MATROSKA = Demuxer("matroska", "matroska,webm")
# Verified media types (upload-gateway's sniffer) -> the demuxer that reads them.
_DEMUXERS: dict[str, Demuxer] = {
    "video/mp4": _MOV,
    "video/quicktime": _MOV,
    "video/x-m4v": _MOV,
    "video/3gpp": _MOV,
    "video/3gpp2": _MOV,
    "video/x-matroska": _MATROSKA,
    "video/webm": _MATROSKA,
    "video/x-msvideo": Demuxer("avi", "avi"),
    "video/avi": Demuxer("avi", "avi"),
    "video/mpeg": Demuxer("mpeg", "mpeg"),
    "video/mp2t": Demuxer("mpegts", "mpegts"),
    "video/x-flv": Demuxer("flv", "flv"),
    "video/ogg": Demuxer("ogg", "ogg"),
    "video/x-ms-asf": Demuxer("asf", "asf"),
    "video/x-ms-wmv": Demuxer("asf", "asf"),
    # Audio (the transcoder's audio-only ladder).
    "audio/mpeg": Demuxer("mp3", "mp3"),
    "audio/aac": Demuxer("aac", "aac"),
    "audio/aacp": Demuxer("aac", "aac"),
    "audio/mp4": _MOV,
    "audio/x-m4a": _MOV,
    "audio/ogg": Demuxer("ogg", "ogg"),
    "audio/opus": Demuxer("ogg", "ogg"),
    "audio/flac": Demuxer("flac", "flac"),
    "audio/x-flac": Demuxer("flac", "flac"),
    "audio/wav": Demuxer("wav", "wav"),
    "audio/wave": Demuxer("wav", "wav"),
    "audio/x-wav": Demuxer("wav", "wav"),
    "audio/webm": _MATROSKA,
}

# Demuxers that open other files or URLs named in their input, or that read no
# media at all. Refused whatever the media type said.
PLAYLIST_DEMUXERS = frozenset(
    {
        "hls",
        "applehttp",
        "dash",
        "webm_dash_manifest",
        "concat",
        "ffconcat",
        "image2",
        "image2pipe",
        "ffmetadata",
        "sdp",
        "rtsp",
        "rtp",
        "tty",
        "lavfi",
        "mpl2",
    }
)

# First bytes of playlists and scripts (compared in lower case, after a UTF-8
# BOM, leading blanks and any ID3v2 tags, which ffmpeg also skips before probing).
_SCRIPT_PREFIXES: tuple[tuple[bytes, str], ...] = (
    (b"#extm3u", "an M3U/HLS playlist"),
    (b"#ext-x-", "an HLS playlist"),
    (b"ffconcat", "an ffconcat script"),
    (b";ffmetadata", "an ffmetadata script"),
    (b"[playlist]", "a PLS playlist"),
    (b"[reference]", "an ASF reference playlist"),
    (b"<asx", "an ASX playlist"),
    (b"rtsptext", "an RTSP text playlist"),
)
# XML documents that list other resources.
_XML_ROOTS: tuple[tuple[bytes, str], ...] = (
    (b"<mpd", "a DASH manifest (MPD)"),
    (b"<smoothstreamingmedia", "a Smooth Streaming manifest"),
    (b"<smil", "a SMIL playlist"),
    (b"<playlist", "an XSPF playlist"),
    (b"<asx", "an ASX playlist"),
)
_ID3_HEADER = 10


def demuxer_for(media_type: str) -> Demuxer:
    """The demuxer for a verified media type; refused when there is none we trust."""
    demuxer = _DEMUXERS.get(media_type.split(";", 1)[0].strip().lower())
    if demuxer is None:
        raise ContainerRefused(f"{media_type} is not a media container the media tools read")
    return demuxer


def input_options(demuxer: Demuxer) -> list[str]:
    """ffmpeg/ffprobe options to put before `-i`/the input: no probing, local files only."""
    return ["-f", demuxer.name, "-protocol_whitelist", "file"]


def check_format_name(format_name: str, expected: Demuxer) -> None:
    """Refuse what ffprobe read unless it is exactly the expected, non-playlist demuxer."""
    names = {name.strip() for name in format_name.split(",")}
    if playlists := sorted(names & PLAYLIST_DEMUXERS):
        raise ContainerRefused(
            f"ffprobe read the file as {', '.join(playlists)}: a playlist or script, not media"
        )
    if format_name != expected.format_name:
        raise ContainerRefused(f"ffprobe read the file as {format_name!r}, not {expected.name}")


def _after_id3(head: bytes) -> bytes | None:
    """`head` without its leading ID3v2 tags; None when a tag runs past `head`."""
    while head[:3] == b"ID3" and len(head) >= _ID3_HEADER:
        size_bytes = head[6:10]
        if any(b & 0x80 for b in size_bytes):
            return head  # not a valid synchsafe size: not a tag
        size = 0
        for b in size_bytes:
            size = (size << 7) | b
        footer = _ID3_HEADER if head[5] & 0x10 else 0
        end = _ID3_HEADER + size + footer
        if end > len(head):
            return None
        head = head[end:]
    return head


def script_signature(head: bytes) -> str | None:
    """What playlist or script the file starting with `head` is, or None for anything else.

    None also when leading ID3 tags run past `head` (the caller cannot tell
    then; the tools' forced demuxer still refuses such a file).
    """
    body = _after_id3(head)
    if body is None:
        return None
    text = body.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n\x00").lower()
    for prefix, what in _SCRIPT_PREFIXES:
        if text.startswith(prefix):
            return what
    if text.startswith(b"<"):
        for root, what in _XML_ROOTS:
            if root in text:
                return what
    return None
