"""servicekit's periodic jobs: a failing run does not stop the job, a wake-up runs it early."""

from __future__ import annotations

import asyncio
import contextlib

from mediaplane.servicekit.periodic import every


async def test_a_failure_is_counted_and_the_job_runs_again() -> None:
    runs: list[int] = []
    failures: list[str] = []
    third = asyncio.Event()

    async def job() -> int:
        runs.append(len(runs))
        if len(runs) == 3:
            third.set()
        if len(runs) == 1:
            raise ConnectionError("database away")
        return 1

    task = asyncio.create_task(every("prune", 0.01, job, failed=failures.append))
    await third.wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert failures == ["prune"]
    assert len(runs) >= 3


async def test_a_wake_up_runs_the_job_before_its_interval() -> None:
    ran = [asyncio.Event(), asyncio.Event()]
    count = 0

    async def job() -> int:
        nonlocal count
        ran[min(count, 1)].set()
        count += 1
        return 0

    wake = asyncio.Event()
    task = asyncio.create_task(every("purge", 3600, job, wake=wake))
    await ran[0].wait()
    wake.set()  # an hour early
    await ran[1].wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert count == 2
