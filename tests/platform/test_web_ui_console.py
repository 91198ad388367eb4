"""Browser test of moderation and the admin console against the whole platform.

On the shared private platform (conftest.py, as `test_web_ui.py`), runs
`services/web-ui/e2e/console.e2e.mjs`: an owner's image is reported by another
user, an admin re-runs its thumbnails from the admin console (a second
`thumbnail.generated` follows), takes it down from the moderation queue, the admin console lists
it (users, files, processing, audit), and the owner sees it as taken down with
the reason. MEDIAPLANE_WEB_UI_SCREENSHOTS=docs/screenshots refreshes
moderation.png, admin.png and taken-down.png. Needs what test_web_ui.py needs
(skipped with the reason otherwise).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from mediaplane.devstack.private_platform import PrivatePlatform

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
WEB_UI = ROOT / "services" / "web-ui"
DRIVER = WEB_UI / "e2e" / "console.e2e.mjs"


@pytest.fixture(scope="module")
def chromium(require_browser: Callable[[str, Mapping[str, bool]], str]) -> str:
    return require_browser(
        "console browser test",
        {"services/web-ui/dist (just web-ui)": (WEB_UI / "dist" / "index.html").is_file()},
    )


@pytest.fixture(scope="module")
def base_url(chromium: str, request: pytest.FixtureRequest) -> str:
    """The edge of a running platform: the given one, or the shared private one."""
    given = os.environ.get("MEDIAPLANE_WEB_UI_BASE_URL")
    if given:
        return given.rstrip("/") + "/"
    platform: PrivatePlatform = request.getfixturevalue("shared_platform")
    return platform.base_url + "/"


@pytest.mark.timeout(900)
def test_report_takedown_and_the_admin_console_in_the_browser(
    chromium: str, base_url: str, tmp_path: Path
) -> None:
    image = tmp_path / "photo.jpg"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
         "testsrc=size=640x480:rate=1:duration=1", "-frames:v", "1", str(image)],
        check=True,
    )  # fmt: skip
    env = {
        **os.environ,
        "WEBUI_BASE_URL": base_url,
        "WEBUI_IMAGE": str(image),
        "WEBUI_TIMEOUT_S": "240",
        "CHROMIUM": chromium,
    }
    if screenshots := os.environ.get("MEDIAPLANE_WEB_UI_SCREENSHOTS"):
        env["WEBUI_SCREENSHOTS"] = str(ROOT / screenshots)
    done = subprocess.run(
        ["node", str(DRIVER)], cwd=WEB_UI, env=env, capture_output=True, text=True,
        timeout=800, check=False,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "console-e2e: ok" in output, output
