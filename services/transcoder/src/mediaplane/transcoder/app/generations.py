"""Superseded generations of a file's renditions: deleted by a periodic sweep of the worker
role once their grace has passed (`domain/retirement.py` says why there is one).

Best effort per folder: an S3 error is logged (`transcode.retired_sweep_failed`) and the
folder's row stays, so the next sweep tries again; the other folders go on. A folder the
janitor purged meanwhile (the file was deleted) lists empty: its row just goes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

import structlog

from mediaplane.contracts import utc_now
from mediaplane.eventlog import Pool
from mediaplane.storage import ObjectStore
from mediaplane.transcoder.adapters import generations
from mediaplane.transcoder.adapters.generations import RetiredFolder

_log = structlog.get_logger(__name__)

# Folders claimed per transaction: the transaction stays open while they are deleted.
_BATCH = 50


async def delete_folder(objects: ObjectStore, bucket: str, prefix: str) -> int:
    """Delete every object under `prefix`; how many there were (a folder already gone has
    none, and deleting it is no error)."""
    keys = [o.key for o in await objects.list_objects(bucket, prefix)]
    if keys:
        await objects.delete_many(bucket, keys)
    return len(keys)


class GenerationSweeper:
    def __init__(
        self,
        *,
        pool: Pool,
        objects: ObjectStore,
        bucket: str,
        clock: Callable[[], datetime] = utc_now,
        batch: int = _BATCH,
    ) -> None:
        self.pool = pool
        self.objects = objects
        self.bucket = bucket
        self.clock = clock
        self.batch = batch

    async def sweep(self, now: datetime | None = None) -> list[RetiredFolder]:
        """Delete the folders due at `now` (the clock's time by default) and their rows; the
        folders deleted. Other sweeps running at once take other folders."""
        now = self.clock() if now is None else now
        swept: list[RetiredFolder] = []
        while True:
            failed = False
            async with self.pool.connection() as conn, conn.transaction():
                due = await generations.claim_due(conn, now=now, limit=self.batch)
                for folder in due:
                    try:
                        objects = await delete_folder(self.objects, self.bucket, folder.prefix)
                    except Exception as error:
                        failed = True
                        _log.warning(
                            "transcode.retired_sweep_failed",
                            file_id=str(folder.file_id),
                            prefix=folder.prefix,
                            error=f"{type(error).__name__}: {error}",
                        )
                        continue
                    await generations.forget(conn, folder)
                    swept.append(folder)
                    _log.info(
                        "transcode.retired_generation_deleted",
                        file_id=str(folder.file_id),
                        prefix=folder.prefix,
                        objects=objects,
                    )
            # A full batch may have more behind it; after a failure, stop so the failed
            # folder (unlocked again) waits for the next sweep instead of this loop.
            if failed or len(due) < self.batch:
                return swept

    async def retired(self, file_id: uuid.UUID) -> list[RetiredFolder]:
        """The file's folders waiting out their grace."""
        async with self.pool.connection() as conn:
            return await generations.of_file(conn, file_id)
