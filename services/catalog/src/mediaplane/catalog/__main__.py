"""`python -m mediaplane.catalog` (or `catalog`): one process role or operator command each.

api                                  the query API (HTTP)
ingest                               the durable consumer of every event (+ ops HTTP)
ingest --from-seq N | --since TIME   re-read JetStream into the ledger, then exit
projections rebuild [NAME ...]       rebuild from the ledger, swap in atomically
projections checksum                 rows and digest of every projection
ledger stats                         what the ledger holds
migrate                              apply the catalog's migrations
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
from datetime import datetime

import msgspec
import psycopg

from mediaplane.bus import Bus
from mediaplane.catalog.adapters.projections import PROJECTIONS
from mediaplane.catalog.adapters.rebuild import rebuild
from mediaplane.catalog.adapters.stats import ledger_stats, projection_checksums
from mediaplane.catalog.api.app import create_app
from mediaplane.catalog.app.bootstrap import apply_migrations, open_resources
from mediaplane.catalog.config import SERVICE, CatalogSettings
from mediaplane.catalog.ingest.consumer import register_ingest
from mediaplane.catalog.ingest.replay import replay
from mediaplane.observability import HealthChecks
from mediaplane.servicekit import checks
from mediaplane.servicekit.runtime import api, migrate, once, run_roles, serve, serve_worker


def _print(value: object) -> None:
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(value)).decode() + "\n")


async def _ingest_forever(
    settings: CatalogSettings, args: argparse.Namespace, stop: asyncio.Event
) -> None:
    async with open_resources(settings, pool_size=4) as resources:
        bus = Bus(settings.bus, resources.registry, producer=f"{SERVICE}-ingest")
        register_ingest(bus, resources.pool, settings.ingest)
        health = HealthChecks(
            {"postgres": checks.postgres(resources.pool), "nats": checks.nats(settings.bus)}
        )
        # Everything built so far lives as long as the process: out of the
        # collector's sight, full collections no longer walk it (~100k
        # objects of imports). Each batch's messages live long enough to be
        # promoted, so full collections are frequent: in an instrumented copy
        # of the ingest bench they were ~20% of the consumer's CPU.
        gc.freeze()
        async with serve_worker(
            bus,
            name=f"{SERVICE}-ingest",
            health=health,
            host=settings.http_host,
            port=settings.ops_port,
        ):
            await stop.wait()


async def _replay(settings: CatalogSettings, args: argparse.Namespace) -> None:
    async with open_resources(settings, pool_size=2) as resources:
        report = await replay(
            pool=resources.pool,
            registry=resources.registry,
            bus=settings.bus,
            originals_bucket=settings.ingest.originals_bucket,
            from_seq=args.from_seq,
            since=args.since,
        )
    _print(report.__dict__)


def _replaying(args: argparse.Namespace) -> bool:
    return args.role == "ingest" and (args.from_seq is not None or args.since is not None)


def _ingest(settings: CatalogSettings, args: argparse.Namespace) -> int:
    """The consumer until signalled, or with a start point a replay that exits."""
    if _replaying(args):
        return once(_replay)(settings, args)
    return serve(_ingest_forever)(settings, args)


async def _ledger_stats(settings: CatalogSettings, args: argparse.Namespace) -> None:
    async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
        _print(await ledger_stats(conn))


async def _projections(settings: CatalogSettings, args: argparse.Namespace) -> None:
    if args.action == "rebuild":
        reports = await rebuild(settings.database_url, args.names)
        _print([r.__dict__ for r in reports])
        return
    async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
        _print(await projection_checksums(conn))


def _since(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        raise argparse.ArgumentTypeError("give a time zone, e.g. 2026-01-31T12:00:00+00:00")
    return at


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="catalog", description=__doc__.splitlines()[0])
    roles = root.add_subparsers(dest="role", required=True)
    roles.add_parser("api", help="the query API")
    ingest = roles.add_parser("ingest", help="consume events (or replay a range and exit)")
    start = ingest.add_mutually_exclusive_group()
    start.add_argument("--from-seq", type=int, help="replay from this stream sequence")
    start.add_argument("--since", type=_since, help="replay messages stored since (ISO 8601)")
    projections = roles.add_parser("projections", help="rebuild or check projections")
    actions = projections.add_subparsers(dest="action", required=True)
    rebuild_cmd = actions.add_parser("rebuild", help="rebuild from the ledger, swap atomically")
    rebuild_cmd.add_argument("names", nargs="*", choices=[[], *PROJECTIONS], metavar="NAME")
    actions.add_parser("checksum", help="rows and digest of every projection")
    ledger = roles.add_parser("ledger", help="inspect the ledger")
    ledger.add_subparsers(dest="action", required=True).add_parser("stats")
    roles.add_parser("migrate", help="apply migrations")
    return root


ROLES = {
    "api": api(create_app),
    "ingest": _ingest,
    "projections": once(_projections),
    "ledger": once(_ledger_stats),
    "migrate": migrate(apply_migrations),
}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # The operator commands' stdout is their JSON report: their logs go to stderr.
    reports = {"projections", "ledger"}
    if _replaying(args):
        reports.add("ingest")
    return run_roles(SERVICE, ROLES, args, settings=CatalogSettings.from_env, stdout_roles=reports)


if __name__ == "__main__":
    raise SystemExit(main())
