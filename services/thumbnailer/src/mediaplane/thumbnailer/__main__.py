"""`python -m mediaplane.thumbnailer worker|relay|migrate`: one process role each."""

from __future__ import annotations

import argparse
import asyncio
import sys
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
from mediaplane.thumbnailer.api.app import create_app
from mediaplane.thumbnailer.app.bootstrap import apply_migrations, open_resources
from mediaplane.thumbnailer.app.metadata import MetadataExtractor
from mediaplane.thumbnailer.config import SERVICE, ThumbnailerSettings
from mediaplane.thumbnailer.worker.accounts import register_accounts
from mediaplane.thumbnailer.worker.consumer import register_thumbnailer
from mediaplane.thumbnailer.worker.metadata import register_metadata
from mediaplane.thumbnailer.worker.sources import register_variant_sources


async def run_worker(
    settings: ThumbnailerSettings, args: argparse.Namespace, stop: asyncio.Event
) -> None:
    async with open_resources(settings) as resources:
        bus = Bus(settings.bus, resources.registry, producer=SERVICE)
        register_thumbnailer(bus, resources.service)
        register_variant_sources(
            bus, resources.pool, resources.variants, originals_bucket=settings.originals_bucket
        )
        register_metadata(bus, MetadataExtractor(resources.service))
        register_accounts(bus, resources.pool)
        async with serve_worker(
            bus,
            name=f"{SERVICE}-worker",
            health=resources.health,
            host=settings.http_host,
            port=settings.ops_port,
        ):
            await stop.wait()


def run_api(settings: ThumbnailerSettings, args: argparse.Namespace) -> int:
    """The variants API; refuses to start without token settings or with a bad secret."""
    try:
        app = create_app(settings)
    except ValueError as error:
        print(f"{SERVICE}: refusing to start: {error}", file=sys.stderr)
        return 2
    return api(lambda _: app)(settings, args)


ROLES = {
    "api": run_api,
    "worker": serve(run_worker),
    "relay": relay(SERVICE, partial(open_resources, pool_size=2, media_tools=False)),
    "migrate": migrate(apply_migrations),
}


def main(argv: list[str] | None = None) -> int:
    args = role_parser("mediaplane.thumbnailer", ROLES).parse_args(argv)
    return run_roles(SERVICE, ROLES, args, settings=ThumbnailerSettings.from_env)


if __name__ == "__main__":
    raise SystemExit(main())
