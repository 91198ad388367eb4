"""An embedded server that cannot start fails alone, as an exception its caller can read."""

from __future__ import annotations

import asyncio
import socket

import pytest
from litestar import Litestar

from mediaplane.observability.serve import ServeError, serve


async def test_a_port_in_use_is_an_error_of_that_server_not_an_exit_of_the_loop() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        bystander = asyncio.create_task(asyncio.sleep(0.2, result="still running"))
        with pytest.raises(ServeError, match=f"127.0.0.1:{port}"):
            await serve(Litestar(logging_config=None), host="127.0.0.1", port=port)
        assert await bystander == "still running"


async def test_an_app_whose_startup_fails_is_an_error_too() -> None:
    def refuse() -> None:
        raise RuntimeError("no database")

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ServeError):
        await serve(Litestar(on_startup=[refuse], logging_config=None), host="127.0.0.1", port=port)
