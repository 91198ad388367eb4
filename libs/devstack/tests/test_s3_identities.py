"""Each service's S3 identity on the stack's SeaweedFS: what its service needs works, and a
representative set of what it must not do is refused (403 AccessDenied).

The grants are `mediaplane.storage.permissions`, rendered by `SeaweedFS.s3_config`
with the keys of `s3auth`. The buckets are named like a test platform's
(`<kind>-<run>`), which the grants cover as they cover the platform's own.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import aclosing
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from mediaplane.devstack import s3auth
from mediaplane.devstack.ports import free_port_block
from mediaplane.devstack.servers import SeaweedFS, bucket_admin
from mediaplane.devstack.settings import StackSettings
from mediaplane.storage import (
    AccessDenied,
    BucketAdmin,
    CompletedPart,
    ObjectNotFound,
    ObjectStore,
    StorageError,
    StorageSettings,
    permissions,
)
from mediaplane.storage.permissions import BUCKET_KINDS, SERVICES

pytestmark = pytest.mark.integration  # the stack's SeaweedFS, or one of the test's own

MINUTES = timedelta(minutes=5)
PART = 5 * 1024 * 1024  # S3's smallest part but the last


@pytest.fixture
def buckets(stack: StackSettings) -> Iterator[dict[str, str]]:
    """One bucket per kind, named as a test platform names them, made by the admin."""
    if not stack.managed["seaweedfs"]:
        pytest.skip("the identities are our own SeaweedFS's; an external S3 has its own")
    admin = bucket_admin(stack)
    run = uuid.uuid4().hex[:8]
    names = {kind: f"{kind}-s3ids{run}" for kind in BUCKET_KINDS}
    for name in names.values():
        admin.ensure(name)
    yield names
    for name in names.values():
        admin.empty_and_remove(name)


def settings_of(stack: StackSettings, service: str) -> StorageSettings:
    keys = s3auth.keys(stack)[service]
    return StorageSettings.from_urls(
        stack.s3_endpoint,
        access_key=keys.access_key,
        secret_key=keys.secret_key,
        region=stack.s3_region,
    )


@pytest.fixture
def as_service(stack: StackSettings) -> Callable[[str], ObjectStore]:
    return lambda service: ObjectStore(settings_of(stack, service))


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


async def read(store: ObjectStore, bucket: str, key: str) -> bytes:
    async with aclosing(store.iter_object(bucket, key)) as chunks:
        return b"".join([chunk async for chunk in chunks])


async def refused_write(store: ObjectStore, bucket: str) -> None:
    with pytest.raises(AccessDenied):
        await store.put_bytes(bucket, "refused", b"x")


def test_every_identity_is_in_the_servers_config(stack: StackSettings) -> None:
    if not stack.managed["seaweedfs"]:
        pytest.skip("an external S3 has its own config")
    server = SeaweedFS(stack)
    names = [identity["name"] for identity in server.s3_config()["identities"]]
    assert names == ["mediaplane", *(s.name for s in SERVICES), "readonly"]
    assert server.config_file.read_text() == server.rendered_config(), (
        "the running SeaweedFS has other identities: `just infra-up` restarts it"
    )


async def test_the_gateway_uploads_and_keeps_originals_and_nothing_else(
    as_service: Callable[[str], ObjectStore],
    buckets: dict[str, str],
    http: httpx.AsyncClient,
) -> None:
    gateway = as_service("gateway")
    originals = buckets["originals"]
    await gateway.require_buckets(originals)
    # A single presigned PUT, signed with the gateway's key.
    data = b"single upload"
    put = gateway.presign_put(
        originals, "staging/a", expires=MINUTES, sha256=hashlib.sha256(data).digest()
    )
    assert (await http.put(put.url, content=data, headers=put.headers)).status_code == 200
    assert (await gateway.stat(originals, "staging/a")).size == len(data)
    # A multipart upload: parts through presigned URLs, then listed and completed.
    upload_id = await gateway.create_multipart_upload(originals, "staging/b")
    parts = [b"a" * PART, b"tail"]
    for number, part in enumerate(parts, start=1):
        signed = gateway.presign_upload_part(
            originals, "staging/b", upload_id, number, expires=MINUTES
        )
        assert (await http.put(signed.url, content=part)).status_code == 200
    listed = await gateway.list_parts(originals, "staging/b", upload_id)
    await gateway.complete_multipart_upload(
        originals,
        "staging/b",
        upload_id,
        [CompletedPart(number=p.number, etag=p.etag) for p in listed],
    )
    aborted = await gateway.create_multipart_upload(originals, "staging/c")
    await gateway.abort_multipart_upload(originals, "staging/c", aborted)
    # The verifier: reads, copies to the immutable key, deletes what it rejects.
    assert await read(gateway, originals, "staging/a") == data
    await gateway.copy(originals, "staging/a", originals, "originals/a")
    await gateway.delete(originals, "staging/b")

    for kind in ("renditions", "thumbnails", "variants"):
        await refused_write(gateway, buckets[kind])
    with pytest.raises(AccessDenied):
        await gateway.list_objects(originals)
    with pytest.raises(AccessDenied):
        await gateway.copy(originals, "originals/a", buckets["renditions"], "stolen")


async def test_the_catalog_only_reads_and_its_presigned_gets_work(
    stack: StackSettings,
    as_service: Callable[[str], ObjectStore],
    buckets: dict[str, str],
    http: httpx.AsyncClient,
) -> None:
    admin = bucket_admin(stack)
    for kind in ("originals", "renditions", "thumbnails", "variants"):
        admin.put(buckets[kind], "k", kind.encode())
    catalog = as_service("catalog")
    for kind in ("originals", "renditions", "thumbnails"):
        url = catalog.presign_get(buckets[kind], "k", expires=MINUTES, filename="f.bin").url
        response = await http.get(url)
        assert (response.status_code, response.content) == (200, kind.encode())
    assert await read(catalog, buckets["renditions"], "k") == b"renditions"

    for kind in BUCKET_KINDS:
        await refused_write(catalog, buckets[kind])
    with pytest.raises(AccessDenied):
        await catalog.delete(buckets["originals"], "k")
    with pytest.raises(StorageError):  # a batch delete is refused key by key
        await catalog.delete_many(buckets["originals"], ["k"])
    assert admin.stat(buckets["originals"], "k").size == len(b"originals")
    refused_put = catalog.presign_put(buckets["originals"], "forged", expires=MINUTES)
    assert (await http.put(refused_put.url, content=b"x")).status_code == 403
    variant = catalog.presign_get(buckets["variants"], "k", expires=MINUTES).url
    assert (await http.get(variant)).status_code == 403


async def test_the_transcoder_reads_originals_and_writes_renditions(
    stack: StackSettings,
    as_service: Callable[[str], ObjectStore],
    buckets: dict[str, str],
) -> None:
    bucket_admin(stack).put(buckets["originals"], "source", b"video")
    transcoder = as_service("transcoder")
    renditions = buckets["renditions"]
    await transcoder.require_buckets(renditions)
    assert await read(transcoder, buckets["originals"], "source") == b"video"
    await transcoder.put_bytes(renditions, "f/1/master.m3u8", b"#EXTM3U")
    assert [o.key for o in await transcoder.list_objects(renditions, "f/")] == ["f/1/master.m3u8"]
    assert await read(transcoder, renditions, "f/1/master.m3u8") == b"#EXTM3U"
    await transcoder.delete_many(renditions, ["f/1/master.m3u8"])

    for kind in ("originals", "thumbnails", "variants"):
        await refused_write(transcoder, buckets[kind])
    with pytest.raises(AccessDenied):
        await transcoder.delete(buckets["originals"], "source")


async def test_the_thumbnailer_writes_thumbnails_and_variants_never_originals(
    stack: StackSettings,
    as_service: Callable[[str], ObjectStore],
    buckets: dict[str, str],
    http: httpx.AsyncClient,
) -> None:
    bucket_admin(stack).put(buckets["originals"], "photo", b"jpeg")
    thumbnailer = as_service("thumbnailer")
    thumbnails, variants = buckets["thumbnails"], buckets["variants"]
    await thumbnailer.require_buckets(thumbnails, variants)
    assert await read(thumbnailer, buckets["originals"], "photo") == b"jpeg"
    await thumbnailer.put_bytes(thumbnails, "f/small.webp", b"webp")
    assert [o.key for o in await thumbnailer.list_objects(thumbnails, "f/")] == ["f/small.webp"]
    await thumbnailer.delete(thumbnails, "f/small.webp")
    await thumbnailer.put_bytes(variants, "v/1.webp", b"variant")
    url = thumbnailer.presign_get(variants, "v/1.webp", expires=MINUTES).url
    assert (await http.get(url)).content == b"variant"
    await thumbnailer.delete(variants, "v/1.webp")

    await refused_write(thumbnailer, buckets["originals"])
    await refused_write(thumbnailer, buckets["renditions"])
    forged = thumbnailer.presign_put(buckets["originals"], "photo", expires=MINUTES)
    assert (await http.put(forged.url, content=b"replaced")).status_code == 403
    with pytest.raises(AccessDenied):
        await thumbnailer.delete(buckets["originals"], "photo")


async def test_the_janitor_cleans_originals_renditions_and_thumbnails_only(
    stack: StackSettings,
    as_service: Callable[[str], ObjectStore],
    buckets: dict[str, str],
) -> None:
    admin = bucket_admin(stack)
    for kind in BUCKET_KINDS:
        admin.put(buckets[kind], "f/k", b"x")
    gateway, janitor = as_service("gateway"), as_service("janitor")
    originals = buckets["originals"]
    upload_id = await gateway.create_multipart_upload(originals, "expired")
    # Expired sessions: the uploads in progress, their parts, aborted.
    assert [u.key for u in await janitor.list_multipart_uploads(originals)] == ["expired"]
    assert await janitor.list_parts(originals, "expired", upload_id) == []
    await janitor.abort_multipart_upload(originals, "expired", upload_id)
    # Purges: a rendition folder listed, single objects checked, all deleted.
    assert [o.key for o in await janitor.list_objects(buckets["renditions"], "f/")] == ["f/k"]
    for kind in ("originals", "renditions", "thumbnails"):
        assert (await janitor.stat(buckets[kind], "f/k")).size == 1
        await janitor.delete_many(buckets[kind], ["f/k"])

    for kind in ("originals", "renditions", "thumbnails"):  # it deletes, never writes
        await refused_write(janitor, buckets[kind])
    with pytest.raises(AccessDenied):
        await janitor.delete(buckets["variants"], "f/k")
    with pytest.raises(AccessDenied):
        await janitor.stat(buckets["variants"], "f/k")
    with pytest.raises(AccessDenied):
        await janitor.list_objects(originals)


@pytest.mark.parametrize("service", [s.name for s in SERVICES])
def test_no_service_may_create_or_reach_a_bucket_not_named_after_its_kinds(
    stack: StackSettings, buckets: dict[str, str], s3_bucket: str, service: str
) -> None:
    bucket_admin(stack).put(s3_bucket, "k", b"x")
    as_admin_tool = BucketAdmin(settings_of(stack, service))
    with pytest.raises(AccessDenied):
        as_admin_tool.ensure(f"{buckets['originals']}-new")
    with pytest.raises(AccessDenied):
        as_admin_tool.stat(s3_bucket, "k")


def test_infra_up_restarts_a_seaweedfs_started_before_a_service_was_added(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server (and keys file) from before the newest service existed: `apply_identities`
    restarts it with the new identity, keeping the data; then nothing."""
    newest = permissions.SERVICES[-1].name
    base = free_port_block(16)
    settings = StackSettings(data_dir=tmp_path, s3_port=base + 15, weed_base_port=base)
    server = SeaweedFS(settings)
    with monkeypatch.context() as before:
        older = permissions.SERVICES[:-1]
        before.setattr(permissions, "SERVICES", older)
        before.setattr(s3auth, "SERVICES", older)
        server.start()
    try:
        admin = bucket_admin(settings)
        admin.ensure("originals-kept")
        admin.put("originals-kept", "k", b"kept")
        assert newest not in json.loads(s3auth.keys_file(settings).read_text())
        as_newest = BucketAdmin(settings_of(settings, newest))  # now adds its keys to the file
        with pytest.raises(AccessDenied):  # the running server does not know them yet
            as_newest.stat("originals-kept", "k")
        pid = (tmp_path / "seaweedfs" / "seaweedfs.pid").read_text()

        assert server.apply_identities()

        assert (tmp_path / "seaweedfs" / "seaweedfs.pid").read_text() != pid
        assert as_newest.stat("originals-kept", "k").size == len(b"kept")
        assert not server.apply_identities()  # current already: no second restart
    finally:
        server.stop()


