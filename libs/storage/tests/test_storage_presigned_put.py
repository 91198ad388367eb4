"""Contract: the S3 server enforces what a presigned upload URL promises."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import pytest

from mediaplane.devstack.settings import StackSettings
from mediaplane.storage import AccessDenied, ObjectNotFound, ObjectStore
from mediaplane.storage.permissions import Keys

pytestmark = pytest.mark.integration

FIVE_MINUTES = timedelta(minutes=5)
# The `make_store` fixture: an ObjectStore with other credentials or public endpoint.
StoreFactory = Callable[..., ObjectStore]


async def test_single_put_stores_the_bytes_and_type(
    store: ObjectStore, http: httpx.AsyncClient, s3_bucket: str
) -> None:
    request = store.presign_put(
        s3_bucket, "in/a.txt", expires=FIVE_MINUTES, content_type="text/plain"
    )
    response = await http.put(request.url, headers=dict(request.headers), content=b"hello")
    assert response.status_code == 200

    info = await store.stat(s3_bucket, "in/a.txt")
    assert (info.size, info.content_type) == (5, "text/plain")
    assert info.etag == hashlib.md5(b"hello").hexdigest()  # a single PUT's ETag is the MD5


async def test_put_with_matching_sha256_is_accepted(
    store: ObjectStore, http: httpx.AsyncClient, s3_bucket: str
) -> None:
    body = b"checked bytes"
    request = store.presign_put(
        s3_bucket, "k", expires=FIVE_MINUTES, sha256=hashlib.sha256(body).digest()
    )
    assert (await http.put(request.url, content=body)).status_code == 200
    assert (await store.stat(s3_bucket, "k")).size == len(body)


async def test_put_with_other_bytes_than_the_signed_sha256_is_refused(
    store: ObjectStore, http: httpx.AsyncClient, s3_bucket: str
) -> None:
    request = store.presign_put(
        s3_bucket, "k", expires=FIVE_MINUTES, sha256=hashlib.sha256(b"expected").digest()
    )
    response = await http.put(request.url, content=b"tampered")
    assert response.status_code == 400
    assert "BadDigest" in response.text
    with pytest.raises(ObjectNotFound):
        await store.stat(s3_bucket, "k")


async def test_tampered_url_is_refused(
    store: ObjectStore, http: httpx.AsyncClient, s3_bucket: str
) -> None:
    request = store.presign_put(s3_bucket, "mine", expires=FIVE_MINUTES)
    other_key = request.url.replace(f"/{s3_bucket}/mine?", f"/{s3_bucket}/yours?")
    longer = request.url.replace("X-Amz-Expires=300", "X-Amz-Expires=3000")
    assert other_key != request.url
    assert longer != request.url
    for url in (other_key, longer):
        assert (await http.put(url, content=b"x")).status_code == 403


async def test_expired_url_is_refused(
    store: ObjectStore, http: httpx.AsyncClient, s3_bucket: str
) -> None:
    request = store.presign_put(s3_bucket, "k", expires=timedelta(seconds=1))
    await asyncio.sleep(2.5)
    assert (await http.put(request.url, content=b"late")).status_code == 403


async def test_url_signed_with_a_wrong_secret_is_refused(
    make_store: StoreFactory, stack: StackSettings, http: httpx.AsyncClient, s3_bucket: str
) -> None:
    forged = make_store(Keys(access_key=stack.s3_admin.access_key, secret_key="guessed"))
    request = forged.presign_put(s3_bucket, "k", expires=FIVE_MINUTES)
    assert (await http.put(request.url, content=b"x")).status_code == 403


async def test_readonly_identity_cannot_write(
    make_store: StoreFactory,
    store: ObjectStore,
    stack: StackSettings,
    http: httpx.AsyncClient,
    s3_bucket: str,
) -> None:
    readonly = make_store(stack.s3_readonly)
    await store.put_bytes(s3_bucket, "existing", b"data")
    assert (await readonly.stat(s3_bucket, "existing")).size == 4

    with pytest.raises(AccessDenied):
        await readonly.put_bytes(s3_bucket, "new", b"data")
    with pytest.raises(AccessDenied):
        await readonly.delete(s3_bucket, "existing")
    request = readonly.presign_put(s3_bucket, "new", expires=FIVE_MINUTES)
    assert (await http.put(request.url, content=b"data")).status_code == 403
    assert [o.key for o in await store.list_objects(s3_bucket)] == ["existing"]


def _localhost_endpoint(stack: StackSettings) -> str:
    url = urlsplit(stack.s3_endpoint)
    if url.hostname != "127.0.0.1":
        pytest.skip("needs the local S3 server on 127.0.0.1 to reach it as localhost too")
    return f"{url.scheme}://localhost:{url.port}"


async def test_url_works_on_the_public_host_it_was_signed_for(
    make_store: StoreFactory,
    store: ObjectStore,
    http: httpx.AsyncClient,
    stack: StackSettings,
    s3_bucket: str,
) -> None:
    public = _localhost_endpoint(stack)
    edge_store = make_store(public_endpoint=public)
    request = edge_store.presign_put(s3_bucket, "k", expires=FIVE_MINUTES)
    assert request.url.startswith(f"{public}/")
    assert (await http.put(request.url, content=b"via localhost")).status_code == 200
    assert (await store.stat(s3_bucket, "k")).size == len(b"via localhost")


async def test_url_fails_when_sent_with_another_host(
    make_store: StoreFactory,
    store: ObjectStore,
    http: httpx.AsyncClient,
    stack: StackSettings,
    s3_bucket: str,
) -> None:
    public = _localhost_endpoint(stack)
    direct = store.presign_put(s3_bucket, "k", expires=FIVE_MINUTES)
    as_localhost = {"Host": urlsplit(public).netloc}
    response = await http.put(direct.url, headers=as_localhost, content=b"x")
    assert response.status_code == 403

    for_localhost = make_store(public_endpoint=public).presign_put(
        s3_bucket, "k", expires=FIVE_MINUTES
    )
    at_ip = for_localhost.url.replace(public, stack.s3_endpoint)
    assert (await http.put(at_ip, content=b"x")).status_code == 403


async def test_put_with_the_signed_length_is_accepted_and_any_other_length_refused(
    store: ObjectStore, http: httpx.AsyncClient, s3_bucket: str
) -> None:
    body = b"exactly twenty bytes"
    request = store.presign_put(s3_bucket, "sized", expires=FIVE_MINUTES, content_length=len(body))
    assert "content-length%3Bhost" in request.url

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length at all
        yield body

    longer = await http.put(request.url, content=body + b"<html>" * 1000)
    shorter = await http.put(request.url, content=body[:5])
    without_length = await http.put(request.url, content=chunked())
    assert [longer.status_code, shorter.status_code, without_length.status_code] == [403] * 3
    with pytest.raises(ObjectNotFound):
        await store.stat(s3_bucket, "sized")

    assert (await http.put(request.url, content=body)).status_code == 200
    assert (await store.stat(s3_bucket, "sized")).size == len(body)


async def test_signed_length_and_sha256_together(
    store: ObjectStore, http: httpx.AsyncClient, s3_bucket: str
) -> None:
    body = b"both bound"
    request = store.presign_put(
        s3_bucket,
        "k",
        expires=FIVE_MINUTES,
        sha256=hashlib.sha256(body).digest(),
        content_length=len(body),
    )
    same_length_other_bytes = await http.put(request.url, content=b"both BOUND")
    assert same_length_other_bytes.status_code == 400
    assert (await http.put(request.url, content=body)).status_code == 200


async def test_a_length_bound_url_for_another_key_or_longer_life_is_refused(
    store: ObjectStore, http: httpx.AsyncClient, s3_bucket: str
) -> None:
    request = store.presign_put(s3_bucket, "mine", expires=FIVE_MINUTES, content_length=1)
    other_key = request.url.replace(f"/{s3_bucket}/mine?", f"/{s3_bucket}/yours?")
    longer = request.url.replace("X-Amz-Expires=300", "X-Amz-Expires=3000")
    unbound = request.url.replace("content-length%3Bhost", "host")
    assert len({other_key, longer, unbound, request.url}) == 4
    for url in (other_key, longer, unbound):
        assert (await http.put(url, content=b"x")).status_code == 403
