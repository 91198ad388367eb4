"""Synthetic event histories for the catalog's tests and benchmarks (like `mediaplane.bus.testing`).

`FileStory` builds the events of one file's life the way the producers
emit them (gateway, transcoder, thumbnailer, janitor); `synthetic_events`
makes many such lives, deterministically from a seed.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from mediaplane.catalog.domain.entries import LedgerEntry, ledger_entry
from mediaplane.contracts import (
    AudioMetadata,
    Event,
    EventContext,
    FileDeleted,
    FileKind,
    FileRejected,
    FileReportDismissed,
    FileReported,
    FileRestored,
    FileTagsChanged,
    FileTakenDown,
    FileUploaded,
    FileUploadedV2,
    FileVerified,
    ImageMetadata,
    JanitorFilePurged,
    JanitorSessionExpired,
    MetadataExtracted,
    MetadataFailed,
    Mp4Rendition,
    PdfMetadata,
    ReadyPlaylist,
    Registry,
    Rendition,
    TagCreated,
    TagCreatedV2,
    Thumbnail,
    ThumbnailFailed,
    ThumbnailGenerated,
    ThumbnailSource,
    TranscodeCompleted,
    TranscodeFailed,
    TranscodeProgress,
    TranscodeSegmentsReady,
    TranscodeStarted,
    UploadSessionAborted,
    UploadSessionCompleted,
    UploadSessionOpened,
    UserDeleted,
    UserPlanChanged,
    UserQuotaSet,
    UserRegistered,
    UserReinstated,
    UserSuspended,
    VideoMetadata,
    VideoSource,
    Waveform,
    new_event,
)

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
_MEDIA_TYPES: dict[FileKind, str] = {
    "image": "image/png",
    "video": "video/mp4",
    "audio": "audio/mpeg",
    "pdf": "application/pdf",
    "other": "application/octet-stream",
}


@dataclass
class FileStory:
    """The events of one file, with envelope times advancing one second per event."""

    owner: str
    filename: str = "holiday.mp4"
    kind: FileKind = "video"
    size: int = 1_000_000
    tags: list[str] = field(default_factory=list)
    start: datetime = EPOCH
    rng: random.Random = field(default_factory=random.Random)
    file_id: uuid.UUID = field(default_factory=uuid.uuid4)
    session_id: uuid.UUID = field(default_factory=uuid.uuid4)
    events: list[Event] = field(default_factory=list)
    # The layout before immutable originals: one client-written key, `file.uploaded.v1`.
    legacy: bool = False

    def _envelope(self, stream: str, producer: str) -> dict[str, object]:
        at = self.start + timedelta(seconds=len(self.events))
        return {
            "event_id": uuid.UUID(int=self.rng.getrandbits(128), version=4),
            "occurred_at": at,
            "stream_id": stream,
            "producer": producer,
            "correlation_id": f"req-{self.file_id}",
        }

    @property
    def key(self) -> str:
        """The original's key: what file.verified names and downloads serve."""
        folder = f"{self.owner}/{self.file_id}"
        return folder if self.legacy else f"{folder}/original"

    @property
    def staging_key(self) -> str:
        """The key the client writes (the session's and file.uploaded's object_key)."""
        folder = f"{self.owner}/{self.file_id}"
        return folder if self.legacy else f"{folder}/upload"

    def add(self, event: Event) -> FileStory:
        self.events.append(event)
        return self

    def opened(self) -> FileStory:
        return self.add(
            UploadSessionOpened(
                **self._envelope(f"upload-{self.session_id}", "upload-gateway"),  # type: ignore[arg-type]
                session_id=self.session_id,
                file_id=self.file_id,
                owner=self.owner,
                mode="single",
                bucket="originals",
                object_key=self.staging_key,
                filename=self.filename,
                content_type=_MEDIA_TYPES[self.kind],
                size=self.size,
                part_size=self.size,
                part_count=1,
                expires_at=self.start + timedelta(days=1),
                tags=self.tags,
            )
        )

    def aborted(self) -> FileStory:
        return self.add(
            UploadSessionAborted(
                **self._envelope(f"upload-{self.session_id}", "upload-gateway"),  # type: ignore[arg-type]
                session_id=self.session_id,
                file_id=self.file_id,
                reason="client",
            )
        )

    def expired(self) -> FileStory:
        return self.add(
            JanitorSessionExpired(
                **self._envelope(f"janitor-{self.session_id}", "janitor"),  # type: ignore[arg-type]
                session_id=self.session_id,
                file_id=self.file_id,
                multipart_aborted=False,
                object_deleted=True,
                bytes_freed=0,
            )
        )

    def uploaded(self) -> FileStory:
        """The gateway's two events when the client's upload is complete."""
        return self.session_completed().file_uploaded()

    def session_completed(self) -> FileStory:
        return self.add(
            UploadSessionCompleted(
                **self._envelope(f"upload-{self.session_id}", "upload-gateway"),  # type: ignore[arg-type]
                session_id=self.session_id,
                file_id=self.file_id,
                size=self.size,
                etag='"etag"',
                part_count=1,
            )
        )

    def file_uploaded(self, *, legacy: bool | None = None) -> FileStory:
        """`file.uploaded` (v1 for a legacy story, or when `legacy` says so; else v2)."""
        common = {
            **self._envelope(f"file-{self.file_id}", "upload-gateway"),
            "file_id": self.file_id,
            "session_id": self.session_id,
            "owner": self.owner,
            "bucket": "originals",
            "object_key": self.staging_key,
            "filename": self.filename,
            "content_type": _MEDIA_TYPES[self.kind],
            "size": self.size,
            "tags": self.tags,
        }
        if self.legacy if legacy is None else legacy:
            return self.add(FileUploaded(**common))  # type: ignore[arg-type]
        return self.add(FileUploadedV2(**common, original_key=self.key))  # type: ignore[arg-type]

    def verified(self) -> FileStory:
        return self.add(
            FileVerified(
                **self._envelope(f"file-{self.file_id}", "upload-gateway"),  # type: ignore[arg-type]
                file_id=self.file_id,
                owner=self.owner,
                bucket="originals",
                object_key=self.key,
                sha256="0" * 64,
                size=self.size,
                media_type=_MEDIA_TYPES[self.kind],
                kind=self.kind,
            )
        )

    def rejected(self, code: str = "checksum_mismatch") -> FileStory:
        return self.add(
            FileRejected(
                **self._envelope(f"file-{self.file_id}", "upload-gateway"),  # type: ignore[arg-type]
                file_id=self.file_id,
                owner=self.owner,
                code=code,
                detail="declared and stored hashes differ",
            )
        )

    def retagged(self, added: list[str], removed: list[str]) -> FileStory:
        return self.add(
            FileTagsChanged(
                **self._envelope(f"file-{self.file_id}", "upload-gateway"),  # type: ignore[arg-type]
                file_id=self.file_id,
                owner=self.owner,
                added=added,
                removed=removed,
            )
        )

    def deleted(self) -> FileStory:
        return self.add(
            FileDeleted(
                **self._envelope(f"file-{self.file_id}", "upload-gateway"),  # type: ignore[arg-type]
                file_id=self.file_id,
                owner=self.owner,
                deleted_by=self.owner,
            )
        )

    def reported(self, reporter: str, report_id: uuid.UUID, reason: str = "spam") -> FileStory:
        return self.add(
            FileReported(
                **self._envelope(f"file-{self.file_id}", "upload-gateway"),  # type: ignore[arg-type]
                file_id=self.file_id,
                owner=self.owner,
                report_id=report_id,
                reporter=reporter,
                reason=reason,
            )
        )

    def report_dismissed(self, report_id: uuid.UUID, moderator: str = "mod") -> FileStory:
        return self.add(
            FileReportDismissed(
                **self._envelope(f"file-{self.file_id}", "upload-gateway"),  # type: ignore[arg-type]
                file_id=self.file_id,
                owner=self.owner,
                report_id=report_id,
                moderator=moderator,
            )
        )

    def taken_down(self, reason: str, report_ids: list[uuid.UUID]) -> FileStory:
        return self.add(
            FileTakenDown(
                **self._envelope(f"file-{self.file_id}", "upload-gateway"),  # type: ignore[arg-type]
                file_id=self.file_id,
                owner=self.owner,
                moderator="mod",
                reason=reason,
                report_ids=report_ids,
            )
        )

    def restored(self, reason: str = "appeal upheld") -> FileStory:
        return self.add(
            FileRestored(
                **self._envelope(f"file-{self.file_id}", "upload-gateway"),  # type: ignore[arg-type]
                file_id=self.file_id,
                owner=self.owner,
                moderator="mod",
                reason=reason,
            )
        )

    def purged(self) -> FileStory:
        return self.add(
            JanitorFilePurged(
                **self._envelope(f"janitor-{self.file_id}", "janitor"),  # type: ignore[arg-type]
                file_id=self.file_id,
                objects_deleted=3,
                bytes_freed=self.size,
            )
        )

    def transcode_started(self, job_id: uuid.UUID) -> FileStory:
        return self.add(
            TranscodeStarted(
                **self._envelope(f"transcode-{self.file_id}", "transcoder"),  # type: ignore[arg-type]
                file_id=self.file_id,
                job_id=job_id,
                source=VideoSource(
                    width=1280, height=720, duration=20.0, fps=30.0, video_codec="h264"
                ),
                ladder=["720p", "360p"],
            )
        )

    def transcoded(self, bucket: str = "renditions") -> FileStory:
        job_id = self._job_id()
        return self.transcode_started(job_id).transcode_completed(job_id, bucket)

    def transcode_failed(self) -> FileStory:
        job_id = self._job_id()
        return self.transcode_started(job_id).transcode_failure(job_id)

    def _job_id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def transcode_progress(self, job_id: uuid.UUID, percent: float) -> FileStory:
        return self.add(
            TranscodeProgress(
                **self._envelope(f"transcode-{self.file_id}", "transcoder"),  # type: ignore[arg-type]
                file_id=self.file_id,
                job_id=job_id,
                percent=percent,
                processed=round(percent / 100 * 20.0, 3),
            )
        )

    def transcoded_in_chunks(
        self, *, steps: int = 2, completed: bool = True, bucket: str = "renditions"
    ) -> FileStory:
        """A chunked ladder: `steps` growing `transcode.segments_ready` (the last `ended` if
        `completed`), then `transcode.completed`; without `completed`, still encoding."""
        job_id = self._job_id()
        self.transcode_started(job_id)
        for step in range(1, steps + 1):
            self.segments_ready(job_id, step, steps + (0 if completed else 1), bucket=bucket)
        return self.transcode_completed(job_id, bucket) if completed else self

    def segments_ready(
        self, job_id: uuid.UUID, done: int, planned: int, *, bucket: str = "renditions"
    ) -> FileStory:
        """Chunks `done` of `planned` landed (`ended` when all did), at the completed keys."""
        return self.add(
            TranscodeSegmentsReady(
                **self._envelope(f"transcode-{self.file_id}", "transcoder"),  # type: ignore[arg-type]
                file_id=self.file_id,
                job_id=job_id,
                bucket=bucket,
                master_playlist_key=f"{self.file_id}/hls/master.m3u8",
                playlists=[
                    ReadyPlaylist(name=name, playlist_key=f"{self.file_id}/hls/{name}/index.m3u8")
                    for name in ("720p", "360p", "audio_128k")
                ],
                ready=round(20.0 * done / planned, 3),
                chunks_done=done,
                chunks_planned=planned,
                ended=done == planned,
            )
        )

    def mp4_key(self, job_id: uuid.UUID) -> str:
        return f"{self.file_id}/{job_id}/fallback.mp4"

    def waveform_key(self, job_id: uuid.UUID) -> str:
        return f"{self.file_id}/{job_id}/waveform.json"

    def transcode_completed(self, job_id: uuid.UUID, bucket: str = "renditions") -> FileStory:
        """A video's ladder with its MP4 fallback; an audio file's ladder and waveform."""
        if self.kind == "audio":
            return self.add(
                TranscodeCompleted(
                    **self._envelope(f"transcode-{self.file_id}", "transcoder"),  # type: ignore[arg-type]
                    file_id=self.file_id,
                    job_id=job_id,
                    bucket=bucket,
                    master_playlist_key=f"{self.file_id}/hls/master.m3u8",
                    renditions=[
                        Rendition(
                            name=f"{kbps}k",
                            width=0,
                            height=0,
                            bandwidth=kbps * 1100,
                            average_bandwidth=kbps * 1000,
                            codecs="mp4a.40.2",
                            frame_rate=0.0,
                            playlist_key=f"{self.file_id}/hls/{kbps}k/index.m3u8",
                            segment_count=5,
                        )
                        for kbps in (128, 64)
                    ],
                    duration=20.0,
                    elapsed=1.5,
                    kind="audio",
                    waveform=Waveform(key=self.waveform_key(job_id), peaks=4),
                )
            )
        renditions = [
            Rendition(
                name=f"{h}p",
                width=w,
                height=h,
                bandwidth=bw,
                average_bandwidth=bw * 9 // 10,
                codecs="avc1.640028,mp4a.40.2",
                frame_rate=30.0,
                playlist_key=f"{self.file_id}/hls/{h}p/index.m3u8",
                segment_count=5,
            )
            for w, h, bw in ((1280, 720, 3_300_000), (640, 360, 950_000))
        ]
        return self.add(
            TranscodeCompleted(
                **self._envelope(f"transcode-{self.file_id}", "transcoder"),  # type: ignore[arg-type]
                file_id=self.file_id,
                job_id=job_id,
                bucket=bucket,
                master_playlist_key=f"{self.file_id}/hls/master.m3u8",
                renditions=renditions,
                duration=20.0,
                elapsed=3.5,
                mp4=Mp4Rendition(
                    key=self.mp4_key(job_id),
                    width=1280,
                    height=720,
                    size=4096,
                    bandwidth=1638,
                ),
            )
        )

    def transcode_failure(self, job_id: uuid.UUID, code: str = "corrupt_input") -> FileStory:
        return self.add(
            TranscodeFailed(
                **self._envelope(f"transcode-{self.file_id}", "transcoder"),  # type: ignore[arg-type]
                file_id=self.file_id,
                job_id=job_id,
                code=code,
                detail="moov atom not found",
                attempts=1,
            )
        )

    def thumbnailed(self, bucket: str = "thumbnails") -> FileStory:
        return self.add(
            ThumbnailGenerated(
                **self._envelope(f"thumbnail-{self.file_id}", "thumbnailer"),  # type: ignore[arg-type]
                file_id=self.file_id,
                bucket=bucket,
                thumbnails=[
                    Thumbnail(
                        name=name,
                        width=w,
                        height=w * 9 // 16,
                        format="webp",
                        key=f"{self.file_id}/{name}.webp",
                        size=w * 20,
                    )
                    for name, w in (("small", 160), ("large", 640))
                ],
                source=ThumbnailSource(width=1280, height=720, format="png"),
            )
        )

    def thumbnail_failed(self, code: str = "too_large") -> FileStory:
        return self.add(
            ThumbnailFailed(
                **self._envelope(f"thumbnail-{self.file_id}", "thumbnailer"),  # type: ignore[arg-type]
                file_id=self.file_id,
                code=code,
                detail="too many pixels",
            )
        )

    def metadata(self, *, taken_at: datetime | None = None, duration: float = 20.0) -> FileStory:
        """metadata.extracted.v1 of the story's kind (a picture taken at `taken_at`)."""
        sections: dict[str, object] = {
            "image": ImageMetadata(width=1280, height=720, format="png", taken_at=taken_at),
            "video": VideoMetadata(
                container="mov,mp4,m4a,3gp,3g2,mj2",
                duration=duration,
                width=1280,
                height=720,
                video_codec="h264",
            ),
            "audio": AudioMetadata(
                container="mp3", codec="mp3", channels=2, sample_rate=44_100, duration=duration
            ),
            "pdf": PdfMetadata(page_count=3, title="Report"),
        }
        return self.add(
            MetadataExtracted(
                **self._envelope(f"metadata-{self.file_id}", "thumbnailer"),  # type: ignore[arg-type]
                file_id=self.file_id,
                kind=self.kind,
                **{self.kind: sections[self.kind]},  # type: ignore[arg-type]
            )
        )

    def metadata_failed(self, code: str = "corrupt_input") -> FileStory:
        return self.add(
            MetadataFailed(
                **self._envelope(f"metadata-{self.file_id}", "thumbnailer"),  # type: ignore[arg-type]
                file_id=self.file_id,
                code=code,
                detail="ffprobe cannot read the file",
            )
        )


