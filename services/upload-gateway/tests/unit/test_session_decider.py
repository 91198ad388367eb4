"""Given events, when a command, then events (or an error): the upload session."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from mediaplane.contracts import (
    Event,
    EventContext,
    FileUploadedV2,
    UploadSessionAborted,
    UploadSessionCompleted,
    UploadSessionOpened,
)
from mediaplane.domain import CommandContext
from mediaplane.upload_gateway.domain.errors import (
    ContentTypeNotAllowed,
    InvalidParts,
    PartsMissing,
    SessionExpired,
    SessionNotFound,
    SessionNotOpen,
    SizeMismatch,
)
from mediaplane.upload_gateway.domain.policy import MiB, UploadLimits
from mediaplane.upload_gateway.domain.session import (
    AbortUpload,
    CompleteUpload,
    OpenUpload,
    StoredPart,
    UploadSession,
    abort_upload,
    check_completion_parts,
    check_part_numbers,
    complete_upload,
    evolve,
    open_upload,
    original_key,
    require_open,
    status_at,
)

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
CTX = CommandContext(now=NOW, cause=EventContext(producer="upload-gateway", correlation_id="req-1"))
LIMITS = UploadLimits()
SESSION, FILE = uuid.uuid4(), uuid.uuid4()


def _open(size: int = 40 * MiB, **overrides: object) -> OpenUpload:
    fields: dict[str, object] = {
        "session_id": SESSION,
        "file_id": FILE,
        "owner": "alice",
        "filename": "clip.mp4",
        "size": size,
        "content_type": "video/mp4",
        "sha256": None,
        "tags": ["Beach"],
        "bucket": "originals",
        "context": CTX,
    }
    fields.update(overrides)
    return OpenUpload(**fields)  # type: ignore[arg-type]


def _given(*events: Event) -> UploadSession:
    state = UploadSession()
    for event in events:
        state = evolve(state, event)
    return state


def _opened(size: int = 40 * MiB) -> list[Event]:
    return open_upload(
        UploadSession(), _open(size, upload_id="up-1" if size > 16 * MiB else None), LIMITS
    )


def test_open_multipart_records_plan_expiry_and_normalized_inputs() -> None:
    (event,) = open_upload(
        UploadSession(), _open(filename="../x/clip.mp4", upload_id="up-1"), LIMITS
    )
    assert event.tag() == "upload.session.opened.v1"
    assert event.stream_id == f"upload-{SESSION}"
    assert (event.mode, event.part_size, event.part_count) == ("multipart", 16 * MiB, 3)  # type: ignore[attr-defined]
    assert event.filename == "clip.mp4"  # type: ignore[attr-defined]
    assert event.tags == ["beach"]  # type: ignore[attr-defined]
    assert event.object_key == f"alice/{FILE}/upload"  # type: ignore[attr-defined]
    assert event.expires_at == NOW + timedelta(hours=24)  # type: ignore[attr-defined]
    # One command, one time: the event occurred at the `now` its expiry counts from.
    assert event.occurred_at == NOW
    assert event.upload_id == "up-1"  # type: ignore[attr-defined]
    assert event.occurred_at.tzinfo is not None


def test_open_refuses_bad_types_and_reused_ids() -> None:
    # The quota is admitted by the store under the owner's lock (test_uploads.py).
    with pytest.raises(ContentTypeNotAllowed):
        open_upload(UploadSession(), _open(content_type="text/html"), LIMITS)
    with pytest.raises(SessionNotOpen):
        open_upload(_given(*_opened()), _open(), LIMITS)


def test_only_the_owner_may_act_and_only_while_open_and_unexpired() -> None:
    state = _given(*_opened())
    assert require_open(state, "alice", NOW).session_id == SESSION
    with pytest.raises(SessionNotFound):
        require_open(state, "mallory", NOW)
    with pytest.raises(SessionExpired):
        require_open(state, "alice", NOW + timedelta(hours=24))


def test_an_open_session_reads_as_expired_from_its_expiry_on() -> None:
    state = _given(*_opened())
    expiry = NOW + timedelta(hours=24)
    assert status_at(state, expiry - timedelta(seconds=1)) == "open"
    # The same instant require_open starts refusing at (signing a part answers 410).
    assert status_at(state, expiry) == "expired"
    with pytest.raises(SessionExpired):
        require_open(state, "alice", expiry)
    # Ended sessions keep what they ended as.
    aborted = abort_upload(state, AbortUpload(owner="alice", reason="client", context=CTX))
    assert status_at(evolve(state, *aborted), expiry) == "aborted"


def test_part_numbers_must_be_in_range_and_unique() -> None:
    opened = require_open(_given(*_opened()), "alice", NOW)
    check_part_numbers(opened, [1, 2, 3])
    for bad in ([0], [4], [1, 1], []):
        with pytest.raises(InvalidParts):
            check_part_numbers(opened, bad)
    single = require_open(_given(*_opened(size=1000)), "alice", NOW)
    with pytest.raises(InvalidParts, match="single-PUT"):
        check_part_numbers(single, [1])


def test_completion_needs_every_part_with_its_stored_etag() -> None:
    opened = require_open(_given(*_opened()), "alice", NOW)
    stored = [StoredPart(number=n, etag=f'"e{n}"', size=1) for n in (1, 2, 3)]
    check_completion_parts(opened, [(1, "e1"), (2, '"e2"'), (3, "e3")], stored)
    with pytest.raises(PartsMissing, match=r"missing \[3\]"):
        check_completion_parts(opened, [(1, "e1"), (2, "e2")], stored)
    with pytest.raises(PartsMissing, match="not uploaded"):
        check_completion_parts(opened, [(1, "e1"), (2, "e2"), (3, "e3")], stored[:2])
    with pytest.raises(InvalidParts, match=r"ETags of parts \[2\]"):
        check_completion_parts(opened, [(1, "e1"), (2, "wrong"), (3, "e3")], stored)
    with pytest.raises(InvalidParts, match="repeated"):
        check_completion_parts(opened, [(1, "e1"), (1, "e1"), (3, "e3")], stored)


def _complete(size: int = 40 * MiB, now: datetime = NOW, owner: str = "alice") -> CompleteUpload:
    return CompleteUpload(owner=owner, stored_size=size, etag='"abc-3"', context=CTX.at(now))


def test_complete_appends_to_the_session_and_the_file_streams() -> None:
    completed, uploaded = complete_upload(_given(*_opened()), _complete())
    assert isinstance(completed, UploadSessionCompleted)
    assert isinstance(uploaded, FileUploadedV2)
    assert (uploaded.object_key, uploaded.original_key) == (
        f"alice/{FILE}/upload",
        f"alice/{FILE}/original",
    )
    assert completed.stream_id == f"upload-{SESSION}"
    assert completed.occurred_at == uploaded.occurred_at == NOW
    assert uploaded.stream_id == f"file-{FILE}"
    assert (uploaded.owner, uploaded.size, uploaded.tags) == ("alice", 40 * MiB, ["beach"])


def test_completing_twice_records_nothing_new() -> None:
    state = _given(*_opened())
    state = _given(*_opened(), *complete_upload(state, _complete()))
    assert complete_upload(state, _complete()) == []


def test_complete_refuses_a_size_mismatch_an_expired_session_or_a_stranger() -> None:
    state = _given(*_opened())
    with pytest.raises(SizeMismatch):
        complete_upload(state, _complete(size=40 * MiB - 1))
    with pytest.raises(SessionExpired):
        complete_upload(state, _complete(now=NOW + timedelta(days=2)))
    with pytest.raises(SessionNotFound):
        complete_upload(state, _complete(owner="mallory"))


def test_abort_once_then_nothing_and_never_after_completion() -> None:
    state = _given(*_opened())
    (aborted,) = abort_upload(state, AbortUpload(owner="alice", reason="client", context=CTX))
    assert isinstance(aborted, UploadSessionAborted)
    state = evolve(state, aborted)
    assert abort_upload(state, AbortUpload(owner="alice", reason="client", context=CTX)) == []
    with pytest.raises(SessionNotOpen):
        complete_upload(state, _complete())
    done = _given(*_opened())
    done = _given(*_opened(), *complete_upload(done, _complete()))
    with pytest.raises(SessionNotOpen):
        abort_upload(done, AbortUpload(owner="alice", reason="client", context=CTX))


def test_the_original_sits_next_to_the_staging_object_and_old_keys_keep_their_one_key() -> None:
    assert original_key(f"alice/{FILE}/upload") == f"alice/{FILE}/original"
    # A session opened before staging keys existed: judged in place.
    assert original_key(f"alice/{FILE}") == f"alice/{FILE}"


@pytest.mark.parametrize("keep", [False, True])
def test_the_location_opt_in_travels_from_the_session_to_the_uploaded_file(keep: bool) -> None:
    (opened,) = open_upload(UploadSession(), _open(8 * MiB, keep_location=keep), LIMITS)
    assert isinstance(opened, UploadSessionOpened)
    assert opened.keep_location is keep
    _, uploaded = complete_upload(_given(opened), _complete(8 * MiB))
    assert isinstance(uploaded, FileUploadedV2)
    assert uploaded.keep_location is keep
