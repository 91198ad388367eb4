"""Browser test of the web UI against the whole platform behind the Caddy edge.

Boots a private platform with `python -m mediaplane.devstack platform up` (every
service role, the edge serving `services/web-ui/dist/`) on free ports, with its
own databases, buckets and stream names, beside any developer platform. Then
Node runs `services/web-ui/e2e/webui.e2e.mjs`: playwright-core drives Debian's
chromium headless (no browser download) to sign in with a dev token, upload a
small video (multipart: the gateway's single-PUT limit is lowered to 5 MiB) and
an image through the Uppy dashboard, see both thumbnails appear in the library
over the live event stream, play the video's HLS stream with hls.js, switch
quality, download, edit tags and read the history.

Needs: the built UI and its node_modules (`npm ci --prefix services/web-ui &&
npm run build --prefix services/web-ui`), Node 20+, `/usr/bin/chromium`
(`apt-get install chromium`), ffmpeg. The test is skipped, with the reason,
when one is missing (MEDIAPLANE_WEB_UI_REQUIRED=1 turns that into a failure).

Environment: MEDIAPLANE_WEB_UI_BASE_URL runs the browser part against a
platform that is already up (e.g. `just up`) instead of booting one;
MEDIAPLANE_WEB_UI_SCREENSHOTS=docs/screenshots refreshes the README pictures.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import nats
import psycopg
import pytest
from psycopg import sql

from mediaplane.devstack.pytest_plugin import empty_and_remove_bucket
from mediaplane.devstack.servers import s3_client
from mediaplane.devstack.settings import StackSettings, database_url

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
WEB_UI = ROOT / "services" / "web-ui"
DRIVER = WEB_UI / "e2e" / "webui.e2e.mjs"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SERVICES = ("gateway", "catalog", "transcoder", "thumbnailer", "janitor")
BOOT_TIMEOUT = 240.0
MIB = 1024 * 1024


def _missing() -> list[str]:
    missing = []
    if shutil.which("node") is None:
        missing.append("node (Node.js 20+)")
    if not (WEB_UI / "node_modules" / "playwright-core").is_dir():
        missing.append("services/web-ui/node_modules (npm ci --prefix services/web-ui)")
    if not (WEB_UI / "dist" / "index.html").is_file():
        missing.append("services/web-ui/dist (npm run build --prefix services/web-ui)")
    if not Path(CHROMIUM).exists():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    if shutil.which("ffmpeg") is None:
        missing.append("ffmpeg")
    return missing


@pytest.fixture(scope="module")
def prerequisites() -> None:
    missing = _missing()
    if missing:
        message = "web UI browser test needs: " + ", ".join(missing)
        if os.environ.get("MEDIAPLANE_WEB_UI_REQUIRED") == "1":
            pytest.fail(message)
        pytest.skip(message)


def _free_block(size: int) -> int:
    """The first of `size` consecutive free loopback ports."""
    for _ in range(200):
        base = random.randrange(30000, 60000 - size)
        sockets: list[socket.socket] = []
        try:
            for port in range(base, base + size):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no block of free ports")


def _platform_env(stack: StackSettings, data_dir: Path, run: str) -> dict[str, str]:
    base = _free_block(14)
    env = {
        "MEDIAPLANE_ROOT": str(ROOT),
        "MEDIAPLANE_DATA_DIR": str(data_dir),
        # The infrastructure is the shared one: external to this data folder.
        "MEDIAPLANE_PG_URL": stack.pg_url,
        "MEDIAPLANE_NATS_URL": stack.nats_url,
        "MEDIAPLANE_S3_ENDPOINT": stack.s3_endpoint,
        "MEDIAPLANE_EDGE_PORT": str(base),
        "MEDIAPLANE_EDGE_ADMIN_PORT": str(base + 1),
        "MEDIAPLANE_GATEWAY_PORT": str(base + 2),
        "MEDIAPLANE_CATALOG_PORT": str(base + 3),
        "MEDIAPLANE_STREAM": f"WEBUI{run.upper()}",
        "MEDIAPLANE_SUBJECT_ROOT": f"webui{run}",
        "MEDIAPLANE_DLQ_STREAM": f"WEBUIDLQ{run.upper()}",
        "MEDIAPLANE_DLQ_SUBJECT_ROOT": f"webuidlq{run}",
        # Small limits so a 7 MiB video goes up in two parts, and a short ladder.
        "MEDIAPLANE_SINGLE_PUT_MAX": str(5 * MIB),
        "MEDIAPLANE_PART_SIZE": str(5 * MIB),
        "MEDIAPLANE_TRANSCODER_LADDER": "360:800:64,240:400:64",
    }
    for index, service in enumerate(SERVICES):
        env[f"MEDIAPLANE_{service.upper()}_OPS_PORT"] = str(base + 4 + 2 * index)  # relay: +1
        env[f"MEDIAPLANE_{service.upper()}_DATABASE_URL"] = database_url(
            stack.pg_url, f"webui_{run}_{service}"
        )
    for kind in ("originals", "renditions", "thumbnails"):
        env[f"MEDIAPLANE_{kind.upper()}_BUCKET"] = f"webui-{run}-{kind}"
    return env


def _cleanup(stack: StackSettings, env: dict[str, str]) -> None:
    with psycopg.connect(stack.pg_url, autocommit=True) as conn:
        for service in SERVICES:
            name = psycopg.conninfo.conninfo_to_dict(
                env[f"MEDIAPLANE_{service.upper()}_DATABASE_URL"]
            )["dbname"]
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(str(name)))
            )
    client = s3_client(stack)
    for kind in ("originals", "renditions", "thumbnails"):
        empty_and_remove_bucket(client, env[f"MEDIAPLANE_{kind.upper()}_BUCKET"])

    async def drop_streams() -> None:
        nc = await nats.connect(stack.nats_url)
        try:
            js = nc.jetstream()
            for name in (env["MEDIAPLANE_STREAM"], env["MEDIAPLANE_DLQ_STREAM"]):
                with contextlib.suppress(nats.js.errors.NotFoundError):
                    await js.delete_stream(name)
        finally:
            await nc.close()

    asyncio.run(drop_streams())


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def base_url(
    prerequisites: None, stack: StackSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The edge of a running platform: the given one, or a private one booted here."""
    given = os.environ.get("MEDIAPLANE_WEB_UI_BASE_URL")
    if given:
        yield given.rstrip("/") + "/"
        return
    run = uuid.uuid4().hex[:8]
    data_dir = tmp_path_factory.mktemp("platform")
    env = _platform_env(stack, data_dir, run)
    log_path = data_dir / "platform.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "mediaplane.devstack", "platform", "up"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: honcho and every service
        )
    try:
        deadline = time.monotonic() + BOOT_TIMEOUT
        while True:
            text = log_path.read_text(errors="replace")
            if "mediaplane is up" in text:
                break
            if process.poll() is not None or "not ready after" in text:
                pytest.fail(f"the platform did not start:\n{text[-6000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"the platform was not up after {BOOT_TIMEOUT:.0f}s:\n{text[-6000:]}")
            time.sleep(1)
        yield f"http://127.0.0.1:{env['MEDIAPLANE_EDGE_PORT']}/"
    finally:
        _stop(process)
        _cleanup(stack, env)


def _make_media(folder: Path) -> tuple[Path, Path]:
    """A 5 s 640x360 H.264/AAC video of about 7 MiB (noise keeps it large) and a JPEG."""
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
    return video, image


@pytest.mark.timeout(1200)
def test_upload_library_and_playback_in_the_browser(base_url: str, tmp_path: Path) -> None:
    video, image = _make_media(tmp_path)
    assert video.stat().st_size > 5 * MIB  # multipart on the private platform
    screenshots = os.environ.get("MEDIAPLANE_WEB_UI_SCREENSHOTS")
    env = {
        **os.environ,
        "WEBUI_BASE_URL": base_url,
        "WEBUI_VIDEO": str(video),
        "WEBUI_IMAGE": str(image),
        "WEBUI_ARTIFACTS": str(tmp_path / "artifacts"),
        "WEBUI_TIMEOUT_S": "300",
        "CHROMIUM": CHROMIUM,
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
