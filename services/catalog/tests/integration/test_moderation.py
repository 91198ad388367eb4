"""Moderation in the read model (issue 16): the report queue, and a takedown that hides a
file on every read path from everyone but moderators and admins, until it is restored.
Role checks: a `user` is refused every moderation and admin route, a moderator the admin
ones."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from mediaplane.catalog.config import CatalogSettings
from mediaplane.catalog.testing import FileStory

from .test_playback import transcoded_file

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Litestar]
MODERATOR = {"roles": ["moderator"]}
ADMIN = {"roles": ["admin"]}

MODERATION_ROUTES = ["/v1/moderation/reports", "/v1/moderation/offenders"]
ADMIN_ROUTES = [
    "/v1/admin/files",
    "/v1/admin/usage",
    "/v1/admin/usage/history",
    "/v1/admin/processing",
    "/v1/admin/audit",
    "/v1/admin/storage",
]


async def test_the_role_matrix(client: Client, auth: Any) -> None:
    for path in MODERATION_ROUTES + ADMIN_ROUTES:
        refused = await client.get(path, headers=auth("bob"))
        assert (refused.status_code, refused.json()["code"]) == (403, "role_required"), path
    for path in MODERATION_ROUTES:
        assert (await client.get(path, headers=auth("mod", **MODERATOR))).status_code == 200
    for path in ADMIN_ROUTES:
        refused = await client.get(path, headers=auth("mod", **MODERATOR))
        assert (refused.status_code, refused.json()["code"]) == (403, "role_required"), path
    for path in MODERATION_ROUTES + ADMIN_ROUTES:
        assert (await client.get(path, headers=auth("root", **ADMIN))).status_code == 200, path
    # Every console route is closed by its role (and the read scope), not by convention.
    for route in client.app.routes:
        for prefix, role in (("/v1/moderation", "moderator"), ("/v1/admin", "admin")):
            if route.path.startswith(prefix):
                for handler in getattr(route, "route_handlers", []):
                    assert handler.opt.get("role") == role, route.path


async def test_takedown_and_restore_through_every_read_path(
    client: Client, auth: Any, ingest_events: Any, settings: CatalogSettings, s3_bucket: str
) -> None:
    owner = f"owner-{uuid.uuid4()}"
    story = await transcoded_file(ingest_events, settings, s3_bucket, owner=owner)
    me = auth(owner)
    base = f"/v1/files/{story.file_id}"
    before = (await client.get(base, headers=me)).json()
    hls_url, mp4 = before["hls_url"], f"{base}/mp4"
    assert before["download"] is not None
    assert before["file"]["taken_down_reason"] is None
    assert (await client.get(hls_url)).status_code == 200

    first, second = uuid.uuid4(), uuid.uuid4()
    await ingest_events(
        story.reported("bob", first).reported("carol", second, "copyright").events[-2:]
    )
    queue = (
        await client.get(
            "/v1/moderation/reports",
            params={"file_id": str(story.file_id)},
            headers=auth("mod", **MODERATOR),
        )
    ).json()["items"]
    assert [(r["reporter"], r["status"], r["owner_reports"]) for r in queue] == [
        ("bob", "open", 2),
        ("carol", "open", 2),
    ]
    await ingest_events(
        story.report_dismissed(first).taken_down("copyright claim", [second]).events[-2:]
    )

    # The owner: listed as taken down with the reason; every read refused with it.
    listed = (await client.get("/v1/files", headers=me)).json()["items"]
    assert [f["taken_down_reason"] for f in listed] == ["copyright claim"]
    for path in (base, f"{base}/history", mp4):
        refused = await client.get(path, headers=me)
        assert (refused.status_code, refused.json()["code"]) == (451, "file_taken_down"), path
        assert "copyright claim" in refused.json()["detail"]
    for url in (hls_url, f"{base}/hls/720p.m3u8?pt={hls_url.split('pt=')[1]}"):
        refused = await client.get(url)
        assert (refused.status_code, refused.json()["code"]) == (451, "file_taken_down"), url
    # Another user does not learn it exists.
    stranger = await client.get(base, headers=auth("bob"))
    assert (stranger.status_code, stranger.json()["code"]) == (404, "file_not_found")
    # Moderators and admins still read it, playlists included, to review it.
    for who in (auth("mod", **MODERATOR), auth("root", **ADMIN)):
        seen = (await client.get(base, headers=who)).json()
        assert seen["file"]["taken_down_reason"] == "copyright claim"
        assert (await client.get(seen["hls_url"])).status_code == 200
    resolved = (
        await client.get(
            "/v1/moderation/reports",
            params={"file_id": str(story.file_id), "status": "actioned"},
            headers=auth("mod", **MODERATOR),
        )
    ).json()["items"]
    assert [(r["reporter"], r["resolved_by"], r["taken_down"]) for r in resolved] == [
        ("carol", "mod", True)
    ]
    offenders = (
        await client.get("/v1/moderation/offenders", headers=auth("mod", **MODERATOR))
    ).json()
    assert {"owner": owner, "takedowns": 1, "reports": 2, "account_status": None} in offenders
    taken = (
        await client.get(
            "/v1/admin/files",
            params={"owner": owner, "taken_down": "true"},
            headers=auth("root", **ADMIN),
        )
    ).json()["items"]
    assert [f["file_id"] for f in taken] == [str(story.file_id)]

    await ingest_events(story.restored().events[-1:])
    after = (await client.get(base, headers=me)).json()
    assert after["file"]["taken_down_reason"] is None
    assert after["download"] is not None
    assert (await client.get(hls_url)).status_code == 200
    assert (await client.get(mp4, headers=me)).status_code in (307, 404)


async def test_admin_files_filters_and_usage(client: Client, auth: Any, ingest_events: Any) -> None:
    owner = f"owner-{uuid.uuid4()}"
    video = FileStory(owner=owner, size=5000).opened().uploaded().verified().transcode_failed()
    image = FileStory(owner=owner, kind="image", filename="a.png", size=300)
    image.opened().uploaded().verified()
    await ingest_events(video.events + image.events)
    root = auth("root", **ADMIN)

    async def ids(**params: Any) -> list[str]:
        answer = await client.get(
            "/v1/admin/files", params={"owner": owner, **params}, headers=root
        )
        assert answer.status_code == 200, answer.text
        return [f["file_id"] for f in answer.json()["items"]]

    assert set(await ids()) == {str(video.file_id), str(image.file_id)}
    assert await ids(kind="image") == [str(image.file_id)]
    assert await ids(failed="true") == [str(video.file_id)]
    assert await ids(min_size=1000) == [str(video.file_id)]
    assert await ids(max_size=1000) == [str(image.file_id)]
    assert await ids(since="2030-01-01T00:00:00Z") == []
    bad = await client.get("/v1/admin/files", params={"min_size": -1}, headers=root)
    assert bad.status_code == 400
    usage = (await client.get("/v1/admin/usage", params={"owner": owner}, headers=root)).json()
    assert usage["items"] == [
        {
            "owner": owner,
            "files": 2,
            "original_bytes": 5300,
            "bytes_by_kind": {"image": 300, "video": 5000},
            "derived_bytes": 0,
            "plan": None,
            "account_status": None,
            # No account events: the default plan's quota (Plans.standard's free).
            "quota": {
                "files": 10_000,
                "bytes": 100 * 1024**3,
                "override_files": None,
                "override_bytes": None,
            },
        }
    ]


async def test_processing_audit_and_storage(client: Client, auth: Any, ingest_events: Any) -> None:
    owner = f"owner-{uuid.uuid4()}"
    now = datetime.now(UTC)  # the storage series counts days back from today
    video = FileStory(owner=owner, size=5000, start=now)
    video.opened().uploaded().verified().transcode_failed()
    image = FileStory(owner=owner, kind="image", filename="a.png", size=300, start=now)
    image.opened().uploaded().verified().deleted()
    await ingest_events(video.events + image.events)
    root = auth("root", **ADMIN)

    processing = (await client.get("/v1/admin/processing", headers=root)).json()
    assert processing["statuses"]["transcoder"]["failed"] >= 1
    failed = [j for j in processing["failed"] if j["file_id"] == str(video.file_id)]
    assert [(j["service"], j["owner"]) for j in failed] == [("transcoder", owner)]
    assert failed[0]["error"]

    async def audit(**params: Any) -> list[tuple[str, str | None]]:
        answer = await client.get("/v1/admin/audit", params=params, headers=root)
        assert answer.status_code == 200, answer.text
        return [(e["type"], e["actor"]) for e in answer.json()["items"]]

    assert await audit(subject=owner, type="file.deleted") == [("file.deleted.v1", owner)]
    assert await audit(actor=owner) == [("file.deleted.v1", owner)]
    history = await audit(file_id=str(video.file_id))
    assert history[-1] == ("upload.session.opened.v1", None)  # newest first
    page = (
        await client.get("/v1/admin/audit", params={"subject": owner, "limit": 2}, headers=root)
    ).json()
    more = await client.get(
        "/v1/admin/audit",
        params={"subject": owner, "limit": 2, "cursor": page["next_cursor"]},
        headers=root,
    )
    assert not {e["event_id"] for e in page["items"]} & {
        e["event_id"] for e in more.json()["items"]
    }
    bad = await client.get("/v1/admin/audit", params={"cursor": "nope"}, headers=root)
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_cursor")

    storage = (await client.get("/v1/admin/storage", params={"days": 2}, headers=root)).json()
    assert any(t["kind"] == "video" and t["added_bytes"] >= 5000 for t in storage["totals"])
    assert {d["kind"] for d in storage["days"]} >= {"video", "image"}
    too_far = await client.get("/v1/admin/storage", params={"days": 5000}, headers=root)
    assert too_far.status_code == 400


async def test_processing_lists_a_failed_rerun_apart_from_a_first_failure(
    client: Client, auth: Any, ingest_events: Any
) -> None:
    owner = f"owner-{uuid.uuid4()}"
    first = FileStory(owner=owner, filename="first.mp4").opened().uploaded().verified()
    first.transcode_failed()  # nothing was ever served
    rerun = FileStory(owner=owner, filename="rerun.mp4").opened().uploaded().verified()
    rerun.transcoded()
    job = uuid.uuid4()
    rerun.transcode_started(job).transcode_failure(job, "encoder_crashed")
    recovered = FileStory(owner=owner, filename="recovered.mp4").opened().uploaded().verified()
    recovered.transcoded().transcode_failed().transcoded()
    await ingest_events(first.events + rerun.events + recovered.events)

    answer = await client.get("/v1/admin/processing", headers=auth("root", **ADMIN))
    assert answer.status_code == 200, answer.text
    processing = answer.json()

    failed = {
        (j["filename"], j["service"], j["error"], j["rerun"])
        for j in processing["failed"]
        if j["owner"] == owner
    }
    assert failed == {
        ("first.mp4", "transcoder", "corrupt_input", False),
        ("rerun.mp4", "transcoder", "encoder_crashed", True),
    }
    # The re-run's file still serves its first generation: counted as ready, not failed.
    assert processing["statuses"]["transcoder"] == {"failed": 1, "ready": 2}
    # The admin file list's failure filter finds it too (and not the recovered file).
    listed = await client.get(
        "/v1/admin/files", params={"owner": owner, "failed": "true"}, headers=auth("root", **ADMIN)
    )
    assert listed.status_code == 200, listed.text
    assert {f["filename"] for f in listed.json()["items"]} == {"first.mp4", "rerun.mp4"}


async def test_an_admins_rerun_and_the_variants_it_dropped_are_in_the_audit(
    client: Client, auth: Any, ingest_events: Any
) -> None:
    from mediaplane.contracts import (
        EventContext,
        FileReprocessRequestedV2,
        VariantDropped,
        new_event,
        utc_now,
    )

    owner, admin = f"owner-{uuid.uuid4()}", f"root-{uuid.uuid4()}"
    image = FileStory(owner=owner, kind="image", filename="a.png", size=300)
    image.opened().uploaded().verified()
    context = EventContext(producer="upload-gateway", correlation_id="rerun")
    request = new_event(
        FileReprocessRequestedV2,
        occurred_at=utc_now(),
        stream_id=f"file-{image.file_id}",
        context=context,
        file_id=image.file_id,
        owner=owner,
        target="variants",
        requested_by=admin,
        bucket="originals",
        object_key=image.key,
        sha256="c" * 64,
        size=300,
        media_type="image/png",
        kind="image",
    )
    dropped = new_event(
        VariantDropped,
        occurred_at=utc_now(),
        stream_id=f"variant-{'c' * 64}-fit-320x320.webp",
        context=EventContext(producer="thumbnailer", correlation_id="rerun").caused_by(request),
        file_id=image.file_id,
        sha256="c" * 64,
        spec="fit-320x320.webp",
        bucket="variants",
        key=f"{'c' * 64}/fit-320x320.webp",
        requested_by=admin,
    )
    await ingest_events([*image.events, request, dropped])
    answer = await client.get(
        "/v1/admin/audit", params={"actor": admin}, headers=auth("root", **ADMIN)
    )
    assert [(e["type"], e["file_id"]) for e in answer.json()["items"]] == [
        ("variant.dropped.v1", str(image.file_id)),
        ("file.reprocess_requested.v2", str(image.file_id)),
    ]
