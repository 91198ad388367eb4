"""servicekit's periodic jobs: a failing run does not stop the job, a wake-up runs it early,
and a job run beside a block stops with it."""

from __future__ import annotations

import asyncio
import contextlib

from mediaplane.servicekit.periodic import every, running


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


async def test_a_job_running_beside_a_block_stops_when_the_block_ends() -> None:
    runs = 0
    second = asyncio.Event()

    async def job() -> int:
        nonlocal runs
        runs += 1
        if runs == 2:
            second.set()
        return 0

    async with running("sweep", 0.01, job):
        await second.wait()
    stopped_at = runs
    await asyncio.sleep(0.05)  # several intervals: a job still running would have run again
    assert stopped_at >= 2
    assert runs == stopped_at
