"""Resumable uploads straight to object storage through presigned URLs.

A file is read in part-sized chunks (never whole in memory: at most `parallel`
parts at once), each part's SHA-256 is signed into its presigned PUT so object
storage refuses bytes that changed on the way, and parts go up in parallel.
Progress is saved in a state file after every part; a rerun of the same upload
asks the gateway which parts object storage holds and sends only the others.
Ctrl-C or a crash leaves the state file; completion deletes it.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import os
import uuid
from collections import deque
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import msgspec

from mediaplane.client.errors import MediaplaneError, storage_error
from mediaplane.client.models import Completion, PresignedRequest, UploadSession
from mediaplane.client.progress import NoProgress, Progress
from mediaplane.client.retry import send_with_retries

if TYPE_CHECKING:
    from mediaplane.client.client import MediaplaneClient

# Bodies are handed to httpx in slices this large, so progress moves smoothly.
SLICE = 1024 * 1024
HASH_CHUNK = 8 * 1024 * 1024


class UploadState(msgspec.Struct, kw_only=True):
    """What a rerun needs to resume; `size` and `mtime_ns` tell whether the file changed."""

    base_url: str
    path: str
    size: int
    mtime_ns: int
    session_id: uuid.UUID
    file_id: uuid.UUID
    mode: str
    part_size: int
    part_count: int
    parts: dict[int, str] = msgspec.field(default_factory=dict)  # number -> ETag

    def part_length(self, number: int) -> int:
        return min(self.part_size, self.size - (number - 1) * self.part_size)


def default_state_path(base_url: str, path: Path) -> Path:
    """`~/.cache/mediaplane/uploads/<hash>.json`: one per file and platform, so rerunning
    the same command finds it."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    key = hashlib.sha256(f"{base_url}\n{path.resolve()}".encode()).hexdigest()[:32]
    return cache / "mediaplane" / "uploads" / f"{key}.json"


class StateFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> UploadState | None:
        try:
            return msgspec.json.decode(self.path.read_bytes(), type=UploadState)
        except FileNotFoundError:
            return None
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None  # torn or foreign: starting over is the safe answer

    def save(self, state: UploadState) -> None:
        # Write-then-rename: a crash mid-write leaves the previous state, never half a file.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f"{self.path.name}.tmp")
        temporary.write_bytes(msgspec.json.encode(state))
        os.replace(temporary, self.path)

    def delete(self) -> None:
        self.path.unlink(missing_ok=True)


async def upload_file(
    client: MediaplaneClient,
    path: str | os.PathLike[str],
    *,
    filename: str | None = None,
    content_type: str | None = None,
    tags: Iterable[str] = (),
    parallel: int = 4,
    state_path: Path | None = None,
    progress: Progress | None = None,
) -> Completion:
    """Uploads `path` (resuming a previous attempt of the same file) and completes it.

    `content_type` defaults to a guess from the file name; `filename` to the file's name.
    Raises `MediaplaneError` (the state file stays, so a rerun resumes).
    """
    if parallel < 1:
        raise ValueError("parallel must be at least 1")
    source = Path(path)
    upload = _Upload(
        client,
        source,
        StateFile(state_path or default_state_path(client.base_url, source)),
        progress or NoProgress(),
    )
    guessed = mimetypes.guess_type(source.name)[0] or "application/octet-stream"
    return await upload.run(
        filename=filename or source.name,
        content_type=content_type or guessed,
        tags=list(tags),
        parallel=parallel,
    )


