"""What the stored bytes really are, from their magic numbers (not from the client's word)."""

from __future__ import annotations

import puremagic

from mediaplane.contracts import FileKind

SNIFF_BYTES = 8192
UNKNOWN = "application/octet-stream"


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


def sniff(head: bytes) -> str:
    """The most likely media type of a file starting with `head`, or octet-stream."""
    if not head:
        return UNKNOWN
    if head[4:8] == b"ftyp" and head[8:12] in _IMAGE_BRANDS:
        return _IMAGE_BRANDS[head[8:12]]
    try:
        guesses = puremagic.magic_string(head)
    except puremagic.PureError:
        return UNKNOWN
    typed = [g for g in guesses if g.mime_type]
    if not typed:
        return UNKNOWN
    best: str = max(typed, key=lambda g: g.confidence).mime_type
    return best.lower()


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
