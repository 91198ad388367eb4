"""Retries of transient failures: network errors, 429 (honouring Retry-After) and 5xx."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from mediaplane.client.errors import MediaplaneError, retry_after_seconds

# Errors raised before a request left the machine: resending cannot duplicate an effect.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# A request with side effects is resent only when nothing was done: the platform refuses
# 429 and 503 before acting.
_RETRY_ALWAYS = frozenset({429, 503})
_RETRY_IDEMPOTENT = frozenset({500, 502, 504})
TRANSIENT_STATUS = _RETRY_ALWAYS | _RETRY_IDEMPOTENT


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 15.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Full-jitter exponential backoff, so parallel parts do not retry in lockstep."""
        if retry_after is not None:
            return min(retry_after, self.max_delay)
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


async def send_with_retries(
    policy: RetryPolicy,
    send: Callable[[], Awaitable[httpx.Response]],
    *,
    idempotent: bool,
    on_retry: Callable[[], None] | None = None,
) -> httpx.Response:
    """`send()` until it answers something other than a transient failure; the last answer
    is returned as is (the caller turns refusals into errors). `send` builds a fresh request
    each time, so streamed bodies start over. `on_retry` runs before each new attempt."""
    last = policy.attempts - 1
    for attempt in range(policy.attempts):
        try:
            response = await send()
        except httpx.TransportError as error:
            retryable = idempotent or isinstance(error, _NOT_SENT)
            if not retryable or attempt == last:
                raise MediaplaneError(
                    "connection_failed", 0, f"{type(error).__name__}: {error or 'no detail'}"
                ) from error
            wait = policy.delay(attempt)
        else:
            status = response.status_code
            transient = status in _RETRY_ALWAYS or (idempotent and status in _RETRY_IDEMPOTENT)
            if not transient or attempt == last:
                return response
            wait = policy.delay(attempt, retry_after_seconds(response))
        if on_retry is not None:
            on_retry()
        await asyncio.sleep(wait)
    raise AssertionError("unreachable: the last attempt returns or raises")
