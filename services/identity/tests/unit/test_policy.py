"""The pure rules: registration modes, passwords, emails, backoff."""

from __future__ import annotations

import pytest

from mediaplane.identity.domain import errors
from mediaplane.identity.domain.policy import (
    Backoff,
    PasswordPolicy,
    check_registration,
    normalize_email,
)


def test_registration_modes() -> None:
    assert check_registration("open", has_invite=False) == "open"
    assert check_registration("open", has_invite=True) == "invite"
    assert check_registration("invite", has_invite=True) == "invite"
    with pytest.raises(errors.RegistrationClosed):
        check_registration("invite", has_invite=False)
    with pytest.raises(errors.RegistrationClosed):
        check_registration("closed", has_invite=True)


def test_emails_are_normalized_or_refused() -> None:
    assert normalize_email("  Alice@Example.ORG ") == "alice@example.org"
    for bad in (
        "alice",
        "alice@",
        "@example.org",
        "a b@example.org",
        "a@b@example.org",
        "a@example",
    ):
        with pytest.raises(errors.InvalidEmail):
            normalize_email(bad)


def test_password_policy_wants_length_not_composition() -> None:
    policy = PasswordPolicy()
    policy.check("correct horse battery staple", email="a@example.org")
    for bad in ("short", "a" * 20, "x" * 300, "alice@example.org"):
        with pytest.raises(errors.WeakPassword):
            policy.check(bad, email="alice@example.org")


def test_backoff_is_free_then_doubles_up_to_a_ceiling() -> None:
    backoff = Backoff(free_failures=3, base_seconds=1, max_seconds=10)
    assert [backoff.lock_seconds(n) for n in range(1, 9)] == [0, 0, 1, 2, 4, 8, 10, 10]
    assert backoff.lock_seconds(10_000) == 10
