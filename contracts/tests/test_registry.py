"""Encoding, decoding and upcasting through the registry."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from mediaplane.contracts import (
    REGISTRY,
    Event,
    EventContext,
    FileDeleted,
    FileUploaded,
    FileUploadedV2,
    Registry,
    TagCreated,
    TagCreatedV2,
    UnknownEventType,
    new_event,
    utc_now,
)


def _deleted() -> FileDeleted:
    ctx = EventContext(producer="upload-gateway", correlation_id="req-1")
    return new_event(
        FileDeleted,
        occurred_at=utc_now(),
        stream_id="file-1",
        context=ctx,
        file_id=uuid.uuid4(),
        owner="alice",
        deleted_by="alice",
    )


def test_new_event_stamps_a_time_ordered_id_and_the_context() -> None:
    first, second = _deleted(), _deleted()
    assert first.event_id.version == 7
    assert first.event_id < second.event_id or first.occurred_at == second.occurred_at
    assert first.producer == "upload-gateway"
    assert first.correlation_id == "req-1"
    assert first.causation_id is None


def test_caused_by_keeps_the_correlation_and_points_at_the_cause() -> None:
    cause = _deleted()
    ctx = EventContext(producer="janitor", correlation_id="other").caused_by(cause)
    assert ctx == EventContext(
        producer="janitor", correlation_id="req-1", causation_id=str(cause.event_id)
    )


def test_round_trip_through_json_and_builtins() -> None:
    event = _deleted()
    assert REGISTRY.decode(REGISTRY.encode(event)) == event
    assert REGISTRY.from_builtins(REGISTRY.to_builtins(event)) == event


def test_unknown_type_is_a_typed_error_not_a_crash() -> None:
    with pytest.raises(UnknownEventType) as info:
        REGISTRY.decode(b'{"type": "file.renamed.v9", "file_id": "x"}')
    assert info.value.tag == "file.renamed.v9"
    with pytest.raises(UnknownEventType):
        REGISTRY.from_builtins({"no": "type"})


def test_invalid_fields_of_a_known_type_are_validation_errors() -> None:
    payload = REGISTRY.to_builtins(_deleted())
    payload["file_id"] = "not-a-uuid"
    with pytest.raises(msgspec.ValidationError, match="file_id"):
        REGISTRY.decode(msgspec.json.encode(payload))


def test_unknown_fields_are_ignored_so_producers_can_add_optional_fields() -> None:
    payload = {**REGISTRY.to_builtins(_deleted()), "added_later": 1}
    assert isinstance(REGISTRY.decode(msgspec.json.encode(payload)), FileDeleted)


# -- upcasting: an old payload read as the new version -----------------------------------

REGISTRY_TIME = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


class RenamedV1(Event, tag="file.renamed.v1", frozen=True, kw_only=True):
    file_id: uuid.UUID
    name: str


class RenamedV2(Event, tag="file.renamed.v2", frozen=True, kw_only=True):
    file_id: uuid.UUID
    old_filename: str | None
    new_filename: str


class RenamedV3(Event, tag="file.renamed.v3", frozen=True, kw_only=True):
    file_id: uuid.UUID
    old_filename: str | None
    new_filename: str
    renamed_by: str


def _registry() -> Registry:
    registry = Registry([RenamedV1, RenamedV2, RenamedV3])

    @registry.upcaster("file.renamed.v1", "file.renamed.v2")
    def v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
        name = payload.pop("name")
        return {**payload, "old_filename": None, "new_filename": name}

    @registry.upcaster("file.renamed.v2", "file.renamed.v3")
    def v2_to_v3(payload: dict[str, Any]) -> dict[str, Any]:
        return {**payload, "renamed_by": "unknown"}

    return registry


def test_an_old_payload_is_read_as_the_newest_version() -> None:
    registry = _registry()
    file_id = uuid.uuid4()
    old = RenamedV1(
        event_id=uuid.uuid4(),
        occurred_at=REGISTRY_TIME,
        stream_id=f"file-{file_id}",
        producer="p",
        correlation_id="c",
        file_id=file_id,
        name="a.mp4",
    )

    decoded = registry.decode(registry.encode(old))

    assert isinstance(decoded, RenamedV3)
    assert decoded.new_filename == "a.mp4"
    assert decoded.old_filename is None
    assert decoded.renamed_by == "unknown"
    assert decoded.event_id == old.event_id  # the envelope survives upcasting
    assert registry.latest_tag("file.renamed.v1") == "file.renamed.v3"
    assert registry.from_builtins(registry.to_builtins(old)) == decoded


def test_a_global_v1_tag_reads_as_its_creators_own_tag() -> None:
    ctx = EventContext(producer="upload-gateway", correlation_id="req-1")
    old = new_event(
        TagCreated,
        occurred_at=utc_now(),
        stream_id="tag-holiday",
        context=ctx,
        name="holiday",
        created_by="al",
    )

    decoded = REGISTRY.decode(REGISTRY.encode(old))

    assert isinstance(decoded, TagCreatedV2)
    assert (decoded.owner, decoded.name) == ("al", "holiday")
    assert (decoded.event_id, decoded.stream_id) == (old.event_id, "tag-holiday")


def test_current_versions_decode_without_upcasting() -> None:
    registry = _registry()
    file_id = uuid.uuid4()
    current = RenamedV3(
        event_id=uuid.uuid4(),
        occurred_at=REGISTRY_TIME,
        stream_id="s",
        producer="p",
        correlation_id="c",
        file_id=file_id,
        old_filename="a",
        new_filename="b",
        renamed_by="alice",
    )
    assert registry.decode(registry.encode(current)) == current


def test_an_upcaster_needs_both_versions_registered_and_only_one_per_version() -> None:
    registry = _registry()
    with pytest.raises(UnknownEventType):
        registry.register_upcaster("file.renamed.v3", "file.renamed.v4", lambda p: p)
    with pytest.raises(ValueError, match="already has an upcaster"):
        registry.register_upcaster("file.renamed.v1", "file.renamed.v3", lambda p: p)


def test_a_v1_file_uploaded_is_read_as_v2_with_the_same_key_for_both_roles() -> None:
    file_id = uuid.uuid4()
    old = FileUploaded(
        event_id=uuid.uuid4(),
        occurred_at=REGISTRY_TIME,
        stream_id=f"file-{file_id}",
        producer="upload-gateway",
        correlation_id="c",
        file_id=file_id,
        owner="alice",
        bucket="originals",
        object_key=f"alice/{file_id}",
        filename="a.png",
        content_type="image/png",
        size=10,
    )
    decoded = REGISTRY.decode(REGISTRY.encode(old))
    assert isinstance(decoded, FileUploadedV2)
    assert decoded.object_key == decoded.original_key == f"alice/{file_id}"
    assert decoded.event_id == old.event_id
    assert REGISTRY.from_builtins(REGISTRY.to_builtins(old)) == decoded


def test_an_invalid_v1_file_uploaded_fails_validation_not_the_upcaster() -> None:
    body = b'{"type": "file.uploaded.v1", "event_id": "0192f0a1-7c3e-7b7a-9d2e-1a2b3c4d5e6f"}'
    with pytest.raises(msgspec.ValidationError):
        REGISTRY.decode(body)
