"""`python -m mediaplane.transcoder worker|relay|migrate`: one process role each."""

from __future__ import annotations

import argparse
import asyncio
import os

import structlog
from prometheus_client import REGISTRY

from mediaplane.bus import Bus
from mediaplane.observability import configure_logging, configure_tracing
from mediaplane.observability.http import ops_app
from mediaplane.observability.serve import ops_server, run_until_signalled
from mediaplane.servicekit.roles import migrations_line, serve_relay
from mediaplane.transcoder.adapters.workdir import sweep_stale
from mediaplane.transcoder.app.bootstrap import apply_migrations, health_checks, transcoder
from mediaplane.transcoder.app.metrics import TranscoderMetrics
from mediaplane.transcoder.config import SERVICE, TranscoderSettings
from mediaplane.transcoder.worker.consumer import register_transcoder

_log = structlog.get_logger(__name__)


async def run_worker(settings: TranscoderSettings, stop: asyncio.Event) -> None:
    removed = sweep_stale(settings.work_dir)
    if removed:
        _log.info("transcode.stale_scratch_removed", paths=[str(p) for p in removed])
    async with transcoder(settings, metrics=TranscoderMetrics(REGISTRY)) as resources:
        # On stop, running jobs get `shutdown_grace` seconds; then the bus cancels
        # them (ffmpeg is killed, the job released) and NAKs their messages.
        bus = Bus(
            settings.bus,
            resources.registry,
            producer=SERVICE,
            graceful_timeout=settings.shutdown_grace,
        )
        register_transcoder(bus, resources.transcoder, settings)
        async with (
            ops_server(
                ops_app(f"{SERVICE}-worker", resources.health),
                host=settings.http_host,
                port=settings.ops_port,
            ),
            bus.running(),
        ):
            _log.info("transcode.worker_ready", worker=settings.worker_id)
            await stop.wait()


async def run_relay(settings: TranscoderSettings, stop: asyncio.Event) -> None:
    async with transcoder(settings, pool_size=2) as resources:
        await serve_relay(
            service=SERVICE,
            database_url=settings.database_url,
            nats_url=settings.bus.url,
            nats_options=settings.bus.connect_options(),
            health=health_checks(settings, resources.pool, resources.objects, encoder=False),
            host=settings.http_host,
            port=settings.ops_port + 1,
            stop=stop,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mediaplane.transcoder")
    parser.add_argument("role", choices=["worker", "relay", "migrate"])
    args = parser.parse_args(argv)
    configure_logging(
        f"{SERVICE}-{args.role}", level=os.environ.get("MEDIAPLANE_LOG_LEVEL", "INFO")
    )
    configure_tracing(SERVICE)
    settings = TranscoderSettings.from_env()

    if args.role == "migrate":
        applied = asyncio.run(apply_migrations(settings))
        print(migrations_line(applied))
        return 0
    runner = run_worker if args.role == "worker" else run_relay
    run_until_signalled(lambda stop: runner(settings, stop))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
