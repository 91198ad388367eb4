"""Configuration from the environment (12-factor): one frozen settings object per process."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from mediaplane.bus import BusSettings
from mediaplane.domain.quota import Plans, plans_from_env
from mediaplane.servicekit.auth import AuthSettings
from mediaplane.servicekit.devtoken import require_loopback
from mediaplane.servicekit.rate_limit import RateLimit
from mediaplane.storage import StorageSettings
from mediaplane.upload_gateway.domain.policy import UploadLimits

SERVICE = "upload-gateway"
CLAMD_STREAM_MAX = 1000 * 1024 * 1024  # bytes: what the platform's clamd scans whole


@dataclass(frozen=True, kw_only=True)
class GatewaySettings:
    database_url: str
    bus: BusSettings
    storage: StorageSettings
    auth: AuthSettings
    bucket: str = "originals"
    limits: UploadLimits = field(default_factory=UploadLimits)
    plans: Plans = field(default_factory=Plans.standard)
    rate_limit: RateLimit = field(default_factory=RateLimit)
    presign_ttl_seconds: int = 3600
    http_host: str = "127.0.0.1"
    http_port: int = 8081
    ops_port: int = 9101
    # clamd (`tcp://host:port`): the verifier role refuses to start without it, so no
    # upload is ever verified unscanned. `clamd_timeout` bounds each step of a scan.
    clamd_url: str | None = None
    clamd_timeout: float = 60.0
    # clamd's StreamMaxLength: longer originals are rejected `scan_limit_exceeded`, and
    # `limits.max_object_size` may not exceed it (sessions of larger files never open).
    clamd_stream_max: int = CLAMD_STREAM_MAX
    # Local platform only: serves POST /v1/dev/token (signs tokens with the HS256 secret),
    # and only on a loopback bind.
    dev_mode: bool = False
    # The admin dead-letter API's NATS identity (`deadletters`, docs/adr/0007); None: the
    # gateway's own identity, which may not read the DLQ (its routes then answer 503).
    dead_letters: BusSettings | None = None

    def __post_init__(self) -> None:
        if self.limits.max_object_size > self.clamd_stream_max:
            # Such an upload would be accepted, sent whole, and only then rejected
            # `scan_limit_exceeded`: refuse the setting instead of the user's bytes.
            raise ValueError(
                f"MEDIAPLANE_MAX_OBJECT_SIZE ({self.limits.max_object_size}) exceeds "
                f"MEDIAPLANE_CLAMD_STREAM_MAX ({self.clamd_stream_max}): larger uploads "
                "could never be scanned whole, so never verified"
            )
        if self.dev_mode:
            if not self.auth.hs256_secret:
                raise ValueError("MEDIAPLANE_DEV_MODE=1 needs MEDIAPLANE_JWT_SECRET (HS256)")
            require_loopback(self.http_host, "MEDIAPLANE_GATEWAY_HOST")

    @classmethod
    def from_env(cls) -> GatewaySettings:
        env = os.environ

        def number(name: str, default: int) -> int:
            return int(env.get(name, default))

        defaults = UploadLimits()
        types = env.get("MEDIAPLANE_ALLOWED_CONTENT_TYPES")
        stream_max = number("MEDIAPLANE_CLAMD_STREAM_MAX", CLAMD_STREAM_MAX)
        limits = UploadLimits(
            single_put_max=number("MEDIAPLANE_SINGLE_PUT_MAX", defaults.single_put_max),
            part_size=number("MEDIAPLANE_PART_SIZE", defaults.part_size),
            # Unset: what the scanner scans whole, so a larger file is refused when its
            # session opens (422 `size_out_of_range`), not after it was uploaded.
            max_object_size=number("MEDIAPLANE_MAX_OBJECT_SIZE", stream_max),
            session_ttl_seconds=number("MEDIAPLANE_SESSION_TTL", defaults.session_ttl_seconds),
            allowed_content_types=tuple(t.strip() for t in types.split(","))
            if types
            else defaults.allowed_content_types,
        )
        dead_letters = BusSettings.from_env(service="deadletters")
        return cls(
            database_url=env["MEDIAPLANE_GATEWAY_DATABASE_URL"],
            bus=BusSettings.from_env(service="gateway"),
            storage=StorageSettings.from_env(service="gateway"),
            auth=AuthSettings.from_env(),
            bucket=env.get("MEDIAPLANE_ORIGINALS_BUCKET", "originals"),
            limits=limits,
            plans=plans_from_env(env.get("MEDIAPLANE_PLANS"), env.get("MEDIAPLANE_DEFAULT_PLAN")),
            rate_limit=RateLimit.from_env(),
            presign_ttl_seconds=number("MEDIAPLANE_PRESIGN_TTL", 3600),
            http_host=env.get("MEDIAPLANE_GATEWAY_HOST", "127.0.0.1"),
            http_port=number("MEDIAPLANE_GATEWAY_PORT", 8081),
            ops_port=number("MEDIAPLANE_GATEWAY_OPS_PORT", 9101),
            clamd_url=env.get("MEDIAPLANE_CLAMD_URL") or None,
            clamd_timeout=float(env.get("MEDIAPLANE_CLAMD_TIMEOUT", "60")),
            clamd_stream_max=stream_max,
            dev_mode=env.get("MEDIAPLANE_DEV_MODE") == "1",
            dead_letters=dead_letters if dead_letters.user is not None else None,
        )
