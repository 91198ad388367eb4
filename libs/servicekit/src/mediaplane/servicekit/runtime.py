"""One service runtime: the role runner of every `python -m mediaplane.<service> <role>`.

A service's `__main__` names its roles and hands them to `run_roles`:

```python
ROLES = {
    "api": api(create_app),
    "worker": serve(run_worker),
    "relay": relay(open_resources),
    "migrate": migrate(apply_migrations),
}

def main(argv: list[str] | None = None) -> int:
    args = role_parser("mediaplane.thumbnailer", ROLES).parse_args(argv)
    return run_roles(SERVICE, ROLES, args, settings=ThumbnailerSettings.from_env)
```

`run_roles` sets up logs and tracing, reads the settings (a `ValueError`
there is "refusing to start", exit status 2), then runs the role. A role is
one of four shapes: `api` (uvicorn, which stops on SIGINT/SIGTERM itself),
`serve` (runs until SIGINT/SIGTERM sets its `stop` event), `once` (runs and
exits), `migrate`. `relay` and `serve_worker` are the two long-running roles
every producing service has, written once here.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Coroutine, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Any, Protocol, TypeVar

import uvicorn
from litestar import Litestar
from prometheus_client import REGISTRY

from mediaplane.bus import Bus, BusSettings
from mediaplane.eventlog.metrics import RelayMetrics
from mediaplane.eventlog.relay import OutboxRelay
from mediaplane.observability import HealthChecks, configure_logging, configure_tracing
from mediaplane.observability.http import ops_app
from mediaplane.observability.serve import ops_server, run_until_signalled

S = TypeVar("S")

# A role, ready to run: the settings and the parsed command line in, an exit status out.
Role = Callable[[S, argparse.Namespace], int]


class ServiceSettings(Protocol):
    """What the runtime reads from every service's settings."""

    @property
    def database_url(self) -> str: ...

    @property
    def bus(self) -> BusSettings: ...

    @property
    def http_host(self) -> str: ...

    @property
    def ops_port(self) -> int: ...


class ServiceResources(Protocol):
    """The composition root's shape every service shares (`app/bootstrap.py`'s `Resources`)."""

    @property
    def health(self) -> HealthChecks: ...


class HttpSettings(Protocol):
    @property
    def http_host(self) -> str: ...

    @property
    def http_port(self) -> int: ...


H = TypeVar("H", bound=HttpSettings)
P = TypeVar("P", bound=ServiceSettings)
R = TypeVar("R", bound=ServiceResources)


def role_parser(prog: str, roles: Collection[str]) -> argparse.ArgumentParser:
    """A parser whose one positional argument is the role (add a role's options to it)."""
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("role", choices=list(roles))
    return parser


def run_roles(
    service: str,
    roles: Mapping[str, Role[S]],
    args: argparse.Namespace,
    *,
    settings: Callable[[], S],
    stdout_roles: Collection[str] = (),
) -> int:
    """Run role `args.role` of `service`; its exit status.

    Logs are JSON lines tagged `<service>-<role>`, on stdout, or on stderr for
    `stdout_roles` (their stdout is their output, e.g. a report).
    """
    role = str(args.role)
    configure_logging(
        f"{service}-{role}",
        level=os.environ.get("MEDIAPLANE_LOG_LEVEL", "INFO"),
        stream=sys.stderr if role in stdout_roles else None,
    )
    configure_tracing(service, role=role)
    try:
        loaded = settings()
    except ValueError as error:
        print(f"{service}: refusing to start: {error}", file=sys.stderr)
        return 2
    return roles[role](loaded, args)


def api(create_app: Callable[[H], Litestar]) -> Role[H]:
    """The HTTP API on `settings.http_host:http_port` until SIGINT/SIGTERM."""

    def run(settings: H, args: argparse.Namespace) -> int:
        uvicorn.run(
            create_app(settings), host=settings.http_host, port=settings.http_port, log_config=None
        )
        return 0

    return run


def serve(work: Callable[[S, argparse.Namespace, asyncio.Event], Awaitable[None]]) -> Role[S]:
    """`work(settings, args, stop)` until it returns; SIGINT/SIGTERM set `stop`."""

    def run(settings: S, args: argparse.Namespace) -> int:
        run_until_signalled(lambda stop: work(settings, args, stop))
        return 0

    return run


def once(work: Callable[[S, argparse.Namespace], Coroutine[Any, Any, None]]) -> Role[S]:
    """`work(settings, args)` once (an operator command)."""

    def run(settings: S, args: argparse.Namespace) -> int:
        asyncio.run(work(settings, args))
        return 0

    return run


def migrations_line(applied: list[str]) -> str:
    """What `python -m mediaplane.<service> migrate` prints."""
    return f"applied {len(applied)} migrations: {', '.join(applied) or 'none'}"


def migrate(apply_migrations: Callable[[S], Coroutine[Any, Any, list[str]]]) -> Role[S]:
    """Apply the service's migrations and say which ran."""

    def run(settings: S, args: argparse.Namespace) -> int:
        print(migrations_line(asyncio.run(apply_migrations(settings))))
        return 0

    return run


def relay(
    service: str,
    open_resources: Callable[[P], AbstractAsyncContextManager[R]],
    *,
    beside: Callable[[R], AbstractAsyncContextManager[None]] | None = None,
) -> Role[P]:
    """The outbox relay, with /health and /metrics on `settings.ops_port + 1`.

    `open_resources(settings)` must give the relay's resources (a small pool,
    readiness without media tools: a relay renders nothing). The relay's
    metrics (outbox lag, published) go to the default registry, which the
    ops app's /metrics serves. `beside(resources)`: other background work of
    the service that runs as long as the relay (identity's mail sender), one
    process fewer to supervise.
    """

    async def work(settings: P, args: argparse.Namespace, stop: asyncio.Event) -> None:
        async with (
            open_resources(settings) as resources,
            beside(resources) if beside is not None else nullcontext(),
            ops_server(
                ops_app(f"{service}-relay", resources.health),
                host=settings.http_host,
                port=settings.ops_port + 1,
            ),
            OutboxRelay(
                settings.database_url,
                settings.bus.url,
                nats_options=settings.bus.connect_options(),
                name=f"{service}-relay",
                metrics=RelayMetrics(REGISTRY),
            ),
        ):
            await stop.wait()

    return serve(work)


@asynccontextmanager
async def serve_worker(
    bus: Bus, *, name: str, health: HealthChecks, host: str, port: int
) -> AsyncIterator[Bus]:
    """A worker's bus consuming, with /health and /metrics on `port`, while the block runs."""
    async with ops_server(ops_app(name, health), host=host, port=port), bus.running():
        yield bus
