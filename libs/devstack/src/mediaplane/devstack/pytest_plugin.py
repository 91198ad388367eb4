"""Pytest fixtures that give each test its own database, bucket and stream names.

The servers are shared (started once by `ensure_stack`), the names are not:
every test run gets a random run id, and every fixture instance a counter, so
parallel runs and leftovers of crashed runs never interfere.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import nats
import psycopg
import pytest
from litestar import Litestar
from psycopg import sql

from mediaplane.bus import BusSettings
from mediaplane.bus.permissions import ADMIN, new_password
from mediaplane.devstack import natsauth
from mediaplane.devstack.one_worker import make_scheduler
from mediaplane.devstack.ports import free_port_block
from mediaplane.devstack.servers import (
    Clamd,
    StackError,
    all_servers,
    binary,
    nats_auth_argv,
    servers,
)

# Tests import these from here.
from mediaplane.devstack.servers import bucket_admin as bucket_admin
from mediaplane.devstack.settings import StackSettings, database_url
from mediaplane.observability.serve import serve

_RUN_ID = uuid.uuid4().hex[:8]
_counter = itertools.count(1)


def _next_name(prefix: str) -> str:
    return f"{prefix}{_RUN_ID}{next(_counter)}"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "one_worker_paths",
        "test paths whose tests one `pytest -n` worker runs, in order (they share a session "
        "fixture)",
        type="linelist",
        default=[],
    )


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist's
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """For `pytest -n N` (xdist's `load`): test by test, but `one_worker_paths` whole."""
    paths = config.getini("one_worker_paths")
    if config.getvalue("dist") != "load" or not paths:
        return None
    return make_scheduler(config, log, paths)


@pytest.fixture(scope="session")
def stack() -> StackSettings:
    """The running local stack (started here when not up yet)."""
    settings = StackSettings.from_env()
    for server in servers(settings):
        server.start()
    for server in all_servers(settings):
        if not server.ready():
            raise StackError(f"{server.name} is not reachable")
    return settings


@pytest.fixture
def pg_url(stack: StackSettings) -> Iterator[str]:
    """URL of a fresh, empty database dropped after the test."""
    name = _next_name("mp_")
    with psycopg.connect(stack.pg_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield database_url(stack.pg_url, name)
    with psycopg.connect(stack.pg_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture
def s3_bucket(stack: StackSettings) -> Iterator[str]:
    """Name of a fresh bucket, emptied and removed after the test."""
    admin = bucket_admin(stack)
    name = _next_name("mp-")
    admin.ensure(name)
    yield name
    admin.empty_and_remove(name)


@dataclass(frozen=True)
class NatsNamespace:
    """Unique names for one test: streams `<stream_prefix>_*`, subjects `<subject_prefix>.*`.

    `url` carries the admin identity (tests may do anything; the services'
    own identities are for production subject names, see `PrivateNats`).
    """

    url: str
    stream_prefix: str
    subject_prefix: str


@pytest.fixture
async def nats_namespace(stack: StackSettings) -> AsyncIterator[NatsNamespace]:
    """Stream and subject names of one test; its streams are deleted afterwards."""
    token = _next_name("T")
    url = natsauth.admin_url(stack)
    yield NatsNamespace(url=url, stream_prefix=token, subject_prefix=token.lower())
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        for name in await js.streams_info():
            if name.config.name and name.config.name.startswith(token):
                await js.delete_stream(name.config.name)
    finally:
        await nc.close()


class PrivateNats:
    """A NATS server of one test's own, which the test may stop and restart.

    For failure tests (NATS down for 10 s): stopping the shared server would
    break every other test running at the same time. It runs with the same
    identities and permissions as the local stack (passwords of its own):
    `url` is the admin's, `bus_settings(name)` a service's on the production
    stream and subject names, which its permissions are written for.
    """

    def __init__(self, store_dir: Path) -> None:
        self.store_dir = store_dir
        self.port = free_ports()
        self.passwords = {name: new_password() for name in natsauth.IDENTITIES}
        self.anonymous_url = f"nats://127.0.0.1:{self.port}"
        self.url = natsauth.url_with_identity(self.anonymous_url, ADMIN, self.passwords[ADMIN])
        self._proc: subprocess.Popen[bytes] | None = None

    def log(self) -> str:
        """What the server logged (e.g. permission violations)."""
        path = self.store_dir / "nats.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def bus_settings(self, name: str) -> BusSettings:
        """How service `name` (or the admin) connects: production names, its own identity."""
        return BusSettings(url=self.anonymous_url, user=name, password=self.passwords[name])

    def start(self) -> None:
        if self._proc is not None:
            return
        self.store_dir.mkdir(parents=True, exist_ok=True)
        log = self.store_dir / "nats.log"
        with log.open("ab") as out:
            self._proc = subprocess.Popen(
                [
                    binary("nats-server"),
                    *nats_auth_argv(self.store_dir / "auth.conf"),
                    "-js",
                    "-sd",
                    str(self.store_dir),
                    "-a",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **natsauth.server_environment(self.passwords)},
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise StackError(
            f"private nats-server on {self.port} did not start:\n{log.read_text()[-2000:]}"
        )

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        self._proc.wait(timeout=10)
        self._proc = None


def free_ports(count: int = 1) -> int:
    """A port P with P .. P + count - 1 all free (a worker on P, its relay on P + 1)."""
    return free_port_block(count)


@pytest.fixture
def private_nats(tmp_path: Path) -> Iterator[PrivateNats]:
    """A running NATS JetStream server for this test alone (stop/start it at will)."""
    server = PrivateNats(tmp_path / "nats")
    server.start()
    yield server
    server.stop()


# A private clamd refuses streams past 1 MiB: tests of clamd's limit stay small.
PRIVATE_CLAMD_STREAM_MAX = 1024 * 1024


@pytest.fixture
def private_clamd(stack: StackSettings, tmp_path: Path) -> Iterator[Clamd]:
    """A clamd for this test alone (stop/start it at will; streams up to 1 MiB), with
    the repo's signatures, like the stack's."""
    server = Clamd(
        stack, home=tmp_path / "clamd", port=free_ports(), stream_max=PRIVATE_CLAMD_STREAM_MAX
    )
    server.start()
    yield server
    server.stop()


async def advisory_lock_waiters(conn: psycopg.AsyncConnection[Any]) -> int:
    """How many backends wait for an advisory lock in `conn`'s database. Only there:
    under `pytest -n` other tests' backends wait for locks of their own beside it
    (advisory locks are per database, so theirs never meet this test's)."""
    cursor = await conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def wait_until_ok(url: str, *, within: float = 90.0) -> httpx.Response:
    """GET `url` until it answers 200 (a process starting up); fail after `within` s.

    Generous on purpose: a cold interpreter imports a lot, and CI machines are busy.
    """
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=5) as client:
        while time.monotonic() < deadline:
            try:
                response = await client.get(url)
                if response.status_code == 200:
                    return response
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} did not answer 200 within {within:g}s")


@contextlib.asynccontextmanager
async def served(
    app: Litestar, *, ready: str = "/health/ready"
) -> AsyncIterator[httpx.AsyncClient]:
    """`app` served on a free loopback port while the block runs: a client of it,
    once `ready` answers 200. An app that cannot start fails the test at once with
    its `ServeError`, instead of at the end of the readiness wait.

    Served by uvicorn on this loop, not by Litestar's test client: that runs the
    app in a thread of its own and blocks this loop while it waits, so nothing
    else on the loop (an identity answering the app's JWKS fetches, events being
    ingested) could run meanwhile.
    """
    port = free_ports()
    url = f"http://127.0.0.1:{port}"
    server = asyncio.create_task(serve(app, host="127.0.0.1", port=port), name=f"served-{port}")
    waiting = asyncio.create_task(wait_until_ok(url + ready))
    try:
        await asyncio.wait({server, waiting}, return_when=asyncio.FIRST_COMPLETED)
        if server.done():
            server.result()  # its ServeError
            raise AssertionError(f"{url} stopped before {ready} answered")
        waiting.result()
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            yield http
    finally:
        for task in (waiting, server):
            task.cancel()
        await asyncio.gather(waiting, server, return_exceptions=True)
