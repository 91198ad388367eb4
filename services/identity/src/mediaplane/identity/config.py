"""Configuration from the environment (12-factor): one frozen settings object per process."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

from mediaplane.bus import BusSettings
from mediaplane.identity.domain.policy import Backoff, PasswordPolicy, RegistrationMode

SERVICE = "identity"
_MODES = ("open", "invite", "closed")


@dataclass(frozen=True, kw_only=True)
class TokenLifetimes:
    access_seconds: int = 300  # short: a suspension takes effect within this time
    refresh_seconds: int = 30 * 86400
    code_seconds: int = 60
    session_seconds: int = 14 * 86400
    mail_link_seconds: int = 3600


@dataclass(frozen=True, kw_only=True)
class KeyRotation:
    """A signing key signs for `active_seconds`; it is published `publish_seconds` before
    it signs (longer than resource servers cache the JWKS: they have it before the first
    token it signed arrives) and kept published until the last token it signed expired."""

    active_seconds: int = 30 * 86400
    publish_seconds: int = 600


@dataclass(frozen=True, kw_only=True)
class Upstream:
    """An upstream OpenID provider users may sign in with (discovery at `issuer`)."""

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    scope: str = "openid email"


@dataclass(frozen=True, kw_only=True)
class IdentitySettings:
    database_url: str
    bus: BusSettings
    # The issuer URL (`iss`, discovery's base): what browsers and services reach.
    issuer: str
    # The `aud` of access tokens: what the other services' MEDIAPLANE_JWT_AUDIENCE is.
    audience: str = "mediaplane"
    registration: RegistrationMode = "closed"
    plans: tuple[str, ...] = ("free", "pro")
    default_plan: str = "free"
    maildir: Path
    lifetimes: TokenLifetimes = field(default_factory=TokenLifetimes)
    rotation: KeyRotation = field(default_factory=KeyRotation)
    passwords: PasswordPolicy = field(default_factory=PasswordPolicy)
    backoff: Backoff = field(default_factory=Backoff)
    # Where /oauth/authorize sends a browser that is not signed in (the web UI's sign-in
    # page, which comes back to `return_to` after POST /v1/account/sessions); without it,
    # such a request is answered 401 `not_signed_in`.
    sign_in_url: str | None = None
    # The web UI's base URL: mails link to its verify-email and reset-password pages.
    web_url: str | None = None
    upstream: Upstream | None = None
    http_host: str = "127.0.0.1"
    http_port: int = 8083
    ops_port: int = 9151

    def __post_init__(self) -> None:
        if self.registration not in _MODES:
            raise ValueError(f"MEDIAPLANE_IDENTITY_REGISTRATION must be one of {_MODES}")
        if self.default_plan not in self.plans:
            raise ValueError("MEDIAPLANE_IDENTITY_DEFAULT_PLAN must be one of the plans")
        parts = urlsplit(self.issuer)
        local = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if parts.scheme != "https" and not (parts.scheme == "http" and local):
            raise ValueError("MEDIAPLANE_IDENTITY_ISSUER must be https (http only on loopback)")
        if parts.query or parts.fragment or self.issuer.endswith("/"):
            raise ValueError("MEDIAPLANE_IDENTITY_ISSUER: no query, fragment or trailing slash")

    @classmethod
    def from_env(cls) -> IdentitySettings:
        env = os.environ
        mode = env.get("MEDIAPLANE_IDENTITY_REGISTRATION", "closed")
        if mode not in _MODES:
            raise ValueError(f"MEDIAPLANE_IDENTITY_REGISTRATION must be one of {_MODES}")
        plans = tuple(
            p.strip() for p in env.get("MEDIAPLANE_IDENTITY_PLANS", "free,pro").split(",")
        )
        return cls(
            database_url=env["MEDIAPLANE_IDENTITY_DATABASE_URL"],
            bus=BusSettings.from_env(service=SERVICE),
            issuer=env["MEDIAPLANE_IDENTITY_ISSUER"],
            audience=env.get("MEDIAPLANE_IDENTITY_AUDIENCE", "mediaplane"),
            registration=cast(RegistrationMode, mode),
            plans=plans,
            default_plan=env.get("MEDIAPLANE_IDENTITY_DEFAULT_PLAN", plans[0]),
            maildir=Path(env["MEDIAPLANE_IDENTITY_MAILDIR"]),
            lifetimes=TokenLifetimes(
                access_seconds=int(env.get("MEDIAPLANE_IDENTITY_ACCESS_TOKEN_SECONDS", 300)),
            ),
            sign_in_url=env.get("MEDIAPLANE_IDENTITY_SIGN_IN_URL") or None,
            web_url=(env.get("MEDIAPLANE_IDENTITY_WEB_URL") or "").rstrip("/") or None,
            upstream=Upstream(
                issuer=env["MEDIAPLANE_IDENTITY_UPSTREAM_ISSUER"],
                client_id=env["MEDIAPLANE_IDENTITY_UPSTREAM_CLIENT_ID"],
                client_secret=env["MEDIAPLANE_IDENTITY_UPSTREAM_CLIENT_SECRET"],
            )
            if env.get("MEDIAPLANE_IDENTITY_UPSTREAM_ISSUER")
            else None,
            http_host=env.get("MEDIAPLANE_IDENTITY_HOST", "127.0.0.1"),
            http_port=int(env.get("MEDIAPLANE_IDENTITY_PORT", 8083)),
            ops_port=int(env.get("MEDIAPLANE_IDENTITY_OPS_PORT", 9151)),
        )
