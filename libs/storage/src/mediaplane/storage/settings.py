"""Where the object store is and how to sign for it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from mediaplane.storage.permissions import access_key_variable, secret_key_variable

MIN_COPY_PART = 5 * 1024 * 1024  # S3: every part but the last is at least 5 MiB
MAX_COPY_PART = 5 * 1024 * 1024 * 1024  # S3: one CopyObject or UploadPartCopy copies at most 5 GiB


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    """An S3 endpoint as the minio SDK takes it: `host[:port]` plus TLS or not."""

    host: str
    secure: bool

    @classmethod
    def from_url(cls, url: str) -> Endpoint:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"S3 endpoint must be an http(s)://host[:port] URL, got {url!r}")
        # A path would have to be part of every signature; edge proxies must
        # route the S3 API at the root of their host instead.
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(f"S3 endpoint must not have a path or query, got {url!r}")
        return cls(host=parts.netloc, secure=parts.scheme == "https")


@dataclass(frozen=True, kw_only=True)
class StorageSettings:
    """How to reach the S3 server, and which host presigned URLs are signed for.

    `region` is required: with it the SDK signs locally; without it every
    presign would first ask the server for the bucket's location.
    `public_endpoint` is the host clients use (an edge proxy, a public DNS
    name); it is used only for presigning, never for requests from here.
    The SDK's own defaults (5 minute timeouts, 5 retries) would let a dead
    server hang a request handler for minutes, hence the shorter ones here.
    """

    endpoint: Endpoint
    access_key: str
    secret_key: str
    region: str
    public_endpoint: Endpoint | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    retries: int = 2
    # Blocking calls run in the default thread pool (up to 32 threads).
    max_connections: int = 32
    # Copies above this size use UploadPartCopy in parts of this size. S3 caps
    # a single copy at 5 GiB; a smaller value lets tests reach the multipart path.
    multipart_copy_threshold: int = MAX_COPY_PART

    def __post_init__(self) -> None:
        if not MIN_COPY_PART <= self.multipart_copy_threshold <= MAX_COPY_PART:
            raise ValueError(
                f"multipart_copy_threshold must be {MIN_COPY_PART}..{MAX_COPY_PART} bytes"
            )
        if not self.region:
            raise ValueError("region must be set so presigning never needs the network")
        if not self.access_key or not self.secret_key:
            raise ValueError("access_key and secret_key must be set")

    @property
    def presign_endpoint(self) -> Endpoint:
        return self.public_endpoint or self.endpoint

    @classmethod
    def from_urls(
        cls,
        endpoint: str,
        *,
        access_key: str,
        secret_key: str,
        region: str,
        public_endpoint: str | None = None,
        multipart_copy_threshold: int = MAX_COPY_PART,
    ) -> StorageSettings:
        return cls(
            endpoint=Endpoint.from_url(endpoint),
            access_key=access_key,
            secret_key=secret_key,
            region=region,
            public_endpoint=Endpoint.from_url(public_endpoint) if public_endpoint else None,
            multipart_copy_threshold=multipart_copy_threshold,
        )

    @classmethod
    def from_env(cls, service: str | None = None) -> StorageSettings:
        """Read `MEDIAPLANE_S3_` + `ENDPOINT`, `REGION`, `PUBLIC_ENDPOINT`,
        `MULTIPART_COPY_THRESHOLD` (bytes); the keys of `service`'s own identity from
        `MEDIAPLANE_<SERVICE>_S3_ACCESS_KEY` and `MEDIAPLANE_<SERVICE>_S3_SECRET_KEY`
        (`mediaplane.storage.permissions`), or, with no `service` (operators' tools),
        the admin's `MEDIAPLANE_S3_ACCESS_KEY` and `MEDIAPLANE_S3_SECRET_KEY`.

        Per-service names because one environment (`just up`'s env file, compose's
        shared block) may hold several services' settings, as with their NATS passwords.
        """
        env = os.environ

        def required(name: str) -> str:
            value = env.get(name)
            if not value:
                raise ValueError(f"environment variable {name} is not set")
            return value

        return cls.from_urls(
            required("MEDIAPLANE_S3_ENDPOINT"),
            access_key=required(access_key_variable(service)),
            secret_key=required(secret_key_variable(service)),
            region=required("MEDIAPLANE_S3_REGION"),
            public_endpoint=env.get("MEDIAPLANE_S3_PUBLIC_ENDPOINT") or None,
            multipart_copy_threshold=int(
                env.get("MEDIAPLANE_S3_MULTIPART_COPY_THRESHOLD") or MAX_COPY_PART
            ),
        )
