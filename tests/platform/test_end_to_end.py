"""The whole platform, booted as `just up` boots it, used through the CLI.

The shared private platform (`shared_platform` in conftest.py: `platform up` on
free ports with its own databases, buckets, streams and NATS, beside any developer's
`just up`) takes a video, an image, a PDF and an MP3 uploaded with the
`mediaplane` command through the Caddy edge. Then the catalog, read through
the edge too, must show the renditions and thumbnails: the HLS master
playlists (video and audio-only) are checked with ffprobe, the thumbnails are
decoded at the sizes the thumbnailer promises, the video's MP4 fallback is
faststart and answers a Range request, the audio's waveform is served.
Nothing here measures time; the only deadline is a generous one for the work.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from mediaplane.devstack.private_platform import PrivatePlatform

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

MIB = 1024 * 1024
PROCESSING_DEADLINE = 300.0  # a busy 2-core machine; normally far less
THUMBNAIL_SIZES = {"small": 160, "medium": 320, "large": 1280}


def cli(base_url: str, *args: str, token: str | None = None) -> Any:
    """Run the `mediaplane` command with --json and return what it printed."""
    argv = [sys.executable, "-m", "mediaplane.client", "--url", base_url, "--json"]
    if token:
        argv += ["--token", token]
    done = subprocess.run([*argv, *args], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"mediaplane {' '.join(args)} failed:\n{done.stderr}"
    return json.loads(done.stdout)


def make_video(path: Path) -> None:
    """4 s of 640x360 H.264/AAC; the noise keeps it above the 5 MiB single-PUT limit."""
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=4",
            "-f", "lavfi", "-i", "sine=frequency=440:duration=4",
            "-vf", "noise=alls=12:allf=t",
            "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "14M", "-maxrate", "14M",
            "-bufsize", "7M", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path),
        ],
        check=True,
    )  # fmt: skip


def make_audio(path: Path) -> None:
    """3 s of MP3 (a tone)."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=330:duration=3",
         "-c:a", "libmp3lame", str(path)],
        check=True,
    )  # fmt: skip


def make_image(path: Path) -> None:
    Image.new("RGB", (1600, 900), (30, 120, 200)).save(path, "JPEG", quality=90)


def make_pdf(path: Path) -> None:
    """One A4 page: 595x842 points at 72 dpi."""
    Image.new("RGB", (595, 842), (250, 250, 240)).save(path, "PDF", resolution=72.0)


def wait_until_processed(http: httpx.Client, file_id: str, kind: str) -> dict[str, Any]:
    """Poll the catalog (through the edge) until every job for the file has an outcome."""
    deadline = time.monotonic() + PROCESSING_DEADLINE
    detail: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = http.get(f"/v1/files/{file_id}")
        if response.status_code == 200:
            detail = response.json()
            summary = detail["file"]
            done = (
                summary["status"] == "ready"
                and (kind == "audio" or summary["thumbnail_status"] in ("ready", "failed"))
                and (
                    kind not in ("video", "audio")
                    or summary["transcode_status"] in ("ready", "failed")
                )
            )
            if summary["status"] == "rejected" or done:
                return detail
        time.sleep(1)
    raise AssertionError(f"{kind} {file_id} not processed in time; last seen: {detail}")


def expected_size(width: int, height: int, longest: int) -> tuple[int, int]:
    scale = longest / max(width, height)
    return round(width * scale), round(height * scale)


def check_thumbnails(
    http: httpx.Client, detail: dict[str, Any], source: tuple[int, int], *, upscale: bool
) -> None:
    assert detail["file"]["thumbnail_status"] == "ready", detail["file"]
    thumbnails = {t["name"]: t for t in detail["thumbnails"]}
    assert set(thumbnails) == set(THUMBNAIL_SIZES)
    for name, longest in THUMBNAIL_SIZES.items():
        thumb = thumbnails[name]
        # The presigned URL is signed for the edge, which forwards it to S3.
        assert thumb["url"].startswith(str(http.base_url).rstrip("/") + "/")
        body = httpx.get(thumb["url"], timeout=30)
        assert body.status_code == 200, body.text
        picture = Image.open(io.BytesIO(body.content))
        picture.load()
        assert picture.format == thumb["format"].upper()
        wanted = longest if upscale else min(longest, max(source))
        assert picture.size == (thumb["width"], thumb["height"])
        width, height = expected_size(*source, wanted)
        assert abs(picture.width - width) <= 1, (name, picture.size, width, height)
        assert abs(picture.height - height) <= 1, (name, picture.size, width, height)


