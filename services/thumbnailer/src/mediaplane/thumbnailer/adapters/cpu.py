"""The pool that runs Pillow work off the event loop, sized to the cores the worker may use."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class CpuPool:
    """Threads, not processes: Pillow releases the GIL in decode, resize and encode.

    A job that times out stops waiting, but its thread finishes its (bounded:
    the pixel limit applies) work and keeps its slot meanwhile, so a burst of
    timeouts cannot oversubscribe the cores.
    """

    def __init__(self, workers: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="thumbnailer")

    async def run(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: function(*args, **kwargs))

    def close(self) -> None:
        """Wait for running work; queued work is dropped (its jobs are being cancelled)."""
        self._executor.shutdown(wait=True, cancel_futures=True)
