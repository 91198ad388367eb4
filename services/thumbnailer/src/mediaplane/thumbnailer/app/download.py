"""Streaming a verified original to a local file, checked against its verified SHA-256."""

from __future__ import annotations

import asyncio
import hashlib
from contextlib import aclosing
from pathlib import Path
from typing import BinaryIO

from mediaplane.storage import ObjectNotFound, ObjectStore
from mediaplane.thumbnailer.domain.errors import (
    CorruptInput,
    OriginalChanged,
    SourceMissing,
    TooLarge,
)


async def download_verified(
    objects: ObjectStore, *, bucket: str, key: str, sha256: str, limit: int, path: Path
) -> int:
    """Stream the object to `path`, never whole in memory, stopping at `limit` bytes; its size.

    The bytes are hashed on the way: if they are not the ones the verifier
    approved, nothing may be rendered from them (`original_changed`).
    """
    size = 0
    digest = hashlib.sha256()
    target: BinaryIO = await asyncio.to_thread(path.open, "wb")
    try:
        async with aclosing(objects.iter_object(bucket, key)) as chunks:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise TooLarge(f"the stored file exceeds the limit of {limit} bytes")
                digest.update(chunk)
                # Off the loop: a write can block when the disk is under pressure.
                await asyncio.to_thread(target.write, chunk)
    except ObjectNotFound:
        raise SourceMissing(f"{bucket}/{key} is not in storage") from None
    finally:
        await asyncio.to_thread(target.close)
    if digest.hexdigest() != sha256:
        raise OriginalChanged(
            f"{bucket}/{key} has SHA-256 {digest.hexdigest()}, verified as {sha256}"
        )
    if size == 0:
        raise CorruptInput("the file is empty")
    return size
