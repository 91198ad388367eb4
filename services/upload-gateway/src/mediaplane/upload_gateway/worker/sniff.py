"""What the stored bytes really are, from their magic numbers (not from the client's word)."""

from __future__ import annotations

from dataclasses import dataclass

import puremagic

from mediaplane.contracts import FileKind
from mediaplane.servicekit.media import script_signature

SNIFF_BYTES = 8192
UNKNOWN = "application/octet-stream"
# Playlists and scripts name other files that a media tool would open: never
# accepted, whatever else their bytes look like.
PLAYLIST = "application/x-mediaplane-playlist"


# ISO-BMFF files share the `ftyp` box: its major brand tells HEIF/AVIF images
# from MP4/MOV video (puremagic reports every `ftyp` file as video/mp4).
_IMAGE_BRANDS = {
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"heim": "image/heic",
    b"heis": "image/heic",
    b"mif1": "image/heif",
    b"msf1": "image/heif",
    b"avif": "image/avif",
    b"avis": "image/avif",
}
# ...and audio-only MPEG-4 (iTunes' .m4a/.m4b) from video.
_AUDIO_BRANDS = {b"M4A ": "audio/mp4", b"M4B ": "audio/mp4", b"F4A ": "audio/mp4"}
# Ogg is a container: the codec of the first logical stream (its first packet, right
# after the first page's header and lacing table) tells audio from video. puremagic
# calls every Ogg file application/ogg, which the upload policy would not allow.
_OGG_CODECS: tuple[tuple[bytes, str], ...] = (
    (b"\x01vorbis", "audio/ogg"),
    (b"OpusHead", "audio/ogg"),
    (b"\x7fFLAC", "audio/ogg"),
    (b"Speex   ", "audio/ogg"),
    (b"\x80theora", "video/ogg"),
)
# What puremagic calls ISO-BMFF. Some of its rules match brand names deeper in
# the file (`iso2avc1mp4` at offset 20), which a playlist can carry in a
# comment line: only a file whose first box is `ftyp` (offset 4) is one.
_ISO_BMFF = {"video/mp4", "video/quicktime", "video/3gpp", "video/3gpp2", "video/x-m4v"}


@dataclass(frozen=True)
class Sniffed:
    media_type: str
    # Why the bytes are refused whatever the allowed types (a playlist), if they are.
    refusal: str | None = None


def sniff(head: bytes) -> Sniffed:
    """The most likely media type of a file starting with `head`, or octet-stream."""
    if not head:
        return Sniffed(UNKNOWN)
    if (script := script_signature(head)) is not None:
        return Sniffed(PLAYLIST, f"the bytes are {script}, which names other files")
    if head[4:8] == b"ftyp" and head[8:12] in _IMAGE_BRANDS:
        return Sniffed(_IMAGE_BRANDS[head[8:12]])
    if head[4:8] == b"ftyp" and head[8:12] in _AUDIO_BRANDS:
        return Sniffed(_AUDIO_BRANDS[head[8:12]])
    if head[:4] == b"OggS" and len(head) > 27:
        packet = head[27 + head[26] :]
        for prefix, media_type in _OGG_CODECS:
            if packet.startswith(prefix):
                return Sniffed(media_type)
    try:
        guesses = puremagic.magic_string(head)
    except puremagic.PureError:
        return Sniffed(UNKNOWN)
    typed = [
        g
        for g in guesses
        if g.mime_type and (g.mime_type.lower() not in _ISO_BMFF or head[4:8] == b"ftyp")
    ]
    if not typed:
        return Sniffed(UNKNOWN)
    best: str = max(typed, key=lambda g: g.confidence).mime_type
    return Sniffed(best.lower())


def kind_of(media_type: str) -> FileKind:
    if media_type == "application/pdf":
        return "pdf"
    major = media_type.split("/", 1)[0]
    if major == "image":
        return "image"
    if major == "video":
        return "video"
    if major == "audio":
        return "audio"
    return "other"