def test_a_video_an_image_a_pdf_and_an_audio_file_end_to_end(
    shared_platform: PrivatePlatform, tmp_path: Path
) -> None:
    base_url = shared_platform.base_url
    video, image, pdf = tmp_path / "clip.mp4", tmp_path / "photo.jpg", tmp_path / "page.pdf"
    audio = tmp_path / "tone.mp3"
    make_video(video)
    make_audio(audio)
    make_image(image)
    make_pdf(pdf)
    assert video.stat().st_size > 5 * MIB  # multipart through the edge

    # Dev sign-in through the edge (the gateway's dev-mode route), with the CLI.
    token = cli(base_url, "token", "--sub", "e2e-user")["token"]
    uploaded = {
        kind: cli(base_url, "upload", str(path), "--tag", "e2e", token=token)
        for kind, path in (("video", video), ("image", image), ("pdf", pdf), ("audio", audio))
    }
    for completion in uploaded.values():
        assert completion["status"] == "completed"

    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as http:
        details = {
            kind: wait_until_processed(http, completion["file_id"], kind)
            for kind, completion in uploaded.items()
        }
        for kind, detail in details.items():
            assert detail["file"]["status"] == "ready", (kind, detail["file"])
            assert detail["file"]["kind"] == kind
            assert detail["file"]["tags"] == ["e2e"]

        check_thumbnails(http, details["image"], (1600, 900), upscale=False)
        # PDF pages are vectors: rendered at each size, never limited by the page's points.
        check_thumbnails(http, details["pdf"], (595, 842), upscale=True)
        check_thumbnails(http, details["video"], (640, 360), upscale=False)
        check_variant(http, details["image"]["file"]["file_id"])

        listed = cli(base_url, "files", "list", "--tag", "e2e", token=token)
        assert {f["file_id"] for f in listed["items"]} == {c["file_id"] for c in uploaded.values()}

        check_mp4_fallback(http, details["video"])
        check_audio(http, base_url, details["audio"])

    check_hls(base_url, details["video"])
    check_no_token_logged(shared_platform, details["video"], token)


