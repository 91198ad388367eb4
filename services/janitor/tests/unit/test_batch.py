"""A batch folded to one change per key, as applying its events one by one would leave it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from mediaplane.contracts import (
    Event,
    EventContext,
    FileDeleted,
    FileRejected,
    FileRestored,
    FileTakenDown,
    FileUploadedV2,
    FileVerified,
    Thumbnail,
    ThumbnailGenerated,
    ThumbnailSource,
    UploadSessionAborted,
    UploadSessionCompleted,
    UploadSessionOpened,
    new_event,
)
from mediaplane.janitor.domain.batch import ObjectChange, Unmanaged, fold

CTX = EventContext(producer="test", correlation_id="c")
FILE = uuid.UUID("0192f0a1-7c3e-7b7a-9d2e-6f5e4d3c2b1a")
SESSION = uuid.UUID("0192f0a1-7c3e-7b7a-9d2e-6f5e4d3c2b1b")
T0 = datetime(2026, 1, 1, tzinfo=UTC)
BUCKETS = frozenset({"originals", "thumbnails"})
E = TypeVar("E", bound=Event)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def event(cls: type[E], seconds: int, **fields: Any) -> E:
    return new_event(cls, occurred_at=at(seconds), stream_id="s", context=CTX, **fields)


def opened(seconds: int, upload_id: str) -> UploadSessionOpened:
    return event(
        UploadSessionOpened,
        seconds,
        session_id=SESSION,
        file_id=FILE,
        owner="alice",
        mode="multipart",
        bucket="originals",
        object_key=f"alice/{FILE}/upload",
        filename="f",
        content_type="video/mp4",
        size=3,
        part_size=1,
        part_count=3,
        expires_at=at(3600),
        upload_id=upload_id,
    )


def ended(cls: type[Event], seconds: int) -> Any:
    if cls is UploadSessionCompleted:
        return event(cls, seconds, session_id=SESSION, file_id=FILE, size=3, etag="e", part_count=3)
    return event(cls, seconds, session_id=SESSION, file_id=FILE, reason="client")


def doomed(cls: type[Event], seconds: int) -> Any:
    if cls is FileDeleted:
        return event(cls, seconds, file_id=FILE, owner="alice", deleted_by="alice")
    return event(cls, seconds, file_id=FILE, owner="alice", code="x", detail="y")


def moderated(cls: type[Event], seconds: int) -> Any:
    return event(cls, seconds, file_id=FILE, owner="alice", moderator="m", reason="r")


def thumbnails(seconds: int, keys: list[str], bucket: str = "thumbnails") -> ThumbnailGenerated:
    return event(
        ThumbnailGenerated,
        seconds,
        file_id=FILE,
        bucket=bucket,
        thumbnails=[
            Thumbnail(name=k, width=1, height=1, format="webp", key=k, size=1) for k in keys
        ],
        source=ThumbnailSource(width=1, height=1, format="image"),
    )


def uploaded(seconds: int, object_key: str) -> FileUploadedV2:
    return event(
        FileUploadedV2,
        seconds,
        file_id=FILE,
        owner="alice",
        bucket="originals",
        object_key=object_key,
        original_key=f"alice/{FILE}",
        filename="f",
        content_type="video/mp4",
        size=1,
    )


def test_a_session_completed_before_it_was_opened_stays_completed_with_the_details() -> None:
    first = opened(5, "u1")
    changes = fold([ended(UploadSessionCompleted, 3), first, opened(6, "u2")], BUCKETS)
    [session] = changes.sessions
    assert (session.status, session.updated_at) == ("completed", at(3))
    assert (session.upload_id, session.expires_at) == ("u2", at(3600))  # the last `opened`'s
    assert session.opened_event_id not in (None, first.event_id)


def test_the_first_terminal_status_of_an_opened_session_wins() -> None:
    events = [opened(1, "u1"), ended(UploadSessionAborted, 4), ended(UploadSessionCompleted, 2)]
    [session] = fold(events, BUCKETS).sessions
    assert (session.status, session.updated_at) == ("aborted", at(4))


def test_a_session_only_opened_is_open_since_its_first_opening() -> None:
    [session] = fold([opened(1, "u1"), opened(2, "u2")], BUCKETS).sessions
    assert (session.status, session.updated_at, session.upload_id) == ("open", at(1), "u2")


def test_the_first_doom_wins_and_later_objects_are_still_recorded() -> None:
    deleted = doomed(FileDeleted, 5)
    changes = fold(
        [thumbnails(1, ["a"]), deleted, doomed(FileRejected, 2), thumbnails(9, ["b"])], BUCKETS
    )
    [file] = changes.files
    assert (file.doomed_by, file.doomed_at) == ("deleted", at(5))
    assert file.doom_event_id == deleted.event_id
    assert file.updated_at == at(5)  # the doom's, not the first event's
    assert [o.key for o in changes.objects] == ["a", "b"]
    assert changes.doomed
    assert changes.with_objects == [FILE, FILE]


def test_the_latest_moderation_decision_wins_in_any_order() -> None:
    restore, takedown = moderated(FileRestored, 9), moderated(FileTakenDown, 5)
    for events in ([takedown, restore], [restore, takedown]):
        [file] = fold(events, BUCKETS).files
        assert (file.taken_down_at, file.moderation_event_id) == (None, restore.event_id)
        assert file.updated_at == events[0].occurred_at
        assert file.updates
    # Same time: the greater event id decides, as the SQL's row comparison does.
    tied = [moderated(FileTakenDown, 5), moderated(FileRestored, 5)]
    [file] = fold(tied, BUCKETS).files
    assert file.moderation_event_id == max(e.event_id for e in tied)


def test_the_first_verification_counts() -> None:
    verified = [
        event(
            FileVerified,
            seconds,
            file_id=FILE,
            owner="alice",
            bucket="originals",
            object_key="k",
            sha256="0" * 64,
            size=1,
            media_type="video/mp4",
            kind="video",
        )
        for seconds in (7, 3)
    ]
    [file] = fold(verified, BUCKETS).files
    assert file.verified_at == at(7)


def test_a_key_announced_twice_is_one_object_of_its_first_kind() -> None:
    # The old layout's original is the new layout's staging key.
    events = [uploaded(1, f"alice/{FILE}"), uploaded(2, f"alice/{FILE}/upload")]
    changes = fold([*events, thumbnails(3, ["a"]), thumbnails(4, ["a"])], BUCKETS)
    assert changes.objects == [
        ObjectChange(
            file_id=FILE, bucket="originals", key=f"alice/{FILE}", is_prefix=False, kind="original"
        ),
        ObjectChange(
            file_id=FILE,
            bucket="originals",
            key=f"alice/{FILE}/upload",
            is_prefix=False,
            kind="staging",
        ),
        ObjectChange(file_id=FILE, bucket="thumbnails", key="a", is_prefix=False, kind="thumbnail"),
    ]
    [file] = changes.files
    assert not file.updates  # objects only: an existing file row stays as it is


def test_objects_in_buckets_the_janitor_does_not_manage_are_left_out_and_reported() -> None:
    changes = fold([thumbnails(1, ["a"], bucket="billing")], BUCKETS)
    assert (changes.files, changes.objects, changes.with_objects) == ([], [], [])
    assert changes.unmanaged == [Unmanaged(file_id=FILE, buckets=["billing"])]
    assert not changes.doomed
