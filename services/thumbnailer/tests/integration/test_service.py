"""A job from `file.verified.v1` to objects in the thumbnails bucket and an event in the log,
against real Postgres and SeaweedFS: every format, every refusal, duplicates, retries."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from mediaplane.contracts import FileVerified
from mediaplane.storage import ObjectStore, StorageSettings, StorageUnavailable
from mediaplane.thumbnailer import testing
from mediaplane.thumbnailer.app.bootstrap import Resources, open_resources
from mediaplane.thumbnailer.app.service import ThumbnailService
from mediaplane.thumbnailer.config import OutputOptions, ThumbnailerSettings
from mediaplane.thumbnailer.domain.policy import MediaLimits

pytestmark = pytest.mark.integration

Verified = Callable[..., Any]
Rows = Callable[..., list[dict[str, Any]]]

PHOTO = testing.photo(400, 300)
POLYGLOT = (
    b"#EXTM3U\n#EXT-X-ftyp\niso2avc1mp41\n#EXT-X-TARGETDURATION:10\n"
    b"#EXTINF:2,\n/etc/hostname.ts\n#EXT-X-ENDLIST\n"
)


def log_of(rows: Rows, event: FileVerified) -> list[dict[str, Any]]:
    return rows(
        "SELECT type, data, metadata FROM event_log WHERE stream_id = %s ORDER BY version",
        f"thumbnail-{event.file_id}",
    )


def job_of(rows: Rows, event: FileVerified) -> dict[str, Any]:
    [job] = rows("SELECT * FROM thumbnail_jobs WHERE file_id = %s", event.file_id)
    return job


def leftovers(settings: ThumbnailerSettings) -> list[Path]:
    """What jobs left in their work folder: temp files go on every path."""
    assert settings.work_dir is not None
    return list(Path(settings.work_dir).iterdir())


async def stored(objects: ObjectStore, bucket: str, prefix: str) -> dict[str, bytes]:
    listed = await objects.list_objects(bucket, prefix=prefix)
    found = {}
    for summary in listed:
        found[summary.key] = b"".join([c async for c in objects.iter_object(bucket, summary.key)])
    return found


async def test_every_kind_and_format_gets_thumbnails_in_its_own_bucket(
    resources: Resources,
    verified: Verified,
    objects: ObjectStore,
    rows: Rows,
    tmp_path: Path,
) -> None:
    video = testing.video(tmp_path / "v.mp4", seconds=2.0, black_until=0.0).read_bytes()
    inputs = {
        "jpeg": (testing.oriented_jpeg(400, 300), "image/jpeg", "image"),
        "png": (testing.encode(PHOTO, "PNG"), "image/png", "image"),
        "webp": (testing.encode(PHOTO, "WEBP"), "image/webp", "image"),
        "gif": (testing.animated_gif(400, 300), "image/gif", "image"),
        # As the upload verifier labels HEIC (an ISO-BMFF file, like MP4).
        "heif": (testing.encode(PHOTO, "HEIF"), "video/mp4", "video"),
        "avif": (testing.encode(PHOTO, "AVIF"), "image/avif", "image"),
        "tiff": (testing.encode(PHOTO, "TIFF"), "image/tiff", "image"),
        "bmp": (testing.encode(PHOTO, "BMP"), "image/bmp", "image"),
        "h264": (video, "video/mp4", "video"),
        "pdf": (testing.pdf(pages=2), "application/pdf", "pdf"),
    }
    bucket = resources.settings.bucket
    for source_format, (data, media_type, kind) in inputs.items():
        event = await verified(data, media_type, kind)
        assert await resources.service.process(event) == "generated", source_format

        [record] = log_of(rows, event)
        assert record["type"] == "thumbnail.generated.v1"
        assert record["metadata"]["causation_id"] == str(event.event_id)
        assert record["metadata"]["correlation_id"] == event.correlation_id
        generated = record["data"]
        assert generated["bucket"] == bucket
        assert generated["source"]["format"] == source_format
        assert [t["name"] for t in generated["thumbnails"]] == ["small", "medium", "large"]

        objects_of_file = await stored(objects, bucket, f"{event.file_id}/")
        assert sorted(objects_of_file) == sorted(t["key"] for t in generated["thumbnails"])
        for thumbnail in generated["thumbnails"]:
            assert thumbnail["key"] == f"{event.file_id}/{thumbnail['name']}.webp"
            data = objects_of_file[thumbnail["key"]]
            assert thumbnail["size"] == len(data)
            picture = Image.open(io.BytesIO(data))
            assert picture.format == "WEBP" == thumbnail["format"].upper()
            assert picture.size == (thumbnail["width"], thumbnail["height"])

        job = job_of(rows, event)
        assert (job["status"], job["attempts"], job["thumbnail_count"]) == ("generated", 1, 3)
        assert job["source_event_id"] == event.event_id

    outbox = rows("SELECT count(*) AS n FROM outbox")[0]["n"]
    assert outbox == len(inputs)  # every outcome waits for the relay, none was published here
    assert leftovers(resources.settings) == []


@pytest.mark.parametrize(
    ("name", "make", "media_type", "kind", "code"),
    [
        ("truncated jpeg", lambda: testing.encode(PHOTO, "JPEG")[:2000], "image/jpeg", "image",
         "corrupt_input"),
        ("0-byte file", lambda: b"", "image/png", "image", "corrupt_input"),
        ("png bomb", testing.png_bomb, "image/png", "image", "too_large"),
        ("icon", lambda: testing.encode(Image.new("RGB", (16, 16)), "ICO"),
         "image/vnd.microsoft.icon", "image", "unsupported_media"),
        ("garbage video", lambda: b"\x00\x00\x00\x18ftypmp42" + b"\x13" * 5000, "video/mp4",
         "video", "corrupt_input"),
        ("garbage pdf", lambda: b"%PDF-1.7\n" + b"\x13" * 5000, "application/pdf", "pdf",
         "corrupt_input"),
        # Playlists that puremagic alone would call video/mp4: they name files to open.
        ("hls polyglot", lambda: POLYGLOT, "video/mp4", "video", "container_refused"),
        ("id3 polyglot", lambda: b"ID3\x04\x00\x00\x00\x00\x00\x08" + b"\x00" * 8 + POLYGLOT,
         "video/mp4", "video", "container_refused"),
        ("dash manifest", lambda: b'<?xml version="1.0"?><MPD>', "video/webm", "video",
         "container_refused"),
    ],
)  # fmt: skip
async def test_bad_inputs_are_recorded_as_failures_not_retried(
    resources: Resources,
    verified: Verified,
    objects: ObjectStore,
    rows: Rows,
    name: str,
    make: Callable[[], bytes],
    media_type: str,
    kind: str,
    code: str,
) -> None:
    event = await verified(make(), media_type, kind)
    assert await resources.service.process(event) == "failed", name
    [record] = log_of(rows, event)
    assert record["type"] == "thumbnail.failed.v1"
    assert (record["data"]["code"], record["data"]["file_id"]) == (code, str(event.file_id))
    assert record["data"]["detail"]
    job = job_of(rows, event)
    assert (job["status"], job["failure_code"], job["attempts"]) == ("failed", code, 1)
    assert await stored(objects, resources.settings.bucket, f"{event.file_id}/") == {}
    assert leftovers(resources.settings) == []
    # A redelivery of the same message changes nothing.
    assert await resources.service.process(event) == "duplicate"
    assert len(log_of(rows, event)) == 1


async def test_size_limit_and_missing_originals_fail_without_a_download(
    make_settings: Callable[..., ThumbnailerSettings],
    verified: Verified,
    rows: Rows,
    settings: ThumbnailerSettings,
) -> None:
    small = make_settings(limits=MediaLimits(max_file_size=1000))
    async with open_resources(small, pool_size=2) as resources:
        big = await verified(testing.encode(PHOTO, "PNG"), "image/png", "image", upload=False)
        gone = await verified(b"x" * 100, "image/png", "image", upload=False)
        assert await resources.service.process(big) == "failed"
        assert await resources.service.process(gone) == "failed"
    assert job_of(rows, big)["failure_code"] == "too_large"
    assert job_of(rows, gone)["failure_code"] == "source_missing"


async def test_tools_over_their_memory_limit_fail_as_resource_limit(
    make_settings: Callable[..., ThumbnailerSettings],
    verified: Verified,
    rows: Rows,
    tmp_path: Path,
) -> None:
    # 20 MiB of address space: not even enough to load ffprobe's or Python's libraries.
    starved = make_settings(limits=MediaLimits(tool_memory_mb=20))
    video = await verified(testing.video(tmp_path / "v.mp4", seconds=1.0).read_bytes(),
                           "video/mp4", "video")  # fmt: skip
    pdf = await verified(testing.pdf(), "application/pdf", "pdf")
    async with open_resources(starved, pool_size=2) as resources:
        assert await resources.service.process(video) == "failed"
        assert await resources.service.process(pdf) == "failed"
    for event, tool in ((video, "ffprobe"), (pdf, "the PDF renderer")):
        [record] = log_of(rows, event)
        assert record["data"]["code"] == "resource_limit"
        assert record["data"]["detail"] == f"{tool} ran out of its 20 MiB memory limit"
        assert job_of(rows, event)["attempts"] == 1  # not retried


async def test_an_original_that_is_not_the_verified_one_fails_and_makes_nothing(
    resources: Resources, verified: Verified, objects: ObjectStore, rows: Rows
) -> None:
    approved = testing.encode(PHOTO, "PNG")
    event = await verified(approved, "image/png", "image")
    # Other valid image bytes at the key after verification.
    swapped = testing.encode(testing.photo(200, 100), "PNG")
    await objects.put_bytes(event.bucket, event.object_key, swapped, content_type="image/png")

    assert await resources.service.process(event) == "failed"

    [record] = log_of(rows, event)
    assert (record["type"], record["data"]["code"]) == ("thumbnail.failed.v1", "original_changed")
    assert event.sha256 in record["data"]["detail"]
    assert await stored(objects, resources.settings.bucket, f"{event.file_id}/") == {}
    assert leftovers(resources.settings) == []


async def test_a_duplicate_event_is_a_no_op(
    resources: Resources, verified: Verified, objects: ObjectStore, rows: Rows
) -> None:
    data = testing.encode(PHOTO, "PNG")
    first = await verified(data, "image/png", "image")
    # The same file announced again (a replayed or re-verified file.verified.v1).
    again = await verified(data, "image/png", "image", file_id=first.file_id)
    assert again.event_id != first.event_id

    assert await resources.service.process(first) == "generated"
    before = await stored(objects, resources.settings.bucket, f"{first.file_id}/")
    assert await resources.service.process(first) == "duplicate"
    assert await resources.service.process(again) == "duplicate"

    assert [r["type"] for r in log_of(rows, first)] == ["thumbnail.generated.v1"]
    assert job_of(rows, first)["attempts"] == 1
    assert await stored(objects, resources.settings.bucket, f"{first.file_id}/") == before


async def test_audio_and_other_files_are_not_thumbnailed(
    resources: Resources, verified: Verified, rows: Rows
) -> None:
    event = await verified(b"ID3" + b"\x00" * 100, "audio/mpeg", "audio")
    assert await resources.service.process(event) == "ignored"
    assert rows("SELECT * FROM thumbnail_jobs") == []
    assert log_of(rows, event) == []


async def test_a_timeout_is_retried_then_recorded_on_the_last_attempt(
    make_settings: Callable[..., ThumbnailerSettings],
    verified: Verified,
    rows: Rows,
    settings: ThumbnailerSettings,
    tmp_path: Path,
) -> None:
    slow = make_settings(limits=MediaLimits(job_timeout=0.001))
    event = await verified(testing.video(tmp_path / "v.mp4", seconds=1.0).read_bytes(),
                           "video/mp4", "video")  # fmt: skip
    async with open_resources(slow, pool_size=2) as resources:
        with pytest.raises(TimeoutError):
            await resources.service.process(event)
        assert (job_of(rows, event)["status"], log_of(rows, event)) == ("running", [])
        assert leftovers(slow) == []
        assert await resources.service.process(event, last_attempt=True) == "failed"
    job = job_of(rows, event)
    assert (job["status"], job["failure_code"], job["attempts"]) == ("failed", "timeout", 2)
    assert [r["data"]["code"] for r in log_of(rows, event)] == ["timeout"]


async def test_storage_outages_raise_for_a_retry_and_the_retry_finishes_the_job(
    resources: Resources, verified: Verified, rows: Rows
) -> None:
    event = await verified(testing.encode(PHOTO, "PNG"), "image/png", "image")
    unreachable = ObjectStore(
        StorageSettings.from_urls(
            "http://127.0.0.1:9", access_key="k", secret_key="s", region="us-east-1"
        )
    )
    cut_off = ThumbnailService(
        pool=resources.pool,
        store=resources.store,
        objects=unreachable,
        renderer=resources.service.renderer,
        settings=resources.settings,
    )
    with pytest.raises(StorageUnavailable):
        await cut_off.process(event)
    assert (job_of(rows, event)["status"], log_of(rows, event)) == ("running", [])
    assert leftovers(resources.settings) == []

    assert await resources.service.process(event) == "generated"
    assert job_of(rows, event)["attempts"] == 2


async def test_jpeg_output_when_configured(
    make_settings: Callable[..., ThumbnailerSettings],
    verified: Verified,
    objects: ObjectStore,
    rows: Rows,
    settings: ThumbnailerSettings,
) -> None:
    jpeg = make_settings(output=OutputOptions(format="jpeg", quality=85))
    event = await verified(testing.encode(PHOTO, "PNG"), "image/png", "image")
    async with open_resources(jpeg, pool_size=2) as resources:
        assert await resources.service.process(event) == "generated"
    [record] = log_of(rows, event)
    thumbnails = record["data"]["thumbnails"]
    assert {t["format"] for t in thumbnails} == {"jpeg"}
    assert [t["key"] for t in thumbnails] == [
        f"{event.file_id}/{name}.jpg" for name in ("small", "medium", "large")
    ]
    found = await stored(objects, jpeg.bucket, f"{event.file_id}/")
    assert {Image.open(io.BytesIO(data)).format for data in found.values()} == {"JPEG"}
    assert json.loads(json.dumps(record["data"]["source"])) == {
        "width": 400,
        "height": 300,
        "format": "png",
        "page_count": None,
    }


async def test_a_reprocess_request_makes_new_thumbnails_once_and_removes_stale_ones(
    resources: Resources, verified: Verified, objects: ObjectStore, rows: Rows
) -> None:
    from mediaplane.contracts import EventContext, FileReprocessRequestedV2, new_event, utc_now

    data = testing.encode(PHOTO, "PNG")
    first = await verified(data, "image/png", "image")
    bucket = resources.settings.bucket
    assert await resources.service.process(first) == "generated"
    made = set(await stored(objects, bucket, f"{first.file_id}/"))
    # A thumbnail of an earlier run in another size or format: the re-run must remove it.
    stale = f"{first.file_id}/old-size.png"
    await objects.put_bytes(bucket, stale, b"stale", content_type="image/png")

    request = new_event(
        FileReprocessRequestedV2,
        occurred_at=utc_now(),
        stream_id=f"file-{first.file_id}",
        context=EventContext(producer="upload-gateway", correlation_id="rerun"),
        file_id=first.file_id,
        owner=first.owner,
        target="thumbnails",
        requested_by="root",
        bucket=first.bucket,
        object_key=first.object_key,
        sha256=first.sha256,
        size=first.size,
        media_type=first.media_type,
        kind=first.kind,
    )
    assert await resources.service.process(request) == "generated"
    assert await resources.service.process(request) == "duplicate"  # a redelivery
    assert await resources.service.process(first) == "duplicate"

    log = log_of(rows, first)
    assert [r["type"] for r in log] == ["thumbnail.generated.v1", "thumbnail.generated.v1"]
    assert log[1]["metadata"]["causation_id"] == str(request.event_id)
    assert set(await stored(objects, bucket, f"{first.file_id}/")) == made
    job = job_of(rows, first)
    assert (job["status"], job["source_event_id"]) == ("generated", request.event_id)
