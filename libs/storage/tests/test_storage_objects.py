"""Contract: reading, writing, listing and deleting objects; presigned downloads."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from contextlib import aclosing
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from mediaplane.devstack.settings import StackSettings
from mediaplane.storage import (
    BucketNotFound,
    ObjectNotFound,
    ObjectStore,
    StorageSettings,
    content_disposition,
)
from mediaplane.storage.settings import MAX_COPY_PART, MIN_COPY_PART

pytestmark = pytest.mark.integration

FIVE_MINUTES = timedelta(minutes=5)


async def read_all(store: ObjectStore, bucket: str, key: str, **range_: int) -> bytes:
    return b"".join([chunk async for chunk in store.iter_object(bucket, key, **range_)])


async def test_stat_of_a_missing_object_raises_object_not_found(
    store: ObjectStore, s3_bucket: str
) -> None:
    with pytest.raises(ObjectNotFound):
        await store.stat(s3_bucket, "missing")
    with pytest.raises(ObjectNotFound):
        await read_all(store, s3_bucket, "missing")


async def test_missing_bucket_raises_bucket_not_found(store: ObjectStore, s3_bucket: str) -> None:
    # Listing, not writing: SeaweedFS creates a missing bucket on an admin's PUT.
    with pytest.raises(BucketNotFound):
        await store.list_objects(f"{s3_bucket}-absent")


async def test_small_object_round_trip_with_metadata(store: ObjectStore, s3_bucket: str) -> None:
    etag = await store.put_bytes(
        s3_bucket, "t.json", b"{}", content_type="application/json", metadata={"Job-Id": "j1"}
    )
    info = await store.stat(s3_bucket, "t.json")
    assert (info.key, info.size, info.etag) == ("t.json", 2, etag)
    assert info.content_type == "application/json"
    assert info.metadata == {"job-id": "j1"}
    assert info.last_modified is not None
    assert await read_all(store, s3_bucket, "t.json") == b"{}"


async def test_byte_ranges_are_streamed(store: ObjectStore, s3_bucket: str) -> None:
    data = os.urandom(3000)
    await store.put_bytes(s3_bucket, "k", data)

    assert await read_all(store, s3_bucket, "k", offset=100, length=50) == data[100:150]
    assert await read_all(store, s3_bucket, "k", offset=2990) == data[2990:]
    chunks = [c async for c in store.iter_object(s3_bucket, "k", chunk_size=1024)]
    assert [len(c) for c in chunks] == [1024, 1024, 952]


async def test_stopping_a_stream_early_releases_it(store: ObjectStore, s3_bucket: str) -> None:
    await store.put_bytes(s3_bucket, "k", os.urandom(4096))
    async with aclosing(store.iter_object(s3_bucket, "k", chunk_size=1024)) as chunks:
        async for first in chunks:
            assert len(first) == 1024
            break
    # The connection went back to the pool closed, so the next call works.
    assert (await store.stat(s3_bucket, "k")).size == 4096


async def test_upload_file_copy_list_and_delete_many(
    store: ObjectStore, s3_bucket: str, tmp_path: Path
) -> None:
    source = tmp_path / "thumb.jpg"
    source.write_bytes(b"\xff\xd8jpeg")
    await store.upload_file(s3_bucket, "thumbs/f1/320.jpg", source, content_type="image/jpeg")
    await store.copy(s3_bucket, "thumbs/f1/320.jpg", s3_bucket, "thumbs/f1/640.jpg")
    await store.put_bytes(s3_bucket, "other/x", b"x")

    listed = await store.list_objects(s3_bucket, prefix="thumbs/f1/")
    assert [(o.key, o.size) for o in listed] == [("thumbs/f1/320.jpg", 6), ("thumbs/f1/640.jpg", 6)]
    assert (await store.stat(s3_bucket, "thumbs/f1/640.jpg")).content_type == "image/jpeg"

    await store.delete_many(s3_bucket, [o.key for o in listed] + ["thumbs/never-existed"])
    assert await store.list_objects(s3_bucket, prefix="thumbs/") == []
    assert [o.key for o in await store.list_objects(s3_bucket)] == ["other/x"]


async def test_delete_is_idempotent(store: ObjectStore, s3_bucket: str) -> None:
    await store.put_bytes(s3_bucket, "k", b"x")
    await store.delete(s3_bucket, "k")
    await store.delete(s3_bucket, "k")
    await store.delete(s3_bucket, "never-existed")
    with pytest.raises(ObjectNotFound):
        await store.stat(s3_bucket, "k")


async def test_require_buckets_names_the_missing_one(store: ObjectStore, s3_bucket: str) -> None:
    await store.require_buckets(s3_bucket)
    with pytest.raises(BucketNotFound, match=f"{s3_bucket}-missing"):
        await store.require_buckets(s3_bucket, f"{s3_bucket}-missing")


async def test_presigned_get_names_the_download_and_serves_ranges(
    store: ObjectStore, http: httpx.AsyncClient, s3_bucket: str
) -> None:
    data = os.urandom(1000)
    await store.put_bytes(s3_bucket, "originals/f1", data)
    request = store.presign_get(
        s3_bucket,
        "originals/f1",
        expires=FIVE_MINUTES,
        filename="Résumé 2024.pdf",
        content_type="application/pdf",
    )

    whole = await http.get(request.url)
    assert whole.status_code == 200
    assert whole.content == data
    assert whole.headers["Content-Disposition"] == content_disposition("Résumé 2024.pdf")
    assert whole.headers["Content-Type"] == "application/pdf"

    part = await http.get(request.url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == data[100:200]
    assert part.headers["Content-Range"] == "bytes 100-199/1000"


async def test_presigned_get_of_a_missing_object_is_404(
    store: ObjectStore, http: httpx.AsyncClient, s3_bucket: str
) -> None:
    request = store.presign_get(s3_bucket, "missing", expires=FIVE_MINUTES)
    assert (await http.get(request.url)).status_code == 404


async def test_a_copy_above_the_threshold_is_a_multipart_copy_of_the_same_bytes(
    make_store: Callable[..., ObjectStore], store: ObjectStore, s3_bucket: str
) -> None:
    threshold = MIN_COPY_PART
    small_parts = make_store(multipart_copy_threshold=threshold)
    data = os.urandom(2 * threshold + 1234)  # three parts: 5 MiB, 5 MiB, 1234 bytes
    await store.put_bytes(s3_bucket, "owner/f/upload", data)

    etag = await small_parts.copy(s3_bucket, "owner/f/upload", s3_bucket, "owner/f/original")

    # A multipart object's ETag is "<md5 of the part md5s>-<parts>".
    assert etag.strip('"').endswith("-3")
    copied = await read_all(store, s3_bucket, "owner/f/original")
    assert hashlib.sha256(copied).digest() == hashlib.sha256(data).digest()


async def test_a_copy_at_the_threshold_is_one_request(
    make_store: Callable[..., ObjectStore], store: ObjectStore, s3_bucket: str
) -> None:
    small_parts = make_store(multipart_copy_threshold=MIN_COPY_PART)
    data = os.urandom(MIN_COPY_PART)
    await store.put_bytes(s3_bucket, "a", data)
    etag = await small_parts.copy(s3_bucket, "a", s3_bucket, "b")
    assert etag.strip('"') == hashlib.md5(data).hexdigest()


def test_the_copy_threshold_stays_within_s3_part_limits(stack: StackSettings) -> None:
    for wrong in (MIN_COPY_PART - 1, MAX_COPY_PART + 1):
        with pytest.raises(ValueError, match="multipart_copy_threshold"):
            StorageSettings.from_urls(
                stack.s3_endpoint,
                access_key="a",
                secret_key="b",
                region="us-east-1",
                multipart_copy_threshold=wrong,
            )