async def test_a_writer_without_delete_is_refused_every_delete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, http: httpx.AsyncClient
) -> None:
    """SeaweedFS's legacy `Write` would allow DELETE: the policies split them. No service
    writes a bucket without deleting in it, so a private server gets one that does."""
    writer = permissions.Identity(name="writer", grants={"originals": ("Read", "Write")})
    services = (*permissions.SERVICES, writer)
    monkeypatch.setattr(permissions, "SERVICES", services)
    monkeypatch.setattr(s3auth, "SERVICES", services)
    base = free_port_block(16)
    settings = StackSettings(data_dir=tmp_path, s3_port=base + 15, weed_base_port=base)
    server = SeaweedFS(settings)
    server.start()
    try:
        admin = bucket_admin(settings)
        admin.ensure("originals-kept")
        admin.put("originals-kept", "k", b"kept")
        store = ObjectStore(settings_of(settings, "writer"))
        await store.require_buckets("originals-kept")
        await store.put_bytes("originals-kept", "new", b"written")
        upload_id = await store.create_multipart_upload("originals-kept", "parts")
        signed = store.presign_upload_part("originals-kept", "parts", upload_id, 1, expires=MINUTES)
        assert (await http.put(signed.url, content=b"tail")).status_code == 200

        with pytest.raises(AccessDenied):
            await store.delete("originals-kept", "k")
        with pytest.raises(StorageError, match="k: AccessDenied"):  # refused key by key
            await store.delete_many("originals-kept", ["k", "new"])
        assert admin.stat("originals-kept", "k").size == len(b"kept")
        assert admin.stat("originals-kept", "new").size == len(b"written")

        await store.abort_multipart_upload("originals-kept", "parts", upload_id)  # a write

        # The gateway, with `Delete`, deletes.
        gateway = ObjectStore(settings_of(settings, "gateway"))
        await gateway.delete("originals-kept", "k")
        await gateway.delete_many("originals-kept", ["new"])
        for key in ("k", "new"):
            with pytest.raises(ObjectNotFound):
                admin.stat("originals-kept", key)
    finally:
        server.stop()
