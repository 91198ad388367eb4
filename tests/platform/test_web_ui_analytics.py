"""Browser test of playback analytics: real hls.js playback in Chromium produces the
expected view in the file's analytics.

On the shared private platform (conftest.py, as test_web_ui.py), Node runs
`services/web-ui/e2e/analytics.e2e.mjs`: an admin (dev token) uploads a 4 s video,
plays it to the end with hls.js, and the player's beacons (fetch keepalive, bearer in
the header) must become exactly one view with watch time, startup time, time per
rendition and a full retention curve; the file page draws its charts and the admin
page lists the file among the worst-QoE files.

Needs what test_web_ui.py needs (built UI, Node, /usr/bin/chromium, ffmpeg); skipped
with the reason otherwise. MEDIAPLANE_WEB_UI_SCREENSHOTS=docs/screenshots refreshes
docs/screenshots/analytics-*.png.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from mediaplane.devstack.private_platform import PrivatePlatform

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
WEB_UI = ROOT / "services" / "web-ui"
DRIVER = WEB_UI / "e2e" / "analytics.e2e.mjs"


@pytest.fixture(scope="module")
def chromium(require_browser: Callable[[str, Mapping[str, bool]], str]) -> str:
    return require_browser(
        "analytics browser test",
        {
            "services/web-ui/dist (just web-ui)": (WEB_UI / "dist" / "index.html").is_file(),
            "ffmpeg": shutil.which("ffmpeg") is not None,
        },
    )


def _clip(folder: Path) -> Path:
    """A 4 s 640x360 H.264/AAC clip (small: one PUT)."""
    clip = folder / "analytics-clip.mp4"
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=4",
            "-f", "lavfi", "-i", "sine=frequency=440:duration=4",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-shortest", str(clip),
        ],
        check=True,
    )  # fmt: skip
    return clip


@pytest.mark.timeout(900)
def test_hls_playback_in_chromium_becomes_one_view_in_the_file_analytics(
    chromium: str, shared_platform: PrivatePlatform, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "WEBUI_BASE_URL": shared_platform.base_url + "/",
        "WEBUI_VIDEO": str(_clip(tmp_path)),
        "WEBUI_ARTIFACTS": str(tmp_path / "artifacts"),
        "WEBUI_TIMEOUT_S": "300",
        "CHROMIUM": chromium,
    }
    screenshots = os.environ.get("MEDIAPLANE_WEB_UI_SCREENSHOTS")
    if screenshots:
        env["WEBUI_SCREENSHOTS"] = str(ROOT / screenshots)
    done = subprocess.run(
        ["node", str(DRIVER)],
        cwd=WEB_UI,
        env=env,
        capture_output=True,
        text=True,
        timeout=850,
        check=False,
    )
    output = done.stdout + done.stderr
    if done.returncode != 0:
        # What analytics said meanwhile (its API and worker), to see why.
        log = shared_platform.log_path.read_text(errors="replace").splitlines()
        output += "\n" + "\n".join(line for line in log if "analytics-" in line)[-20_000:]
    assert done.returncode == 0, output
    assert "analytics-e2e: ok" in output, output
    assert "analytics: views=1 viewers=1" in output, output
    assert "each with the bearer in its header and none in its URL" in output, output
