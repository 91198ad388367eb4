"""Resumable downloads: streamed to `<name>.part`, continued with a Range request, renamed
when complete and checked against the catalog's size and SHA-256."""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from mediaplane.client.errors import MediaplaneError, storage_error
from mediaplane.client.progress import NoProgress, Progress
from mediaplane.client.retry import TRANSIENT_STATUS

if TYPE_CHECKING:
    from mediaplane.client.client import MediaplaneClient

HASH_CHUNK = 8 * 1024 * 1024


async def download_file(
    client: MediaplaneClient,
    file_id: uuid.UUID,
    destination: str | os.PathLike[str] | None = None,
    *,
    progress: Progress | None = None,
) -> Path:
    """Downloads a ready file to `destination` (a path, or a directory to put the original
    filename in; default: the current directory) and returns the path. A `.part` file left
    by an interrupted run is continued."""
    detail = await client.get_file(file_id)
    if detail.download is None:
        raise MediaplaneError(
            "not_downloadable", 0, f"the file is {detail.file.status}: only ready files download"
        )
    # The gateway already strips directories from names; `.name` guards against any other.
    name = Path(detail.file.filename).name or str(file_id)
    target = Path(destination) if destination is not None else Path.cwd()
    if target.is_dir():
        target = target / name
    await download_url(
        client,
        detail.download.url,
        target,
        size=detail.file.size,
        sha256=detail.sha256,
        progress=progress,
    )
    return target


async def download_url(
    client: MediaplaneClient,
    url: str,
    target: Path,
    *,
    size: int,
    sha256: str | None = None,
    progress: Progress | None = None,
) -> None:
    """Streams `url` (presigned: no Authorization header) into `target`; see `download_file`.
    Object keys are never rewritten (`<owner>/<file_id>`), so bytes of an earlier run
    belong to the same object."""
    report = progress or NoProgress()
    partial = target.with_name(f"{target.name}.part")
    received = _Received()
    if partial.exists() and partial.stat().st_size <= size:
        report.start("checking", partial.stat().st_size)
        await received.read(partial, report)
    report.start("downloading", size, received.length)
    failures = 0
    while received.length < size:
        try:
            await _fetch(client, url, partial, received, report)
        except httpx.TransportError as error:
            # Whatever arrived is on disk: the next attempt asks for the rest.
            failures += 1
            if failures >= client.retry.attempts:
                raise MediaplaneError("connection_failed", 0, str(error)) from error
            await asyncio.sleep(client.retry.delay(failures))
        except _Transient as transient:
            failures += 1
            if failures >= client.retry.attempts:
                raise transient.error from None
            await asyncio.sleep(client.retry.delay(failures, transient.error.retry_after))
        else:
            if received.length < size:
                raise MediaplaneError(
                    "download_mismatch",
                    0,
                    f"the object ended after {received.length} of {size} bytes",
                )
    if received.length != size:
        raise MediaplaneError(
            "download_mismatch", 0, f"received {received.length} bytes, expected {size}"
        )
    actual = received.digest.hexdigest()
    if sha256 is not None and actual != sha256:
        partial.unlink()
        raise MediaplaneError(
            "checksum_mismatch", 0, f"SHA-256 {actual}, the catalog says {sha256}"
        )
    os.replace(partial, target)


class _Received:
    """The bytes in `.part` so far: how many, and their running SHA-256."""

    def __init__(self) -> None:
        self.length = 0
        self.digest = hashlib.sha256()

    def add(self, chunk: bytes) -> None:
        self.length += len(chunk)
        self.digest.update(chunk)

    def reset(self) -> None:
        self.length = 0
        self.digest = hashlib.sha256()

    async def read(self, partial: Path, report: Progress) -> None:
        with partial.open("rb") as file:
            # In a thread: reading and hashing (which releases the GIL) leave the loop free.
            while chunk := await asyncio.to_thread(file.read, HASH_CHUNK):
                self.add(chunk)
                report.advance(len(chunk))


class _Transient(Exception):
    def __init__(self, error: MediaplaneError) -> None:
        super().__init__(str(error))
        self.error = error


async def _fetch(
    client: MediaplaneClient, url: str, partial: Path, received: _Received, report: Progress
) -> None:
    """One GET from byte `received.length` on, appended to `partial`."""
    headers = {"Range": f"bytes={received.length}-"} if received.length else {}
    async with client.http.stream("GET", url, headers=headers) as response:
        if response.is_error:
            await response.aread()
            error = storage_error(response)
            if response.status_code in TRANSIENT_STATUS:
                raise _Transient(error)
            raise error
        if received.length and response.status_code != 206:
            # The server ignored the Range header and sends everything: start over.
            report.advance(-received.length)
            received.reset()
        with partial.open("ab" if received.length else "wb") as file:
            async for chunk in response.aiter_bytes():
                file.write(chunk)
                received.add(chunk)
                report.advance(len(chunk))
