"""Development sign-in: short-lived HS256 tokens signed with the shared dev secret.

Production verifies tokens from an identity provider (JWKS) and never issues
any; these exist so a developer can sign in to a local platform. Whoever
reaches a dev-mode API can sign in as anyone, admin included, so dev mode is
for an API bound to loopback only (`require_loopback`). They carry
what `TokenVerifier` reads (`sub`, `exp`, `roles`, and `iss`/`aud` when the
services are configured to require them), so a dev token is accepted exactly
like a real one.
"""

from __future__ import annotations

import ipaddress
import re
import time
from dataclasses import dataclass

import jwt

from mediaplane.servicekit.auth import AuthSettings

DEV_TOKEN_TTL = 3600
MAX_DEV_TOKEN_TTL = 86400

# The subject becomes the owner id, which the services use in object keys:
# keep it to characters that are safe there (the verifier refuses "/").
SUBJECT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$"
_SUBJECT = re.compile(SUBJECT_PATTERN)


def is_loopback(host: str) -> bool:
    """`localhost` or a loopback address (127.0.0.0/8, ::1); `0.0.0.0` and names are not."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def require_loopback(host: str, variable: str) -> None:
    """Refuse dev mode on an API bound to `host` unless only this machine reaches it."""
    if not is_loopback(host):
        raise ValueError(
            f"refusing dev mode on {variable}={host}: its token route lets anyone who reaches "
            "the API sign in as any user, admin included, so dev mode needs a loopback bind "
            f"({variable}=127.0.0.1). Anywhere else, unset MEDIAPLANE_DEV_MODE and verify "
            "tokens from an identity provider (MEDIAPLANE_JWKS_URL)."
        )


@dataclass(frozen=True, kw_only=True)
class DevToken:
    token: str
    subject: str
    admin: bool
    expires_at: int


def issue_dev_token(
    settings: AuthSettings, subject: str, *, admin: bool = False, ttl_seconds: int = DEV_TOKEN_TTL
) -> DevToken:
    """Sign a token for `subject` with the HS256 secret; `admin` adds the admin role."""
    if not settings.hs256_secret:
        raise ValueError("dev tokens need the HS256 secret (MEDIAPLANE_JWT_SECRET)")
    if not _SUBJECT.match(subject):
        raise ValueError(f"subject must match {SUBJECT_PATTERN}")
    if not 1 <= ttl_seconds <= MAX_DEV_TOKEN_TTL:
        raise ValueError(f"ttl must be between 1 and {MAX_DEV_TOKEN_TTL} seconds")
    now = int(time.time())
    claims: dict[str, object] = {"sub": subject, "iat": now, "exp": now + ttl_seconds}
    if admin:
        claims["roles"] = [settings.admin_role]
    if settings.issuer:
        claims["iss"] = settings.issuer
    if settings.audience:
        claims["aud"] = settings.audience
    token = jwt.encode(claims, settings.hs256_secret, algorithm="HS256")
    return DevToken(token=token, subject=subject, admin=admin, expires_at=now + ttl_seconds)
