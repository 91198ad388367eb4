"""Benchmarks run only with `just bench`, never in `just test`: every test here is `bench`."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if BENCH_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.bench)


def machine_description() -> str:
    """One line naming the machine, for docs/benchmarks.md."""
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model = next(
            (
                line.split(":", 1)[1].strip()
                for line in lscpu.splitlines()
                if line.startswith("Model name")
            ),
            platform.processor(),
        )
    except OSError:
        model = platform.processor()
    return (
        f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"
    )
