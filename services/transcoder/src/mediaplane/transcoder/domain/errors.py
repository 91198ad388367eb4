"""Why a job cannot succeed: permanent failures carry the `transcode.failed` code.

A permanent failure is a property of the input (or of the job's budget): a
retry would fail the same way, so it is recorded as `transcode.failed` and
the message is acknowledged. Everything else (S3, Postgres, NATS hiccups, an
ffmpeg that crashed for no input-related reason) is transient and retried.
"""

from __future__ import annotations

from mediaplane.domain import DomainError


class PermanentFailure(DomainError):
    """The job ends with `transcode.failed` carrying `code`; no retry."""

    code = "internal"


class CorruptInput(PermanentFailure):
    """The bytes are damaged: truncated, unreadable container, undecodable frames."""

    code = "corrupt_input"


class UnsupportedMedia(PermanentFailure):
    """Readable, but not something we transcode: no video stream, unknown codec, too big."""

    code = "unsupported_media"


class SourceMissing(PermanentFailure):
    """The original was deleted before the job could read it."""

    code = "source_missing"


class OriginalChanged(PermanentFailure):
    """The bytes read are not the ones the verifier approved (their SHA-256 differs):
    nothing is made from them."""

    code = "original_changed"


class JobTimedOut(PermanentFailure):
    """ffmpeg outlived the job's budget (proportional to the source duration)."""

    code = "timeout"


class ContainerNotAllowed(PermanentFailure):
    """Not a media container the tools may read: a playlist or script, or a type without
    a trusted demuxer. Such files name other files the tools would open."""

    code = "container_refused"


class ResourceLimit(PermanentFailure):
    """ffprobe or ffmpeg hit its CPU-time or memory limit (a hostile or pathological input)."""

    code = "resource_limit"


class ChunkFailed(PermanentFailure):
    """A chunk failed for good on the replica that took it (`transcode.chunk_failed`): the
    job fails with the chunk's code."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


class JobBusy(Exception):
    """Another live worker holds the job's lease: retry later (transient)."""


class EmptyMedia(PermanentFailure):
    """A well-formed file with nothing to play: an audio file that lasts 0 s."""

    code = "empty_media"
