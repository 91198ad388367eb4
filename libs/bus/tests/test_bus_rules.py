"""Pure rules of the bus: retry schedule, settings, dead-letter headers, registration checks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mediaplane.bus import Bus, BusSettings, Delivery, RetryPolicy
from mediaplane.bus.dead_letter import dead_letter_headers, dead_letter_subject
from mediaplane.bus.testing import RecordingHandler
from mediaplane.contracts import REGISTRY, FileVerified
from mediaplane.contracts import headers as h


def test_backoff_steps_are_used_in_order_and_the_last_one_repeats() -> None:
    policy = RetryPolicy(max_deliver=6, backoff=(1.0, 5.0, 30.0))
    assert [policy.delay(n) for n in range(1, 6)] == [1.0, 5.0, 30.0, 30.0, 30.0]


def test_no_backoff_means_immediate_redelivery() -> None:
    assert RetryPolicy(max_deliver=3, backoff=()).delay(1) == 0.0


def test_the_last_allowed_attempt_exhausts_the_policy() -> None:
    policy = RetryPolicy(max_deliver=3)
    assert [policy.exhausted(n) for n in (1, 2, 3)] == [False, False, True]
    assert policy.server_max_deliver == 4  # one spare delivery to dead-letter silent attempts


def test_deferrals_add_deliveries_to_the_budget() -> None:
    policy = RetryPolicy(max_deliver=3, max_deferrals=10)
    assert (policy.deliveries, policy.server_max_deliver) == (13, 14)
    assert [policy.exhausted(n) for n in (3, 12, 13)] == [False, False, True]
    with pytest.raises(ValueError, match="max_deferrals must be >= 0"):
        RetryPolicy(max_deferrals=-1)


@pytest.mark.parametrize(
    ("max_deliver", "backoff"), [(0, (1.0,)), (3, (-1.0,))], ids=["no attempts", "negative"]
)
def test_a_nonsensical_policy_is_refused(max_deliver: int, backoff: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="must be >= "):
        RetryPolicy(max_deliver=max_deliver, backoff=backoff)


def test_settings_default_to_the_design_topology() -> None:
    settings = BusSettings()
    assert (settings.stream, settings.subjects) == ("MEDIA", "media.>")
    assert (settings.dlq_stream, settings.dlq_subjects) == ("DLQ", "dlq.>")
    assert settings.duplicate_window == 120.0
    assert settings.max_age == 0.0


def test_settings_refuse_a_duplicate_window_under_two_minutes() -> None:
    with pytest.raises(ValueError, match="duplicate_window"):
        BusSettings(duplicate_window=60.0)


def test_settings_refuse_dead_letters_on_the_event_subjects() -> None:
    with pytest.raises(ValueError, match="different subject roots"):
        BusSettings(dlq_subject_root="media")


def test_settings_take_a_clusters_nodes_and_its_stream_replicas(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEDIAPLANE_NATS_URL", "nats://a:4222, nats://b:4222,nats://c:4222")
    monkeypatch.setenv("MEDIAPLANE_STREAM_REPLICAS", "3")
    settings = BusSettings.from_env("gateway")
    assert settings.servers == ["nats://a:4222", "nats://b:4222", "nats://c:4222"]
    assert settings.replicas == 3
    assert BusSettings().replicas == 1
    assert BusSettings(url="nats://one:4222").servers == ["nats://one:4222"]


@pytest.mark.parametrize("replicas", [0, 6, -1])
def test_settings_refuse_replicas_jetstream_cannot_keep(replicas: int) -> None:
    with pytest.raises(ValueError, match="replicas must be 1 to 5"):
        BusSettings(replicas=replicas)


def delivery(**headers: str) -> Delivery:
    return Delivery(
        consumer="thumbs",
        stream="MEDIA",
        subject="media.file.verified.v1",
        stream_sequence=42,
        delivery_count=5,
        max_deliver=5,
        published_at=datetime(2026, 1, 1, tzinfo=UTC),
        headers=headers,
    )


def test_dead_letter_headers_keep_the_envelope_and_say_why() -> None:
    original = delivery(
        **{h.MSG_ID: "evt-1", h.CORRELATION_ID: "corr", "Nats-Expected-Stream": "MEDIA"}
    )
    headers = dead_letter_headers(original, "handler failed:\nline two\r\nline three")

    assert headers == {
        h.MSG_ID: "thumbs:MEDIA:42",
        "Mp-Dlq-Original-Msg-Id": "evt-1",
        h.CORRELATION_ID: "corr",
        h.DLQ_REASON: "handler failed: | line two | line three",
        h.DLQ_CONSUMER: "thumbs",
        h.DLQ_DELIVERIES: "5",
        h.DLQ_ORIGINAL_SUBJECT: "media.file.verified.v1",
        h.DLQ_ORIGINAL_SEQUENCE: "42",
    }


def test_dead_letter_reasons_are_capped() -> None:
    headers = dead_letter_headers(delivery(), "x" * 5000)
    assert len(headers[h.DLQ_REASON]) == 1000


def test_dead_letters_are_filed_under_the_consumer() -> None:
    subject = dead_letter_subject(BusSettings(), "thumbs", "media.file.verified.v1")
    assert subject == "dlq.thumbs.media.file.verified.v1"


def test_a_bus_needs_the_registry_of_its_subject_root() -> None:
    with pytest.raises(ValueError, match="subject root"):
        Bus(BusSettings(subject_root="staging.media"), REGISTRY, producer="x")


def test_a_durable_name_is_registered_once() -> None:
    bus = Bus(BusSettings(), REGISTRY, producer="thumbnailer")
    bus.consumer("thumbs", events=[FileVerified])(RecordingHandler())
    with pytest.raises(ValueError, match="already registered"):
        bus.consumer("thumbs")(RecordingHandler())


def test_a_durable_name_must_be_a_plain_token() -> None:
    bus = Bus(BusSettings(), REGISTRY, producer="thumbnailer")
    with pytest.raises(ValueError, match="invalid durable name"):
        bus.consumer("thumbs.v1")(RecordingHandler())


def test_a_service_reads_its_own_identity_and_never_shows_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEDIAPLANE_GATEWAY_NATS_PASSWORD", "pgateway-secret")
    monkeypatch.setenv("MEDIAPLANE_CATALOG_NATS_PASSWORD", "pcatalog-secret")
    settings = BusSettings.from_env(service="gateway")
    assert (settings.user, settings.password) == ("gateway", "pgateway-secret")
    assert settings.connect_options() == {
        "user": "gateway",
        "password": "pgateway-secret",
        "inbox_prefix": "_INBOX_gateway",
    }
    assert "secret" not in repr(settings)
    assert "secret" not in str(settings)


def test_no_password_means_no_identity_and_half_an_identity_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MEDIAPLANE_NATS_PASSWORD", raising=False)
    monkeypatch.setenv("MEDIAPLANE_NATS_USER", "admin")
    assert BusSettings.from_env().connect_options() == {}
    with pytest.raises(ValueError, match="needs a password"):
        BusSettings(user="admin")
