"""Pure tests (no servers): row mapping, message building, waves, migration sources."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mediaplane.contracts import REGISTRY, EventContext, TagCreatedV2, new_event, utc_now
from mediaplane.eventlog import MigrationError, MigrationSource
from mediaplane.eventlog.codec import decode_event, split_event
from mediaplane.eventlog.migrator import EVENTLOG_MIGRATIONS
from mediaplane.eventlog.outbox import OutboxMessage, to_message, waves

CONTEXT = EventContext(producer="unit", correlation_id="corr", causation_id="cause")


def tag(stream_id: str = "tag-me/a", name: str = "a") -> TagCreatedV2:
    return new_event(
        TagCreatedV2,
        occurred_at=utc_now(),
        stream_id=stream_id,
        context=CONTEXT,
        owner="me",
        name=name,
    )


def test_an_event_splits_into_data_and_metadata_and_back() -> None:
    event = tag()
    data, metadata = split_event(REGISTRY, event, {"traceparent": "00-abc-def-01"})
    assert data == {"owner": "me", "name": "a"}
    assert metadata["producer"] == "unit"
    assert metadata["causation_id"] == "cause"
    assert metadata["traceparent"] == "00-abc-def-01"
    decoded = decode_event(
        REGISTRY,
        type_="tag.created.v2",
        event_id=event.event_id,
        stream_id=event.stream_id,
        data=data,
        metadata=metadata,
    )
    assert decoded == event


def test_a_message_carries_the_body_and_the_envelope_headers() -> None:
    # The body itself is built by the claim query; the relay tests decode it from JetStream.
    event_id = str(uuid.uuid4())
    message = to_message(
        7,
        "tag-a",
        "media.tag.created.v1",
        event_id,
        "tag.created.v1",
        '{"type": "x"}',
        "unit",
        "corr",
        "cause",
        "00-abc-def-01",
        None,
        datetime.now(UTC),
    )
    assert message.body == b'{"type": "x"}'
    assert message.headers == {
        "Nats-Msg-Id": event_id,
        "Mp-Event-Type": "tag.created.v1",
        "Mp-Stream-Id": "tag-a",
        "Mp-Producer": "unit",
        "Mp-Correlation-Id": "corr",
        "Mp-Causation-Id": "cause",
        "traceparent": "00-abc-def-01",
    }


def _message(position: int, stream_id: str) -> OutboxMessage:
    return OutboxMessage(position, stream_id, "s", b"{}", {}, datetime.now(UTC))


def test_waves_hold_one_message_per_stream_in_stream_order() -> None:
    claimed = [_message(1, "a"), _message(2, "b"), _message(3, "a"), _message(4, "a")]
    assert [[m.position for m in wave] for wave in waves(claimed)] == [[1, 2], [3], [4]]


def test_waves_of_distinct_streams_are_one_wave() -> None:
    claimed = [_message(n, f"s{n}") for n in range(5)]
    assert len(waves(claimed)) == 1


def test_the_eventlog_migrations_are_numbered_and_ordered() -> None:
    names = [migration.name for migration in EVENTLOG_MIGRATIONS.migrations()]
    assert names == [
        "0001_event_log.sql",
        "0002_outbox.sql",
        "0003_projection_checkpoints.sql",
        "0004_drop_projection_checkpoints.sql",
    ]


def test_a_badly_named_migration_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "1_oops.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="NNNN_name"):
        MigrationSource.from_directory("svc", tmp_path).migrations()


def test_two_migration_files_with_one_number_are_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "0001_b.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="share number"):
        MigrationSource.from_directory("svc", tmp_path).migrations()


def test_absent_causation_and_trace_context_add_no_headers() -> None:
    message = to_message(
        1,
        "s",
        "media.tag.created.v1",
        "e-1",
        "tag.created.v1",
        "{}",
        None,
        None,
        None,
        None,
        None,
        datetime.now(UTC),
    )
    assert message.headers["Nats-Msg-Id"] == "e-1"
    assert message.headers["Mp-Producer"] == ""
    assert "Mp-Causation-Id" not in message.headers
    assert "traceparent" not in message.headers
