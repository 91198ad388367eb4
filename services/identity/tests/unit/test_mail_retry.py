"""The mail outbox's retry schedule (pure): doubling waits with a cap, then giving up after
the attempts or the age bound."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mediaplane.identity.config import IdentitySettings
from mediaplane.identity.domain.policy import MailRetry

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_waits_double_from_the_base_up_to_the_cap() -> None:
    retry = MailRetry(base_seconds=1, max_seconds=300)
    assert [retry.delay_seconds(n) for n in range(1, 12)] == [
        1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300,
    ]  # fmt: skip
    assert retry.delay_seconds(10_000) == 300  # no overflow far out


def test_the_defaults_give_up_after_about_an_hour_the_life_of_a_link() -> None:
    retry, now, attempts = MailRetry(), T0, 0
    while (at := retry.next_attempt(attempts=attempts + 1, created_at=T0, now=now)) is not None:
        attempts, now = attempts + 1, at
    assert attempts + 1 == retry.max_attempts == 20
    assert timedelta(minutes=55) < now - T0 < timedelta(minutes=70)


def test_the_next_attempt_comes_after_the_wait() -> None:
    retry = MailRetry(max_attempts=5)
    now = T0 + timedelta(seconds=10)
    assert retry.next_attempt(attempts=3, created_at=T0, now=now) == now + timedelta(seconds=4)


def test_after_the_last_attempt_it_has_failed() -> None:
    retry = MailRetry(max_attempts=3)
    assert retry.next_attempt(attempts=2, created_at=T0, now=T0) is not None
    assert retry.next_attempt(attempts=3, created_at=T0, now=T0) is None


def test_a_mail_too_old_for_another_attempt_has_failed() -> None:
    retry = MailRetry(max_age_seconds=60)
    assert retry.next_attempt(attempts=1, created_at=T0, now=T0 + timedelta(seconds=58)) is not None
    assert retry.next_attempt(attempts=1, created_at=T0, now=T0 + timedelta(seconds=59.5)) is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"max_attempts": 0}, "MAIL_MAX_ATTEMPTS"),
        ({"max_seconds": 0.5}, "MAIL_RETRY_MAX_SECONDS"),
        ({"max_age_seconds": 0}, "MAIL_MAX_AGE_SECONDS"),
    ],
)
def test_bounds_that_would_never_send_or_never_stop_are_refused(
    fields: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        MailRetry(**fields)  # type: ignore[arg-type]


def test_the_bounds_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDIAPLANE_IDENTITY_DATABASE_URL", "postgresql://127.0.0.1/identity")
    monkeypatch.setenv("MEDIAPLANE_IDENTITY_ISSUER", "http://127.0.0.1:8083")
    monkeypatch.setenv("MEDIAPLANE_IDENTITY_MAILDIR", "/tmp/identity-mail")
    assert IdentitySettings.from_env().mail_retry == MailRetry()
    monkeypatch.setenv("MEDIAPLANE_IDENTITY_MAIL_MAX_ATTEMPTS", "5")
    monkeypatch.setenv("MEDIAPLANE_IDENTITY_MAIL_RETRY_MAX_SECONDS", "60")
    monkeypatch.setenv("MEDIAPLANE_IDENTITY_MAIL_MAX_AGE_SECONDS", "600")
    assert IdentitySettings.from_env().mail_retry == MailRetry(
        max_attempts=5, max_seconds=60, max_age_seconds=600
    )
    monkeypatch.setenv("MEDIAPLANE_IDENTITY_MAIL_MAX_ATTEMPTS", "0")
    with pytest.raises(ValueError, match="MAIL_MAX_ATTEMPTS"):
        IdentitySettings.from_env()
