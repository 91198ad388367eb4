"""Uploads end to end against real Postgres, NATS names and SeaweedFS (signatures enforced)."""

from __future__ import annotations

import asyncio
import hashlib
import os
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from mediaplane.contracts import EventContext, TagCreated, build_registry, new_event, utc_now
from mediaplane.eventlog import EventStore
from mediaplane.eventlog.database import open_pool
from mediaplane.upload_gateway.config import GatewaySettings
from mediaplane.upload_gateway.domain.policy import MiB

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Litestar]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def put(s3: httpx.AsyncClient, signed: dict[str, Any], body: bytes) -> httpx.Response:
    return await s3.request(
        signed["method"], signed["url"], headers=signed["headers"], content=body
    )


async def test_single_put_upload_from_open_to_file_uploaded(
    client: Client, s3: httpx.AsyncClient, auth: Any, event_types: Any
) -> None:
    body = b"\x89PNG\r\n\x1a\n" + os.urandom(3000)
    opened = await client.post(
        "/v1/uploads",
        headers=auth(),
        json={
            "filename": "dir/photo.png",
            "size": len(body),
            "content_type": "image/png",
            "sha256": sha(body),
            "tags": ["Holiday"],
        },
    )
    assert opened.status_code == 201, opened.text
    session = opened.json()
    assert (session["mode"], session["status"], session["filename"]) == (
        "single",
        "open",
        "photo.png",
    )
    assert session["tags"] == ["holiday"]

    stored = await put(s3, session["upload"], body)
    assert stored.status_code == 200, stored.text

    done = await client.post(
        f"/v1/uploads/{session['session_id']}/complete", headers=auth(), json={}
    )
    assert done.status_code == 202, done.text
    assert done.json()["size"] == len(body)
    assert event_types(f"upload-{session['session_id']}") == [
        "upload.session.opened.v1",
        "upload.session.completed.v1",
    ]
    assert event_types(f"file-{session['file_id']}") == ["file.uploaded.v2"]
    state = await client.get(f"/v1/uploads/{session['session_id']}", headers=auth())
    assert state.json()["status"] == "completed"


async def _open_multipart(client: Client, auth: Any, size: int, **extra: Any) -> dict[str, Any]:
    opened = await client.post(
        "/v1/uploads",
        headers=auth(),
        json={"filename": "clip.mp4", "size": size, "content_type": "video/mp4", **extra},
    )
    assert opened.status_code == 201, opened.text
    session: dict[str, Any] = opened.json()
    return session


async def _upload_parts(
    client: Client,
    s3: httpx.AsyncClient,
    auth: Any,
    session: dict[str, Any],
    body: bytes,
    numbers: list[int],
) -> dict[int, str]:
    size = session["part_size"]
    chunks = {n: body[(n - 1) * size : n * size] for n in numbers}
    signed = await client.post(
        f"/v1/uploads/{session['session_id']}/parts",
        headers=auth(),
        json={"parts": [{"number": n, "sha256": sha(chunks[n])} for n in numbers]},
    )
    assert signed.status_code == 200, signed.text
    etags = {}
    for part in signed.json()["parts"]:
        response = await put(s3, part, chunks[part["number"]])
        assert response.status_code == 200, response.text
        etags[part["number"]] = response.headers["etag"]
    return etags


async def test_three_part_multipart_upload_with_checksummed_parts(
    client: Client, s3: httpx.AsyncClient, auth: Any, event_types: Any
) -> None:
    body = os.urandom(11 * MiB)
    session = await _open_multipart(client, auth, len(body), sha256=sha(body))
    assert (session["mode"], session["part_count"], session["part_size"]) == (
        "multipart",
        3,
        5 * MiB,
    )
    assert session["upload"] is None

    etags = await _upload_parts(client, s3, auth, session, body, [1, 2, 3])
    done = await client.post(
        f"/v1/uploads/{session['session_id']}/complete",
        headers=auth(),
        json={"parts": [{"number": n, "etag": e} for n, e in etags.items()]},
    )

    assert done.status_code == 202, done.text
    assert done.json()["size"] == len(body)
    assert event_types(f"file-{session['file_id']}") == ["file.uploaded.v2"]


