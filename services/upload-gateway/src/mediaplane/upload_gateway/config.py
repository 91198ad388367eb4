"""Configuration from the environment (12-factor): one frozen settings object per process."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from mediaplane.bus import BusSettings
from mediaplane.storage import StorageSettings
from mediaplane.upload_gateway.domain.policy import UploadLimits

SERVICE = "upload-gateway"


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


@dataclass(frozen=True, kw_only=True)
class RateLimit:
    """Token bucket per owner: `burst` requests at once, refilled at `per_second`."""

    per_second: float = 20.0
    burst: int = 40


@dataclass(frozen=True, kw_only=True)
class GatewaySettings:
    database_url: str
    bus: BusSettings
    storage: StorageSettings
    auth: AuthSettings
    bucket: str = "originals"
    limits: UploadLimits = field(default_factory=UploadLimits)
    rate_limit: RateLimit = field(default_factory=RateLimit)
    presign_ttl_seconds: int = 3600
    http_host: str = "127.0.0.1"
    http_port: int = 8081
    ops_port: int = 9101

    @classmethod
    def from_env(cls) -> GatewaySettings:
        env = os.environ

        def number(name: str, default: int) -> int:
            return int(env.get(name, default))

        defaults = UploadLimits()
        types = env.get("MEDIAPLANE_ALLOWED_CONTENT_TYPES")
        limits = UploadLimits(
            single_put_max=number("MEDIAPLANE_SINGLE_PUT_MAX", defaults.single_put_max),
            part_size=number("MEDIAPLANE_PART_SIZE", defaults.part_size),
            max_object_size=number("MEDIAPLANE_MAX_OBJECT_SIZE", defaults.max_object_size),
            session_ttl_seconds=number("MEDIAPLANE_SESSION_TTL", defaults.session_ttl_seconds),
            allowed_content_types=tuple(t.strip() for t in types.split(","))
            if types
            else defaults.allowed_content_types,
            quota_files=number("MEDIAPLANE_QUOTA_FILES", defaults.quota_files),
            quota_bytes=number("MEDIAPLANE_QUOTA_BYTES", defaults.quota_bytes),
        )
        return cls(
            database_url=env["MEDIAPLANE_GATEWAY_DATABASE_URL"],
            bus=BusSettings.from_env(),
            storage=StorageSettings.from_env(),
            auth=AuthSettings(
                hs256_secret=env.get("MEDIAPLANE_JWT_SECRET") or None,
                jwks_url=env.get("MEDIAPLANE_JWKS_URL") or None,
                issuer=env.get("MEDIAPLANE_JWT_ISSUER") or None,
                audience=env.get("MEDIAPLANE_JWT_AUDIENCE") or None,
            ),
            bucket=env.get("MEDIAPLANE_ORIGINALS_BUCKET", "originals"),
            limits=limits,
            rate_limit=RateLimit(
                per_second=float(env.get("MEDIAPLANE_RATE_PER_SECOND", 20.0)),
                burst=number("MEDIAPLANE_RATE_BURST", 40),
            ),
            presign_ttl_seconds=number("MEDIAPLANE_PRESIGN_TTL", 3600),
            http_host=env.get("MEDIAPLANE_GATEWAY_HOST", "127.0.0.1"),
            http_port=number("MEDIAPLANE_GATEWAY_PORT", 8081),
            ops_port=number("MEDIAPLANE_GATEWAY_OPS_PORT", 9101),
        )


__all__ = ["SERVICE", "AuthSettings", "GatewaySettings", "RateLimit"]
