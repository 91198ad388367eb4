"""Bearer JWT authentication: the `sub` claim is the owner, a role claim grants admin."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import jwt
from litestar import Request

from mediaplane.servicekit.errors import ProblemError


@dataclass(frozen=True, kw_only=True)
class AuthSettings:
    """HS256 with a shared secret (development) or RS256/ES256 keys from a JWKS URL (production)."""

    hs256_secret: str | None = None
    jwks_url: str | None = None
    issuer: str | None = None
    audience: str | None = None
    admin_role: str = "admin"

    def __post_init__(self) -> None:
        if not self.hs256_secret and not self.jwks_url:
            raise ValueError("set MEDIAPLANE_JWT_SECRET (dev) or MEDIAPLANE_JWKS_URL (production)")

    @classmethod
    def from_env(cls) -> AuthSettings:
        env = os.environ
        return cls(
            hs256_secret=env.get("MEDIAPLANE_JWT_SECRET") or None,
            jwks_url=env.get("MEDIAPLANE_JWKS_URL") or None,
            issuer=env.get("MEDIAPLANE_JWT_ISSUER") or None,
            audience=env.get("MEDIAPLANE_JWT_AUDIENCE") or None,
        )


class Unauthorized(ProblemError):
    code = "unauthorized"
    status = 401
    title = "Authentication required"


@dataclass(frozen=True, kw_only=True)
class Principal:
    owner: str
    admin: bool


class TokenVerifier:
    """Verifies signature, expiry (required), and issuer/audience when configured."""

    def __init__(self, settings: AuthSettings) -> None:
        self._settings = settings
        self._jwks = (
            jwt.PyJWKClient(settings.jwks_url, cache_keys=True) if settings.jwks_url else None
        )

    def verify(self, token: str) -> Principal:
        settings = self._settings
        try:
            if self._jwks is not None:
                key: Any = self._jwks.get_signing_key_from_jwt(token).key
                algorithms = ["RS256", "ES256", "EdDSA"]
            else:
                key, algorithms = settings.hs256_secret, ["HS256"]
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                issuer=settings.issuer,
                audience=settings.audience,
                options={"require": ["exp", "sub"], "verify_aud": settings.audience is not None},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired") from None
        except jwt.PyJWTError as error:
            raise Unauthorized(f"invalid token: {error}") from None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject or "/" in subject:
            raise Unauthorized("the token's subject is not a usable owner id")
        roles = claims.get("roles", [])
        role = claims.get("role")
        granted = set(roles if isinstance(roles, list) else []) | (
            {role} if isinstance(role, str) else set()
        )
        return Principal(owner=subject, admin=settings.admin_role in granted)

    def from_request(self, request: Request[Any, Any, Any]) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("send `Authorization: Bearer <token>`")
        return self.verify(token.strip())
