"""`python -m mediaplane.janitor worker|relay|sweep|migrate`: one process role each."""

from __future__ import annotations

import argparse
import asyncio
from functools import partial

import msgspec
from prometheus_client import REGISTRY

from mediaplane.bus import Bus
from mediaplane.janitor.adapters.metrics import JanitorMetrics
from mediaplane.janitor.app.bootstrap import apply_migrations, open_resources
from mediaplane.janitor.config import SERVICE, JanitorSettings
from mediaplane.janitor.domain.actions import Action
from mediaplane.janitor.worker.projection import register_projection
from mediaplane.janitor.worker.sweeper import run_sweeps
from mediaplane.servicekit.runtime import (
    migrate,
    once,
    relay,
    role_parser,
    run_roles,
    serve,
    serve_worker,
)


async def run_worker(
    settings: JanitorSettings, args: argparse.Namespace, stop: asyncio.Event
) -> None:
    async with open_resources(settings, metrics=JanitorMetrics(REGISTRY)) as resources:
        bus = Bus(settings.bus, resources.registry, producer=SERVICE)
        purge_wanted = asyncio.Event()
        register_projection(bus, resources.service, purge_wanted)
        async with serve_worker(
            bus,
            name=f"{SERVICE}-worker",
            health=resources.health,
            host=settings.http_host,
            port=settings.ops_port,
        ):
            sweeps = asyncio.create_task(run_sweeps(resources.service, purge_wanted))
            await stop.wait()
            sweeps.cancel()
            await asyncio.gather(sweeps, return_exceptions=True)


def action_line(action: Action) -> str:
    """One JSON object per action, for operators and scripts."""
    fields = msgspec.to_builtins(action)
    return msgspec.json.encode({**fields, "bytes_freed": action.bytes_freed}).decode()


async def run_sweep(settings: JanitorSettings, args: argparse.Namespace) -> None:
    async with open_resources(settings, pool_size=2) as resources:
        for action in await resources.service.sweep(dry_run=args.dry_run):
            print(action_line(action), flush=True)


ROLES = {
    "worker": serve(run_worker),
    "relay": relay(SERVICE, partial(open_resources, pool_size=2)),
    "sweep": once(run_sweep),
    "migrate": migrate(apply_migrations),
}


def main(argv: list[str] | None = None) -> int:
    parser = role_parser("mediaplane.janitor", ROLES)
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="sweep: print what would be done, change nothing",
    )
    args = parser.parse_args(argv)
    if args.dry_run and args.role != "sweep":
        parser.error("--dry-run applies to the sweep role only")
    # stdout of `sweep` is its JSON report; logs go to stderr there.
    return run_roles(
        SERVICE, ROLES, args, settings=JanitorSettings.from_env, stdout_roles={"sweep"}
    )


if __name__ == "__main__":
    raise SystemExit(main())
