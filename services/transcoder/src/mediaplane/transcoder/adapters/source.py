"""The original, streamed from S3 into a local file (never whole in memory).

ffmpeg reads a local file: MP4s with the index at the end need seeking, and
a long encode must not depend on an HTTP connection staying up. The bytes
are hashed on the way: if they are not the ones the verifier approved, they
are not transcoded.
"""

from __future__ import annotations

import asyncio
import hashlib
from contextlib import aclosing
from pathlib import Path

from mediaplane.storage import ObjectNotFound, ObjectStore
from mediaplane.transcoder.domain.errors import OriginalChanged, SourceMissing

CHUNK = 1024 * 1024


async def download(objects: ObjectStore, bucket: str, key: str, sha256: str, path: Path) -> int:
    """Write the object to `path`; returns its size. Raises a permanent error for a missing
    object or bytes that differ from the verified SHA-256; storage outages propagate."""
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("wb") as file:
            async with aclosing(objects.iter_object(bucket, key, chunk_size=CHUNK)) as chunks:
                async for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    # Disk writes in a thread: a slow disk must not stall the event loop
                    # (lease renewal and NATS keep-alives run on it).
                    await asyncio.to_thread(file.write, chunk)
    except ObjectNotFound:
        raise SourceMissing(f"{bucket}/{key} is not in storage (deleted?)") from None
    if digest.hexdigest() != sha256:
        raise OriginalChanged(
            f"{bucket}/{key} has SHA-256 {digest.hexdigest()}, verified as {sha256}"
        )
    return size
