"""`python -m mediaplane.upload_gateway api|verifier|relay|migrate`: one process role each."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import uvicorn

from mediaplane.bus import Bus
from mediaplane.observability import configure_logging, configure_tracing
from mediaplane.observability.http import ops_app
from mediaplane.observability.serve import ops_server, run_until_signalled
from mediaplane.servicekit.roles import migrations_line, serve_relay
from mediaplane.upload_gateway.api.app import create_app
from mediaplane.upload_gateway.app.bootstrap import apply_migrations, gateway
from mediaplane.upload_gateway.config import SERVICE, GatewaySettings
from mediaplane.upload_gateway.worker.verifier import register_verifier


async def run_verifier(settings: GatewaySettings, stop: asyncio.Event) -> None:
    async with gateway(settings) as resources:
        bus = Bus(settings.bus, resources.registry, producer=SERVICE)
        register_verifier(bus, resources.service, resources.objects)
        async with (
            ops_server(
                ops_app(f"{SERVICE}-verifier", resources.health),
                host=settings.http_host,
                port=settings.ops_port,
            ),
            bus.running(),
        ):
            await stop.wait()


async def run_relay(settings: GatewaySettings, stop: asyncio.Event) -> None:
    async with gateway(settings, pool_size=2) as resources:
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
    parser = argparse.ArgumentParser(prog="mediaplane.upload_gateway")
    parser.add_argument("role", choices=["api", "verifier", "relay", "migrate"])
    args = parser.parse_args(argv)
    configure_logging(
        f"{SERVICE}-{args.role}", level=os.environ.get("MEDIAPLANE_LOG_LEVEL", "INFO")
    )
    configure_tracing(SERVICE)
    try:
        settings = GatewaySettings.from_env()
    except ValueError as error:
        print(f"{SERVICE}: refusing to start: {error}", file=sys.stderr)
        return 2

    if args.role == "migrate":
        applied = asyncio.run(apply_migrations(settings))
        print(migrations_line(applied))
        return 0
    if args.role == "api":
        uvicorn.run(
            create_app(settings), host=settings.http_host, port=settings.http_port, log_config=None
        )
        return 0
    runner = run_verifier if args.role == "verifier" else run_relay
    run_until_signalled(lambda stop: runner(settings, stop))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