async def test_resume_after_a_crash_by_listing_stored_parts(
    client: Client, s3: httpx.AsyncClient, auth: Any
) -> None:
    body = os.urandom(11 * MiB)
    session = await _open_multipart(client, auth, len(body))
    await _upload_parts(client, s3, auth, session, body, [1, 2])

    # The client restarts and knows only the session id.
    listed = await client.get(f"/v1/uploads/{session['session_id']}/parts", headers=auth())
    assert listed.status_code == 200
    stored = {p["number"]: p["etag"] for p in listed.json()["parts"]}
    assert sorted(stored) == [1, 2]
    assert [p["size"] for p in listed.json()["parts"]] == [5 * MiB, 5 * MiB]

    stored |= await _upload_parts(client, s3, auth, session, body, [3])
    done = await client.post(
        f"/v1/uploads/{session['session_id']}/complete",
        headers=auth(),
        json={"parts": [{"number": n, "etag": e} for n, e in sorted(stored.items())]},
    )
    assert done.status_code == 202, done.text


async def test_two_racing_completes_give_one_result_and_no_duplicate_events(
    client: Client, s3: httpx.AsyncClient, auth: Any, event_types: Any
) -> None:
    body = os.urandom(11 * MiB)
    session = await _open_multipart(client, auth, len(body))
    etags = await _upload_parts(client, s3, auth, session, body, [1, 2, 3])
    payload = {"parts": [{"number": n, "etag": e} for n, e in etags.items()]}
    url = f"/v1/uploads/{session['session_id']}/complete"

    first, second = await asyncio.gather(
        client.post(url, headers=auth(), json=payload),
        client.post(url, headers=auth(), json=payload),
    )
    again = await client.post(url, headers=auth(), json=payload)

    assert (first.status_code, second.status_code, again.status_code) == (202, 202, 202)
    assert first.json() == second.json() == again.json()
    assert event_types(f"upload-{session['session_id']}").count("upload.session.completed.v1") == 1
    assert event_types(f"file-{session['file_id']}") == ["file.uploaded.v2"]


async def test_abort_removes_the_multipart_upload(
    client: Client, s3: httpx.AsyncClient, auth: Any, event_types: Any
) -> None:
    body = os.urandom(11 * MiB)
    session = await _open_multipart(client, auth, len(body))
    await _upload_parts(client, s3, auth, session, body, [1])

    aborted = await client.delete(f"/v1/uploads/{session['session_id']}", headers=auth())
    again = await client.delete(f"/v1/uploads/{session['session_id']}", headers=auth())

    assert aborted.status_code == 200
    assert aborted.json()["status"] == "aborted"
    assert again.status_code == 200
    assert event_types(f"upload-{session['session_id']}") == [
        "upload.session.opened.v1",
        "upload.session.aborted.v1",
    ]
    listed = await client.get(f"/v1/uploads/{session['session_id']}/parts", headers=auth())
    assert listed.json()["parts"] == []
    complete = await client.post(
        f"/v1/uploads/{session['session_id']}/complete", headers=auth(), json={"parts": []}
    )
    assert complete.status_code == 409
    assert complete.json()["code"] == "session_not_open"


async def test_tags_are_private_to_their_owner(
    client: Client, auth: Any, event_types: Any, settings: GatewaySettings
) -> None:
    # A tag of v1 (global, on `tag-<name>`) still belongs to the owner who created it.
    pool = await open_pool(settings.database_url, max_size=1)
    try:
        legacy = new_event(
            TagCreated,
            occurred_at=utc_now(),
            stream_id="tag-beach",
            context=EventContext(producer="upload-gateway", correlation_id="v1"),
            name="beach",
            created_by="alice",
        )
        await EventStore(pool, build_registry(settings.bus.subject_root)).append(
            "tag-beach", 0, [legacy]
        )
    finally:
        await pool.close()

    def created(response: httpx.Response) -> dict[str, bool]:
        assert response.status_code == 200, response.text
        return {t["name"]: t["created"] for t in response.json()["tags"]}

    names = {"names": ["holiday", "beach"]}
    alice = created(await client.post("/v1/tags", headers=auth("alice"), json=names))
    # Bob learns nothing about alice's tags: his of the same names are new.
    bob = created(await client.post("/v1/tags", headers=auth("bob"), json=names))
    again = created(await client.post("/v1/tags", headers=auth("bob"), json=names))

    assert alice == {"holiday": True, "beach": False}
    assert bob == {"holiday": True, "beach": True}
    assert again == {"holiday": False, "beach": False}
    assert event_types("tag-alice/holiday") == ["tag.created.v2"]
    assert event_types("tag-bob/holiday") == ["tag.created.v2"]
    assert event_types("tag-bob/beach") == ["tag.created.v2"]
    assert event_types("tag-alice/beach") == []
    assert event_types("tag-holiday") == []


