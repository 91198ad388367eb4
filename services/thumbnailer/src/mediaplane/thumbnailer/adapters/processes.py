"""Child processes (ffmpeg, ffprobe, the PDF renderer) that die with the job that started them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def error_text(self) -> str:
        """The end of stderr (where tools say what went wrong), for failure details."""
        return self.stderr.decode(errors="replace").strip()[-500:]


async def run(argv: Sequence[str]) -> Finished:
    """Run to completion; when the caller is cancelled (job timeout, shutdown) kill the child.

    Untrusted input can make a decoder spin forever: without the kill, a
    timed-out job would leave it burning a core.
    """
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await process.communicate()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        # Reap it even while being cancelled, so no zombie is left behind.
        await asyncio.shield(process.wait())
        raise
    assert process.returncode is not None  # communicate() waited for the exit
    return Finished(process.returncode, stdout, stderr)
