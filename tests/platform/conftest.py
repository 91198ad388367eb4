"""Fixtures the platform tests share."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from mediaplane.devstack.private_platform import PrivatePlatform
from mediaplane.devstack.pytest_plugin import PrivateNats
from mediaplane.devstack.settings import StackSettings

WEB_UI = Path(__file__).resolve().parents[2] / "services" / "web-ui"
MIB = 1024 * 1024
# Small parts so a video of a few MiB goes up in several parts, and a two-rung ladder
# (the browser test sees the player switch between them).
SHARED_PLATFORM_ENV = {
    "MEDIAPLANE_SINGLE_PUT_MAX": str(5 * MIB),
    "MEDIAPLANE_PART_SIZE": str(5 * MIB),
    "MEDIAPLANE_TRANSCODER_LADDER": "360:800:64,240:400:64",
}
BOOT_TIMEOUT = 300.0


@pytest.fixture(scope="session")
def shared_platform(
    stack: StackSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrivatePlatform]:
    """One running private platform (dev sign-in on) for every whole-platform test that
    does not need a platform of its own; always torn down.

    Booting one costs ~40 s and stopping it ~10 s on this machine, so the modules share
    it: each works as users of its own (subjects no other test uses), as people share
    one deployment. On a NATS of its own, so every service connects with its own
    identity and permissions, on the production stream names, as `just up` runs them;
    a permission any service lacked shows as a violation in that server's log.
    """
    nats = PrivateNats(tmp_path_factory.mktemp("nats"))
    nats.start()
    private = PrivatePlatform(
        stack,
        tmp_path_factory.mktemp("platform"),
        name="shared",
        extra_env=SHARED_PLATFORM_ENV,
        nats=nats,
    )
    try:
        private.start(timeout=BOOT_TIMEOUT)
        yield private
    finally:
        private.stop()
        nats.stop()
    violations = [line for line in nats.log().splitlines() if "Violation" in line]
    assert violations == [], "a service lacks a permission it uses"


# Checks a browser test's prerequisites: `(what, extra)` where `extra` maps a
# description of anything else it needs to whether that is present.
RequireBrowser = Callable[[str, Mapping[str, bool]], str]


@pytest.fixture(scope="session")
def require_browser() -> RequireBrowser:
    """A browser test's check: node, playwright-core, chromium and `extra`. Returns the
    chromium path. Missing pieces skip the test with the list, or fail it where
    MEDIAPLANE_WEB_UI_REQUIRED=1 (CI installs them all)."""

    def check(what: str, extra: Mapping[str, bool]) -> str:
        chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
        needs = {
            "node (Node.js 20+)": shutil.which("node") is not None,
            "services/web-ui/node_modules (npm ci --prefix services/web-ui)": (
                WEB_UI / "node_modules" / "playwright-core"
            ).is_dir(),
            f"{chromium} (apt-get install chromium)": Path(chromium).exists(),
            **extra,
        }
        missing = [name for name, present in needs.items() if not present]
        if missing:
            message = f"{what} needs: " + ", ".join(missing)
            if os.environ.get("MEDIAPLANE_WEB_UI_REQUIRED") == "1":
                pytest.fail(message)
            pytest.skip(message)
        return chromium

    return check
