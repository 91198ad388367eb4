"""Domain errors: each has a stable `code` that the API turns into problem+json."""

from __future__ import annotations

from mediaplane.servicekit.errors import ProblemError


class DomainError(ProblemError):
    code = "domain_error"


class InvalidCredentials(DomainError):
    """The same answer for an unknown email and a wrong password (no enumeration)."""

    code = "invalid_credentials"
    status = 401
    title = "Email or password is wrong"


class SignInThrottled(DomainError):
    code = "sign_in_throttled"
    status = 429
    title = "Too many failed sign-ins; wait before trying again"


class AccountSuspended(DomainError):
    code = "account_suspended"
    status = 403
    title = "The account is suspended"


class RegistrationClosed(DomainError):
    code = "registration_closed"
    status = 403
    title = "Registration is closed"


class InviteInvalid(DomainError):
    code = "invite_invalid"
    status = 403
    title = "The invitation is unknown, used or expired"


class WeakPassword(DomainError):
    code = "weak_password"
    status = 422
    title = "The password does not meet the policy"


class InvalidEmail(DomainError):
    code = "invalid_email"
    status = 422
    title = "Not an email address"


class LinkInvalid(DomainError):
    """A verification or reset link that is unknown, already used or expired."""

    code = "link_invalid"
    status = 410
    title = "The link is invalid, used or expired"


class UserNotFound(DomainError):
    code = "user_not_found"
    status = 404
    title = "No such user"


class UserExists(DomainError):
    code = "user_exists"
    status = 409
    title = "The user exists"


class UserDeleted(DomainError):
    code = "user_deleted"
    status = 410
    title = "The user was deleted"


class NotSignedIn(DomainError):
    code = "not_signed_in"
    status = 401
    title = "Sign in first"


class UnknownPlan(DomainError):
    code = "unknown_plan"
    status = 422
    title = "No such plan"


class EmailNotVerified(DomainError):
    code = "email_not_verified"
    status = 403
    title = "Verify the email address first"


class AdminOnly(DomainError):
    code = "admin_only"
    status = 403
    title = "Only an admin may do this"


class DeviceCodeInvalid(DomainError):
    code = "device_code_invalid"
    status = 404
    title = "No pending device code like this"


class InvalidScope(DomainError):
    code = "invalid_scope"
    status = 422
    title = "Unknown or missing scopes"


class InvalidExpiry(DomainError):
    code = "invalid_expiry"
    status = 422
    title = "The expiry is out of range"


class TokenNotFound(DomainError):
    code = "token_not_found"
    status = 404
    title = "No such access token"


class TooManyRequests(DomainError):
    code = "too_many_requests"
    status = 429
    title = "Too many requests from here; wait before trying again"


class FederationNotConfigured(DomainError):
    code = "federation_not_configured"
    status = 404
    title = "No upstream identity provider is configured"


class FederationStateInvalid(DomainError):
    code = "federation_state_invalid"
    status = 400
    title = "The sign-in with the upstream provider is unknown, used or expired"


class UpstreamRefused(DomainError):
    code = "upstream_refused"
    status = 502
    title = "The upstream identity provider refused or answered wrongly"


class UpstreamEmailUnverified(DomainError):
    code = "upstream_email_unverified"
    status = 403
    title = "The upstream account has no verified email; sign in and link it explicitly"


class IdentityLinkedElsewhere(DomainError):
    code = "identity_linked_elsewhere"
    status = 409
    title = "That upstream account is linked to another user"
