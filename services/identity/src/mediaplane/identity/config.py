"""Configuration from the environment (12-factor): one frozen settings object per process."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, cast
from urllib.parse import unquote, urlsplit

from mediaplane.bus import BusSettings
from mediaplane.identity.domain.policy import Backoff, MailRetry, PasswordPolicy, RegistrationMode

SERVICE = "identity"
_MODES = ("open", "invite", "closed")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
DEFAULT_SENDER = "mediaplane <no-reply@mediaplane.invalid>"
# URL scheme -> how the connection is protected, and the port when the URL names none.
_SMTP_SCHEMES: dict[str, tuple[Literal["tls", "starttls", "none"], int]] = {
    "smtps": ("tls", 465),
    "smtp": ("starttls", 587),
    "smtp+insecure": ("none", 25),
}


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
class SmtpSettings:
    """An SMTP server to send mail through. `security`: `tls` (implicit, `smtps://`),
    `starttls` (`smtp://`, refused when the server offers no TLS) or `none`
    (`smtp+insecure://`, loopback only: a local relay, or tests)."""

    host: str
    port: int
    security: Literal["tls", "starttls", "none"]
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = DEFAULT_SENDER
    ca_file: str | None = None  # verify the server against this CA instead of the system's
    timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.security == "none" and self.host not in _LOOPBACK:
            raise ValueError("SMTP without TLS only to a loopback server (smtp+insecure://)")
        if self.username is not None and self.password is None:
            raise ValueError(
                "MEDIAPLANE_IDENTITY_SMTP_URL names a user: set MEDIAPLANE_IDENTITY_SMTP_PASSWORD"
                " or MEDIAPLANE_IDENTITY_SMTP_PASSWORD_FILE"
            )

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        password: str | None = None,
        sender: str = DEFAULT_SENDER,
        ca_file: str | None = None,
    ) -> SmtpSettings:
        """`smtps://user@host[:465]`, `smtp://user@host[:587]` or
        `smtp+insecure://127.0.0.1[:25]`; the password never in the URL."""
        parts = urlsplit(url)
        if parts.scheme not in _SMTP_SCHEMES or not parts.hostname:
            raise ValueError(
                "MEDIAPLANE_IDENTITY_SMTP_URL: smtps://host, smtp://host (STARTTLS) or"
                " smtp+insecure://127.0.0.1"
            )
        if parts.password is not None:
            raise ValueError(
                "MEDIAPLANE_IDENTITY_SMTP_URL must not carry the password: set"
                " MEDIAPLANE_IDENTITY_SMTP_PASSWORD or _PASSWORD_FILE"
            )
        security, default_port = _SMTP_SCHEMES[parts.scheme]
        return cls(
            host=parts.hostname,
            port=parts.port or default_port,
            security=security,
            username=unquote(parts.username) if parts.username else None,
            password=password,
            sender=sender,
            ca_file=ca_file,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SmtpSettings | None:
        url = env.get("MEDIAPLANE_IDENTITY_SMTP_URL")
        if not url:
            return None
        password = env.get("MEDIAPLANE_IDENTITY_SMTP_PASSWORD") or None
        password_file = env.get("MEDIAPLANE_IDENTITY_SMTP_PASSWORD_FILE")
        if password is None and password_file:
            password = Path(password_file).read_text().strip()
        return cls.from_url(
            url,
            password=password,
            sender=env.get("MEDIAPLANE_IDENTITY_MAIL_FROM") or DEFAULT_SENDER,
            ca_file=env.get("MEDIAPLANE_IDENTITY_SMTP_CA_FILE") or None,
        )


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
    # Where mail goes: an SMTP server when set, else this Maildir (local runs, tests).
    maildir: Path | None = None
    smtp: SmtpSettings | None = None
    # How the relay role's sender retries a mail the server did not take, and when it stops.
    mail_retry: MailRetry = field(default_factory=MailRetry)
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
        if self.maildir is None and self.smtp is None:
            raise ValueError("set MEDIAPLANE_IDENTITY_SMTP_URL or MEDIAPLANE_IDENTITY_MAILDIR")
        parts = urlsplit(self.issuer)
        local = parts.hostname in _LOOPBACK
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
            maildir=Path(env["MEDIAPLANE_IDENTITY_MAILDIR"])
            if env.get("MEDIAPLANE_IDENTITY_MAILDIR")
            else None,
            smtp=SmtpSettings.from_env(env),
            mail_retry=MailRetry(
                max_attempts=int(env.get("MEDIAPLANE_IDENTITY_MAIL_MAX_ATTEMPTS", 20)),
                max_seconds=float(env.get("MEDIAPLANE_IDENTITY_MAIL_RETRY_MAX_SECONDS", 300)),
                max_age_seconds=float(env.get("MEDIAPLANE_IDENTITY_MAIL_MAX_AGE_SECONDS", 86400)),
            ),
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
