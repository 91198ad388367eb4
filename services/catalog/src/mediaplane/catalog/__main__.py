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
import os
import signal
import sys
from datetime import datetime

import msgspec
import psycopg
import uvicorn

from mediaplane.catalog.adapters.projections import PROJECTIONS
from mediaplane.catalog.adapters.rebuild import rebuild
from mediaplane.catalog.adapters.stats import ledger_stats, projection_checksums
from mediaplane.catalog.api.app import create_app
from mediaplane.catalog.app.bootstrap import apply_migrations, catalog, dependency_checks
from mediaplane.catalog.config import SERVICE, CatalogSettings
from mediaplane.catalog.ingest.consumer import run_ingest
from mediaplane.catalog.ingest.replay import replay
from mediaplane.observability import HealthChecks, configure_logging, configure_tracing
from mediaplane.observability.http import ops_app
from mediaplane.observability.serve import ops_server
from mediaplane.servicekit.roles import migrations_line


def _print(value: object) -> None:
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(value)).decode() + "\n")


async def _ingest_forever(settings: CatalogSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with catalog(settings, pool_size=4) as resources:
        checks = HealthChecks(dependency_checks(settings, resources.pool, with_nats=True))
        async with ops_server(
            ops_app(f"{SERVICE}-ingest", checks),
            host=settings.http_host,
            port=settings.ops_port,
        ):
            # Everything built so far lives as long as the process: out of the
            # collector's sight, full collections no longer walk it (~100k
            # objects of imports). Each batch's messages live long enough to be
            # promoted, so full collections are frequent: in an instrumented copy
            # of the ingest bench they were ~20% of the consumer's CPU.
            gc.freeze()
            await run_ingest(
                pool=resources.pool,
                registry=resources.registry,
                bus=settings.bus,
                settings=settings.ingest,
                stop=stop,
            )


async def _replay(settings: CatalogSettings, from_seq: int | None, since: datetime | None) -> None:
    async with catalog(settings, pool_size=2) as resources:
        report = await replay(
            pool=resources.pool,
            registry=resources.registry,
            bus=settings.bus,
            originals_bucket=settings.ingest.originals_bucket,
            from_seq=from_seq,
            since=since,
        )
    _print(report.__dict__)


async def _ledger_stats(settings: CatalogSettings) -> None:
    async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
        _print(await ledger_stats(conn))


async def _checksums(settings: CatalogSettings) -> None:
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


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    configure_logging(
        f"{SERVICE}-{args.role}", level=os.environ.get("MEDIAPLANE_LOG_LEVEL", "INFO")
    )
    configure_tracing(SERVICE)
    settings = CatalogSettings.from_env()

    if args.role == "migrate":
        applied = asyncio.run(apply_migrations(settings))
        print(migrations_line(applied))
    elif args.role == "api":
        uvicorn.run(
            create_app(settings), host=settings.http_host, port=settings.http_port, log_config=None
        )
    elif args.role == "ingest" and (args.from_seq is not None or args.since is not None):
        asyncio.run(_replay(settings, args.from_seq, args.since))
    elif args.role == "ingest":
        asyncio.run(_ingest_forever(settings))
    elif args.role == "projections" and args.action == "rebuild":
        reports = asyncio.run(rebuild(settings.database_url, args.names))
        _print([r.__dict__ for r in reports])
    elif args.role == "projections":
        asyncio.run(_checksums(settings))
    else:
        asyncio.run(_ledger_stats(settings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
