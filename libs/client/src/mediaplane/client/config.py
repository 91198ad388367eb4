"""Where the platform is and who the caller is, from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mediaplane.client.credentials import default_credentials_path

DEFAULT_URL = "http://127.0.0.1:8080"
DEFAULT_CLIENT_ID = "cli"


@dataclass(frozen=True, kw_only=True)
class ClientConfig:
    url: str = DEFAULT_URL
    catalog_url: str | None = None
    token: str | None = None
    issuer: str | None = None
    client_id: str = DEFAULT_CLIENT_ID
    credentials_path: Path = field(default_factory=lambda: default_credentials_path({}))

    @property
    def issuer_url(self) -> str:
        """The OpenID provider: the platform's own URL unless set apart (the edge routes
        discovery and `/oauth/*` to the identity service)."""
        return (self.issuer or self.url).rstrip("/")

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> ClientConfig:
        """`MEDIAPLANE_URL` (the edge, or the gateway), `MEDIAPLANE_CATALOG_URL` (only when
        the catalog is reached apart from the gateway), `MEDIAPLANE_TOKEN` (a bearer JWT, or
        a personal access token `mppat_...`), `MEDIAPLANE_ISSUER` (the OpenID provider, when
        not at `MEDIAPLANE_URL`), `MEDIAPLANE_CLIENT_ID` (`cli`), `MEDIAPLANE_CREDENTIALS`
        (where `mediaplane login` keeps tokens; default `~/.config/mediaplane/credentials.json`)."""
        return cls(
            url=env.get("MEDIAPLANE_URL") or DEFAULT_URL,
            catalog_url=env.get("MEDIAPLANE_CATALOG_URL") or None,
            token=env.get("MEDIAPLANE_TOKEN") or None,
            issuer=env.get("MEDIAPLANE_ISSUER") or None,
            client_id=env.get("MEDIAPLANE_CLIENT_ID") or DEFAULT_CLIENT_ID,
            credentials_path=default_credentials_path(env),
        )
