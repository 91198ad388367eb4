"""Child processes die with their job and stay within their limits (real processes)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from mediaplane.servicekit import children
from mediaplane.servicekit.children import LimitExceeded, Limits


async def test_a_child_returns_its_output_and_exit_code() -> None:
    done = await children.run([sys.executable, "-c", "import sys; print('out'); sys.exit('err')"])
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
    task = asyncio.ensure_future(children.run([sys.executable, "-c", script]))
    for _ in range(200):
        if pid_file.exists() and pid_file.read_text():
            break
        await asyncio.sleep(0.05)
    grandchild = int(pid_file.read_text())
    assert _running(grandchild)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    # Patience for a loaded machine; a passing run leaves at once.
    for _ in range(600):
        if not _running(grandchild):
            break
        await asyncio.sleep(0.05)
    assert not _running(grandchild)


async def test_a_child_over_its_cpu_time_is_killed() -> None:
    with pytest.raises(LimitExceeded) as exceeded:
        await children.run([sys.executable, "-c", "while True: pass"], limits=Limits(cpu_seconds=1))
    assert exceeded.value.kind == "cpu"
    assert "CPU-time limit of 1 s" in exceeded.value.detail


async def test_a_child_over_its_memory_fails_alone() -> None:
    hog = "x = bytearray(512 * 1024 * 1024)"
    with pytest.raises(LimitExceeded) as exceeded:
        await children.run([sys.executable, "-c", hog], limits=Limits(memory_bytes=256 * 2**20))
    assert exceeded.value.kind == "memory"
    assert exceeded.value.detail == "ran out of its 256 MiB memory limit"


async def test_a_child_past_its_wall_time_is_killed_with_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    script = (
        "import subprocess, time\n"
        "grandchild = subprocess.Popen(['sleep', '60'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(grandchild.pid))\n"
        "time.sleep(60)\n"
    )
    with pytest.raises(LimitExceeded) as exceeded:
        await children.run([sys.executable, "-c", script], limits=Limits(wall_seconds=1))
    assert exceeded.value.kind == "wall"
    grandchild = int(pid_file.read_text())
    # Patience for a loaded machine; a passing run leaves at once.
    for _ in range(600):
        if not _running(grandchild):
            break
        await asyncio.sleep(0.05)
    assert not _running(grandchild)


async def test_within_its_limits_a_child_runs_normally() -> None:
    limits = Limits(cpu_seconds=30, memory_bytes=1024 * 2**20, wall_seconds=60)
    done = await children.run([sys.executable, "-c", "print(sum(range(10**6)))"], limits=limits)
    assert (done.returncode, done.stdout) == (0, b"499999500000\n")


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="cpu_seconds"):
        Limits(cpu_seconds=0)
