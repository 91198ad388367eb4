"""Metadata through the whole platform: a phone-like JPEG with EXIF and GPS, uploaded
through the edge twice (with and without the location opt-in), read back from the catalog.

On the shared private platform and its own NATS (conftest.py: every service with its
own identity and permissions), so the thumbnailer's new consumer and event family are exercised as
deployed. The JPEG is made with Pillow.
"""

from __future__ import annotations

import io
import time
from typing import Any

import httpx
import pytest
from PIL import Image

from mediaplane.devstack.private_platform import PrivatePlatform

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

DEADLINE = 300.0  # a busy 2-core machine; normally seconds


def camera_jpeg() -> bytes:
    """800x600, EXIF make/model/lens/DateTimeOriginal (+02:00) and GPS 48.8582 N 2.2945 E."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Google", "Pixel 8"
    details = exif.get_ifd(0x8769)
    details[0x9003], details[0x9011] = "2024:07:14 18:30:05", "+02:00"
    details[0xA434] = "Pixel 8 back camera 6.9mm f/1.68"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (48.0, 51.0, 29.6), "E", (2.0, 17.0, 40.2)
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), (30, 120, 200)).save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def upload(http: httpx.Client, data: bytes, *, keep_location: bool) -> str:
    """Open a single-PUT session through the edge, PUT the bytes, complete: the file id."""
    opened = http.post(
        "/v1/uploads",
        json={
            "filename": "beach.jpg",
            "size": len(data),
            "content_type": "image/jpeg",
            "location": "keep" if keep_location else "strip",
        },
    )
    assert opened.status_code == 201, opened.text
    session = opened.json()
    assert session["keep_location"] is keep_location
    put = session["upload"]
    stored = httpx.request(put["method"], put["url"], headers=put["headers"], content=data)
    assert stored.status_code == 200, stored.text
    done = http.post(f"/v1/uploads/{session['session_id']}/complete", json={})
    assert done.status_code == 202, done.text
    return str(session["file_id"])


def metadata_of(http: httpx.Client, file_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE
    detail: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = http.get(f"/v1/files/{file_id}")
        if response.status_code == 200:
            detail = response.json()
            if detail["metadata"]:
                return detail
        time.sleep(1)
    raise AssertionError(f"no metadata for {file_id}; last seen: {detail}")


def test_a_photos_exif_is_shown_and_its_location_only_when_the_owner_opted_in(
    shared_platform: PrivatePlatform,
) -> None:
    base_url = shared_platform.base_url
    token = httpx.post(f"{base_url}/v1/dev/token", json={"sub": "meta-user"}).json()["token"]
    data = camera_jpeg()
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as http:
        private = upload(http, data, keep_location=False)
        shared = upload(http, data, keep_location=True)
        without, with_location = metadata_of(http, private), metadata_of(http, shared)

        for detail in (without, with_location):
            metadata = detail["metadata"]
            assert (metadata["status"], metadata["kind"]) == ("extracted", "image")
            image = metadata["image"]
            assert (image["width"], image["height"], image["format"]) == (800, 600, "jpeg")
            assert (image["camera_make"], image["camera_model"]) == ("Google", "Pixel 8")
            assert image["taken_at"] == "2024-07-14T16:30:05Z"
        assert without["metadata"]["image"]["location"] is None
        location = with_location["metadata"]["image"]["location"]
        assert location["latitude"] == pytest.approx(48.85822, abs=1e-4)
        assert location["longitude"] == pytest.approx(2.29450, abs=1e-4)

        # Not in the file's history either (the raw events), and filterable by date taken.
        history = http.get(f"/v1/files/{private}/history").json()
        assert "48.85" not in str(history)
        assert "latitude" not in str(history)
        listed = http.get(
            "/v1/files",
            params={"taken_after": "2024-07-14T00:00:00Z", "taken_before": "2024-07-15T00:00:00Z"},
        ).json()
        assert {item["file_id"] for item in listed["items"]} == {private, shared}
        empty = http.get("/v1/files", params={"min_duration": 5, "max_duration": 1})
        assert empty.status_code == 422
        assert empty.json()["code"] == "invalid_range"
