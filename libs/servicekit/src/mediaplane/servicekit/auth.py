"""Bearer JWT authentication: `sub` is the owner; roles, plan, scopes and client from claims."""

from __future__ import annotations

import contextlib
import os
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import jwt
from litestar import Request

from mediaplane.servicekit.errors import ProblemError
from mediaplane.servicekit.jwks import JwksKeys, UnknownKey


@dataclass(frozen=True, kw_only=True)
class AuthSettings:
    """HS256 with a shared secret (development) or RS256/ES256 keys from a JWKS URL (production).

    Both at once is the local platform: dev tokens (HS256, the shared secret) and
    the embedded identity provider's (its JWKS), each checked with its own key
    and algorithm only, both for the same issuer and audience.

    With a JWKS the issuer and audience are required: an identity provider signs
    tokens for many applications, and only those it issued for this one count.
    """

    hs256_secret: str | None = None
    jwks_url: str | None = None
    issuer: str | None = None
    audience: str | None = None
    admin_role: str = "admin"
    # How long a fetched key set is used at most: a key removed from the JWKS
    # stops verifying within this time.
    jwks_cache_seconds: float = 300.0

    def __post_init__(self) -> None:
        if not self.hs256_secret and not self.jwks_url:
            raise ValueError("set MEDIAPLANE_JWT_SECRET (dev) or MEDIAPLANE_JWKS_URL (production)")
        if self.jwks_url and not (self.issuer and self.audience):
            raise ValueError(
                "MEDIAPLANE_JWKS_URL needs MEDIAPLANE_JWT_ISSUER and MEDIAPLANE_JWT_AUDIENCE: "
                "without them any token the identity provider signs, for any application, "
                "would be accepted"
            )
        if self.jwks_cache_seconds <= 0:
            raise ValueError("MEDIAPLANE_JWKS_CACHE_SECONDS must be positive")

    @classmethod
    def from_env(cls) -> AuthSettings:
        env = os.environ
        return cls(
            hs256_secret=env.get("MEDIAPLANE_JWT_SECRET") or None,
            jwks_url=env.get("MEDIAPLANE_JWKS_URL") or None,
            issuer=env.get("MEDIAPLANE_JWT_ISSUER") or None,
            audience=env.get("MEDIAPLANE_JWT_AUDIENCE") or None,
            jwks_cache_seconds=float(env.get("MEDIAPLANE_JWKS_CACHE_SECONDS", 300)),
        )


class Unauthorized(ProblemError):
    code = "unauthorized"
    status = 401
    title = "Authentication required"


# The roles a token can carry, each granting what the ones before it grant.
ROLES = ("user", "moderator", "admin")
# The API scopes the services check (access.py says which route needs which).
API_SCOPES = frozenset({"files:read", "files:write", "uploads:write"})


@dataclass(frozen=True, kw_only=True)
class Principal:
    """Who calls: `owner` (the token's `sub`), its `roles`, `plan` (None when the token has
    none), the API `scopes` it holds (none unless given: closed by default) and the OAuth
    `client_id` it was issued to."""

    owner: str
    roles: frozenset[str] = frozenset({"user"})
    plan: str | None = None
    scopes: frozenset[str] = frozenset()
    client_id: str | None = None

    @property
    def admin(self) -> bool:
        return "admin" in self.roles


@dataclass(frozen=True, slots=True)
class _Verified:
    principal: Principal
    expires_at: float
    recheck_at: float
    key_generation: int  # the JWKS it was verified with (0 for HS256)


