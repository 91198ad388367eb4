"""`python -m mediaplane.thumbnailer worker|relay|migrate`: one process role each."""

from __future__ import annotations

import argparse
import asyncio
import os

from mediaplane.bus import Bus
from mediaplane.observability import configure_logging, configure_tracing
from mediaplane.observability.http import ops_app
from mediaplane.observability.serve import ops_server, run_until_signalled
from mediaplane.servicekit.roles import migrations_line, serve_relay
from mediaplane.thumbnailer.app.bootstrap import apply_migrations, thumbnailer
from mediaplane.thumbnailer.config import SERVICE, ThumbnailerSettings
from mediaplane.thumbnailer.worker.consumer import register_thumbnailer


async def run_worker(settings: ThumbnailerSettings, stop: asyncio.Event) -> None:
    async with thumbnailer(settings) as resources:
        bus = Bus(settings.bus, resources.registry, producer=SERVICE)
        register_thumbnailer(bus, resources.service)
        async with (
            ops_server(
                ops_app(f"{SERVICE}-worker", resources.health),
                host=settings.http_host,
                port=settings.ops_port,
            ),
            bus.running(),
        ):
            await stop.wait()


async def run_relay(settings: ThumbnailerSettings, stop: asyncio.Event) -> None:
    async with thumbnailer(settings, pool_size=2, media_tools=False) as resources:
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mediaplane.thumbnailer")
    parser.add_argument("role", choices=["worker", "relay", "migrate"])
    args = parser.parse_args(argv)
    configure_logging(
        f"{SERVICE}-{args.role}", level=os.environ.get("MEDIAPLANE_LOG_LEVEL", "INFO")
    )
    configure_tracing(SERVICE)
    settings = ThumbnailerSettings.from_env()

    if args.role == "migrate":
        applied = asyncio.run(apply_migrations(settings))
        print(migrations_line(applied))
        return 0
    runner = run_worker if args.role == "worker" else run_relay
    run_until_signalled(lambda stop: runner(settings, stop))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
