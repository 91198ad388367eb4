"""Process plumbing for service roles: uvicorn inside an asyncio program, ops servers, signals."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Generator

import uvicorn
from litestar import Litestar


class ServeError(RuntimeError):
    """uvicorn could not start serving: its port in use, or the app's startup failed."""


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the program that embeds it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def main_loop(self) -> None:
        """uvicorn's loop, woken once a second instead of every 0.1 s.

        Its tick's work (the Date header) is once a second anyway, and only the
        embedding program stops this server (by cancelling it, not through
        `should_exit`): the nine other wake-ups were half of an idle worker's
        CPU (~0.1 s a minute per process).
        """
        # Counter 0: a tick that refreshes the Date header.
        while True:
            if await self.on_tick(0):
                return
            await asyncio.sleep(1.0)


async def serve(app: Litestar, *, host: str, port: int) -> None:
    """Serve until cancelled; logs go through the root logger (our JSON handler).

    Raises `ServeError` if the server cannot start. uvicorn itself calls
    `sys.exit` then, and a SystemExit out of a task stops the event loop that
    runs it: every other task of the program (or every later test on a
    worker's loop) would go down with it instead of this server alone.
    """
    server = _EmbeddedServer(uvicorn.Config(app, host=host, port=port, log_config=None))
    try:
        await server.serve()
    except asyncio.CancelledError:
        server.should_exit = True
        # The cancel skips uvicorn's shutdown: without this the port stays bound
        # until the loop's objects are collected. Open connections are left to their
        # clients, as uvicorn's own shutdown would wait on a stream that never ends.
        for listener in server.servers:
            listener.close()
        raise
    except SystemExit as exited:
        raise ServeError(
            f"could not serve on {host}:{port} (uvicorn's exit {exited.code}; its log says why)"
        ) from None


@contextlib.asynccontextmanager
async def ops_server(app: Litestar, *, host: str, port: int) -> AsyncIterator[None]:
    """Serve a worker's health and metrics app in the background while the block runs."""
    task = asyncio.create_task(serve(app, host=host, port=port), name=f"ops-{port}")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def run_until_signalled(work: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Run `work(stop)` in a new event loop; SIGINT or SIGTERM sets `stop` for a clean exit."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await work(stop)

    asyncio.run(main())
