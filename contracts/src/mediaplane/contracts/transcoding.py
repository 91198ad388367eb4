"""transcoder (stream `transcode-<file_id>`)."""

from __future__ import annotations

import uuid

import msgspec

from mediaplane.contracts.envelope import Event, Seconds


class VideoSource(msgspec.Struct, frozen=True, kw_only=True):
    width: int
    height: int
    duration: Seconds
    fps: float
    video_codec: str
    audio_codec: str | None = None
    rotation: int = 0


class Rendition(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    width: int
    height: int
    bandwidth: int
    average_bandwidth: int
    codecs: str
    frame_rate: float
    playlist_key: str
    segment_count: int


class TranscodeStarted(Event, tag="transcode.started.v1", frozen=True, kw_only=True):
    file_id: uuid.UUID
    job_id: uuid.UUID
    source: VideoSource
    ladder: list[str]


class TranscodeCompleted(Event, tag="transcode.completed.v1", frozen=True, kw_only=True):
    file_id: uuid.UUID
    job_id: uuid.UUID
    bucket: str
    master_playlist_key: str
    renditions: list[Rendition]
    duration: Seconds
    elapsed: Seconds


class TranscodeFailed(Event, tag="transcode.failed.v1", frozen=True, kw_only=True):
    """`code`: unsupported_media, corrupt_input, source_missing, timeout, internal."""

    file_id: uuid.UUID
    job_id: uuid.UUID
    code: str
    detail: str
    attempts: int
