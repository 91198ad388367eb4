"""`just up` heals: kill -9 any role, the others keep serving and it comes back.

A private platform (`platform up` as `just up` runs it, under supervisord, on
free ports with its own databases, buckets and stream names) loses each of
its processes in turn to SIGKILL. Right after each kill every other process
still answers its readiness check; then supervisord starts the killed one
again (a new pid) and it answers its own. No wall-clock bound: the wait for
the comeback is a generous number of polls, with what was seen if it fails.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from mediaplane.devstack import platform as local_platform
from mediaplane.devstack.private_platform import PrivatePlatform
from mediaplane.devstack.settings import StackSettings

pytestmark = [pytest.mark.integration, pytest.mark.soak, pytest.mark.timeout(1800)]

POLL_INTERVAL = 0.5
# A restarted role is a cold Python start on a busy 2-core machine; far more than enough.
COMEBACK_POLLS = 600


@pytest.fixture(scope="module")
def running(
    stack: StackSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[PrivatePlatform, dict[str, str]]]:
    """The platform, and each process's readiness URL (as `just up` waits for them)."""
    private = PrivatePlatform(stack, tmp_path_factory.mktemp("heal"), name="heal")
    with pytest.MonkeyPatch.context() as env:
        for name, value in private.env.items():
            env.setenv(name, value)
        settings = local_platform.PlatformSettings.from_env()
    urls = {p.name: p.ready_url for p in settings.processes()}
    try:
        private.start(timeout=300)
        yield private, urls
    finally:
        private.stop()


def answers(http: httpx.Client, url: str) -> bool:
    try:
        return http.get(url).status_code == 200
    except httpx.TransportError:
        return False


def test_every_process_comes_back_after_kill_9_while_the_others_serve(
    running: tuple[PrivatePlatform, dict[str, str]],
) -> None:
    private, urls = running
    roles = sum(len(service.roles) for service in local_platform.SERVICES)
    assert len(urls) == roles + 1  # every role of every service, and the edge
    comebacks: dict[str, float] = {}
    with httpx.Client(timeout=5) as http:
        for name, url in urls.items():
            pid = private.pid(name)
            assert pid > 0, f"supervisord knows no running {name}:\n{private.log()[-4000:]}"
            os.kill(pid, signal.SIGKILL)
            killed_at = time.monotonic()

            down = [other for other, u in urls.items() if other != name and not answers(http, u)]
            assert down == [], f"after killing {name}, these stopped answering: {down}"

            seen = []
            for _ in range(COMEBACK_POLLS):
                new_pid = private.pid(name)
                if new_pid not in (0, pid) and answers(http, url):
                    comebacks[name] = time.monotonic() - killed_at
                    break
                seen.append(new_pid)
                time.sleep(POLL_INTERVAL)
            else:
                raise AssertionError(
                    f"{name} (pid {pid}) not back after {COMEBACK_POLLS} polls of {url}; "
                    f"pids seen: {sorted(set(seen))}\n{private.log()[-4000:]}"
                )
    log = private.log()
    for name in urls:
        assert f"exited: {name} (terminated by SIGKILL; not expected)" in log, name
    # Each role's output reaches the terminal with its prefix.
    assert "gateway-api" in log
    assert " | " in log
    print("comeback seconds:", {n: round(s, 1) for n, s in comebacks.items()})


def test_platform_down_stops_every_process(
    running: tuple[PrivatePlatform, dict[str, str]],
) -> None:
    """`just down`'s first step, from another terminal: supervisord stops every role."""
    private, urls = running
    pids = {name: private.pid(name) for name in urls}
    assert all(pids.values()), pids
    done = subprocess.run(
        [sys.executable, "-m", "mediaplane.devstack", "platform", "down"],
        env={**os.environ, **private.env}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "platform: stopped" in done.stdout
    for _ in range(COMEBACK_POLLS):
        if private.exit_code() is not None:
            break
        time.sleep(POLL_INTERVAL)
    assert private.exit_code() == 0, private.log()[-4000:]
    assert "mediaplane stopped" in private.log()
    alive = []
    for name, pid in pids.items():
        try:
            os.kill(pid, 0)
            alive.append(name)
        except ProcessLookupError:
            pass
    assert alive == [], f"still running after platform down: {alive}"
