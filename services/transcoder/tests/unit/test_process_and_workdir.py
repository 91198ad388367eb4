"""Scratch directories do not outlive their worker."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from mediaplane.transcoder.adapters.workdir import job_directory, sweep_stale


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
