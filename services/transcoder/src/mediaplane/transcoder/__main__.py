"""`python -m mediaplane.transcoder worker|relay|migrate`: one process role each."""

from __future__ import annotations

import argparse
import asyncio
from contextlib import AbstractAsyncContextManager
from functools import partial

import structlog
from prometheus_client import REGISTRY

from mediaplane.bus import Bus
from mediaplane.servicekit import periodic
from mediaplane.servicekit.runtime import (
    migrate,
    relay,
    role_parser,
    run_roles,
    serve,
    serve_worker,
)
from mediaplane.transcoder.adapters.workdir import sweep_stale
from mediaplane.transcoder.app.bootstrap import apply_migrations, open_resources
from mediaplane.transcoder.app.generations import GenerationSweeper
from mediaplane.transcoder.app.metrics import TranscoderMetrics
from mediaplane.transcoder.config import SERVICE, TranscoderSettings
from mediaplane.transcoder.worker.consumer import register_chunk_encoder, register_transcoder

_log = structlog.get_logger(__name__)


async def run_worker(
    settings: TranscoderSettings, args: argparse.Namespace, stop: asyncio.Event
) -> None:
    removed = sweep_stale(settings.work_dir)
    if removed:
        _log.info("transcode.stale_scratch_removed", paths=[str(p) for p in removed])
    async with open_resources(settings, metrics=TranscoderMetrics(REGISTRY)) as resources:
        # On stop, running jobs get `shutdown_grace` seconds; then the bus cancels
        # them (ffmpeg is killed, the job released) and NAKs their messages.
        bus = Bus(
            settings.bus,
            resources.registry,
            producer=SERVICE,
            graceful_timeout=settings.shutdown_grace,
        )
        register_transcoder(bus, resources.transcoder, settings)
        register_chunk_encoder(bus, resources.chunk_encoder, settings)
        async with (
            serve_worker(
                bus,
                name=f"{SERVICE}-worker",
                health=resources.health,
                host=settings.http_host,
                port=settings.ops_port,
            ),
            _sweeping(resources.sweeper, settings.retirement.sweep_interval),
        ):
            _log.info("transcode.worker_ready", worker=settings.worker_id)
            await stop.wait()


def _sweeping(sweeper: GenerationSweeper, interval: float) -> AbstractAsyncContextManager[None]:
    """Delete superseded generations past their grace every `interval` seconds while the
    block runs. Every replica sweeps; each folder is taken by one of them."""

    async def job() -> int:
        return len(await sweeper.sweep())

    return periodic.running("retired_generations", interval, job)


ROLES = {
    "worker": serve(run_worker),
    "relay": relay(SERVICE, partial(open_resources, pool_size=2, media_tools=False)),
    "migrate": migrate(apply_migrations),
}


def main(argv: list[str] | None = None) -> int:
    args = role_parser("mediaplane.transcoder", ROLES).parse_args(argv)
    return run_roles(SERVICE, ROLES, args, settings=TranscoderSettings.from_env)


if __name__ == "__main__":
    raise SystemExit(main())
