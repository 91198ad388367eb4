"""Pure rules: registration modes, the password policy, email shape, sign-in backoff, mail
retries."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from mediaplane.identity.domain import errors

RegistrationMode = Literal["open", "invite", "closed"]

# Deliberately loose (RFC 5322 is not worth parsing here): the verification mail proves it.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s.]{2,63}$")


def normalize_email(email: str) -> str:
    """Lower-cased and stripped; refuses what cannot be an address."""
    email = email.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise errors.InvalidEmail("give a valid email address")
    return email


@dataclass(frozen=True, kw_only=True)
class PasswordPolicy:
    """NIST SP 800-63B: length over composition rules; long passphrases allowed."""

    min_length: int = 12
    max_length: int = 256

    def check(self, password: str, *, email: str) -> None:
        if len(password) < self.min_length:
            raise errors.WeakPassword(f"use at least {self.min_length} characters")
        if len(password) > self.max_length:
            raise errors.WeakPassword(f"use at most {self.max_length} characters")
        if password.strip().lower() == email or len(set(password)) < 4:
            raise errors.WeakPassword("the password is too easy to guess")


def check_registration(mode: RegistrationMode, *, has_invite: bool) -> Literal["open", "invite"]:
    """How a self-service registration is admitted, or why not."""
    if mode == "closed":
        raise errors.RegistrationClosed("this instance does not take new accounts")
    if mode == "invite":
        if not has_invite:
            raise errors.RegistrationClosed("registration needs an invitation")
        return "invite"
    return "invite" if has_invite else "open"


@dataclass(frozen=True, kw_only=True)
class Backoff:
    """Failed sign-ins of one key (an account or an IP): free attempts, then doubling waits."""

    free_failures: int = 5
    base_seconds: float = 1.0
    max_seconds: float = 900.0

    def lock_seconds(self, failures: int) -> float:
        """How long the key is locked after its `failures`-th consecutive failure."""
        if failures < self.free_failures:
            return 0.0
        exponent = failures - self.free_failures
        return min(self.max_seconds, self.base_seconds * 2.0 ** min(exponent, 30))


@dataclass(frozen=True, kw_only=True)
class MailRetry:
    """When a mail the server did not take is tried again: waits doubling from
    `base_seconds` up to `max_seconds`. It has failed for good after `max_attempts`
    attempts, or when the next one would come more than `max_age_seconds` after the mail
    was written (the defaults give up after about an hour, a mailed link's lifetime)."""

    base_seconds: float = 1.0
    max_seconds: float = 300.0
    max_attempts: int = 20
    max_age_seconds: float = 86400.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("MEDIAPLANE_IDENTITY_MAIL_MAX_ATTEMPTS must be at least 1")
        if not 0 < self.base_seconds <= self.max_seconds:
            raise ValueError("MEDIAPLANE_IDENTITY_MAIL_RETRY_MAX_SECONDS must be at least 1")
        if self.max_age_seconds <= 0:
            raise ValueError("MEDIAPLANE_IDENTITY_MAIL_MAX_AGE_SECONDS must be positive")

    def delay_seconds(self, attempts: int) -> float:
        """The wait after the `attempts`-th failed attempt (1, 2, ...)."""
        return min(self.max_seconds, self.base_seconds * 2.0 ** min(attempts - 1, 30))

    def next_attempt(
        self, *, attempts: int, created_at: datetime, now: datetime
    ) -> datetime | None:
        """After the `attempts`-th failure, at `now`: when to try again, or None (give up)."""
        if attempts >= self.max_attempts:
            return None
        at = now + timedelta(seconds=self.delay_seconds(attempts))
        if at - created_at > timedelta(seconds=self.max_age_seconds):
            return None
        return at


# What a personal access token may carry (the API scopes the services check).
PAT_SCOPES = frozenset({"files:read", "files:write", "uploads:write"})
PAT_MAX_DAYS = 365


def check_pat(scopes: list[str], days: int) -> tuple[str, ...]:
    """The token's scopes, sorted and deduplicated; refuses unknown scopes and lifetimes
    outside 1..365 days (no token lives forever)."""
    unknown = sorted(set(scopes) - PAT_SCOPES)
    if not scopes or unknown:
        raise errors.InvalidScope(
            f"scopes must be some of {', '.join(sorted(PAT_SCOPES))}"
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
        )
    if not 1 <= days <= PAT_MAX_DAYS:
        raise errors.InvalidExpiry(f"a token expires in 1 to {PAT_MAX_DAYS} days")
    return tuple(sorted(set(scopes)))
