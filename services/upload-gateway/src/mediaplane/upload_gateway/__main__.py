"""`python -m mediaplane.upload_gateway api|verifier|relay|migrate`: one process role each.

The verifier role also runs the accounts consumer (`user.*` -> the accounts projection):
a second small consumer, not a role of its own to deploy."""

from __future__ import annotations

import argparse
import asyncio
from functools import partial

from mediaplane.bus import Bus
from mediaplane.servicekit.runtime import (
    api,
    migrate,
    relay,
    role_parser,
    run_roles,
    serve,
    serve_worker,
)
from mediaplane.upload_gateway.api.app import create_app
from mediaplane.upload_gateway.app.bootstrap import (
    apply_migrations,
    clamd_scanner,
    open_resources,
    verifier_health,
)
from mediaplane.upload_gateway.config import SERVICE, GatewaySettings
from mediaplane.upload_gateway.worker.accounts import register_accounts
from mediaplane.upload_gateway.worker.verifier import register_verifier


async def run_verifier(
    settings: GatewaySettings, args: argparse.Namespace, stop: asyncio.Event
) -> None:
    scanner = clamd_scanner(settings)
    async with open_resources(settings) as resources:
        bus = Bus(settings.bus, resources.registry, producer=SERVICE)
        register_verifier(bus, resources.service, resources.objects, scanner)
        register_accounts(bus, resources.service)
        async with serve_worker(
            bus,
            name=f"{SERVICE}-verifier",
            health=verifier_health(resources, scanner),
            host=settings.http_host,
            port=settings.ops_port,
        ):
            await stop.wait()


ROLES = {
    "api": api(create_app),
    "verifier": serve(run_verifier),
    "relay": relay(SERVICE, partial(open_resources, pool_size=2)),
    "migrate": migrate(apply_migrations),
}


def main(argv: list[str] | None = None) -> int:
    args = role_parser("mediaplane.upload_gateway", ROLES).parse_args(argv)

    def settings() -> GatewaySettings:
        loaded = GatewaySettings.from_env()
        if args.role == "verifier":
            clamd_scanner(loaded)  # no clamd URL: refuse to start (exit 2), never run unscanned
        return loaded

    return run_roles(SERVICE, ROLES, args, settings=settings)


if __name__ == "__main__":
    raise SystemExit(main())
