"""`served`: an app on this loop, on a port of its own, handed over once it answers."""

from __future__ import annotations

import socket

import pytest
from litestar import Litestar, get

from mediaplane.devstack.pytest_plugin import served
from mediaplane.observability.serve import ServeError

calls: list[str] = []


@get("/health/ready", sync_to_thread=False)
def ready() -> str:
    calls.append("ready")
    return "ok"


async def test_the_block_gets_a_client_of_the_app_once_it_is_ready() -> None:
    calls.clear()
    async with served(Litestar([ready], logging_config=None)) as http:
        assert calls == ["ready"]
        assert (await http.get("/health/ready")).text == "ok"
        port = http.base_url.port
    # Stopped with the block: nothing listens there any more.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1)


async def test_an_app_that_cannot_start_fails_at_once() -> None:
    def refuse() -> None:
        raise RuntimeError("no database")

    with pytest.raises(ServeError):
        async with served(Litestar([ready], on_startup=[refuse], logging_config=None)):
            pytest.fail("the block ran although the app never started")
