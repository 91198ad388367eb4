"""Run an ASGI app with uvicorn inside an asyncio program (workers serve health and metrics)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator

import uvicorn
from litestar import Litestar


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the program that embeds it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def serve(app: Litestar, *, host: str, port: int) -> None:
    """Serve until cancelled; logs go through the root logger (our JSON handler)."""
    server = _EmbeddedServer(uvicorn.Config(app, host=host, port=port, log_config=None))
    try:
        await server.serve()
    except asyncio.CancelledError:
        server.should_exit = True
        raise