def check_variant(http: httpx.Client, file_id: str) -> None:
    """A preset variant through the edge: the thumbnailer's projection of the file events
    (its own durable, under its own NATS identity) knows the file, the API redirects to
    the variant's presigned URL on the edge, and the bytes are the variant, cacheable."""
    path = f"/v1/files/{file_id}/variants/card"
    deadline = time.monotonic() + 60
    answer = http.get(path, follow_redirects=False)
    while answer.status_code == 404 and time.monotonic() < deadline:  # the projection lags
        time.sleep(0.5)
        answer = http.get(path, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    served = httpx.get(answer.headers["location"], timeout=30)
    assert served.status_code == 200
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert Image.open(io.BytesIO(served.content)).size == (400, 300)


def check_hls(base_url: str, detail: dict[str, Any]) -> None:
    assert detail["file"]["transcode_status"] == "ready", detail["file"]
    renditions = sorted((r["width"], r["height"]) for r in detail["renditions"])
    assert renditions == [(426, 240), (640, 360)]
    # The master playlist URL carries the file's playback token (and the catalog
    # puts it on the rendition playlists it rewrites), so ffprobe needs no headers.
    master = f"{base_url}{detail['hls_url']}"
    probe = subprocess.run(
        [
            "ffprobe", "-v", "error", "-print_format", "json",
            "-show_programs", "-show_streams", "-show_format", master,
        ],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "AV_LOG_FORCE_NOCOLOR": "1"},
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    report = json.loads(probe.stdout)
    assert report["format"]["format_name"] == "hls"
    assert float(report["format"]["duration"]) == pytest.approx(4.0, abs=1.0)
    video_sizes = sorted(
        (s["width"], s["height"]) for s in report["streams"] if s["codec_type"] == "video"
    )
    assert video_sizes == [(426, 240), (640, 360)]
    assert {s["codec_name"] for s in report["streams"] if s["codec_type"] == "video"} == {"h264"}
    assert {s["codec_name"] for s in report["streams"] if s["codec_type"] == "audio"} == {"aac"}
    assert len(report["programs"]) == 2  # one variant stream per rendition


def top_level_boxes(data: bytes) -> list[str]:
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        boxes.append(data[offset + 4 : offset + 8].decode("latin-1"))
        if size == 1:
            size = int.from_bytes(data[offset + 8 : offset + 16], "big")
        if size < 8:
            break
        offset += size
    return boxes


def check_mp4_fallback(http: httpx.Client, detail: dict[str, Any]) -> None:
    """At most 720p (here the 640x360 source), faststart, seekable through the edge."""
    mp4 = detail["mp4"]
    assert (mp4["width"], mp4["height"]) == (640, 360)
    redirect = http.get(f"/v1/files/{detail['file']['file_id']}/mp4", follow_redirects=False)
    assert redirect.status_code == 307, redirect.text
    location = redirect.headers["location"]
    assert location.startswith(str(http.base_url).rstrip("/") + "/")  # signed for the edge
    whole = httpx.get(location, timeout=30)
    assert whole.status_code == 200
    assert len(whole.content) == mp4["size"]
    boxes = top_level_boxes(whole.content)
    assert boxes.index("moov") < boxes.index("mdat"), boxes
    ranged = httpx.get(location, headers={"Range": "bytes=100-199"}, timeout=30)
    assert ranged.status_code == 206
    assert ranged.content == whole.content[100:200]


def check_audio(http: httpx.Client, base_url: str, detail: dict[str, Any]) -> None:
    assert detail["file"]["transcode_status"] == "ready", detail["file"]
    assert [r["name"] for r in detail["renditions"]] == ["128k", "64k"]
    waveform = httpx.get(detail["waveform_url"], timeout=30)
    assert waveform.status_code == 200
    peaks = waveform.json()["peaks"]
    assert len(peaks) == 1000
    assert max(peaks) == 1.0
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams",
         f"{base_url}{detail['hls_url']}"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    streams = json.loads(probe.stdout)["streams"]
    assert {s["codec_type"] for s in streams} == {"audio"}
    assert {s["codec_name"] for s in streams} == {"aac"}


def check_no_token_logged(platform: PrivatePlatform, detail: dict[str, Any], token: str) -> None:
    """No process of the platform logged the bearer token or the playback token."""
    playback = detail["hls_url"].split("?pt=", 1)[1]
    deadline = time.monotonic() + 30
    # The catalog's access log line of ffprobe's playlist fetch, masked, shows the
    # log is the one the playback wrote (process output reaches the file a bit later).
    logged = f"{detail['hls_url'].split('?')[0]}?pt=REDACTED"
    while logged not in platform.log() and time.monotonic() < deadline:
        time.sleep(0.5)
    log = platform.log()
    assert logged in log
    for secret in (token, *token.split(".")[1:], playback, *playback.split(".")[1:]):
        assert secret not in log
    assert "access_token" not in log


def test_identity_serves_discovery_and_keys_through_the_edge(
    shared_platform: PrivatePlatform,
) -> None:
    # Issued for the one base URL `just up` serves, and the keys it names answer there.
    discovery = httpx.get(
        f"{shared_platform.base_url}/.well-known/openid-configuration", timeout=30
    )
    assert discovery.status_code == 200, discovery.text
    document = discovery.json()
    assert document["issuer"] == shared_platform.base_url
    assert document["jwks_uri"] == f"{shared_platform.base_url}/.well-known/jwks.json"
    keys = httpx.get(document["jwks_uri"], timeout=30)
    assert keys.status_code == 200, keys.text
    assert keys.json()["keys"], "no signing key published"
    # Signed out: the account API refuses, as problem+json from identity itself.
    account = httpx.get(f"{shared_platform.base_url}/v1/account", timeout=30)
    assert account.status_code == 401, account.text
    assert account.headers["content-type"].startswith("application/problem+json")
