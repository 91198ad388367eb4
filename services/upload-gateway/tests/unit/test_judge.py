"""The verifier's judgement of measured bytes against the declaration (pure, no I/O)."""

from __future__ import annotations

import hashlib
import uuid

import msgspec
import pytest

from mediaplane.contracts import EventContext, FileUploadedV2, new_event, utc_now
from mediaplane.upload_gateway.adapters.clamd import ScanResult
from mediaplane.upload_gateway.domain.policy import UploadLimits
from mediaplane.upload_gateway.worker.verifier import Measured, judge

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 100
FILE = uuid.uuid4()


def uploaded(size: int, sha256: str | None = None) -> FileUploadedV2:
    return new_event(
        FileUploadedV2,
        occurred_at=utc_now(),
        stream_id=f"file-{FILE}",
        context=EventContext(producer="test", correlation_id="c"),
        file_id=FILE,
        owner="alice",
        bucket="originals",
        object_key=f"alice/{FILE}/upload",
        original_key=f"alice/{FILE}/original",
        filename="a.png",
        content_type="image/png",
        size=size,
        sha256=sha256,
    )


def measured(data: bytes, scan: ScanResult | None = None) -> Measured:
    return Measured(
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        head=data[:8192],
        scan=scan or ScanResult(outcome="clean"),
    )


def test_bytes_as_declared_are_accepted_with_the_sniffed_type() -> None:
    verdict = judge(
        uploaded(len(PNG), hashlib.sha256(PNG).hexdigest()), measured(PNG), UploadLimits()
    )
    assert (verdict.rejection, verdict.media_type, verdict.kind, verdict.size) == (
        None,
        "image/png",
        "image",
        len(PNG),
    )


@pytest.mark.parametrize(
    ("declared", "data", "code"),
    [
        (uploaded(1), b"", "empty"),
        (uploaded(len(PNG) + 1), PNG, "size_mismatch"),
        (uploaded(len(PNG), "0" * 64), PNG, "checksum_mismatch"),
        (uploaded(len(PNG) + 6), b"<html>" + PNG, "type_not_allowed"),
    ],
)
def test_what_differs_from_the_declaration_is_rejected(
    declared: FileUploadedV2, data: bytes, code: str
) -> None:
    verdict = judge(declared, measured(data), UploadLimits())
    assert verdict.rejection is not None
    assert verdict.rejection[0] == code


@pytest.mark.parametrize(
    ("scan", "rejection"),
    [
        (
            ScanResult(outcome="found", detail="Eicar-Test-Signature"),
            ("malware", "clamd found Eicar-Test-Signature"),
        ),
        (
            ScanResult(outcome="limit", detail="the stream is longer than clamd accepts"),
            ("scan_limit_exceeded", "the stream is longer than clamd accepts"),
        ),
    ],
)
def test_clamds_findings_come_before_every_other_check(
    scan: ScanResult, rejection: tuple[str, str]
) -> None:
    # A file that also lies about its size and type: the malware is what is named.
    verdict = judge(uploaded(len(PNG) + 99), measured(b"<html>" + PNG, scan), UploadLimits())
    assert verdict.rejection == rejection


def test_text_declared_as_audio_is_rejected_as_type_not_allowed() -> None:
    text = b"la la la, this song is only words\n" * 50
    declared = msgspec.structs.replace(
        uploaded(len(text)), filename="song.mp3", content_type="audio/mpeg"
    )
    verdict = judge(declared, measured(text), UploadLimits())
    assert verdict.rejection is not None
    assert verdict.rejection[0] == "type_not_allowed"
    assert "declared audio/mpeg" in verdict.rejection[1]
