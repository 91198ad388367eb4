"""Domain errors: each has a stable `code`; api/problems.py maps codes to HTTP.

Throttling refusals carry a `Retry-After` and are the HTTP layer's (app/throttling.py).
"""

from __future__ import annotations

from mediaplane.domain import DomainError


class InvalidCredentials(DomainError):
    """The same answer for an unknown email and a wrong password (no enumeration)."""

    code = "invalid_credentials"


class AccountSuspended(DomainError):
    code = "account_suspended"


class RegistrationClosed(DomainError):
    code = "registration_closed"


class InviteInvalid(DomainError):
    code = "invite_invalid"


class WeakPassword(DomainError):
    code = "weak_password"


class InvalidEmail(DomainError):
    code = "invalid_email"


class LinkInvalid(DomainError):
    """A verification or reset link that is unknown, already used or expired."""

    code = "link_invalid"


class UserNotFound(DomainError):
    code = "user_not_found"


class UserExists(DomainError):
    code = "user_exists"


class UserDeleted(DomainError):
    code = "user_deleted"


class NotSignedIn(DomainError):
    code = "not_signed_in"


class UnknownPlan(DomainError):
    code = "unknown_plan"


class InvalidQuota(DomainError):
    code = "invalid_quota"


class EmailNotVerified(DomainError):
    code = "email_not_verified"


class DeviceCodeInvalid(DomainError):
    code = "device_code_invalid"


class InvalidScope(DomainError):
    code = "invalid_scope"


class InvalidExpiry(DomainError):
    code = "invalid_expiry"


class TokenNotFound(DomainError):
    code = "token_not_found"


class FederationNotConfigured(DomainError):
    code = "federation_not_configured"


class FederationStateInvalid(DomainError):
    code = "federation_state_invalid"


class UpstreamRefused(DomainError):
    code = "upstream_refused"


class UpstreamEmailUnverified(DomainError):
    code = "upstream_email_unverified"


class IdentityLinkedElsewhere(DomainError):
    code = "identity_linked_elsewhere"


class SessionNotFound(DomainError):
    """No live session with that id on the caller's account."""

    code = "session_not_found"


class LinkedIdentityNotFound(DomainError):
    code = "linked_identity_not_found"


class MailNotFound(DomainError):
    code = "mail_not_found"


class MailPending(DomainError):
    """Only a mail that failed for good is dismissed: a pending one is still being sent."""

    code = "mail_pending"
