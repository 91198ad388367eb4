"""`python -m mediaplane.janitor worker|relay|sweep|migrate`: one process role each."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import msgspec
from prometheus_client import REGISTRY

from mediaplane.bus import Bus
from mediaplane.janitor.adapters.metrics import JanitorMetrics
from mediaplane.janitor.app.bootstrap import apply_migrations, janitor
from mediaplane.janitor.config import SERVICE, JanitorSettings
from mediaplane.janitor.domain.actions import Action
from mediaplane.janitor.worker.projection import register_projection
from mediaplane.janitor.worker.sweeper import run_sweeps
from mediaplane.observability import configure_logging, configure_tracing
from mediaplane.observability.http import ops_app
from mediaplane.observability.serve import ops_server, run_until_signalled
from mediaplane.servicekit.roles import migrations_line, serve_relay


async def run_worker(settings: JanitorSettings, stop: asyncio.Event) -> None:
    async with janitor(settings, metrics=JanitorMetrics(REGISTRY)) as resources:
        bus = Bus(settings.bus, resources.registry, producer=SERVICE)
        purge_wanted = asyncio.Event()
        register_projection(bus, resources.service, purge_wanted)
        async with (
            ops_server(
                ops_app(f"{SERVICE}-worker", resources.health),
                host=settings.http_host,
                port=settings.ops_port,
            ),
            bus.running(),
        ):
            sweeps = asyncio.create_task(run_sweeps(resources.service, purge_wanted))
            await stop.wait()
            sweeps.cancel()
            await asyncio.gather(sweeps, return_exceptions=True)


async def run_relay(settings: JanitorSettings, stop: asyncio.Event) -> None:
    async with janitor(settings, pool_size=2) as resources:
        await serve_relay(
            service=SERVICE,
            database_url=settings.database_url,
            nats_url=settings.bus.url,
            nats_options=settings.bus.connect_options(),
            health=resources.health,
            host=settings.http_host,
            port=settings.ops_port + 1,
            stop=stop,
        )


def action_line(action: Action) -> str:
    """One JSON object per action, for operators and scripts."""
    fields = msgspec.to_builtins(action)
    return msgspec.json.encode({**fields, "bytes_freed": action.bytes_freed}).decode()


async def run_sweep(settings: JanitorSettings, *, dry_run: bool) -> None:
    async with janitor(settings, pool_size=2) as resources:
        for action in await resources.service.sweep(dry_run=dry_run):
            print(action_line(action), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mediaplane.janitor")
    parser.add_argument("role", choices=["worker", "relay", "sweep", "migrate"])
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="sweep: print what would be done, change nothing",
    )
    args = parser.parse_args(argv)
    if args.dry_run and args.role != "sweep":
        parser.error("--dry-run applies to the sweep role only")
    # stdout of `sweep` is its JSON report; logs go to stderr there.
    configure_logging(
        f"{SERVICE}-{args.role}",
        level=os.environ.get("MEDIAPLANE_LOG_LEVEL", "INFO"),
        stream=sys.stderr if args.role == "sweep" else None,
    )
    configure_tracing(SERVICE)
    settings = JanitorSettings.from_env()

    if args.role == "migrate":
        applied = asyncio.run(apply_migrations(settings))
        print(migrations_line(applied))
        return 0
    if args.role == "sweep":
        asyncio.run(run_sweep(settings, dry_run=args.dry_run))
        return 0
    runner = run_worker if args.role == "worker" else run_relay
    run_until_signalled(lambda stop: runner(settings, stop))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
