"""One realistic example payload per event version (written to contracts/examples/)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from mediaplane.contracts.beacons import Beacon, PlaybackBeacons
from mediaplane.contracts.dead_letters import DeadLetterDiscarded, DeadLetterRedriven
from mediaplane.contracts.envelope import Event
from mediaplane.contracts.files import (
    FileDeleted,
    FileRejected,
    FileReportDismissed,
    FileReported,
    FileReprocessRequested,
    FileReprocessRequestedV2,
    FileRestored,
    FileTagsChanged,
    FileTakenDown,
    FileUploaded,
    FileUploadedV2,
    FileVerified,
    TagCreated,
    TagCreatedV2,
)
from mediaplane.contracts.janitor import (
    JanitorFilePurged,
    JanitorOrphanRemoved,
    JanitorSessionExpired,
)
from mediaplane.contracts.metadata import MetadataExtracted, MetadataFailed, VideoMetadata
from mediaplane.contracts.thumbnails import (
    Thumbnail,
    ThumbnailFailed,
    ThumbnailGenerated,
    ThumbnailSource,
)
from mediaplane.contracts.transcoding import (
    ChunkRung,
    ChunkSegment,
    ChunkSpan,
    Mp4Rendition,
    ReadyPlaylist,
    Rendition,
    TranscodeChunkDone,
    TranscodeChunkFailed,
    TranscodeChunkRequested,
    TranscodeCompleted,
    TranscodeFailed,
    TranscodeProgress,
    TranscodeSegmentsReady,
    TranscodeStarted,
    VideoSource,
)
from mediaplane.contracts.uploads import (
    UploadSessionAborted,
    UploadSessionCompleted,
    UploadSessionOpened,
)
from mediaplane.contracts.users import (
    UserDeleted,
    UserEmailVerified,
    UserPlanChanged,
    UserQuotaSet,
    UserRegistered,
    UserReinstated,
    UserRoleChanged,
    UserSuspended,
)
from mediaplane.contracts.variants import VariantDropped, VariantFailed, VariantGenerated

SESSION = uuid.UUID("0192f0a1-7c3e-7b7a-9d2e-1a2b3c4d5e6f")
FILE = uuid.UUID("0192f0a1-7c3e-7b7a-9d2e-6f5e4d3c2b1a")
JOB = uuid.UUID("0192f0a2-0000-7000-8000-000000000001")
AT = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
OWNER = "user-42"
MODERATOR = "moderator-7"
REPORT = uuid.UUID("0192f0a5-0000-7000-8000-000000000016")
KEY = f"{OWNER}/{FILE}/holiday.mp4"
STAGING_KEY = f"{OWNER}/{FILE}/upload"
ORIGINAL_KEY = f"{OWNER}/{FILE}/original"
USER = uuid.UUID("0192f0a4-0000-7000-8000-000000000042")
ADMIN = uuid.UUID("0192f0a4-0000-7000-8000-000000000001")
VIEW = uuid.UUID("0192f0a5-0000-7000-8000-000000000007")


def _envelope(n: int, stream_id: str, producer: str) -> dict[str, Any]:
    return {
        "event_id": uuid.UUID(f"0192f0a3-0000-7000-8000-{n:012d}"),
        "occurred_at": AT + timedelta(seconds=n),
        "stream_id": stream_id,
        "producer": producer,
        "correlation_id": "req-7f3a",
        "causation_id": None if n == 1 else str(uuid.UUID(f"0192f0a3-0000-7000-8000-{n - 1:012d}")),
    }


def _upload(n: int) -> dict[str, Any]:
    return _envelope(n, f"upload-{SESSION}", "upload-gateway")


def _file(n: int) -> dict[str, Any]:
    return _envelope(n, f"file-{FILE}", "upload-gateway")


def _user(n: int) -> dict[str, Any]:
    return _envelope(n, f"user-{USER}", "identity")


def build_examples() -> list[Event]:
    renditions = [
        Rendition(
            name=f"{h}p",
            width=w,
            height=h,
            bandwidth=bw,
            average_bandwidth=abw,
            codecs="avc1.640028,mp4a.40.2",
            frame_rate=30.0,
            playlist_key=f"{FILE}/hls/{h}p/index.m3u8",
            segment_count=5,
        )
        for w, h, bw, abw in ((1280, 720, 3_300_000, 2_900_000), (640, 360, 950_000, 820_000))
    ]
    return [
        UploadSessionOpened(
            **_upload(1),
            session_id=SESSION,
            file_id=FILE,
            owner=OWNER,
            mode="multipart",
            bucket="originals",
            object_key=KEY,
            filename="holiday.mp4",
            content_type="video/mp4",
            size=52_428_800,
            sha256=SHA,
            part_size=16_777_216,
            part_count=4,
            expires_at=AT + timedelta(hours=24),
            upload_id="2f1c3a",
            tags=["holiday"],
        ),
        UploadSessionCompleted(
            **_upload(2),
            session_id=SESSION,
            file_id=FILE,
            size=52_428_800,
            etag='"8c1e7b1d2b6f0a3e-4"',
            part_count=4,
        ),
        UploadSessionAborted(**_upload(3), session_id=SESSION, file_id=FILE, reason="client"),
        FileUploaded(
            **_file(4),
            file_id=FILE,
            session_id=SESSION,
            owner=OWNER,
            bucket="originals",
            object_key=KEY,
            filename="holiday.mp4",
            content_type="video/mp4",
            size=52_428_800,
            sha256=SHA,
            tags=["holiday"],
        ),
        FileUploadedV2(
            **_file(4),
            file_id=FILE,
            session_id=SESSION,
            owner=OWNER,
            bucket="originals",
            object_key=STAGING_KEY,
            original_key=ORIGINAL_KEY,
            filename="holiday.mp4",
            content_type="video/mp4",
            size=52_428_800,
            sha256=SHA,
            tags=["holiday"],
        ),
        FileVerified(
            **_file(5),
            file_id=FILE,
            owner=OWNER,
            bucket="originals",
            object_key=ORIGINAL_KEY,
            sha256=SHA,
            size=52_428_800,
            media_type="video/mp4",
            kind="video",
        ),
        FileRejected(
            **_file(6),
            file_id=FILE,
            owner=OWNER,
            code="checksum_mismatch",
            detail=f"declared {SHA}, stored bytes hash to e3b0c442...",
        ),
        FileTagsChanged(
            **_file(7), file_id=FILE, owner=OWNER, added=["beach"], removed=["holiday"]
        ),
        FileDeleted(**_file(8), file_id=FILE, owner=OWNER, deleted_by=OWNER),
        FileReported(
            **_file(8),
            file_id=FILE,
            owner=OWNER,
            report_id=REPORT,
            reporter=MODERATOR,
            reason="spam: the same clip uploaded under many names",
        ),
        FileReportDismissed(
            **_file(8),
            file_id=FILE,
            owner=OWNER,
            report_id=REPORT,
            moderator=MODERATOR,
            note="not spam",
        ),
        FileTakenDown(
            **_file(8),
            file_id=FILE,
            owner=OWNER,
            moderator=MODERATOR,
            reason="copyright: a complaint by the rights holder",
            report_ids=[REPORT],
        ),
        FileRestored(
            **_file(8),
            file_id=FILE,
            owner=OWNER,
            moderator=MODERATOR,
            reason="the complaint was withdrawn",
        ),
        FileReprocessRequested(
            **_file(8),
            file_id=FILE,
            owner=OWNER,
            target="thumbnails",
            requested_by="admin-1",
            bucket="originals",
            object_key=f"{OWNER}/{FILE}/original",
            sha256=SHA,
            size=2_345_678,
            media_type="image/jpeg",
            kind="image",
        ),
        FileReprocessRequestedV2(
            **_file(8),
            file_id=FILE,
            owner=OWNER,
            target="variants",
            requested_by="admin-1",
            bucket="originals",
            object_key=f"{OWNER}/{FILE}/original",
            sha256=SHA,
            size=2_345_678,
            media_type="image/jpeg",
            kind="image",
        ),
        TagCreated(
            **_envelope(9, "tag-holiday", "upload-gateway"), name="holiday", created_by=OWNER
        ),
        TagCreatedV2(
            **_envelope(9, f"tag-{OWNER}/holiday", "upload-gateway"), owner=OWNER, name="holiday"
        ),
        TranscodeStarted(
            **_envelope(10, f"transcode-{FILE}", "transcoder"),
            file_id=FILE,
            job_id=JOB,
            source=VideoSource(
                width=1280,
                height=720,
                duration=20.0,
                fps=30.0,
                video_codec="h264",
                audio_codec="aac",
            ),
            ladder=["720p", "360p"],
        ),
        TranscodeCompleted(
            **_envelope(11, f"transcode-{FILE}", "transcoder"),
            file_id=FILE,
            job_id=JOB,
            bucket="renditions",
            master_playlist_key=f"{FILE}/hls/master.m3u8",
            renditions=renditions,
            duration=20.0,
            elapsed=14.2,
            mp4=Mp4Rendition(
                key=f"{FILE}/{JOB}/fallback.mp4",
                width=1280,
                height=720,
                size=7_340_032,
                bandwidth=2_936_012,
            ),
        ),
        TranscodeProgress(
            **_envelope(18, f"transcode-{FILE}", "transcoder"),
            file_id=FILE,
            job_id=JOB,
            percent=45.0,
            processed=9.0,
        ),
        TranscodeSegmentsReady(
            **_envelope(19, f"transcode-{FILE}", "transcoder"),
            file_id=FILE,
            job_id=JOB,
            bucket="renditions",
            master_playlist_key=f"{FILE}/{JOB}/master.m3u8",
            playlists=[
                ReadyPlaylist(name="1080p", playlist_key=f"{FILE}/{JOB}/1080p/index.m3u8"),
                ReadyPlaylist(
                    name="audio_128k", playlist_key=f"{FILE}/{JOB}/audio_128k/index.m3u8"
                ),
            ],
            ready=32.0,
            chunks_done=1,
            chunks_planned=19,
        ),
        TranscodeChunkRequested(
            **_envelope(42, f"transcode-{FILE}", "transcoder"),
            file_id=FILE,
            job_id=JOB,
            owner="alice",
            bucket="originals",
            object_key=f"alice/{FILE}",
            sha256="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            media_type="video/mp4",
            prefix=f"{FILE}/{JOB}",
            chunk=ChunkSpan(index=1, start=32.0, end=64.0, first_segment=8, segments=8),
            chunks_planned=19,
        ),
        TranscodeChunkDone(
            **_envelope(43, f"transcode-{FILE}", "transcoder"),
            file_id=FILE,
            job_id=JOB,
            index=1,
            rungs=[
                ChunkRung(
                    name="1080p",
                    segments=[
                        ChunkSegment(uri=f"seg_{n:05d}.ts", duration=4.0) for n in range(8, 16)
                    ],
                ),
            ],
            elapsed=41.5,
            worker="transcoder-7d9f-1",
        ),
        TranscodeChunkFailed(
            **_envelope(44, f"transcode-{FILE}", "transcoder"),
            file_id=FILE,
            job_id=JOB,
            index=1,
            code="corrupt_input",
            detail="Invalid NAL unit size",
            attempts=1,
        ),
        TranscodeFailed(
            **_envelope(12, f"transcode-{FILE}", "transcoder"),
            file_id=FILE,
            job_id=JOB,
            code="corrupt_input",
            detail="moov atom not found",
            attempts=1,
        ),
        ThumbnailGenerated(
            **_envelope(13, f"thumbnail-{FILE}", "thumbnailer"),
            file_id=FILE,
            bucket="thumbnails",
            thumbnails=[
                Thumbnail(
                    name="small",
                    width=160,
                    height=90,
                    format="webp",
                    key=f"{FILE}/small.webp",
                    size=4_210,
                )
            ],
            source=ThumbnailSource(width=1280, height=720, format="video"),
        ),
        ThumbnailFailed(
            **_envelope(14, f"thumbnail-{FILE}", "thumbnailer"),
            file_id=FILE,
            code="too_large",
            detail="30000x30000 pixels exceeds the 50 MP limit",
        ),
        MetadataExtracted(
            **_envelope(40, f"metadata-{FILE}", "thumbnailer"),
            file_id=FILE,
            kind="video",
            video=VideoMetadata(
                container="mov,mp4,m4a,3gp,3g2,mj2",
                duration=12.5,
                bitrate=4_800_000,
                width=3840,
                height=2160,
                fps=29.97,
                rotation=90,
                video_codec="hevc",
                video_profile="Main 10",
                pixel_format="yuv420p10le",
                color_transfer="smpte2084",
                color_primaries="bt2020",
                hdr="pq",
                audio_codec="aac",
            ),
        ),
        MetadataFailed(
            **_envelope(41, f"metadata-{FILE}", "thumbnailer"),
            file_id=FILE,
            code="corrupt_input",
            detail="ffprobe cannot read the file: moov atom not found",
        ),
        JanitorSessionExpired(
            **_envelope(15, f"janitor-{SESSION}", "janitor"),
            session_id=SESSION,
            file_id=FILE,
            multipart_aborted=True,
            object_deleted=False,
            bytes_freed=10_485_760,
        ),
        JanitorFilePurged(
            **_envelope(16, f"janitor-{FILE}", "janitor"),
            file_id=FILE,
            objects_deleted=12,
            bytes_freed=81_000_000,
        ),
        JanitorOrphanRemoved(
            **_envelope(17, "janitor-orphan-2f1c3a", "janitor"),
            bucket="originals",
            key=KEY,
            upload_id="2f1c3a",
            size=0,
            reason="unknown_multipart_upload",
        ),
        UserRegistered(**_user(18), user_id=USER, role="user", plan="free", via="open"),
        UserEmailVerified(**_user(19), user_id=USER),
        UserRoleChanged(
            **_user(20), user_id=USER, role="moderator", previous="user", changed_by=str(ADMIN)
        ),
        UserPlanChanged(
            **_user(21), user_id=USER, plan="pro", previous="free", changed_by=str(ADMIN)
        ),
        UserQuotaSet(
            **_envelope(42, f"user-{USER}", "identity"),
            user_id=USER,
            files=None,
            bytes=50 * 1024**3,
            changed_by=str(ADMIN),
        ),
        UserSuspended(**_user(22), user_id=USER, reason="spam uploads", suspended_by=str(ADMIN)),
        UserReinstated(**_user(23), user_id=USER, reinstated_by=str(ADMIN)),
        UserDeleted(**_user(24), user_id=USER, deleted_by="self"),
        VariantGenerated(
            **_envelope(25, f"variant-{SHA}-fill-400x300-smart-q80.webp", "thumbnailer"),
            file_id=FILE,
            sha256=SHA,
            spec="fill-400x300-smart-q80.webp",
            bucket="variants",
            key=f"{SHA}/fill-400x300-smart-q80.webp",
            width=400,
            height=300,
            format="webp",
            size=18_344,
        ),
        VariantFailed(
            **_envelope(26, f"variant-{SHA}-fit-800x800-q82-wm.jpeg", "thumbnailer"),
            file_id=FILE,
            sha256=SHA,
            spec="fit-800x800-q82-wm.jpeg",
            code="watermark_does_not_fit",
            detail="the 1x1 variant is smaller than the 32 px a watermark needs",
        ),
        VariantDropped(
            **_envelope(26, f"variant-{SHA}-fill-400x300-smart-q80.webp", "thumbnailer"),
            file_id=FILE,
            sha256=SHA,
            spec="fill-400x300-smart-q80.webp",
            bucket="variants",
            key=f"{SHA}/fill-400x300-smart-q80.webp",
            requested_by="admin-1",
        ),
        DeadLetterRedriven(
            **_envelope(28, "deadletter-DLQ-17", "upload-gateway"),
            dlq_sequence=17,
            consumer="thumbnailer-file-verified",
            original_subject="media.file.verified.v1",
            original_msg_id=str(uuid.UUID("0192f0a3-0000-7000-8000-000000000004")),
            reason="handler failed on delivery 5/5: StorageUnavailable: originals",
            redriven_by=str(ADMIN),
            redrive_msg_id="0192f0a3-0000-7000-8000-000000000004:redrive:17",
            stream_sequence=4182,
        ),
        DeadLetterDiscarded(
            **_envelope(29, "deadletter-DLQ-18", "upload-gateway"),
            dlq_sequence=18,
            consumer="catalog-ingest",
            original_subject="media.file.verified.v1",
            original_msg_id=None,
            reason="poison: invalid JSON",
            discarded_by=str(ADMIN),
            note="a test message published by hand",
        ),
        PlaybackBeacons(
            **_envelope(27, f"view-{VIEW}", "analytics"),
            view_id=VIEW,
            file_id=FILE,
            owner=OWNER,
            viewer="user-7",
            beacons=[
                Beacon(kind="view_start", at=AT, position=0.0, rendition="360p", startup_ms=850),
                Beacon(
                    kind="rendition_change",
                    at=AT + timedelta(seconds=4),
                    position=3.2,
                    rendition="720p",
                ),
                Beacon(
                    kind="heartbeat", at=AT + timedelta(seconds=5), position=4.2, rendition="720p"
                ),
                Beacon(kind="rebuffer_start", at=AT + timedelta(seconds=6), position=5.1),
                Beacon(kind="rebuffer_end", at=AT + timedelta(seconds=7), position=5.1),
                Beacon(kind="view_end", at=AT + timedelta(seconds=10), position=8.0),
            ],
        ),
    ]
