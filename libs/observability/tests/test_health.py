"""Readiness is the conjunction of named dependency checks, each with a timeout."""

from __future__ import annotations

import asyncio

from mediaplane.observability import HealthChecks


async def _ok() -> None:
    return None


async def _refused() -> None:
    raise ConnectionRefusedError("127.0.0.1:25432")


async def _hangs() -> None:
    await asyncio.sleep(10)


async def test_ready_when_every_check_answers() -> None:
    readiness = await HealthChecks({"postgres": _ok, "nats": _ok}).ready()
    assert readiness.ready
    assert readiness.checks == {"postgres": "up", "nats": "up"}


async def test_a_failing_or_hanging_dependency_makes_the_service_unready_with_a_reason() -> None:
    checks = HealthChecks({"postgres": _refused, "nats": _hangs, "s3": _ok}, timeout=0.05)

    readiness = await checks.ready()

    assert not readiness.ready
    assert readiness.checks["postgres"] == "down: ConnectionRefusedError: 127.0.0.1:25432"
    assert readiness.checks["nats"] == "down: no answer within 0.05s"
    assert readiness.checks["s3"] == "up"
