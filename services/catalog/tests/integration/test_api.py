"""The query API over real Postgres and SeaweedFS: pagination, detail, history, isolation."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from mediaplane.bus.testing import eventually
from mediaplane.catalog.config import CatalogSettings
from mediaplane.catalog.testing import EPOCH, FileStory, tag_created
from mediaplane.storage import ObjectStore

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Litestar]


async def test_list_pages_stay_stable_while_files_arrive(
    client: Client, auth: Any, ingest_events: Any
) -> None:
    stories = [
        FileStory(
            owner="alice", filename=f"f{i:02}.png", kind="image", start=EPOCH + timedelta(minutes=i)
        )
        for i in range(25)
    ]
    await ingest_events([e for s in stories for e in s.opened().uploaded().verified().events])

    seen: list[str] = []
    cursor = None
    for page_number in range(5):
        params: dict[str, Any] = {"limit": 10}
        if cursor:
            params["cursor"] = cursor
        page = await client.get("/v1/files", headers=auth("alice"), params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        seen += [item["filename"] for item in body["items"]]
        # New files land between pages: they sort before the cursor, so no page shifts.
        newer = FileStory(
            owner="alice",
            filename=f"new{page_number}.png",
            kind="image",
            start=EPOCH + timedelta(days=1, minutes=page_number),
        )
        await ingest_events(newer.opened().uploaded().events)
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert seen == [f"f{i:02}.png" for i in reversed(range(25))]
    fresh = await client.get("/v1/files", headers=auth("alice"), params={"limit": 3})
    assert [i["filename"] for i in fresh.json()["items"]] == ["new2.png", "new1.png", "new0.png"]


async def test_filters_tag_kind_status_and_filename_search(
    client: Client, auth: Any, ingest_events: Any
) -> None:
    video = FileStory(owner="alice", filename="Beach Day.mp4", tags=["holiday"])
    image = FileStory(owner="alice", filename="receipt_2026.png", kind="image", tags=["work"])
    gone = FileStory(owner="alice", filename="old beach.png", kind="image")
    await ingest_events(
        video.opened().uploaded().verified().events
        + image.opened().uploaded().events
        + gone.opened().uploaded().verified().deleted().events
    )

    async def names(**params: Any) -> list[str]:
        response = await client.get("/v1/files", headers=auth("alice"), params=params)
        assert response.status_code == 200, response.text
        return sorted(i["filename"] for i in response.json()["items"])

    assert await names() == ["Beach Day.mp4", "receipt_2026.png"]
    assert await names(tag="Holiday") == ["Beach Day.mp4"]
    assert await names(kind="video") == ["Beach Day.mp4"]
    assert await names(status="verifying") == ["receipt_2026.png"]
    assert await names(status="deleted") == ["old beach.png"]
    assert await names(q="beach") == ["Beach Day.mp4"]
    assert await names(q="t_2") == ["receipt_2026.png"]  # `_` is literal, not a wildcard
    assert await names(q="%") == []
    bad = await client.get("/v1/files", headers=auth("alice"), params={"status": "lost"})
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("application/problem+json")
    broken = await client.get("/v1/files", headers=auth("alice"), params={"cursor": "zzz"})
    assert (broken.status_code, broken.json()["code"]) == (400, "invalid_cursor")


async def test_detail_download_is_presigned_with_the_filename_and_serves_ranges(
    client: Client,
    auth: Any,
    ingest_events: Any,
    settings: CatalogSettings,
    s3_bucket: str,
) -> None:
    story = FileStory(owner="alice", filename="Résumé 2026.pdf", kind="pdf", size=10)
    store = ObjectStore(settings.storage)
    await store.put_bytes(s3_bucket, story.key, b"0123456789", content_type="application/pdf")
    # The client-writable staging object may hold anything: it is never served.
    await store.put_bytes(s3_bucket, story.staging_key, b"<html>evil", content_type="text/html")
    await store.put_bytes(
        s3_bucket, f"{story.file_id}/small.webp", b"RIFF", content_type="image/webp"
    )
    story.opened().uploaded().verified().thumbnailed(bucket=s3_bucket)
    # The story's original lives in "originals"; point it at this test's bucket.
    for i, event in enumerate(story.events):
        if hasattr(event, "bucket") and event.bucket == "originals":
            story.events[i] = msgspec.structs.replace(event, bucket=s3_bucket)
    await ingest_events(story.events)

    response = await client.get(f"/v1/files/{story.file_id}", headers=auth("alice"))
    assert response.status_code == 200, response.text
    detail = response.json()
    assert detail["file"]["status"] == "ready"
    assert [t["name"] for t in detail["thumbnails"]] == ["small", "large"]
    assert detail["hls_url"] is None
    async with httpx.AsyncClient() as http:
        ranged = await http.get(detail["download"]["url"], headers={"Range": "bytes=2-5"})
        thumb = await http.get(detail["thumbnails"][0]["url"])
    assert ranged.status_code == 206
    assert ranged.content == b"2345"
    assert "R%C3%A9sum%C3%A9%202026.pdf" in ranged.headers["content-disposition"]
    assert thumb.content == b"RIFF"


async def test_history_lists_the_files_events_in_order(
    client: Client, auth: Any, ingest_events: Any
) -> None:
    story = FileStory(owner="alice", kind="image").opened().uploaded().verified().thumbnailed()
    await ingest_events(list(reversed(story.events)))

    response = await client.get(f"/v1/files/{story.file_id}/history", headers=auth("alice"))

    assert response.status_code == 200
    assert [e["type"] for e in response.json()["events"]] == [e.tag() for e in story.events]


async def test_an_owner_never_sees_another_owners_file(
    client: Client, auth: Any, ingest_events: Any
) -> None:
    secret = FileStory(owner="bob", filename="bob-secret.mp4", tags=["bobtag"])
    secret.opened().uploaded().verified().transcoded()
    pending = FileStory(owner="bob", filename="bob-pending.png").opened()
    await ingest_events(secret.events + pending.events + [tag_created("bobtag", "bob")])
    file_id = secret.file_id

    as_alice = auth("alice")
    assert (await client.get("/v1/files", headers=as_alice)).json()["items"] == []
    for search in ({"q": "secret"}, {"tag": "bobtag"}, {"status": "ready"}, {"kind": "video"}):
        page = await client.get("/v1/files", headers=as_alice, params=search)
        assert page.json()["items"] == [], search
    for path in (f"/v1/files/{file_id}", f"/v1/files/{file_id}/history"):
        response = await client.get(path, headers=as_alice)
        assert response.status_code == 404, path
        assert "bob" not in response.text
    # Playlists want the playback token only bob's detail hands out.
    for playlist in ("master", "720p"):
        response = await client.get(f"/v1/files/{file_id}/hls/{playlist}.m3u8", headers=as_alice)
        assert response.json()["code"] == "playback_token_invalid"
        assert "bob" not in response.text
    assert (await client.get("/v1/tags", headers=as_alice)).json()["items"] == []
    assert (await client.get("/v1/uploads", headers=as_alice)).json()["items"] == []

    # Bob sees his own; an admin sees everyone's.
    assert [
        t["name"] for t in (await client.get("/v1/tags", headers=auth("bob"))).json()["items"]
    ] == ["bobtag"]
    uploads = await client.get("/v1/uploads", headers=auth("bob"), params={"status": "open"})
    assert [u["filename"] for u in uploads.json()["items"]] == ["bob-pending.png"]
    admin = await client.get(f"/v1/files/{file_id}", headers=auth("root", roles=["admin"]))
    assert admin.status_code == 200
    assert (await client.get("/v1/files")).status_code == 401
    random_id = await client.get(f"/v1/files/{uuid.uuid4()}", headers=auth("bob"))
    assert random_id.json()["code"] == "file_not_found"


async def test_tags_are_private_to_their_owner(
    client: Client, auth: Any, ingest_events: Any
) -> None:
    alices = FileStory(owner="alice", filename="a.png", tags=["holiday", "alice-only"])
    bobs = FileStory(owner="bob", filename="b.png", tags=["holiday"])
    await ingest_events(
        alices.opened().uploaded().events
        + bobs.opened().uploaded().events
        + [
            tag_created("holiday", "alice"),
            tag_created("alice-only", "alice"),
            tag_created("secret-plan", "alice"),
            tag_created("holiday", "bob"),
            tag_created("unused", "bob"),
        ]
    )

    async def tags(owner: str, **claims: Any) -> list[tuple[str, int]]:
        page = await client.get("/v1/tags", headers=auth(owner, **claims))
        return [(t["name"], t["files"]) for t in page.json()["items"]]

    async def tagged(owner: str, tag: str) -> list[str]:
        page = await client.get("/v1/files", headers=auth(owner), params={"tag": tag})
        return [f["filename"] for f in page.json()["items"]]

    assert await tags("bob") == [("holiday", 1), ("unused", 0)]
    assert await tags("alice") == [("alice-only", 1), ("holiday", 1), ("secret-plan", 0)]
    assert await tagged("bob", "holiday") == ["b.png"]
    assert await tagged("alice", "holiday") == ["a.png"]
    assert await tagged("bob", "alice-only") == []
    # Admins see every owner's tags merged by name, counted over all files.
    assert await tags("root", roles=["admin"]) == [
        ("alice-only", 1),
        ("holiday", 2),
        ("secret-plan", 0),
        ("unused", 0),
    ]


async def test_tags_page_by_marker(client: Client, auth: Any, ingest_events: Any) -> None:
    names = [f"t{i:02}" for i in range(7)]
    story = FileStory(owner="alice", tags=names[:4]).opened().uploaded()
    await ingest_events(story.events + [tag_created(n, "alice") for n in names])

    collected: list[tuple[str, int]] = []
    marker = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if marker:
            params["marker"] = marker
        page = (await client.get("/v1/tags", headers=auth("alice"), params=params)).json()
        collected += [(t["name"], t["files"]) for t in page["items"]]
        marker = page["next_marker"]
        if marker is None:
            break

    assert collected == [(n, 1 if i < 4 else 0) for i, n in enumerate(names)]


async def test_health_and_metrics(client: Client) -> None:
    assert (await client.get("/health/live")).status_code == 200

    async def ready_now() -> bool:
        # Not ready until the change feed's LISTEN runs (a moment after startup).
        return (await client.get("/health/ready")).status_code == 200

    await eventually(ready_now)
    ready = await client.get("/health/ready")
    assert (ready.status_code, ready.json()["checks"]) == (200, {"postgres": "up", "changes": "up"})
    assert (await client.get("/metrics")).status_code == 200


async def test_the_detail_has_typed_metadata_and_the_list_filters_by_its_ranges(
    client: Client, auth: Any, ingest_events: Any
) -> None:
    july = EPOCH.replace(month=7, day=14)
    photo = FileStory(owner="alice", filename="beach.jpg", kind="image")
    old_photo = FileStory(owner="alice", filename="old.jpg", kind="image")
    clip = FileStory(owner="alice", filename="clip.mp4")
    song = FileStory(owner="alice", filename="song.mp3", kind="audio")
    broken = FileStory(owner="alice", filename="broken.mp4")
    await ingest_events(
        photo.opened().uploaded().verified().metadata(taken_at=july).events
        + old_photo.opened().uploaded().verified().metadata(taken_at=july.replace(year=2001)).events
        + clip.opened().uploaded().verified().metadata(duration=12.5).events
        + song.opened().uploaded().verified().metadata(duration=215.0).events
        + broken.opened().uploaded().verified().metadata_failed().events
    )

    detail = (await client.get(f"/v1/files/{photo.file_id}", headers=auth("alice"))).json()
    assert detail["metadata"]["status"] == "extracted"
    assert detail["metadata"]["kind"] == "image"
    assert detail["metadata"]["image"]["taken_at"] == july.isoformat().replace("+00:00", "Z")
    assert detail["metadata"]["video"] is None
    assert detail["metadata"]["image"]["width"] == 1280
    video = (await client.get(f"/v1/files/{clip.file_id}", headers=auth("alice"))).json()
    assert video["metadata"]["kind"] == "video"
    assert (video["metadata"]["video"]["video_codec"], video["metadata"]["video"]["duration"]) == (
        "h264",
        12.5,
    )
    failed = (await client.get(f"/v1/files/{broken.file_id}", headers=auth("alice"))).json()
    assert (failed["metadata"]["status"], failed["metadata"]["error"]) == (
        "failed",
        "corrupt_input",
    )

    async def names(**params: Any) -> list[str]:
        response = await client.get("/v1/files", headers=auth("alice"), params=params)
        assert response.status_code == 200, response.text
        return sorted(i["filename"] for i in response.json()["items"])

    after = july.replace(day=1).isoformat()
    assert await names(taken_after=after) == ["beach.jpg"]
    assert await names(taken_before=after) == ["old.jpg"]
    assert await names(min_duration=10, max_duration=100) == ["clip.mp4"]
    assert await names(min_duration=100) == ["song.mp3"]
    assert await names(kind="audio", max_duration=1000) == ["song.mp3"]


@pytest.mark.parametrize(
    "params",
    [
        {"min_duration": 30, "max_duration": 10},
        {"taken_after": "2024-02-01T00:00:00Z", "taken_before": "2024-01-01T00:00:00Z"},
        {"taken_after": "2024-02-01T00:00:00"},  # no time zone
        {"taken_after": "yesterday"},
        {"taken_before": "1721000000"},  # not read as a Unix time
    ],
)
async def test_empty_or_naive_ranges_are_invalid_range_problems(
    client: Client, auth: Any, params: dict[str, Any]
) -> None:
    response = await client.get("/v1/files", headers=auth("alice"), params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "invalid_range"


@pytest.mark.parametrize("params", [{"min_duration": -1}, {"max_duration": "long"}])
async def test_malformed_range_bounds_are_refused(
    client: Client, auth: Any, params: dict[str, Any]
) -> None:
    response = await client.get("/v1/files", headers=auth("alice"), params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "invalid_request"
