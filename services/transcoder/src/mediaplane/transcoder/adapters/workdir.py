"""Per-job scratch directories, removed on every path a process survives.

A SIGKILLed worker cannot clean up; its directory name carries its pid, so the
next worker started on the same work dir removes directories whose process is
gone (and never those of live workers sharing the directory).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_PREFIX = "transcode-"


@contextmanager
def job_directory(work_dir: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-", dir=work_dir))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def sweep_stale(work_dir: str) -> list[Path]:
    """Remove scratch directories left by dead workers; returns what was removed."""
    removed = []
    for path in Path(work_dir).glob(f"{_PREFIX}*-*"):
        pid_text = path.name[len(_PREFIX) :].split("-", 1)[0]
        if path.is_dir() and pid_text.isdigit() and not _alive(int(pid_text)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed
