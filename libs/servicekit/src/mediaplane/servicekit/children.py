"""Child processes (ffmpeg, ffprobe, the PDF renderer) that never outlive their job or its limits.

Each child runs in its own process group, so killing the group also kills
anything it spawned. It is killed when the awaiting task is cancelled
(worker shutdown, lost lease), when it outlives its wall-time cap, and when
the worker itself dies (Linux `PR_SET_PDEATHSIG`); it is always reaped, so
no zombie or orphaned decoder keeps burning CPU after the job is gone.

The kernel enforces the CPU-time (`RLIMIT_CPU`) and address-space
(`RLIMIT_AS`) limits: a hostile input that makes a decoder spin or allocate
without end costs one failed job, not the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import resource
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

STDERR_LIMIT = 64 * 1024  # keep the tail: the last lines say why a tool failed
_KILL_WAIT = 5.0
# What a child that hit RLIMIT_AS says (C tools through strerror, Python as MemoryError,
# the dynamic loader when it cannot map a library).
_OUT_OF_MEMORY = (
    "Cannot allocate memory",
    "Out of memory",
    "MemoryError",
    "std::bad_alloc",
    "failed to map segment",  # the dynamic loader, out of address space
)


@dataclass(frozen=True, kw_only=True)
class Limits:
    """What one child may use. None: no limit of that kind."""

    cpu_seconds: float | None = None  # user + system CPU time (RLIMIT_CPU)
    memory_bytes: int | None = None  # address space (RLIMIT_AS)
    wall_seconds: float | None = None  # killed (whole process group) after this long

    def __post_init__(self) -> None:
        for name in ("cpu_seconds", "memory_bytes", "wall_seconds"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive")


@dataclass(frozen=True, kw_only=True)
class Completed:
    returncode: int
    stdout: bytes
    stderr: str


class LimitExceeded(Exception):
    """The child was stopped by one of its `Limits`; `kind` says which."""

    def __init__(self, kind: Literal["cpu", "memory", "wall"], detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


async def _tail(
    stream: asyncio.StreamReader, limit: int, on_chunk: Callable[[bytes], None] | None = None
) -> bytes:
    """Read a pipe to its end, keeping at most the last `limit` bytes."""
    kept = bytearray()
    while chunk := await stream.read(65536):
        if on_chunk is not None:
            on_chunk(chunk)
        kept += chunk
        if len(kept) > limit:
            del kept[: len(kept) - limit]
    return bytes(kept)


def _prctl() -> Callable[[int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    prctl: Callable[[int, int], int] = libc.prctl
    return prctl


_PRCTL = _prctl()
_PR_SET_PDEATHSIG = 1


def _preexec(limits: Limits) -> Callable[[], None]:
    """Runs in the child between fork and exec: only async-signal-safe work."""
    cpu = None if limits.cpu_seconds is None else max(1, round(limits.cpu_seconds))
    memory = limits.memory_bytes

    def arm() -> None:
        if _PRCTL is not None:
            # SIGKILL when the worker dies, even by SIGKILL or OOM kill, instead of
            # encoding on as an orphan nobody will read.
            _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if cpu is not None:
            # soft == hard: the kernel sends SIGKILL at the limit. (A soft limit sends
            # SIGXCPU, which ffmpeg takes as a polite request to finish its output.)
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
        if memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return arm


def _kill_group(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _limit_hit(returncode: int, stderr: str, limits: Limits) -> LimitExceeded | None:
    """Which limit, if any, ended a child that exited with `returncode`."""
    if returncode == -signal.SIGKILL and limits.cpu_seconds is not None:
        # Nothing but RLIMIT_CPU sends this child SIGKILL unless the machine is out of memory.
        return LimitExceeded(
            "cpu",
            f"killed at its CPU-time limit of {limits.cpu_seconds:.0f} s "
            "(or by the kernel's OOM killer)",
        )
    memory = limits.memory_bytes
    if returncode != 0 and memory is not None and any(m in stderr for m in _OUT_OF_MEMORY):
        return LimitExceeded("memory", f"ran out of its {memory // 2**20} MiB memory limit")
    return None


async def run(
    argv: Sequence[str],
    *,
    limits: Limits = Limits(),
    stdout_limit: int = 16 * 1024 * 1024,
    on_stdout: Callable[[bytes], None] | None = None,
) -> Completed:
    """Run `argv` to completion under `limits`; cancelling the caller kills it (and its children).

    Raises `LimitExceeded` when a limit stopped it. stdout is for small
    structured output (ffprobe's JSON): at most `stdout_limit` bytes are kept.
    `on_stdout` sees every chunk as it arrives (ffmpeg's `-progress` reports).
    """
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_preexec(limits),
    )
    assert process.stdout is not None
    assert process.stderr is not None
    readers = asyncio.gather(
        _tail(process.stdout, stdout_limit, on_stdout), _tail(process.stderr, STDERR_LIMIT)
    )
    try:
        async with asyncio.timeout(limits.wall_seconds):
            out, err = await readers
            returncode = await process.wait()
    except TimeoutError:
        raise LimitExceeded(
            "wall", f"killed after its wall-time limit of {limits.wall_seconds:.0f} s"
        ) from None
    finally:
        if process.returncode is None:
            _kill_group(process)
            readers.cancel()
            # Reap it even while being cancelled, so no zombie is left behind.
            # (asyncio.timeout, not wait_for: 3.11's wait_for can lose a cancellation.)
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                async with asyncio.timeout(_KILL_WAIT):
                    await asyncio.shield(process.wait())
    stderr = err.decode("utf-8", errors="replace")
    if (exceeded := _limit_hit(returncode, stderr, limits)) is not None:
        raise exceeded
    return Completed(returncode=returncode, stdout=out, stderr=stderr)
