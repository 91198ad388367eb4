"""Liveness and readiness: named dependency checks run concurrently with a timeout."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

import msgspec

Check = Callable[[], Awaitable[object]]


class Readiness(msgspec.Struct, frozen=True):
    ready: bool
    checks: dict[str, str]


class HealthChecks:
    """`ready()` answers whether every dependency (Postgres, NATS, S3, ...) responds in time.

    A check passes when it returns; it fails when it raises or outlives the timeout.
    """

    def __init__(self, checks: Mapping[str, Check], *, timeout: float = 2.0) -> None:
        self._checks = dict(checks)
        self._timeout = timeout

    async def _run(self, check: Check) -> str:
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for may swallow a cancellation.
            async with asyncio.timeout(self._timeout):
                await check()
        except TimeoutError:
            return f"down: no answer within {self._timeout:g}s"
        except Exception as exc:  # any failure of a dependency means "not ready"
            return f"down: {type(exc).__name__}: {exc}"
        return "up"

    async def ready(self) -> Readiness:
        names = list(self._checks)
        results = await asyncio.gather(*(self._run(self._checks[n]) for n in names))
        checks = dict(zip(names, results, strict=True))
        return Readiness(ready=all(r == "up" for r in results), checks=checks)


class DeferredHealthChecks(HealthChecks):
    """Readiness of what an app builds in its lifespan: not ready until `target` is set."""

    def __init__(self) -> None:
        super().__init__({})
        self.target: HealthChecks | None = None

    async def ready(self) -> Readiness:
        if self.target is None:
            return Readiness(ready=False, checks={"startup": "down: starting"})
        return await self.target.ready()
