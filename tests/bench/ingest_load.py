"""The latency benchmark's (f) load: catalog events published at a steady rate, in a process
of its own.

`python ingest_load.py SUBJECT_ROOT ORIGINALS_BUCKET RENDITIONS_BUCKET THUMBNAILS_BUCKET
RATE SECONDS` builds the events (synthetic file lives of 500 other owners, in the
platform's originals bucket so the ingest takes them and none is dead-lettered,
their renditions and thumbnails in the platform's buckets so the janitor records
them as a platform's own instead of warning about each; without the events
that would start jobs for files that do not exist), connects as the admin,
prints `ready`, waits for a line on stdin, publishes RATE per second for
SECONDS, then prints the rate it reached.

Its own process, because publishing 1,000 events/s keeps an event loop busy:
in the measuring client's loop, a list's answer would wait for the next batch
of publishes to be encoded, and that wait would be counted as the catalog's.
"""

from __future__ import annotations

import asyncio
import sys
import time

import msgspec
import nats

from mediaplane.catalog.testing import synthetic_events
from mediaplane.contracts import (
    Event,
    ThumbnailGenerated,
    TranscodeCompleted,
    TranscodeSegmentsReady,
    build_registry,
)
from mediaplane.contracts import headers as h
from mediaplane.devstack.natsauth import admin_url
from mediaplane.devstack.settings import StackSettings

STARTS_JOBS = ("file.uploaded", "file.verified")
BATCHES_PER_SECOND = 10


def in_buckets(event: Event, renditions: str, thumbnails: str) -> Event:
    """The event with its derived objects in the platform's buckets."""
    if isinstance(event, TranscodeCompleted | TranscodeSegmentsReady):
        return msgspec.structs.replace(event, bucket=renditions)
    if isinstance(event, ThumbnailGenerated):
        return msgspec.structs.replace(event, bucket=thumbnails)
    return event


async def publish(buckets: list[str], root: str, rate: int, seconds: int) -> None:
    originals, renditions, thumbnails = buckets
    registry = build_registry(root)
    events = [
        in_buckets(e, renditions, thumbnails)
        for e in synthetic_events(
            rate * seconds * 2, owners=500, seed=3, originals_bucket=originals
        )
        if e.tag().rsplit(".", 1)[0] not in STARTS_JOBS
    ][: rate * seconds]
    nc = await nats.connect(admin_url(StackSettings.from_env()))
    js = nc.jetstream()
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    size = rate // BATCHES_PER_SECOND
    started = tick = time.perf_counter()
    for start in range(0, len(events), size):
        await asyncio.gather(
            *(
                js.publish(
                    registry.subject_of(e),
                    registry.encode(e),
                    headers={h.MSG_ID: str(e.event_id), h.EVENT_TYPE: e.tag()},
                )
                for e in events[start : start + size]
            )
        )
        tick += 1 / BATCHES_PER_SECOND
        await asyncio.sleep(max(0.0, tick - time.perf_counter()))
    print(f"{len(events) / (time.perf_counter() - started):.0f}", flush=True)
    await nc.close()


if __name__ == "__main__":
    root, *buckets, rate, seconds = sys.argv[1:7]
    asyncio.run(publish(buckets, root, int(rate), int(seconds)))
