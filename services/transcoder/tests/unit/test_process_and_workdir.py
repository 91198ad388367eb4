"""Child processes die with their job; scratch directories do not outlive their worker."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mediaplane.transcoder.adapters import process
from mediaplane.transcoder.adapters.workdir import job_directory, sweep_stale


async def test_a_child_returns_its_output_and_exit_code() -> None:
    done = await process.run([sys.executable, "-c", "import sys; print('out'); sys.exit('err')"])
    assert (done.returncode, done.stdout, done.stderr.strip()) == (1, b"out\n", "err")


def _running(pid: int) -> bool:
    """Alive and not a zombie (a container's init may be slow to reap orphans)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


async def test_a_cancelled_caller_kills_the_child_and_its_children(tmp_path: Path) -> None:
    # The child starts a grandchild and reports its pid; both must die.
    pid_file = tmp_path / "pid"
    script = (
        "import subprocess, time\n"
        "grandchild = subprocess.Popen(['sleep', '60'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(grandchild.pid))\n"
        "time.sleep(60)\n"
    )
    task = asyncio.ensure_future(process.run([sys.executable, "-c", script]))
    for _ in range(200):
        if pid_file.exists() and pid_file.read_text():
            break
        await asyncio.sleep(0.05)
    grandchild = int(pid_file.read_text())
    assert _running(grandchild)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    for _ in range(40):
        if not _running(grandchild):
            break
        await asyncio.sleep(0.05)
    assert not _running(grandchild)


def test_a_job_directory_is_removed_even_when_the_job_fails(tmp_path: Path) -> None:
    def failing_job() -> None:
        with job_directory(str(tmp_path)) as scratch:
            (scratch / "source").write_bytes(b"x" * 10)
            raise RuntimeError("ffmpeg crashed")

    with pytest.raises(RuntimeError):
        failing_job()
    assert list(tmp_path.iterdir()) == []


def test_the_sweep_removes_only_dead_workers_directories(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f"transcode-{dead.pid}-abc"
    live = tmp_path / f"transcode-{os.getpid()}-def"
    unrelated = tmp_path / "something-else"
    for path in (stale, live, unrelated):
        path.mkdir()

    assert sweep_stale(str(tmp_path)) == [stale]
    assert sorted(tmp_path.iterdir()) == sorted([live, unrelated])
