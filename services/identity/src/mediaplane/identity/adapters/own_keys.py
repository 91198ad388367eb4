"""servicekit's JWKS verifier, fed this service's own key set from memory.

The identity service checks its own access tokens (e.g. on account routes
that take a bearer token) exactly as every other service does, without an
HTTP request to itself (which, at start-up, would come before it listens).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mediaplane.servicekit.jwks import JwksKeys


class _FromMemory:
    def __init__(self, source: Callable[[], dict[str, Any]]) -> None:
        self.fetch_data = source


class OwnKeys(JwksKeys):
    def __init__(self, url: str, source: Callable[[], dict[str, Any]], **options: Any) -> None:
        super().__init__(url, **options)
        self._client = _FromMemory(source)  # type: ignore[assignment]
