"""Bearer JWT authentication: the `sub` claim is the owner, a role claim grants admin."""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Callable
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


@dataclass(frozen=True, slots=True)
class _Verified:
    principal: Principal
    expires_at: float
    recheck_at: float


class TokenVerifier:
    """Verifies signature, expiry (required), and issuer/audience when configured.

    Verified tokens are remembered (the full token string is the key, so a
    changed signature is a miss) until their `exp`, and re-verified at least
    every `recheck_seconds` so that a key removed from the JWKS stops working
    soon. Clients send the same token with every request until it expires;
    verifying it once instead of on every request saves the HMAC or RSA work
    and PyJWT's parsing.
    """

    def __init__(
        self,
        settings: AuthSettings,
        *,
        cache_size: int = 10_000,
        recheck_seconds: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._jwks = (
            jwt.PyJWKClient(settings.jwks_url, cache_keys=True) if settings.jwks_url else None
        )
        self._cache_size = cache_size
        self._recheck_seconds = recheck_seconds
        self._clock = clock
        self._verified: OrderedDict[str, _Verified] = OrderedDict()

    def verify(self, token: str) -> Principal:
        now = self._clock()
        known = self._verified.get(token)
        if known is not None:
            if now >= known.expires_at:
                del self._verified[token]
                raise Unauthorized("the token has expired")
            if now < known.recheck_at:
                return known.principal
        principal, expires_at = self._decode(token)
        self._verified[token] = _Verified(
            principal=principal,
            expires_at=expires_at,
            recheck_at=min(expires_at, now + self._recheck_seconds),
        )
        self._verified.move_to_end(token)
        if len(self._verified) > self._cache_size:
            self._verified.popitem(last=False)
        return principal

    def _decode(self, token: str) -> tuple[Principal, float]:
        """The principal and expiry of a token PyJWT accepts."""
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
        principal = Principal(owner=subject, admin=settings.admin_role in granted)
        return principal, float(claims["exp"])

    def from_request(self, request: Request[Any, Any, Any]) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("send `Authorization: Bearer <token>`")
        return self.verify(token.strip())
