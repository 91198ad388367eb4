"""Browser test of the web UI against the whole platform behind the Caddy edge.

On the shared private platform (`shared_platform` in conftest.py: `platform up`
as `just up` runs it, every service role and the edge serving
`services/web-ui/dist/`, on free ports with its own databases, buckets and
stream names, beside any developer's platform). Then
Node runs `services/web-ui/e2e/webui.e2e.mjs`: playwright-core drives Debian's
chromium headless (no browser download) to sign in with a dev token, upload a
small video (multipart: the gateway's single-PUT limit is lowered to 5 MiB) and
an image through the Uppy dashboard, see both thumbnails appear in the library
over the live event stream, play the video's HLS stream with hls.js (every
playlist request with the file's playback token, none with the bearer token),
switch quality, fetch a Range of the MP4 fallback, download, edit tags and read
the history; and play an MP3 with its waveform, seeking by a click on it.

Needs: the built UI and its node_modules (`npm ci --prefix services/web-ui &&
npm run build --prefix services/web-ui`), Node 20+, `/usr/bin/chromium`
(`apt-get install chromium`), ffmpeg. The test is skipped, with the reason,
when one is missing (MEDIAPLANE_WEB_UI_REQUIRED=1 turns that into a failure).

Environment: MEDIAPLANE_WEB_UI_BASE_URL runs the browser part against a
platform that is already up (e.g. `just up`) instead of booting one;
MEDIAPLANE_WEB_UI_SCREENSHOTS=docs/screenshots refreshes the README pictures.
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
DRIVER = WEB_UI / "e2e" / "webui.e2e.mjs"
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def prerequisites(require_browser: Callable[[str, Mapping[str, bool]], str]) -> str:
    """The chromium to drive."""
    return require_browser(
        "web UI browser test",
        {
            "services/web-ui/dist (just web-ui)": (WEB_UI / "dist" / "index.html").is_file(),
            "ffmpeg": shutil.which("ffmpeg") is not None,
        },
    )


@pytest.fixture(scope="module")
def base_url(prerequisites: str, request: pytest.FixtureRequest) -> str:
    """The edge of a running platform: the given one, or the shared private one."""
    given = os.environ.get("MEDIAPLANE_WEB_UI_BASE_URL")
    if given:
        return given.rstrip("/") + "/"
    platform: PrivatePlatform = request.getfixturevalue("shared_platform")
    return platform.base_url + "/"


def _make_media(folder: Path) -> tuple[Path, Path, Path]:
    """A 5 s 640x360 H.264/AAC video of about 7 MiB (noise keeps it large), a JPEG and
    4 s of MP3."""
    audio = folder / "e2e-tone.mp3"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=330:duration=4",
         "-c:a", "libmp3lame", str(audio)],
        check=True,
    )  # fmt: skip
    video = folder / "e2e-clip.mp4"
    image = folder / "e2e-photo.jpg"
    lavfi = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi"]
    subprocess.run(
        [
            *lavfi,
            "-i",
            "testsrc2=size=640x360:rate=25:duration=5",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=5",
            "-vf",
            "noise=alls=12:allf=t",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-b:v",
            "12M",
            "-maxrate",
            "12M",
            "-bufsize",
            "6M",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
            str(video),
        ],
        check=True,
    )
    subprocess.run(
        [*lavfi, "-i", "testsrc=size=800x600:rate=1:duration=1", "-frames:v", "1", str(image)],
        check=True,
    )
    return video, image, audio


@pytest.mark.timeout(1200)
def test_upload_library_and_playback_in_the_browser(
    prerequisites: str, base_url: str, tmp_path: Path
) -> None:
    video, image, audio = _make_media(tmp_path)
    assert video.stat().st_size > 5 * MIB  # multipart on the private platform
    screenshots = os.environ.get("MEDIAPLANE_WEB_UI_SCREENSHOTS")
    env = {
        **os.environ,
        "WEBUI_BASE_URL": base_url,
        "WEBUI_VIDEO": str(video),
        "WEBUI_IMAGE": str(image),
        "WEBUI_AUDIO": str(audio),
        "WEBUI_ARTIFACTS": str(tmp_path / "artifacts"),
        "WEBUI_TIMEOUT_S": "300",
        "CHROMIUM": prerequisites,
    }
    if screenshots:
        env["WEBUI_SCREENSHOTS"] = str(ROOT / screenshots)
    done = subprocess.run(
        ["node", str(DRIVER)],
        cwd=WEB_UI,
        env=env,
        capture_output=True,
        text=True,
        timeout=1100,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "webui-e2e: ok" in output
    assert "qualities: Auto | 360p" in output, output
    assert "each with a playback token and no bearer token" in output, output
    assert "mp4 fallback: ⬇ MP4 360p, Range 206" in output, output
    assert "audio: waveform of 1000 peaks" in output, output
    if not os.environ.get("MEDIAPLANE_WEB_UI_BASE_URL"):
        # The private platform's two-rung ladder: the player switched to 240p.
        assert "switched to level" in output, output
        assert "(240p)" in output, output