def tag_created(name: str, owner: str, at: datetime = EPOCH) -> TagCreatedV2:
    return TagCreatedV2(
        event_id=uuid.uuid4(),
        occurred_at=at,
        stream_id=f"tag-{owner}/{name}",
        producer="upload-gateway",
        correlation_id="req-tag",
        owner=owner,
        name=name,
    )


def global_tag_created(name: str, owner: str, at: datetime = EPOCH) -> TagCreated:
    """A tag as v1 recorded it: global, on `tag-<name>`, `created_by` its first owner."""
    return TagCreated(
        event_id=uuid.uuid4(),
        occurred_at=at,
        stream_id=f"tag-{name}",
        producer="upload-gateway",
        correlation_id="req-tag",
        name=name,
        created_by=owner,
    )


_KINDS: tuple[FileKind, ...] = ("image", "video", "pdf", "audio", "image", "video")
_TAGS = ("holiday", "work", "family", "beach", "cats", "music", "receipts", "drafts")


def account_story(user_id: uuid.UUID, rng: random.Random) -> list[Event]:
    """An account's `user.*` events as the identity service emits them: registered, and by
    chance re-planned, suspended (and maybe reinstated), deleted or given a quota."""
    context = EventContext(producer="identity", correlation_id="req-account")
    at = iter(EPOCH + timedelta(minutes=m) for m in range(10))

    def event(cls: type[Event], **fields: Any) -> Event:
        return new_event(
            cls, stream_id=f"user-{user_id}", context=context, occurred_at=next(at),
            user_id=user_id, **fields,
        )  # fmt: skip

    events = [event(UserRegistered, role="user", plan="free", via="open")]
    if rng.random() < 0.3:
        events.append(event(UserPlanChanged, plan="pro", previous="free", changed_by="admin"))
    fate = rng.random()
    if fate < 0.2:
        events.append(event(UserSuspended, reason="spam", suspended_by="admin"))
        if fate < 0.1:
            events.append(event(UserReinstated, reinstated_by="admin"))
    elif fate < 0.3:
        events.append(event(UserDeleted, deleted_by="admin"))
    elif fate < 0.4:  # an admin's quota, then back to the plan's for some (no extra draw)
        events.append(event(UserQuotaSet, files=5, bytes=10**6, changed_by="admin"))
        if fate < 0.35:
            events.append(event(UserQuotaSet, changed_by="admin"))
    return events


