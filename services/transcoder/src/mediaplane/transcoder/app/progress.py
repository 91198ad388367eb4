"""Turning ffmpeg's position reports into throttled `transcode.progress` events.

ffmpeg's reports arrive in a synchronous callback (several a second); the
domain throttle lets a few through, which are queued and recorded by one
task, in order, through the job decider. Progress is best effort: a report
that cannot be recorded is logged and dropped, never fails the job, and
reports still queued when the encode ends are dropped (`transcode.completed`
follows).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import structlog

from mediaplane.transcoder.domain.progress import (
    ProgressThrottle,
    Reported,
    percent_done,
    should_report,
)

_log = structlog.get_logger(__name__)

Emit = Callable[[float, float], Awaitable[object]]  # (percent, processed seconds)


class ProgressReporter:
    def __init__(
        self,
        throttle: ProgressThrottle,
        duration: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.throttle = throttle
        self.duration = duration
        self.clock = clock
        self.last = Reported(percent=0.0, at=clock())
        self.queue: asyncio.Queue[tuple[float, float]] = asyncio.Queue()

    def position(self, seconds: float) -> None:
        """ffmpeg's callback: queue a report when the throttle lets it through."""
        percent = percent_done(seconds, self.duration)
        now = self.clock()
        if should_report(self.throttle, self.last, percent, now):
            self.last = Reported(percent=percent, at=now)
            self.queue.put_nowait((percent, round(seconds, 3)))

    async def record(self, emit: Emit) -> None:
        while True:
            percent, processed = await self.queue.get()
            try:
                await emit(percent, processed)
            except Exception as error:
                _log.warning("transcode.progress_not_recorded", error=str(error))


@contextlib.asynccontextmanager
async def reporting(
    throttle: ProgressThrottle, duration: float, emit: Emit
) -> AsyncIterator[ProgressReporter]:
    """A reporter whose reports `emit` records while the block runs."""
    reporter = ProgressReporter(throttle, duration)
    task = asyncio.create_task(reporter.record(emit))
    try:
        yield reporter
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
