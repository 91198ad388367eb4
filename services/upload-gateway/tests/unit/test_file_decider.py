"""Given events, when a command, then events: files and tags."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec
import pytest

import mediaplane.upload_gateway.domain.file as file_decider
import mediaplane.upload_gateway.domain.tag as tag_decider
from mediaplane.contracts import (
    REGISTRY,
    Event,
    EventContext,
    FileDeleted,
    FileRejected,
    FileTagsChanged,
    FileUploadedV2,
    FileVerified,
    TagCreated,
    TagCreatedV2,
    new_event,
    utc_now,
)
from mediaplane.domain import CommandContext
from mediaplane.upload_gateway.domain.errors import FileGone, FileNotFound
from mediaplane.upload_gateway.domain.file import (
    DeleteFile,
    File,
    RecordVerdict,
    SetTags,
    Verdict,
)
from mediaplane.upload_gateway.domain.policy import UploadLimits

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
CTX = CommandContext(now=NOW, cause=EventContext(producer="upload-gateway", correlation_id="req-1"))
FILE = uuid.uuid4()
SHA = "a" * 64


def _uploaded() -> FileUploadedV2:
    return new_event(
        FileUploadedV2,
        occurred_at=utc_now(),
        stream_id=f"file-{FILE}",
        context=CTX.cause,
        file_id=FILE,
        owner="alice",
        bucket="originals",
        object_key=f"alice/{FILE}/upload",
        original_key=f"alice/{FILE}/original",
        filename="a.jpg",
        content_type="image/jpeg",
        size=10,
        tags=["beach"],
    )


def _given(*events: Event) -> File:
    state = File()
    for event in events:
        state = file_decider.evolve(state, event)
    return state


def test_an_accepted_verdict_records_the_computed_facts_once() -> None:
    verdict = Verdict(sha256=SHA, size=10, media_type="image/jpeg", kind="image")
    (verified,) = file_decider.record_verdict(
        _given(_uploaded()), RecordVerdict(verdict=verdict, context=CTX)
    )
    assert isinstance(verified, FileVerified)
    # It names the immutable copy the verifier judged, never the staging object.
    assert (verified.sha256, verified.kind, verified.object_key) == (
        SHA,
        "image",
        f"alice/{FILE}/original",
    )
    assert (
        file_decider.record_verdict(
            _given(_uploaded(), verified), RecordVerdict(verdict=verdict, context=CTX)
        )
        == []
    )


def test_a_rejection_records_its_code_and_detail() -> None:
    verdict = Verdict(
        sha256=SHA,
        size=10,
        media_type="text/html",
        kind="other",
        rejection=("type_not_allowed", "text/html is not accepted"),
    )
    (rejected,) = file_decider.record_verdict(
        _given(_uploaded()), RecordVerdict(verdict=verdict, context=CTX)
    )
    assert isinstance(rejected, FileRejected)
    assert (rejected.code, rejected.owner) == ("type_not_allowed", "alice")


def test_set_tags_records_only_the_difference() -> None:
    limits = UploadLimits()
    state = _given(_uploaded())
    (changed,) = file_decider.set_tags(
        state, SetTags(owner="alice", tags=["Sea", "beach"], context=CTX), limits
    )
    assert isinstance(changed, FileTagsChanged)
    assert (changed.added, changed.removed) == (["sea"], [])
    state = file_decider.evolve(state, changed)
    assert state.tags == {"beach", "sea"}
    assert (
        file_decider.set_tags(
            state, SetTags(owner="alice", tags=["sea", "beach"], context=CTX), limits
        )
        == []
    )
    (cleared,) = file_decider.set_tags(state, SetTags(owner="alice", tags=[], context=CTX), limits)
    assert cleared.removed == ["beach", "sea"]  # type: ignore[attr-defined]


def test_strangers_get_not_found_and_deleted_files_refuse_changes() -> None:
    state = _given(_uploaded())
    with pytest.raises(FileNotFound):
        file_decider.set_tags(
            state, SetTags(owner="mallory", tags=["x"], context=CTX), UploadLimits()
        )
    with pytest.raises(FileNotFound):
        file_decider.delete_file(state, DeleteFile(owner="mallory", context=CTX))
    (deleted,) = file_decider.delete_file(state, DeleteFile(owner="alice", context=CTX))
    assert isinstance(deleted, FileDeleted)
    state = file_decider.evolve(state, deleted)
    assert file_decider.delete_file(state, DeleteFile(owner="alice", context=CTX)) == []
    with pytest.raises(FileGone):
        file_decider.set_tags(
            state, SetTags(owner="alice", tags=["x"], context=CTX), UploadLimits()
        )


def test_an_admin_may_delete_someone_elses_file() -> None:
    (deleted,) = file_decider.delete_file(
        _given(_uploaded()), DeleteFile(owner="ops", admin=True, context=CTX)
    )
    assert isinstance(deleted, FileDeleted)
    assert (deleted.owner, deleted.deleted_by) == ("alice", "ops")


def _tag_history(owner: str, *events: Event) -> tag_decider.Tag:
    state = tag_decider.Tag(owner=owner)
    for event in events:
        state = tag_decider.evolve(state, event)
    return state


def test_a_tag_is_created_once_per_owner() -> None:
    (created,) = tag_decider.create_tag(
        _tag_history("alice"), tag_decider.CreateTag(name=" Holiday ", context=CTX)
    )
    assert isinstance(created, TagCreatedV2)
    assert (created.stream_id, created.owner, created.name) == (
        "tag-alice/holiday",
        "alice",
        "holiday",
    )
    assert (
        tag_decider.create_tag(
            _tag_history("alice", created), tag_decider.CreateTag(name="holiday", context=CTX)
        )
        == []
    )
    # Another owner's tag of the name is no tag of bob's: his is created, on his stream.
    (bobs,) = tag_decider.create_tag(
        _tag_history("bob", created), tag_decider.CreateTag(name="holiday", context=CTX)
    )
    assert isinstance(bobs, TagCreatedV2)
    assert (bobs.stream_id, bobs.owner) == ("tag-bob/holiday", "bob")


def test_a_global_v1_tag_counts_for_its_creator_only() -> None:
    legacy = REGISTRY.decode(
        REGISTRY.encode(
            new_event(
                TagCreated,
                occurred_at=utc_now(),
                stream_id="tag-holiday",
                context=CTX.cause,
                name="holiday",
                created_by="alice",
            )
        )
    )
    assert (
        tag_decider.create_tag(
            _tag_history("alice", legacy), tag_decider.CreateTag(name="holiday", context=CTX)
        )
        == []
    )
    assert (
        len(
            tag_decider.create_tag(
                _tag_history("bob", legacy), tag_decider.CreateTag(name="holiday", context=CTX)
            )
        )
        == 1
    )


def test_the_verdict_carries_the_location_opt_in_and_old_uploads_default_to_stripped() -> None:
    verdict = Verdict(sha256=SHA, size=10, media_type="image/jpeg", kind="image")
    opted_in = msgspec.structs.replace(_uploaded(), keep_location=True)
    (verified,) = file_decider.record_verdict(
        _given(opted_in), RecordVerdict(verdict=verdict, context=CTX)
    )
    assert isinstance(verified, FileVerified)
    assert verified.keep_location is True
    # An event written before the field existed reads as "no location".
    payload = msgspec.json.decode(msgspec.json.encode(_uploaded()))
    del payload["keep_location"]
    old = REGISTRY.decode(msgspec.json.encode(payload))
    assert isinstance(old, FileUploadedV2)
    assert old.keep_location is False
