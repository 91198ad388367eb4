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


class Mp4Rendition(msgspec.Struct, frozen=True, kw_only=True):
    """The progressive download: H.264 + AAC, `moov` before `mdat` (faststart)."""

    key: str
    width: int
    height: int
    size: int
    bandwidth: int  # bits per second over the whole file


class Waveform(msgspec.Struct, frozen=True, kw_only=True):
    """A JSON document `{"version": 1, "duration": s, "peaks": [0..1, ...]}` of `peaks` values."""

    key: str
    peaks: int


class TranscodeStarted(Event, tag="transcode.started.v1", frozen=True, kw_only=True):
    file_id: uuid.UUID
    job_id: uuid.UUID
    source: VideoSource
    ladder: list[str]
    # "audio" jobs make an audio-only ladder; their `source` has no picture
    # (width, height and fps 0, video_codec "none").
    kind: str = "video"


class TranscodeCompleted(Event, tag="transcode.completed.v1", frozen=True, kw_only=True):
    file_id: uuid.UUID
    job_id: uuid.UUID
    bucket: str
    master_playlist_key: str
    renditions: list[Rendition]
    duration: Seconds
    elapsed: Seconds
    # Audio renditions have width, height and frame_rate 0.
    kind: str = "video"
    mp4: Mp4Rendition | None = None  # videos: the progressive fallback
    waveform: Waveform | None = None  # audio: the peaks document


class TranscodeProgress(Event, tag="transcode.progress.v1", frozen=True, kw_only=True):
    """How far the encode of a started job is. Throttled by the producer (at most one per
    `step` percent, and never more often than its interval), so a job has a bounded number."""

    file_id: uuid.UUID
    job_id: uuid.UUID
    percent: float  # 0..100
    processed: Seconds  # of the source encoded so far


class ReadyPlaylist(msgspec.Struct, frozen=True, kw_only=True):
    """One media playlist of a ladder still being encoded (video rung or audio rendition)."""

    name: str
    playlist_key: str


class TranscodeSegmentsReady(Event, tag="transcode.segments_ready.v1", frozen=True, kw_only=True):
    """A chunked ladder (long videos) grew: the leading `ready` seconds of every rendition are
    in the bucket, behind EVENT media playlists and a master that a player can already
    open. The last one of a job has `ended` (the playlists are VOD); `transcode.completed`
    follows it."""

    file_id: uuid.UUID
    job_id: uuid.UUID
    bucket: str
    master_playlist_key: str
    playlists: list[ReadyPlaylist]
    ready: Seconds  # source seconds playable from the start
    chunks_done: int
    chunks_planned: int
    ended: bool = False


class ChunkSpan(msgspec.Struct, frozen=True, kw_only=True):
    """A chunk of a long video: source seconds `start`..`end` (segment boundaries; the last
    ends at the source's end), output segments `first_segment` .. + `segments` of every rung."""

    index: int
    start: Seconds
    end: Seconds
    first_segment: int
    segments: int


class TranscodeChunkRequested(Event, tag="transcode.chunk_requested.v1", frozen=True, kw_only=True):
    """One chunk of a chunked ladder, for any transcoder replica to encode (every rung, video
    only). Recorded with the job's plan (`transcode.started`), one per chunk; the original is
    the verified one the job read (`owner`, `bucket`, `object_key`, `sha256`, `media_type`).
    Segments go to `<prefix>/<rung>/`."""

    file_id: uuid.UUID
    job_id: uuid.UUID
    owner: str
    bucket: str
    object_key: str
    sha256: str
    media_type: str
    prefix: str
    chunk: ChunkSpan
    chunks_planned: int


class ChunkSegment(msgspec.Struct, frozen=True, kw_only=True):
    uri: str  # relative to the rung's folder, e.g. `seg_00012.ts`
    duration: Seconds


class ChunkRung(msgspec.Struct, frozen=True, kw_only=True):
    """One rung's segments of a chunk, in order."""

    name: str
    segments: list[ChunkSegment]


class TranscodeChunkDone(Event, tag="transcode.chunk_done.v1", frozen=True, kw_only=True):
    """A replica encoded chunk `index` of the job and uploaded its segments (every rung).
    Recorded once per chunk: a redelivered chunk that is already done records nothing."""

    file_id: uuid.UUID
    job_id: uuid.UUID
    index: int
    rungs: list[ChunkRung]
    elapsed: Seconds  # the replica's wall time for the chunk (download, encode, upload)
    worker: str  # the replica that encoded it (its worker id: host and pid)


class TranscodeChunkFailed(Event, tag="transcode.chunk_failed.v1", frozen=True, kw_only=True):
    """Chunk `index` cannot be encoded: `code` as in `transcode.failed` (the input's fault,
    or `internal` after the chunk's last attempt). The job then fails with that code."""

    file_id: uuid.UUID
    job_id: uuid.UUID
    index: int
    code: str
    detail: str
    attempts: int


class TranscodeFailed(Event, tag="transcode.failed.v1", frozen=True, kw_only=True):
    """`code`: unsupported_media, corrupt_input, source_missing, timeout, internal."""

    file_id: uuid.UUID
    job_id: uuid.UUID
    code: str
    detail: str
    attempts: int
