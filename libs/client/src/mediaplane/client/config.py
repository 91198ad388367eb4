"""Where the platform is and who the caller is, from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_URL = "http://127.0.0.1:8080"


@dataclass(frozen=True, kw_only=True)
class ClientConfig:
    url: str = DEFAULT_URL
    catalog_url: str | None = None
    token: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> ClientConfig:
        """`MEDIAPLANE_URL` (the edge, or the gateway), `MEDIAPLANE_CATALOG_URL` (only when
        the catalog is reached apart from the gateway), `MEDIAPLANE_TOKEN` (a bearer JWT)."""
        return cls(
            url=env.get("MEDIAPLANE_URL") or DEFAULT_URL,
            catalog_url=env.get("MEDIAPLANE_CATALOG_URL") or None,
            token=env.get("MEDIAPLANE_TOKEN") or None,
        )
