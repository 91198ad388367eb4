"""`python -m mediaplane.analytics` (or `analytics`): one process role or operator command each.

api        beacon ingest and the reports (HTTP)
worker     file facts from MEDIA, beacon batches into rollups from BEACONS, the
           retention prune every MEDIAPLANE_ANALYTICS_PRUNE_INTERVAL s (+ ops HTTP)
rebuild    recompute views and rollups from the beacon stream (rollup worker stopped)
prune      the retention prune once: per-view rows past 90 days (day rollups stay)
migrate    apply the analytics migrations
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from contextlib import AbstractAsyncContextManager
from dataclasses import asdict
from datetime import UTC, datetime

import msgspec

from mediaplane.analytics.api.app import create_app
from mediaplane.analytics.app.bootstrap import apply_migrations, open_resources
from mediaplane.analytics.app.retention import prune
from mediaplane.analytics.app.rollup import rebuild
from mediaplane.analytics.config import SERVICE, AnalyticsSettings
from mediaplane.analytics.worker.consumers import register_files, register_rollup
from mediaplane.bus import Bus
from mediaplane.eventlog.database import Pool
from mediaplane.observability import HealthChecks
from mediaplane.servicekit import checks, periodic
from mediaplane.servicekit.runtime import api, migrate, once, run_roles, serve, serve_worker


def _print(value: object) -> None:
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(value)).decode() + "\n")


async def _worker(
    settings: AnalyticsSettings, args: argparse.Namespace, stop: asyncio.Event
) -> None:
    async with open_resources(settings, pool_size=4) as resources:
        files = Bus(settings.bus, resources.registry, producer=f"{SERVICE}-worker")
        register_files(files, resources.pool)
        beacons = Bus(settings.beacons, resources.beacon_registry, producer=f"{SERVICE}-worker")
        register_rollup(
            beacons,
            resources.pool,
            resources.beacon_registry,
            batch_size=settings.rollup_batch_size,
        )
        health = HealthChecks(
            {"postgres": checks.postgres(resources.pool), "nats": checks.nats(settings.bus)}
        )
        async with (
            serve_worker(
                files,
                name=f"{SERVICE}-worker",
                health=health,
                host=settings.http_host,
                port=settings.ops_port,
            ),
            beacons.running(),
            _pruning(resources.pool, settings.prune_interval),
        ):
            await stop.wait()


def _pruning(pool: Pool, interval: float) -> AbstractAsyncContextManager[None]:
    """The retention prune every `interval` seconds while the block runs."""

    async def job() -> int:
        pruned = await prune(pool, datetime.now(UTC))
        return pruned.removed_views + pruned.forgotten_batches

    return periodic.running("prune", interval, job)


async def _rebuild(settings: AnalyticsSettings, args: argparse.Namespace) -> None:
    async with open_resources(settings, pool_size=2) as resources:
        report = await rebuild(resources.pool, resources.beacon_registry, settings.beacons)
    _print(asdict(report))


async def _prune(settings: AnalyticsSettings, args: argparse.Namespace) -> None:
    async with open_resources(settings, pool_size=1) as resources:
        pruned = await prune(resources.pool, datetime.now(UTC))
    _print(asdict(pruned))


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="analytics", description=__doc__.splitlines()[0])
    roles = root.add_subparsers(dest="role", required=True)
    roles.add_parser("api", help="beacon ingest and reports")
    roles.add_parser("worker", help="file facts and the beacon rollup")
    roles.add_parser("rebuild", help="recompute rollups from the beacon stream")
    roles.add_parser("prune", help="drop per-view rows past their retention")
    roles.add_parser("migrate", help="apply migrations")
    return root


ROLES = {
    "api": api(create_app),
    "worker": serve(_worker),
    "rebuild": once(_rebuild),
    "prune": once(_prune),
    "migrate": migrate(apply_migrations),
}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return run_roles(
        SERVICE,
        ROLES,
        args,
        settings=AnalyticsSettings.from_env,
        stdout_roles={"rebuild", "prune"},
    )


if __name__ == "__main__":
    raise SystemExit(main())
