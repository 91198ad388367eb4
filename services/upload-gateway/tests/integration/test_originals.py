"""Immutable originals: clients write only staging keys; verified bytes never change.

Real Postgres and SeaweedFS (signatures enforced); the verifier is called as
its consumer calls it, so crashes and redeliveries can be staged step by step.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from typing import Any

import httpx
import psycopg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from mediaplane.contracts import FileRejected, FileUploadedV2, FileVerified
from mediaplane.devstack.settings import StackSettings
from mediaplane.storage import ObjectNotFound, ObjectStore
from mediaplane.upload_gateway.adapters.clamd import ClamdScanner
from mediaplane.upload_gateway.api.app import create_app
from mediaplane.upload_gateway.app.bootstrap import (
    Resources,
    apply_migrations,
    clamd_scanner,
    open_resources,
)
from mediaplane.upload_gateway.config import GatewaySettings
from mediaplane.upload_gateway.domain.policy import MiB
from mediaplane.upload_gateway.worker.verifier import make_original, verify

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Litestar]
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def png(size: int) -> bytes:
    return PNG + os.urandom(size - len(PNG))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
async def resources(settings: GatewaySettings) -> AsyncIterator[Resources]:
    async with open_resources(settings, pool_size=4) as built:
        yield built


def scanner(resources: Resources) -> ClamdScanner:
    return clamd_scanner(resources.settings)


async def read(objects: ObjectStore, bucket: str, key: str) -> bytes:
    async with aclosing(objects.iter_object(bucket, key)) as chunks:
        return b"".join([chunk async for chunk in chunks])


async def open_single(client: Client, auth: Any, body: bytes, **extra: Any) -> dict[str, Any]:
    opened = await client.post(
        "/v1/uploads",
        headers=auth(),
        json={"filename": "a.png", "size": len(body), "content_type": "image/png", **extra},
    )
    assert opened.status_code == 201, opened.text
    session: dict[str, Any] = opened.json()
    assert session["mode"] == "single"
    return session


async def put_single(s3: httpx.AsyncClient, session: dict[str, Any], body: bytes) -> int:
    upload = session["upload"]
    response = await s3.put(upload["url"], headers=upload["headers"], content=body)
    return response.status_code


async def complete(client: Client, auth: Any, session: dict[str, Any], **body: Any) -> None:
    done = await client.post(
        f"/v1/uploads/{session['session_id']}/complete", headers=auth(), json=body
    )
    assert done.status_code == 202, done.text


async def uploaded_event(resources: Resources, file_id: str) -> FileUploadedV2:
    event = (await resources.store.load(f"file-{file_id}")).events[0]
    assert isinstance(event, FileUploadedV2)
    return event


async def file_events(resources: Resources, file_id: str) -> list[Any]:
    return list((await resources.store.load(f"file-{file_id}")).events)


async def keys(resources: Resources, bucket: str, file_id: str) -> list[str]:
    return [o.key for o in await resources.objects.list_objects(bucket, f"alice/{file_id}/")]


def usage_bytes(settings: GatewaySettings) -> int:
    with psycopg.connect(settings.database_url) as conn:
        row = conn.execute("SELECT bytes FROM gateway_lock_owner_usage('alice', now())").fetchone()
    assert row is not None
    return int(row[0])


async def test_a_single_put_url_refuses_any_other_length_than_declared(
    client: Client, s3: httpx.AsyncClient, auth: Any, settings: GatewaySettings
) -> None:
    body = png(3000)
    session = await open_single(client, auth, body)  # no sha256 declared
    assert session["upload"]["url"].count("content-length") == 1

    assert await put_single(s3, session, body + b"<html>" * 1000) == 403
    assert await put_single(s3, session, body[:100]) == 403
    assert await put_single(s3, session, body) == 200


async def test_a_replayed_single_put_after_ready_changes_nothing_served_or_counted(
    client: Client,
    s3: httpx.AsyncClient,
    auth: Any,
    settings: GatewaySettings,
    resources: Resources,
) -> None:
    body = png(4000)
    session = await open_single(client, auth, body)  # no sha256: only the length is bound
    assert await put_single(s3, session, body) == 200
    await complete(client, auth, session)
    file_id = session["file_id"]
    uploaded = await uploaded_event(resources, file_id)
    assert (uploaded.object_key, uploaded.original_key) == (
        f"alice/{file_id}/upload",
        f"alice/{file_id}/original",
    )

    await verify(resources.service, resources.objects, scanner(resources), uploaded)
    verified = (await file_events(resources, file_id))[-1]
    assert isinstance(verified, FileVerified)
    assert (verified.object_key, verified.sha256) == (uploaded.original_key, sha(body))
    assert await keys(resources, settings.bucket, file_id) == [uploaded.original_key]
    used = usage_bytes(settings)

    # The tester's attack: the old URL, after `ready`. More bytes are refused by
    # the signed length; other bytes of the same length land in staging only.
    assert await put_single(s3, session, b"<html>" + b"x" * (1024 * 1024)) == 403
    html = b"<!DOCTYPE html>" + b"x" * (len(body) - 15)
    assert await put_single(s3, session, html) == 200
    # A redelivered file.uploaded neither copies nor judges again: it cleans up.
    assert await verify(resources.service, resources.objects, scanner(resources), uploaded) is None

    assert await read(resources.objects, settings.bucket, verified.object_key) == body
    assert await keys(resources, settings.bucket, file_id) == [uploaded.original_key]
    assert len(await file_events(resources, file_id)) == 2
    assert usage_bytes(settings) == used == len(body)


async def test_a_part_sent_again_after_complete_is_refused_and_the_original_stays(
    client: Client,
    s3: httpx.AsyncClient,
    auth: Any,
    settings: GatewaySettings,
    resources: Resources,
) -> None:
    body = b"\x00\x00\x00\x18ftypmp42" + os.urandom(6 * MiB)
    opened = await client.post(
        "/v1/uploads",
        headers=auth(),
        json={"filename": "v.mp4", "size": len(body), "content_type": "video/mp4"},
    )
    session = opened.json()
    assert session["mode"] == "multipart"
    part = session["part_size"]
    signed = (
        await client.post(
            f"/v1/uploads/{session['session_id']}/parts",
            headers=auth(),
            json={"parts": [{"number": 1}, {"number": 2}]},
        )
    ).json()["parts"]
    etags = []
    for url in signed:
        n = url["number"]
        stored = await s3.put(url["url"], content=body[(n - 1) * part : n * part])
        etags.append({"number": n, "etag": stored.headers["etag"]})
    await complete(client, auth, session, parts=etags)
    uploaded = await uploaded_event(resources, session["file_id"])
    await verify(resources.service, resources.objects, scanner(resources), uploaded)

    again = await s3.put(signed[0]["url"], content=os.urandom(part))
    assert again.status_code == 404  # NoSuchUpload: the upload is completed
    original = await read(resources.objects, settings.bucket, uploaded.original_key)
    assert sha(original) == sha(body)


async def test_a_crash_after_the_copy_judges_the_existing_copy_not_the_changed_staging(
    client: Client,
    s3: httpx.AsyncClient,
    auth: Any,
    settings: GatewaySettings,
    resources: Resources,
) -> None:
    body = png(2048)
    session = await open_single(client, auth, body)
    assert await put_single(s3, session, body) == 200
    await complete(client, auth, session)
    uploaded = await uploaded_event(resources, session["file_id"])

    # Attempt 1 copies, then dies before judging. The client rewrites staging.
    assert await make_original(resources.objects, uploaded)
    other = png(2048)
    assert await put_single(s3, session, other) == 200

    # Attempt 2 re-reads and judges the copy that exists.
    verdict = await verify(resources.service, resources.objects, scanner(resources), uploaded)
    assert verdict is not None
    assert (verdict.rejection, verdict.sha256) == (None, sha(body))
    assert await read(resources.objects, settings.bucket, uploaded.original_key) == body
    with pytest.raises(ObjectNotFound):
        await resources.objects.stat(settings.bucket, uploaded.object_key)


async def test_a_crash_after_the_verdict_is_finished_by_the_redelivery(
    client: Client,
    s3: httpx.AsyncClient,
    auth: Any,
    settings: GatewaySettings,
    resources: Resources,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = png(2048)
    session = await open_single(client, auth, body, sha256=sha(body))
    assert await put_single(s3, session, body) == 200
    await complete(client, auth, session)
    uploaded = await uploaded_event(resources, session["file_id"])

    class Crash(Exception):
        pass

    async def crash(*args: object, **kwargs: object) -> None:
        raise Crash

    with monkeypatch.context() as patch:
        patch.setattr(resources.objects, "delete", crash)
        with pytest.raises(Crash):
            await verify(resources.service, resources.objects, scanner(resources), uploaded)
    listed = await keys(resources, settings.bucket, str(uploaded.file_id))
    assert listed == [uploaded.original_key, uploaded.object_key]

    assert await verify(resources.service, resources.objects, scanner(resources), uploaded) is None
    assert await keys(resources, settings.bucket, str(uploaded.file_id)) == [uploaded.original_key]
    types = [e.tag() for e in await file_events(resources, str(uploaded.file_id))]
    assert types == ["file.uploaded.v2", "file.verified.v1"]


async def test_concurrent_deliveries_copy_and_judge_once(
    client: Client,
    s3: httpx.AsyncClient,
    auth: Any,
    settings: GatewaySettings,
    resources: Resources,
) -> None:
    body = png(300_000)
    session = await open_single(client, auth, body)
    assert await put_single(s3, session, body) == 200
    await complete(client, auth, session)
    uploaded = await uploaded_event(resources, session["file_id"])

    verdicts = await asyncio.gather(
        *(
            verify(resources.service, resources.objects, scanner(resources), uploaded)
            for _ in range(3)
        )
    )
    assert sum(v is not None for v in verdicts) == 1
    types = [e.tag() for e in await file_events(resources, session["file_id"])]
    assert types == ["file.uploaded.v2", "file.verified.v1"]


async def test_a_rejected_upload_loses_staging_and_original(
    client: Client,
    s3: httpx.AsyncClient,
    auth: Any,
    settings: GatewaySettings,
    resources: Resources,
) -> None:
    html = b"<!DOCTYPE html><html>" + b" " * 500
    session = await open_single(client, auth, html)
    assert await put_single(s3, session, html) == 200
    await complete(client, auth, session)
    uploaded = await uploaded_event(resources, session["file_id"])

    verdict = await verify(resources.service, resources.objects, scanner(resources), uploaded)
    assert verdict is not None
    assert verdict.rejection is not None
    assert verdict.rejection[0] == "type_not_allowed"
    assert isinstance((await file_events(resources, session["file_id"]))[-1], FileRejected)
    assert await keys(resources, settings.bucket, session["file_id"]) == []


async def test_an_original_above_the_copy_threshold_is_copied_in_parts(
    make_gateway_settings: Callable[..., GatewaySettings],
    stack: StackSettings,
    s3: httpx.AsyncClient,
    auth: Any,
) -> None:
    # 6 MiB copy parts: the original has 2 parts, the staging object (5 MiB upload
    # parts) 3, so the ETag tells which copy path made it.
    storage = dataclasses.replace(stack.storage_settings(), multipart_copy_threshold=6 * MiB)
    small_parts = make_gateway_settings(storage=storage)
    await apply_migrations(small_parts)
    body = b"\x00\x00\x00\x18ftypmp42" + os.urandom(11 * MiB)
    async with (
        open_resources(small_parts, pool_size=4) as resources,
        AsyncTestClient(app=create_app(small_parts)) as client,
    ):
        opened = await client.post(
            "/v1/uploads",
            headers=auth(),
            json={
                "filename": "v.mp4",
                "size": len(body),
                "content_type": "video/mp4",
                "sha256": sha(body),
            },
        )
        session = opened.json()
        part = session["part_size"]
        numbers = range(1, session["part_count"] + 1)
        signed = (
            await client.post(
                f"/v1/uploads/{session['session_id']}/parts",
                headers=auth(),
                json={"parts": [{"number": n} for n in numbers]},
            )
        ).json()["parts"]
        etags = []
        for url in signed:
            n = url["number"]
            stored = await s3.put(url["url"], content=body[(n - 1) * part : n * part])
            etags.append({"number": n, "etag": stored.headers["etag"]})
        await complete(client, auth, session, parts=etags)
        uploaded = await uploaded_event(resources, session["file_id"])

        verdict = await verify(resources.service, resources.objects, scanner(resources), uploaded)

        assert verdict is not None
        assert (verdict.rejection, verdict.sha256) == (None, sha(body))
        info = await resources.objects.stat(small_parts.bucket, uploaded.original_key)
        staging_parts = session["part_count"]
        assert staging_parts == 3
        # 11 MiB + 12 bytes in 6 MiB copy parts: an UploadPartCopy object of 2 parts.
        assert info.etag.strip('"').endswith("-2")
        assert info.size == len(body)


async def test_a_file_deleted_before_its_verdict_keeps_neither_copy(
    client: Client,
    s3: httpx.AsyncClient,
    auth: Any,
    settings: GatewaySettings,
    resources: Resources,
) -> None:
    body = png(2048)
    session = await open_single(client, auth, body)
    assert await put_single(s3, session, body) == 200
    await complete(client, auth, session)
    uploaded = await uploaded_event(resources, session["file_id"])
    # An earlier attempt copied, then the owner deleted the file.
    assert await make_original(resources.objects, uploaded)
    deleted = await client.delete(f"/v1/files/{session['file_id']}", headers=auth())
    assert deleted.status_code == 202, deleted.text

    assert await verify(resources.service, resources.objects, scanner(resources), uploaded) is None

    assert await keys(resources, settings.bucket, session["file_id"]) == []
    types = [e.tag() for e in await file_events(resources, session["file_id"])]
    assert types == ["file.uploaded.v2", "file.deleted.v1"]
