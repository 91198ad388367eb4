"""`python -m mediaplane.eventlog migrate|relay`: the event log's command line for services."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence

import prometheus_client
import structlog

from mediaplane.eventlog.metrics import RelayMetrics
from mediaplane.eventlog.migrator import EVENTLOG_MIGRATIONS, MigrationSource, migrate
from mediaplane.eventlog.relay import OutboxRelay

_log = structlog.get_logger("mediaplane.eventlog")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mediaplane.eventlog")
    commands = parser.add_subparsers(dest="command", required=True)

    migrate_cmd = commands.add_parser("migrate", help="apply the schema migrations (idempotent)")
    migrate_cmd.add_argument("--database-url", required=True)
    migrate_cmd.add_argument(
        "--package",
        action="append",
        default=[],
        metavar="NAMESPACE=PACKAGE",
        help="also apply the SQL files of this package, after the event log's (repeatable)",
    )
    migrate_cmd.add_argument(
        "--directory",
        action="append",
        default=[],
        metavar="NAMESPACE=PATH",
        help="also apply the SQL files of this folder (repeatable)",
    )

    relay_cmd = commands.add_parser("relay", help="publish the outbox to JetStream until stopped")
    relay_cmd.add_argument("--database-url", required=True)
    relay_cmd.add_argument("--nats-url", required=True)
    relay_cmd.add_argument("--batch-size", type=int, default=500)
    relay_cmd.add_argument("--lanes", type=int, default=4, help="concurrent claim/publish loops")
    relay_cmd.add_argument("--poll-interval", type=float, default=1.0)
    relay_cmd.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on this port")
    relay_cmd.add_argument("--name", default="eventlog-relay")
    return parser


def _split(option: str) -> tuple[str, str]:
    namespace, sep, target = option.partition("=")
    if not sep or not namespace or not target:
        raise SystemExit(f"expected NAMESPACE=TARGET, got {option!r}")
    return namespace, target


async def _migrate(args: argparse.Namespace) -> None:
    sources = [EVENTLOG_MIGRATIONS]
    sources += [MigrationSource.from_package(*_split(option)) for option in args.package]
    sources += [MigrationSource.from_directory(*_split(option)) for option in args.directory]
    applied = await migrate(args.database_url, sources)
    _log.info("migrations done", applied=applied)


async def _relay(args: argparse.Namespace) -> None:
    metrics = RelayMetrics()
    if args.metrics_port is not None:
        prometheus_client.start_http_server(args.metrics_port, registry=metrics.registry)
    relay = OutboxRelay(
        args.database_url,
        args.nats_url,
        batch_size=args.batch_size,
        lanes=args.lanes,
        poll_interval=args.poll_interval,
        metrics=metrics,
        name=args.name,
    )
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    async with relay:
        await stopping.wait()
    _log.info("relay stopped", relay=args.name)


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    command = _migrate if args.command == "migrate" else _relay
    asyncio.run(command(args))


if __name__ == "__main__":
    main(sys.argv[1:])
