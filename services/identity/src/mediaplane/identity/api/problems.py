"""How the identity API answers each domain error code (RFC 9457 problem+json via servicekit).

The OAuth routes answer RFC 6749 errors through Authlib instead; throttling
refusals (429 with `Retry-After`) are `ProblemError`s of app/throttling.py.
"""

from __future__ import annotations

from mediaplane.servicekit.errors import Problem

PROBLEMS = {
    "invalid_credentials": Problem(401, "Email or password is wrong"),
    "account_suspended": Problem(403, "The account is suspended"),
    "registration_closed": Problem(403, "Registration is closed"),
    "invite_invalid": Problem(403, "The invitation is unknown, used or expired"),
    "weak_password": Problem(422, "The password does not meet the policy"),
    "invalid_email": Problem(422, "Not an email address"),
    "link_invalid": Problem(410, "The link is invalid, used or expired"),
    "user_not_found": Problem(404, "No such user"),
    "user_exists": Problem(409, "The user exists"),
    "user_deleted": Problem(410, "The user was deleted"),
    "not_signed_in": Problem(401, "Sign in first"),
    "unknown_plan": Problem(422, "No such plan"),
    "invalid_quota": Problem(422, "A quota is a whole number of files or bytes, 0 or more"),
    "email_not_verified": Problem(403, "Verify the email address first"),
    "device_code_invalid": Problem(404, "No pending device code like this"),
    "invalid_scope": Problem(422, "Unknown or missing scopes"),
    "invalid_expiry": Problem(422, "The expiry is out of range"),
    "token_not_found": Problem(404, "No such access token"),
    "federation_not_configured": Problem(404, "No upstream identity provider is configured"),
    "federation_state_invalid": Problem(
        400, "The sign-in with the upstream provider is unknown, used or expired"
    ),
    "upstream_refused": Problem(502, "The upstream identity provider refused or answered wrongly"),
    "upstream_email_unverified": Problem(
        403, "The upstream account has no verified email; sign in and link it explicitly"
    ),
    "session_not_found": Problem(404, "No such session"),
    "linked_identity_not_found": Problem(404, "No such linked identity"),
    "identity_linked_elsewhere": Problem(409, "That upstream account is linked to another user"),
    "invalid_cursor": Problem(400, "Invalid cursor"),
    "mail_not_found": Problem(404, "No such mail"),
    "mail_pending": Problem(409, "The mail is still being sent"),
}