def synthetic_events(n_events: int, *, owners: int = 50, seed: int = 7) -> list[Event]:
    """About `n_events` events: each owner's account, then whole file lives (every lifecycle
    path), file by file."""
    rng = random.Random(seed)
    events: list[Event] = [
        e
        for _ in range(owners)
        for e in account_story(uuid.UUID(int=rng.getrandbits(128), version=4), rng)
    ]
    # Tags as v1 (global) and v2 (per owner) recorded them: a replay reads both.
    events += [
        (global_tag_created if i % 2 else tag_created)(name, f"user-{i % owners}")
        for i, name in enumerate(_TAGS)
    ]
    index = 0
    while len(events) < n_events:
        kind = _KINDS[index % len(_KINDS)]
        story = FileStory(
            owner=f"user-{rng.randrange(owners)}",
            filename=f"file-{index}.{kind}",
            kind=kind,
            size=rng.randrange(1, 10**9),
            tags=rng.sample(_TAGS, rng.randrange(0, 3)),
            start=EPOCH + timedelta(seconds=index * 20),
            rng=rng,
            legacy=index % 3 == 0,  # logs hold both versions of file.uploaded
            file_id=uuid.UUID(int=rng.getrandbits(128), version=4),
            session_id=uuid.UUID(int=rng.getrandbits(128), version=4),
        )
        fate = rng.random()
        story.opened()
        if fate < 0.05:
            story.aborted()
        elif fate < 0.08:
            story.expired()
        elif fate < 0.12:
            story.uploaded().rejected()
        else:
            story.uploaded().verified()
            if kind == "video":
                if rng.random() >= 0.9:
                    story.transcode_failed()
                elif index % 5 == 0:  # long videos: chunked, some still encoding
                    story.transcoded_in_chunks(completed=index % 3 != 0)
                else:
                    story.transcoded()
            if kind in ("image", "video", "pdf"):
                story.thumbnailed() if rng.random() < 0.95 else story.thumbnail_failed()
            if kind != "other":
                story.metadata() if rng.random() < 0.95 else story.metadata_failed()
            if rng.random() < 0.2:
                story.retagged([rng.choice(_TAGS)], story.tags[:1])
            if rng.random() < 0.05:  # moderation: reports, dismissals, takedowns, restores
                report = uuid.UUID(int=rng.getrandbits(128), version=4)
                story.reported(f"user-{rng.randrange(owners)}", report)
                if rng.random() < 0.4:
                    story.report_dismissed(report)
                else:
                    story.taken_down("abuse", [report])
                    if rng.random() < 0.3:
                        story.restored()
            if rng.random() < 0.05:
                story.deleted().purged()
        events.extend(story.events)
        index += 1
    return events


def entries(registry: Registry, events: list[Event]) -> list[LedgerEntry]:
    """The ledger entries of `events`, as the ingest consumer would read them off JetStream."""
    return [ledger_entry(registry, registry.subject_of(e), registry.encode(e)) for e in events]
