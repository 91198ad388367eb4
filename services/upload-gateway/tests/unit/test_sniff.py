"""The verifier judges bytes by their magic numbers, not by what the client declared."""

from __future__ import annotations

import pytest

from mediaplane.upload_gateway.worker.sniff import kind_of, sniff


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
    assert sniff(head) == media_type
    assert kind_of(media_type) == kind