class TokenVerifier:
    """Verifies signature, expiry (required), and issuer/audience when configured.

    Verified tokens are remembered (the full token string is the key, so a
    changed signature is a miss) until their `exp`, and re-verified at least
    every `recheck_seconds` (never longer than the JWKS cache lifetime) and
    whenever a new key set replaced the one they were verified with, so a key
    removed from the JWKS stops working with it. Clients send the same token
    with every request until it expires; verifying it once instead of on every
    request saves the HMAC or RSA work and PyJWT's parsing.

    With a JWKS, `running()` must wrap the service's life: it fetches the keys
    and keeps them fresh in the background (`jwks.JwksKeys`).
    """

    def __init__(
        self,
        settings: AuthSettings,
        *,
        cache_size: int = 10_000,
        recheck_seconds: float = 60.0,
        clock: Callable[[], float] = time.time,
        keys: JwksKeys | None = None,
    ) -> None:
        self._settings = settings
        if keys is None and settings.jwks_url:
            keys = JwksKeys(settings.jwks_url, cache_seconds=settings.jwks_cache_seconds)
        self._keys = keys
        self._cache_size = cache_size
        self._recheck_seconds = recheck_seconds
        self._clock = clock
        self._verified: OrderedDict[str, _Verified] = OrderedDict()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Keep the JWKS fresh while inside (nothing to do with HS256)."""
        if self._keys is None:
            yield
            return
        async with self._keys.running():
            yield

    def verify(self, token: str) -> Principal:
        now = self._clock()
        generation = self._keys.generation if self._keys is not None else 0
        known = self._verified.get(token)
        if known is not None:
            if now >= known.expires_at:
                del self._verified[token]
                raise Unauthorized("the token has expired")
            if now < known.recheck_at and known.key_generation == generation:
                return known.principal
        principal, expires_at = self._decode(token)
        recheck = self._recheck_seconds
        if self._keys is not None:
            # Not remembered past the key set's own lifetime either.
            recheck = min(recheck, self._keys.seconds_left())
        self._verified[token] = _Verified(
            principal=principal,
            expires_at=expires_at,
            recheck_at=min(expires_at, now + recheck),
            key_generation=generation,
        )
        self._verified.move_to_end(token)
        if len(self._verified) > self._cache_size:
            self._verified.popitem(last=False)
        return principal

    def _decode(self, token: str) -> tuple[Principal, float]:
        """The principal and expiry of a token PyJWT accepts."""
        settings = self._settings
        try:
            header = jwt.get_unverified_header(token)
            if self._keys is not None and not (
                settings.hs256_secret and header.get("alg") == "HS256"
            ):
                kid = header.get("kid")
                signing = self._keys.key_for(kid if isinstance(kid, str) else None)
                # The key's own algorithm only: no algorithm confusion.
                key: Any = signing.key
                algorithms = [signing.algorithm_name]
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
        except UnknownKey as error:
            raise Unauthorized(f"invalid token: {error}") from None
        except jwt.PyJWTError as error:
            raise Unauthorized(f"invalid token: {error}") from None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject or "/" in subject:
            raise Unauthorized("the token's subject is not a usable owner id")
        principal = Principal(
            owner=subject,
            roles=_roles(claims, settings.admin_role),
            plan=_text(claims.get("plan")),
            scopes=scopes_of(claims, dev=algorithms == ["HS256"]),
            client_id=_text(claims.get("client_id")),
        )
        return principal, float(claims["exp"])

    def from_request(self, request: Request[Any, Any, Any]) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("send `Authorization: Bearer <token>`")
        return self.verify(token.strip())


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _roles(claims: dict[str, Any], admin_role: str) -> frozenset[str]:
    """`roles` (a list) and `role` (a string) among `ROLES`; the provider's admin role name
    counts as `admin`. Everyone holds `user`."""
    roles = claims.get("roles", [])
    role = claims.get("role")
    granted = {r for r in roles if isinstance(r, str)} if isinstance(roles, list) else set()
    if isinstance(role, str):
        granted.add(role)
    if admin_role in granted:
        granted.add("admin")
    return frozenset({"user"} | (granted & set(ROLES)))


def scopes_of(claims: dict[str, Any], *, dev: bool) -> frozenset[str]:
    """The API scopes in the `scope` claim (RFC 9068: space separated; `scp` as a list).

    A token without either holds every API scope only when it was signed with the HS256
    development secret (`dev`: dev tokens, test tokens); a provider's token holds exactly
    what it names, so one without scopes reaches no API (closed by default).
    """
    scope, scp = claims.get("scope"), claims.get("scp")
    if isinstance(scope, str):
        named = set(scope.split())
    elif isinstance(scp, list):
        named = {s for s in scp if isinstance(s, str)}
    else:
        return API_SCOPES if dev else frozenset()
    return frozenset(named & API_SCOPES)
