"""Background work's placement: a session of its own niced as a scheduling group."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mediaplane.devstack.background import nice_session


@pytest.mark.skipif(
    not Path("/proc/self/autogroup").exists(),
    reason="this kernel does not group sessions (no autogroup): a niceness counts everywhere",
)
def test_nice_session_nices_that_session_and_no_other() -> None:
    ours = Path("/proc/self/autogroup").read_text()
    child = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        nice_session(child.pid, 7)
        # proc(5): "/autogroup-<id> nice <niceness>"; the kernel's root group, where a
        # process whose session began at boot stays (CI's runner), prints nothing.
        group = Path(f"/proc/{child.pid}/autogroup").read_text().split()
        assert group[1:] == ["nice", "7"]
        assert not ours.startswith(f"{group[0]} ")
        assert Path("/proc/self/autogroup").read_text() == ours
    finally:
        child.kill()
        child.wait()