class _Upload:
    def __init__(
        self, client: MediaplaneClient, path: Path, state_file: StateFile, progress: Progress
    ) -> None:
        self.client = client
        self.path = path
        self.state_file = state_file
        self.progress = progress

    async def run(
        self, *, filename: str, content_type: str, tags: list[str], parallel: int
    ) -> Completion:
        stat = self.path.stat()
        resumed = await self._resume(stat.st_size, stat.st_mtime_ns)
        if resumed is None:
            state, session = await self._open(
                stat.st_size, stat.st_mtime_ns, filename, content_type, tags
            )
        else:
            state, session = resumed
        # A session that completed before the state file could be deleted needs only the
        # completion call again (idempotent: it answers the same result).
        if session.status != "completed":
            if state.mode == "single":
                await self._single(state, session.upload)
            else:
                await self._multipart(state, parallel)
        parts = state.parts if state.mode == "multipart" else None
        completion = await self.client.complete_upload(state.session_id, parts)
        self.state_file.delete()
        return completion

    async def _resume(self, size: int, mtime_ns: int) -> tuple[UploadState, UploadSession] | None:
        """The saved session of this file when it can still be continued."""
        state = self.state_file.load()
        if state is None:
            return None
        same_file = (state.base_url, state.path, state.size, state.mtime_ns) == (
            self.client.base_url,
            str(self.path.resolve()),
            size,
            mtime_ns,
        )
        try:
            session = await self.client.get_upload(state.session_id)
        except MediaplaneError as error:
            if error.code in ("session_not_found", "not_found", "session_expired"):
                return None
            raise
        if not same_file:
            if session.status == "open":
                # The file changed: its old session only holds reserved quota.
                try:
                    await self.client.abort_upload(session.session_id)
                except MediaplaneError as error:
                    # Completed or aborted since it was read: it holds no quota any more.
                    if error.code != "session_not_open":
                        raise
            return None
        usable = session.status == "completed" or (
            session.status == "open" and session.expires_at > datetime.now(UTC)
        )
        return (state, session) if usable else None

    async def _open(
        self, size: int, mtime_ns: int, filename: str, content_type: str, tags: list[str]
    ) -> tuple[UploadState, UploadSession]:
        # The whole file's SHA-256 is declared so the verifier checks the assembled object
        # end to end, and signed into a single PUT.
        sha256 = await self._hash(size)
        session = await self.client.open_upload(
            filename, size, content_type, sha256=sha256, tags=tags
        )
        state = UploadState(
            base_url=self.client.base_url,
            path=str(self.path.resolve()),
            size=size,
            mtime_ns=mtime_ns,
            session_id=session.session_id,
            file_id=session.file_id,
            mode=session.mode,
            part_size=session.part_size,
            part_count=session.part_count,
        )
        # Saved before any byte moves: a rerun continues this session instead of opening
        # another that would hold quota until it expires.
        self.state_file.save(state)
        return state, session

    async def _hash(self, size: int) -> str:
        digest = hashlib.sha256()
        self.progress.start("hashing", size)
        with self.path.open("rb") as file:

            def read_chunk() -> int:
                # In a thread: reading and hashing (which releases the GIL) leave the loop free.
                chunk = file.read(HASH_CHUNK)
                digest.update(chunk)
                return len(chunk)

            while read := await asyncio.to_thread(read_chunk):
                self.progress.advance(read)
        return digest.hexdigest()

    async def _single(self, state: UploadState, signed: PresignedRequest | None) -> None:
        session_id = state.session_id
        stored = await self.client.stored_parts(session_id)
        if stored and stored[0].size == state.size:
            self.progress.start("uploading", state.size, state.size)
            return
        self.progress.start("uploading", state.size)
        request = signed
        sent = 0

        async def body() -> AsyncIterator[bytes]:
            nonlocal sent
            with self.path.open("rb") as file:
                while chunk := await asyncio.to_thread(file.read, SLICE):
                    sent += len(chunk)
                    self.progress.advance(len(chunk))
                    yield chunk

        async def send() -> httpx.Response:
            nonlocal request
            if request is None:
                request = (await self.client.get_upload(session_id)).upload
                if request is None:
                    raise MediaplaneError("session_not_open", 409, "the session is not open")
            return await self._put(request, body(), state.size)

        def retry() -> None:
            # A fresh URL per attempt: the failed one may have been close to expiring.
            nonlocal request, sent
            request = None
            self.progress.advance(-sent)
            sent = 0

        response = await send_with_retries(self.client.retry, send, idempotent=True, on_retry=retry)
        if response.is_error:
            raise storage_error(response)

    async def _multipart(self, state: UploadState, parallel: int) -> None:
        # Object storage's list is the truth: the state file may miss parts stored just
        # before a crash, or name parts of an upload storage no longer has.
        stored = await self.client.stored_parts(state.session_id)
        state.parts = {
            p.number: p.etag for p in stored if p.size in (None, state.part_length(p.number))
        }
        self.state_file.save(state)
        missing = deque(n for n in range(1, state.part_count + 1) if n not in state.parts)
        done = sum(state.part_length(n) for n in state.parts)
        self.progress.start("uploading", state.size, done)

        async def worker() -> None:
            while missing:
                number = missing.popleft()
                state.parts[number] = await self._part(state, number)
                # After every part: a crash loses at most the parts in flight.
                self.state_file.save(state)

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(min(parallel, len(missing))):
                    group.create_task(worker())
        except ExceptionGroup as failed:
            # The first failure is the cause; the others are parts cancelled or refused alike.
            raise failed.exceptions[0] from None

    async def _part(self, state: UploadState, number: int) -> str:
        length = state.part_length(number)
        offset = (number - 1) * state.part_size
        data, sha256 = await asyncio.to_thread(_read_part, self.path, offset, length)
        if len(data) != length:
            raise MediaplaneError(
                "file_changed", 0, f"{self.path} became shorter during the upload"
            )
        sent = 0

        async def body() -> AsyncIterator[bytes]:
            nonlocal sent
            for start in range(0, length, SLICE):
                chunk = data[start : start + SLICE]
                sent += len(chunk)
                self.progress.advance(len(chunk))
                yield chunk

        async def send() -> httpx.Response:
            # Signed per attempt: a URL signed long ago (a slow queue of parts) may expire.
            [signed] = await self.client.sign_parts(state.session_id, {number: sha256})
            return await self._put(signed, body(), length)

        def rewind() -> None:
            nonlocal sent
            self.progress.advance(-sent)
            sent = 0

        response = await send_with_retries(
            self.client.retry, send, idempotent=True, on_retry=rewind
        )
        if response.is_error:
            rewind()
            refused = storage_error(response)
            raise MediaplaneError(refused.code, refused.status, f"part {number}: {refused.detail}")
        etag: str | None = response.headers.get("etag")
        if not etag:
            raise MediaplaneError("storage_error", response.status_code, "no ETag for a part")
        return etag

    async def _put(
        self, signed: PresignedRequest, body: AsyncIterator[bytes], length: int
    ) -> httpx.Response:
        # An explicit length: S3 refuses chunked transfer encoding on presigned PUTs.
        headers = {**signed.headers, "Content-Length": str(length)}
        return await self.client.http.request(
            signed.method, signed.url, headers=headers, content=body
        )


def _read_part(path: Path, offset: int, length: int) -> tuple[bytes, str]:
    with path.open("rb") as file:
        file.seek(offset)
        data = file.read(length)
    return data, hashlib.sha256(data).hexdigest()
