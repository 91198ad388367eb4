"""Child processes (ffmpeg, ffprobe) that never outlive their job.

Each child runs in its own process group, so killing the group also kills
anything it spawned. It is killed when the awaiting task is cancelled (a
caller's `asyncio.timeout`, worker shutdown, lost lease) and always reaped,
so no zombie or orphaned encoder keeps burning CPU after the job is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

STDERR_LIMIT = 64 * 1024  # keep the tail: the last lines say why a tool failed
_KILL_WAIT = 5.0


@dataclass(frozen=True, kw_only=True)
class Completed:
    returncode: int
    stdout: bytes
    stderr: str


async def _tail(stream: asyncio.StreamReader, limit: int) -> bytes:
    """Read a pipe to its end, keeping at most the last `limit` bytes."""
    kept = bytearray()
    while chunk := await stream.read(65536):
        kept += chunk
        if len(kept) > limit:
            del kept[: len(kept) - limit]
    return bytes(kept)


def _die_with_parent() -> Callable[[], None] | None:
    """Linux: the child gets SIGKILL when the worker dies, even by SIGKILL or OOM kill,
    instead of encoding on as an orphan nobody will read."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1

    def arm() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)

    return arm


_PREEXEC = _die_with_parent()


def _kill_group(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


async def run(argv: Sequence[str], *, stdout_limit: int = 16 * 1024 * 1024) -> Completed:
    """Run `argv` to completion; cancelling the caller kills it (and its children).

    stdout is for small structured output (ffprobe's JSON): at most `stdout_limit`.
    """
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_PREEXEC,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    readers = asyncio.gather(
        _tail(process.stdout, stdout_limit), _tail(process.stderr, STDERR_LIMIT)
    )
    try:
        out, err = await readers
        returncode = await process.wait()
    finally:
        if process.returncode is None:
            _kill_group(process)
            readers.cancel()
            # Reap it even while being cancelled, so no zombie is left behind.
            # (asyncio.timeout, not wait_for: 3.11's wait_for can lose a cancellation.)
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                async with asyncio.timeout(_KILL_WAIT):
                    await asyncio.shield(process.wait())
    return Completed(
        returncode=returncode, stdout=out, stderr=err.decode("utf-8", errors="replace")
    )
