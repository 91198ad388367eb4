"""`python -m mediaplane.thumbnailer worker|relay|migrate`: one process role each."""

from __future__ import annotations

import argparse
import asyncio
from functools import partial

from mediaplane.bus import Bus
from mediaplane.servicekit.runtime import (
    migrate,
    relay,
    role_parser,
    run_roles,
    serve,
    serve_worker,
)
from mediaplane.thumbnailer.app.bootstrap import apply_migrations, open_resources
from mediaplane.thumbnailer.app.metadata import MetadataExtractor
from mediaplane.thumbnailer.config import SERVICE, ThumbnailerSettings
from mediaplane.thumbnailer.worker.consumer import register_thumbnailer
from mediaplane.thumbnailer.worker.metadata import register_metadata


async def run_worker(
    settings: ThumbnailerSettings, args: argparse.Namespace, stop: asyncio.Event
) -> None:
    async with open_resources(settings) as resources:
        bus = Bus(settings.bus, resources.registry, producer=SERVICE)
        register_thumbnailer(bus, resources.service)
        register_metadata(bus, MetadataExtractor(resources.service))
        async with serve_worker(
            bus,
            name=f"{SERVICE}-worker",
            health=resources.health,
            host=settings.http_host,
            port=settings.ops_port,
        ):
            await stop.wait()


ROLES = {
    "worker": serve(run_worker),
    "relay": relay(SERVICE, partial(open_resources, pool_size=2, media_tools=False)),
    "migrate": migrate(apply_migrations),
}


def main(argv: list[str] | None = None) -> int:
    args = role_parser("mediaplane.thumbnailer", ROLES).parse_args(argv)
    return run_roles(SERVICE, ROLES, args, settings=ThumbnailerSettings.from_env)


if __name__ == "__main__":
    raise SystemExit(main())
