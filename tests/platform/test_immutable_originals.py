"""The tester's attack on the whole platform: write again with old upload URLs after `ready`.

The shared private platform (conftest.py, as in test_end_to_end.py) takes a PNG in one presigned PUT
without a declared SHA-256, and a video in presigned parts, through the Caddy
edge. Once both are processed, the PNG's old URL is used again (a longer body
is refused by the signed length; an HTML body of the same length is stored,
in the staging object only) and a part URL of the video is used again (the
upload is completed: refused). The catalog's download, the thumbnails and the
HLS renditions must stay exactly the verified ones, and the owner's usage is
the verified size.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from PIL import Image

from mediaplane.devstack.private_platform import PrivatePlatform

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

MIB = 1024 * 1024
PROCESSING_DEADLINE = 300.0  # a busy 2-core machine; normally far less


def make_video(path: Path) -> None:
    """3 s of noisy 640x360 H.264/AAC: above the 5 MiB single-PUT limit."""
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=3",
            "-f", "lavfi", "-i", "sine=frequency=440:duration=3",
            "-vf", "noise=alls=12:allf=t",
            "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "16M", "-maxrate", "16M",
            "-bufsize", "8M", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path),
        ],
        check=True,
    )  # fmt: skip


def png_bytes() -> bytes:
    picture = Image.effect_noise((640, 480), 40).convert("RGB")
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def open_upload(http: httpx.Client, name: str, body: bytes, content_type: str) -> dict[str, Any]:
    opened = http.post(
        "/v1/uploads",
        json={"filename": name, "size": len(body), "content_type": content_type},
    )
    assert opened.status_code == 201, opened.text
    session: dict[str, Any] = opened.json()
    return session


def wait_until_processed(http: httpx.Client, file_id: str, video: bool) -> dict[str, Any]:
    deadline = time.monotonic() + PROCESSING_DEADLINE
    detail: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = http.get(f"/v1/files/{file_id}")
        if response.status_code == 200:
            detail = response.json()
            summary = detail["file"]
            done = summary["thumbnail_status"] in ("ready", "failed") and (
                not video or summary["transcode_status"] in ("ready", "failed")
            )
            if summary["status"] == "rejected" or done:
                return detail
        time.sleep(1)
    raise AssertionError(f"{file_id} not processed in time; last seen: {detail}")


def served(http: httpx.Client, file_id: str) -> dict[str, bytes]:
    """Every byte the platform serves for the file: download, thumbnails, HLS playlists
    and segments (URLs are presigned per request, so compare content, not URLs)."""
    detail = http.get(f"/v1/files/{file_id}").json()
    assert detail["file"]["status"] == "ready", detail["file"]
    content = {"download": httpx.get(detail["download"]["url"], timeout=30).content}
    for thumb in detail["thumbnails"]:
        content[f"thumbnail/{thumb['name']}"] = httpx.get(thumb["url"], timeout=30).content
    if detail["hls_url"]:
        master = http.get(detail["hls_url"])
        assert master.status_code == 200, master.text
        content["hls/master"] = _paths_only(master.text)
        for name in _uris(master.text):
            playlist = http.get(urljoin(detail["hls_url"], name))  # through the catalog
            assert playlist.status_code == 200, playlist.text
            # The name carries a fresh playback token (`?pt=`): key by the path alone.
            content[f"hls/{name.split('?')[0]}"] = _paths_only(playlist.text)
            for segment in _uris(playlist.text):  # presigned S3 URLs
                path = urlsplit(segment).path
                content[f"hls/segment{path}"] = httpx.get(segment, timeout=30).content
    return content


def _uris(playlist: str) -> list[str]:
    return [line for line in playlist.splitlines() if line and not line.startswith("#")]


def _paths_only(playlist: str) -> bytes:
    """Playlists carry freshly signed URLs; their paths are what must not change."""
    return "\n".join(line.split("?")[0] for line in playlist.splitlines()).encode()


def test_old_upload_urls_used_after_ready_change_nothing_served(
    shared_platform: PrivatePlatform, tmp_path: Path
) -> None:
    base_url = shared_platform.base_url
    token = httpx.post(f"{base_url}/v1/dev/token", json={"sub": "tester"}).json()["token"]
    video_path = tmp_path / "clip.mp4"
    make_video(video_path)
    video, image = video_path.read_bytes(), png_bytes()
    assert len(video) > 5 * MIB
    assert len(image) < 5 * MIB

    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as http:
        single = open_upload(http, "photo.png", image, "image/png")
        assert single["mode"] == "single"
        assert single["sha256"] is None
        put = single["upload"]
        assert httpx.put(put["url"], headers=put["headers"], content=image).status_code == 200
        done = http.post(f"/v1/uploads/{single['session_id']}/complete", json={})
        assert done.status_code == 202, done.text

        multi = open_upload(http, "clip.mp4", video, "video/mp4")
        assert multi["mode"] == "multipart"
        numbers = list(range(1, multi["part_count"] + 1))
        parts = http.post(
            f"/v1/uploads/{multi['session_id']}/parts",
            json={"parts": [{"number": n} for n in numbers]},
        ).json()["parts"]
        size, etags = multi["part_size"], []
        for part in parts:
            n = part["number"]
            stored = httpx.put(part["url"], content=video[(n - 1) * size : n * size], timeout=60)
            assert stored.status_code == 200, stored.text
            etags.append({"number": n, "etag": stored.headers["etag"]})
        done = http.post(f"/v1/uploads/{multi['session_id']}/complete", json={"parts": etags})
        assert done.status_code == 202, done.text

        image_detail = wait_until_processed(http, single["file_id"], video=False)
        video_detail = wait_until_processed(http, multi["file_id"], video=True)
        assert image_detail["file"]["thumbnail_status"] == "ready", image_detail["file"]
        assert video_detail["file"]["transcode_status"] == "ready", video_detail["file"]
        assert image_detail["sha256"] == sha(image)
        assert video_detail["sha256"] == sha(video)
        before = {f: served(http, f) for f in (single["file_id"], multi["file_id"])}
        assert before[single["file_id"]]["download"] == image
        assert before[multi["file_id"]]["download"] == video

        # The attack: the single URL again, with 1 MiB of HTML, and with HTML of the
        # declared length; a part URL again.
        html = b"<!DOCTYPE html><html>" + b"A" * MIB
        assert httpx.put(put["url"], headers=put["headers"], content=html).status_code == 403
        same_length = (b"<!DOCTYPE html><html>" + b"A" * len(image))[: len(image)]
        replay = httpx.put(put["url"], headers=put["headers"], content=same_length)
        assert replay.status_code == 200  # lands in the staging object only
        again = httpx.put(parts[0]["url"], content=b"B" * size, timeout=60)
        assert again.status_code == 404  # NoSuchUpload: completed

        after = {f: served(http, f) for f in (single["file_id"], multi["file_id"])}
        assert after == before
        listed = http.get("/v1/files").json()["items"]
        assert sorted(f["size"] for f in listed) == sorted([len(image), len(video)])
