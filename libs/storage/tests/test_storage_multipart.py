"""Contract: multipart uploads through presigned part URLs, on a real S3 server."""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta

import httpx
import pytest

from mediaplane.storage import CompletedPart, InvalidPart, ObjectStore, UploadNotFound

pytestmark = pytest.mark.integration

FIVE_MINUTES = timedelta(minutes=5)
MIB = 1024 * 1024


async def upload_part(
    store: ObjectStore,
    http: httpx.AsyncClient,
    bucket: str,
    key: str,
    upload_id: str,
    number: int,
    body: bytes,
) -> CompletedPart:
    """What a client does for one part: PUT to the presigned URL, keep the ETag."""
    request = store.presign_upload_part(
        bucket, key, upload_id, number, expires=FIVE_MINUTES, sha256=hashlib.sha256(body).digest()
    )
    response = await http.put(request.url, content=body)
    assert response.status_code == 200, response.text
    return CompletedPart(number=number, etag=response.headers["ETag"])


async def test_three_checksummed_parts_assemble_into_one_object(
    store: ObjectStore, http: httpx.AsyncClient, s3_bucket: str
) -> None:
    bodies = [os.urandom(5 * MIB), os.urandom(5 * MIB), os.urandom(1234)]
    upload_id = await store.create_multipart_upload(
        s3_bucket, "video.mp4", content_type="video/mp4", metadata={"owner": "u1"}
    )
    completed = [
        await upload_part(store, http, s3_bucket, "video.mp4", upload_id, number, body)
        for number, body in enumerate(bodies, start=1)
    ]

    parts = await store.list_parts(s3_bucket, "video.mp4", upload_id, page_size=2)
    assert [(p.number, p.size) for p in parts] == [(1, 5 * MIB), (2, 5 * MIB), (3, 1234)]
    assert [p.etag for p in parts] == [c.etag.strip('"') for c in completed]

    etag = await store.complete_multipart_upload(s3_bucket, "video.mp4", upload_id, completed)
    info = await store.stat(s3_bucket, "video.mp4")
    assert info.etag == etag
    assert info.size == sum(len(b) for b in bodies)
    assert (info.content_type, info.metadata) == ("video/mp4", {"owner": "u1"})

    digest = hashlib.sha256()
    chunks = 0
    async for chunk in store.iter_object(s3_bucket, "video.mp4", chunk_size=MIB):
        assert len(chunk) <= MIB
        digest.update(chunk)
        chunks += 1
    assert digest.digest() == hashlib.sha256(b"".join(bodies)).digest()
    assert chunks == 11
    assert await store.list_multipart_uploads(s3_bucket) == []


async def test_part_whose_bytes_differ_from_its_signed_sha256_is_refused(
    store: ObjectStore, http: httpx.AsyncClient, s3_bucket: str
) -> None:
    upload_id = await store.create_multipart_upload(s3_bucket, "k")
    request = store.presign_upload_part(
        s3_bucket, "k", upload_id, 1, expires=FIVE_MINUTES, sha256=hashlib.sha256(b"a").digest()
    )
    response = await http.put(request.url, content=b"b")
    assert response.status_code == 400
    assert "BadDigest" in response.text
    assert await store.list_parts(s3_bucket, "k", upload_id) == []


async def test_complete_with_a_wrong_etag_is_refused(
    store: ObjectStore, http: httpx.AsyncClient, s3_bucket: str
) -> None:
    upload_id = await store.create_multipart_upload(s3_bucket, "k")
    good = await upload_part(store, http, s3_bucket, "k", upload_id, 1, b"only part")

    wrong = CompletedPart(number=1, etag="0" * 32)
    with pytest.raises(InvalidPart):
        await store.complete_multipart_upload(s3_bucket, "k", upload_id, [wrong])
    missing = CompletedPart(number=2, etag=good.etag)
    with pytest.raises(InvalidPart):
        await store.complete_multipart_upload(s3_bucket, "k", upload_id, [good, missing])

    await store.complete_multipart_upload(s3_bucket, "k", upload_id, [good])
    assert (await store.stat(s3_bucket, "k")).size == len(b"only part")


async def test_aborted_upload_is_gone(
    store: ObjectStore, http: httpx.AsyncClient, s3_bucket: str
) -> None:
    upload_id = await store.create_multipart_upload(s3_bucket, "k")
    await upload_part(store, http, s3_bucket, "k", upload_id, 1, b"part")

    await store.abort_multipart_upload(s3_bucket, "k", upload_id)

    with pytest.raises(UploadNotFound):
        await store.list_parts(s3_bucket, "k", upload_id)
    late = store.presign_upload_part(s3_bucket, "k", upload_id, 2, expires=FIVE_MINUTES)
    assert (await http.put(late.url, content=b"late")).status_code == 404
    # Aborting again (a janitor racing a cancel) is not an error.
    await store.abort_multipart_upload(s3_bucket, "k", upload_id)


async def test_in_progress_listing_shows_open_uploads_only(
    store: ObjectStore, http: httpx.AsyncClient, s3_bucket: str
) -> None:
    open_id = await store.create_multipart_upload(s3_bucket, "open")
    done_id = await store.create_multipart_upload(s3_bucket, "done")
    part = await upload_part(store, http, s3_bucket, "done", done_id, 1, b"x")
    await store.complete_multipart_upload(s3_bucket, "done", done_id, [part])
    aborted_id = await store.create_multipart_upload(s3_bucket, "aborted")
    await store.abort_multipart_upload(s3_bucket, "aborted", aborted_id)

    uploads = await store.list_multipart_uploads(s3_bucket)

    assert [(u.key, u.upload_id) for u in uploads] == [("open", open_id)]
    assert uploads[0].initiated is not None


async def test_in_progress_listing_follows_pages_and_prefixes(
    store: ObjectStore, s3_bucket: str
) -> None:
    keys = ["a/1", "a/2", "a/3", "b/1", "b/2"]
    ids = {await store.create_multipart_upload(s3_bucket, key): key for key in keys}

    for page_size in (1, 2, 1000):
        uploads = await store.list_multipart_uploads(s3_bucket, page_size=page_size)
        assert {u.upload_id: u.key for u in uploads} == ids
        assert len(uploads) == len(keys)
    under_a = await store.list_multipart_uploads(s3_bucket, prefix="a/", page_size=2)
    assert sorted(u.key for u in under_a) == ["a/1", "a/2", "a/3"]


async def test_parts_listing_follows_pages(
    store: ObjectStore, http: httpx.AsyncClient, s3_bucket: str
) -> None:
    upload_id = await store.create_multipart_upload(s3_bucket, "k")
    for number in (1, 2, 3, 5):
        await upload_part(store, http, s3_bucket, "k", upload_id, number, b"p%d" % number)

    parts = await store.list_parts(s3_bucket, "k", upload_id, page_size=1)

    assert [p.number for p in parts] == [1, 2, 3, 5]
    assert all(p.size == 2 for p in parts)
