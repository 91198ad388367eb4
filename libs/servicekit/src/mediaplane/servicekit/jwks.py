"""The identity provider's signing keys (JWKS), kept fresh off the request path.

Requests look keys up in memory only (`key_for`, no I/O: the principal
providers run on the event loop). A background task (`running`) fetches the
key set in a worker thread: half-way through its lifetime, so one failed fetch
does not expire it, and soon after a token names an unknown `kid` (a key the
provider just added), at most once per `min_refresh_seconds` so that tokens
with made-up key ids cannot make the service hammer the provider. Until the
first set arrives, every poll fetches (a provider starting beside the service).

A key removed from the set stops verifying at the next successful fetch, and
at the latest `cache_seconds` after the last one: with the provider
unreachable that long, every token is refused (503) rather than verified
against keys that may since have been revoked.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
import structlog

from mediaplane.servicekit.errors import ProblemError

_log = structlog.get_logger(__name__)

# What an identity provider signs with; HS256 is never taken from a JWKS.
ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"})


class KeysUnavailable(ProblemError):
    code = "keys_unavailable"
    status = 503
    title = "Token signing keys unavailable"


class UnknownKey(Exception):
    """The token names a key the current set does not have (a refresh is requested)."""


@dataclass(frozen=True, slots=True)
class KeySet:
    keys: Mapping[str, jwt.PyJWK]  # by kid
    fetched_at: float
    generation: int  # changes whenever the set is replaced


def parse_key_set(data: Any) -> dict[str, jwt.PyJWK]:
    """Signing keys with a `kid` and an asymmetric algorithm; others are skipped."""
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise ValueError("the JWKS is not an object with a `keys` list")
    keys: dict[str, jwt.PyJWK] = {}
    for entry in data["keys"]:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        kid = entry.get("kid")
        try:
            key = jwt.PyJWK(entry)
        except jwt.PyJWTError:
            continue  # an algorithm or key type PyJWT does not support
        if isinstance(kid, str) and kid and key.algorithm_name in ALGORITHMS:
            keys[kid] = key
    return keys


class JwksKeys:
    def __init__(
        self,
        url: str,
        *,
        cache_seconds: float = 300.0,
        min_refresh_seconds: float = 30.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cache_seconds = cache_seconds
        self._min_refresh_seconds = min_refresh_seconds
        self._clock = clock
        # PyJWKClient for its fetch only (timeout, no redirects); its key cache
        # is what kept removed keys verifying, so none of its caching is used.
        self._client = jwt.PyJWKClient(url, cache_jwk_set=False, timeout=timeout)
        self._set: KeySet | None = None
        self._last_attempt = float("-inf")
        self._wanted = False  # a request met a missing or unknown key

    @property
    def generation(self) -> int:
        return self._set.generation if self._set is not None else 0

    def seconds_left(self) -> float:
        """How long the current set may still be used (0 without one)."""
        current = self._set
        if current is None:
            return 0.0
        return max(0.0, current.fetched_at + self.cache_seconds - self._clock())

    def key_for(self, kid: str | None) -> jwt.PyJWK:
        """The verifying key for `kid`, from memory."""
        current = self._set
        if current is None or self._clock() >= current.fetched_at + self.cache_seconds:
            self._wanted = True
            raise KeysUnavailable("the identity provider's keys could not be fetched; retry later")
        key = current.keys.get(kid) if kid else None
        if key is None:
            self._wanted = True
            raise UnknownKey(f"no signing key {kid!r} in the identity provider's key set")
        return key

    def due(self) -> bool:
        """Whether `maintain` would fetch now."""
        now = self._clock()
        current = self._set
        # Until a first set arrives (a provider starting beside this service), every
        # poll tries: there is nothing to verify with, so nothing to protect either.
        if current is not None and now < self._last_attempt + self._min_refresh_seconds:
            return False
        stale = current is None or now >= current.fetched_at + self.cache_seconds / 2
        return stale or self._wanted

    async def refresh(self) -> None:
        """Fetch the key set now (in a worker thread) and replace the one in use."""
        self._last_attempt = self._clock()
        self._wanted = False
        data = await asyncio.to_thread(self._client.fetch_data)
        keys = parse_key_set(data)
        self._set = KeySet(keys=keys, fetched_at=self._clock(), generation=self.generation + 1)
        _log.info("jwks.refreshed", keys=sorted(keys))

    async def maintain(self) -> None:
        """Fetch when due; a failure is logged and the current set kept until it expires."""
        if not self.due():
            return
        try:
            await self.refresh()
        except (jwt.PyJWTError, ValueError) as error:
            _log.warning("jwks.refresh_failed", error=str(error))

    @contextlib.asynccontextmanager
    async def running(self, poll_seconds: float = 1.0) -> AsyncIterator[None]:
        """Fetch once, then keep the set fresh in a background task until exit."""

        async def loop() -> None:
            while True:
                await asyncio.sleep(poll_seconds)
                await self.maintain()

        await self.maintain()
        task = asyncio.create_task(loop(), name="jwks-refresh")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