async def test_past_its_expiry_a_session_reads_expired_and_signs_nothing(
    client: Client, auth: Any
) -> None:
    single = (
        await client.post(
            "/v1/uploads",
            headers=auth(),
            json={"filename": "a.png", "size": 100, "content_type": "image/png"},
        )
    ).json()
    multipart = await _open_multipart(client, auth, 11 * MiB)
    service = client.app.state.service
    expires_at = datetime.fromisoformat(multipart["expires_at"])
    service.clock = lambda: expires_at + timedelta(seconds=1)

    state = await client.get(f"/v1/uploads/{multipart['session_id']}", headers=auth())
    assert state.status_code == 200
    assert state.json()["status"] == "expired"
    signed = await client.post(
        f"/v1/uploads/{multipart['session_id']}/parts",
        headers=auth(),
        json={"parts": [{"number": 1}]},
    )
    assert signed.status_code == 410
    assert signed.json()["code"] == "session_expired"
    # An expired single-PUT session carries no upload URL any more.
    viewed = (await client.get(f"/v1/uploads/{single['session_id']}", headers=auth())).json()
    assert (viewed["status"], viewed["upload"]) == ("expired", None)


async def test_tags_and_file_changes(
    client: Client, s3: httpx.AsyncClient, auth: Any, event_types: Any
) -> None:
    created = await client.post(
        "/v1/tags", headers=auth(), json={"names": ["Beach", "beach", "sea"]}
    )
    repeated = await client.post("/v1/tags", headers=auth(), json={"names": ["sea"]})
    assert created.json()["tags"] == [
        {"name": "beach", "created": True},
        {"name": "sea", "created": True},
    ]
    assert repeated.json()["tags"] == [{"name": "sea", "created": False}]

    body = b"%PDF-1.7\n" + os.urandom(100)
    opened = (
        await client.post(
            "/v1/uploads",
            headers=auth(),
            json={"filename": "doc.pdf", "size": len(body), "content_type": "application/pdf"},
        )
    ).json()
    await put(s3, opened["upload"], body)
    await client.post(f"/v1/uploads/{opened['session_id']}/complete", headers=auth(), json={})
    file_id = opened["file_id"]

    tagged = await client.put(
        f"/v1/files/{file_id}/tags", headers=auth(), json={"tags": ["Sea", "work"]}
    )
    assert tagged.status_code == 200, tagged.text
    assert tagged.json()["tags"] == ["sea", "work"]
    assert event_types("tag-alice/work") == ["tag.created.v2"]
    stranger = await client.put(
        f"/v1/files/{file_id}/tags", headers=auth("mallory"), json={"tags": []}
    )
    assert stranger.status_code == 404
    assert (await client.delete(f"/v1/files/{file_id}", headers=auth("mallory"))).status_code == 404
    assert (await client.delete(f"/v1/files/{file_id}", headers=auth())).status_code == 202
    assert (await client.delete(f"/v1/files/{file_id}", headers=auth())).status_code == 202
    assert event_types(f"file-{file_id}") == [
        "file.uploaded.v2",
        "file.tags_changed.v1",
        "file.deleted.v1",
    ]
    admin_view = await client.delete(f"/v1/files/{file_id}", headers=auth("ops", roles=["admin"]))
    assert admin_view.status_code == 202
