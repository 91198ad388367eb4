"""The variants API against real Postgres and SeaweedFS: presets and signed specs per format,
fit and gravity, watermarks, caching, every refusal with its code, the per-owner flood limit,
video posters, and the projection fed by the file events on the bus."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from PIL import Image

from mediaplane.bus import Bus
from mediaplane.bus.testing import eventually
from mediaplane.contracts import (
    EventContext,
    FileDeleted,
    FileUploadedV2,
    FileVerified,
    new_event,
    new_event_id,
    utc_now,
)
from mediaplane.eventlog.database import open_pool
from mediaplane.servicekit.auth import AuthSettings
from mediaplane.servicekit.rate_limit import RateLimit
from mediaplane.storage import ObjectStore
from mediaplane.thumbnailer import testing
from mediaplane.thumbnailer.adapters import variant_store
from mediaplane.thumbnailer.api.app import create_app
from mediaplane.thumbnailer.app.bootstrap import apply_migrations, open_resources
from mediaplane.thumbnailer.config import SERVICE, ThumbnailerSettings, VariantSettings
from mediaplane.thumbnailer.domain.variant_spec import SpecSigner, parse_spec
from mediaplane.thumbnailer.worker.sources import register_variant_sources

pytestmark = pytest.mark.integration

JWT_SECRET = "test-secret-that-is-long-enough-for-hs256"
VARIANT_SECRET = "variant-signing-secret-for-the-tests-0123"
Verified = Callable[..., Any]
Rows = Callable[..., list[dict[str, Any]]]
Client = AsyncTestClient[Litestar]


def auth(sub: str = "alice", **claims: Any) -> dict[str, str]:
    token = jwt.encode({"sub": sub, "exp": int(time.time()) + 300, **claims}, JWT_SECRET, "HS256")
    return {"Authorization": f"Bearer {token}"}


def signed(spec: str) -> str:
    """The path segment and query of a spec signed as the API signs it."""
    parsed = parse_spec(spec, max_pixels=VariantSettings().max_pixels)
    return f"{spec}?sig={SpecSigner(VARIANT_SECRET).sign(parsed)}"


@pytest.fixture
async def api_settings(
    make_settings: Callable[..., ThumbnailerSettings], variants_bucket: str
) -> ThumbnailerSettings:
    built = make_settings(
        auth=AuthSettings(hs256_secret=JWT_SECRET),
        variants=VariantSettings(
            bucket=variants_bucket,
            secret=VARIANT_SECRET,
            rate=RateLimit(per_second=0.01, burst=30),
        ),
    )
    await apply_migrations(built)
    return built


@pytest.fixture
async def client(api_settings: ThumbnailerSettings) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(api_settings)) as test_client:
        test_client.follow_redirects = False  # the redirect is the answer
        yield test_client


Known = Callable[..., Any]


@pytest.fixture
def known(api_settings: ThumbnailerSettings, verified: Verified) -> Known:
    """`await known(data, media_type, kind, ready=True)`: an original in storage and the
    file events the variant sources consumer would have folded in."""

    async def make(
        data: bytes, media_type: str, kind: str, *, ready: bool = True, owner: str = "alice"
    ) -> FileVerified:
        event: FileVerified = await verified(data, media_type, kind, owner=owner)
        uploaded = new_event(
            FileUploadedV2,
            occurred_at=utc_now(),
            stream_id=f"file-{event.file_id}",
            context=EventContext(producer="upload-gateway", correlation_id="c"),
            file_id=event.file_id,
            owner=event.owner,
            bucket=event.bucket,
            object_key=f"{event.owner}/{event.file_id}/upload",
            original_key=event.object_key,
            filename="x",
            content_type=media_type,
            size=event.size,
        )
        async with await open_pool(api_settings.database_url, min_size=1, max_size=1) as pool:
            await variant_store.project(pool, [uploaded])
            if ready:
                await variant_store.project(pool, [event])
        return event

    return make


def variant_events(rows: Rows, file_id: uuid.UUID) -> list[dict[str, Any]]:
    return rows(
        "SELECT type, data FROM event_log WHERE data->>'file_id' = %s AND type LIKE 'variant.%%'"
        " ORDER BY stream_id, version",
        str(file_id),
    )


async def fetch(url: str) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.get(url)


PHOTO = testing.encode(testing.photo(1200, 900), "JPEG", quality=90)


async def test_a_preset_is_made_once_then_served_from_the_record_with_cache_headers(
    client: Client, known: Known, rows: Rows, objects: ObjectStore, variants_bucket: str
) -> None:
    file = await known(PHOTO, "image/jpeg", "image")
    first = await client.get(f"/v1/files/{file.file_id}/variants/card", headers=auth())
    assert first.status_code == 302, first.text
    assert first.headers["variant-cache"] == "miss"
    assert first.headers["variant-spec"] == "fill-400x300-smart-q80.webp"
    assert first.headers["cache-control"] == "private, max-age=3600"

    second = await client.get(f"/v1/files/{file.file_id}/variants/card", headers=auth())
    assert second.status_code == 302
    assert second.headers["variant-cache"] == "hit"
    assert second.headers["location"] == first.headers["location"]  # one URL all day

    served = await fetch(first.headers["location"])
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/webp"
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert Image.open(io.BytesIO(served.content)).size == (400, 300)

    [event] = variant_events(rows, file.file_id)
    assert event["type"] == "variant.generated.v1"
    assert event["data"]["key"] == f"{file.sha256}/fill-400x300-smart-q80.webp"
    assert len(await objects.list_objects(variants_bucket, prefix=file.sha256)) == 1


@pytest.mark.parametrize(
    ("spec", "pillow_format", "size"),
    [
        ("fit-300x300.jpeg", "JPEG", (300, 225)),
        ("fill-200x200-smart-q70.webp", "WEBP", (200, 200)),
        ("fill-200x100-center.png", "PNG", (200, 100)),
        ("crop-64x64-smart.avif", "AVIF", (64, 64)),
        ("fit-320x320-wm.webp", "WEBP", (320, 240)),
    ],
)
async def test_signed_specs_in_every_format_mode_and_gravity(
    client: Client, known: Known, spec: str, pillow_format: str, size: tuple[int, int]
) -> None:
    file = await known(PHOTO, "image/jpeg", "image")
    answer = await client.get(f"/v1/files/{file.file_id}/variants/{signed(spec)}", headers=auth())
    assert answer.status_code == 302, answer.text
    picture = Image.open(io.BytesIO((await fetch(answer.headers["location"])).content))
    assert (picture.format, picture.size) == (pillow_format, size)
    assert not picture.getexif()


async def test_admins_sign_specs_and_the_signature_serves_them(
    client: Client, known: Known
) -> None:
    refused = await client.post(
        "/v1/variants/signatures", json={"spec": "fit-100x100.png"}, headers=auth()
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    made = await client.post(
        "/v1/variants/signatures",
        json={"spec": "fit-100x100-q5.png"},
        headers=auth("ops", roles=["admin"]),
    )
    assert made.status_code == 200, made.text
    body = made.json()
    assert body["spec"] == "fit-100x100.png"
    file = await known(PHOTO, "image/jpeg", "image")
    answer = await client.get(f"/v1/files/{file.file_id}/{body['path']}", headers=auth())
    assert answer.status_code == 302
    too_big = await client.post(
        "/v1/variants/signatures",
        json={"spec": "fit-8000x8000.png"},
        headers=auth("ops", roles=["admin"]),
    )
    assert (too_big.status_code, too_big.json()["code"]) == (400, "variant_too_many_pixels")


@pytest.mark.parametrize(
    ("segment", "status", "code"),
    [
        ("fit-0x100.webp?sig=AAAA", 400, "variant_spec_invalid"),
        ("fit-100x100-q300.webp?sig=AAAA", 400, "variant_spec_invalid"),
        ("fit-8000x8000.webp?sig=AAAA", 400, "variant_too_many_pixels"),
        ("huge", 404, "variant_preset_unknown"),
        ("fit-100x100.webp", 403, "variant_spec_unsigned"),
        ("fit-100x100.webp?sig=AAAA", 403, "variant_signature_invalid"),
    ],
)
async def test_specs_out_of_range_unknown_or_unsigned_are_refused(
    client: Client, known: Known, rows: Rows, segment: str, status: int, code: str
) -> None:
    file = await known(PHOTO, "image/jpeg", "image")
    answer = await client.get(f"/v1/files/{file.file_id}/variants/{segment}", headers=auth())
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == code
    assert variant_events(rows, file.file_id) == []


async def test_a_watermark_on_a_1x1_image_fails_once_and_is_answered_from_the_record(
    client: Client, known: Known, rows: Rows
) -> None:
    file = await known(testing.encode(Image.new("RGB", (1, 1)), "PNG"), "image/png", "image")
    path = f"/v1/files/{file.file_id}/variants/{signed('fit-800x800-wm.webp')}"
    for _ in range(2):
        answer = await client.get(path, headers=auth())
        assert answer.status_code == 422
        assert answer.json()["code"] == "watermark_does_not_fit"
    [event] = variant_events(rows, file.file_id)
    assert event["type"] == "variant.failed.v1"
    assert event["data"]["code"] == "watermark_does_not_fit"


async def test_an_avif_request_for_a_pdf_is_refused(client: Client, known: Known) -> None:
    file = await known(testing.pdf(pages=1), "application/pdf", "pdf")
    path = f"/v1/files/{file.file_id}/variants/{signed('fit-400x400.avif')}"
    answer = await client.get(path, headers=auth())
    assert (answer.status_code, answer.json()["code"]) == (422, "variant_unsupported_source")


async def test_a_flood_of_new_variants_from_one_owner_is_rate_limited(
    make_settings: Callable[..., ThumbnailerSettings],
    api_settings: ThumbnailerSettings,
    known: Known,
) -> None:
    limited = dataclasses.replace(
        api_settings,
        variants=dataclasses.replace(
            api_settings.variants, rate=RateLimit(per_second=0.01, burst=3)
        ),
    )
    file = await known(testing.encode(testing.photo(200, 150), "JPEG"), "image/jpeg", "image")
    async with AsyncTestClient(app=create_app(limited)) as client:
        client.follow_redirects = False
        answers = [
            await client.get(
                f"/v1/files/{file.file_id}/variants/{signed(f'fit-{side}x{side}.png')}",
                headers=auth(),
            )
            for side in (10, 11, 12, 13, 14)
        ]
        assert [a.status_code for a in answers] == [302, 302, 302, 429, 429]
        assert answers[3].json()["code"] == "variant_rate_limited"
        assert int(answers[3].headers["retry-after"]) >= 1
        # Made variants are still served; another owner has a bucket of their own.
        again = await client.get(
            f"/v1/files/{file.file_id}/variants/{signed('fit-10x10.png')}", headers=auth()
        )
        assert again.status_code == 302
        other = await client.get(
            f"/v1/files/{file.file_id}/variants/{signed('fit-15x15.png')}",
            headers=auth("ops", roles=["admin"]),
        )
        assert other.status_code == 302


async def test_files_not_ready_or_of_another_owner_are_refused_like_reads(
    client: Client, known: Known, api_settings: ThumbnailerSettings
) -> None:
    uploading = await known(PHOTO, "image/jpeg", "image", ready=False)
    ready = await known(PHOTO, "image/jpeg", "image")

    async def code(file_id: uuid.UUID, who: dict[str, str]) -> tuple[int, str]:
        answer = await client.get(f"/v1/files/{file_id}/variants/card", headers=who)
        return answer.status_code, answer.json().get(
            "code", ""
        ) if answer.status_code != 302 else ""

    assert await code(uploading.file_id, auth()) == (404, "file_not_ready")
    assert await code(ready.file_id, auth("mallory")) == (404, "file_not_found")
    assert await code(uuid.uuid4(), auth()) == (404, "file_not_found")
    assert await code(ready.file_id, auth("ops", roles=["admin"])) == (302, "")
    no_token = await client.get(f"/v1/files/{ready.file_id}/variants/card")
    assert (no_token.status_code, no_token.json()["code"]) == (401, "unauthorized")

    deleted = new_event(
        FileDeleted,
        occurred_at=utc_now(),
        stream_id=f"file-{ready.file_id}",
        context=EventContext(producer="upload-gateway", correlation_id="c"),
        file_id=ready.file_id,
        owner="alice",
        deleted_by="alice",
    )
    async with await open_pool(api_settings.database_url, min_size=1, max_size=1) as pool:
        await variant_store.project(pool, [deleted])
        await variant_store.project(pool, [ready])  # a late redelivery changes nothing
    assert await code(ready.file_id, auth()) == (404, "file_not_ready")


async def test_a_video_gives_a_poster_frame_at_the_asked_time(
    client: Client, known: Known, tmp_path: Path
) -> None:
    video = testing.video(tmp_path / "v.mp4", seconds=2.0, black_until=1.0).read_bytes()
    file = await known(video, "video/mp4", "video")
    black = await client.get(
        f"/v1/files/{file.file_id}/variants/{signed('fit-160x160-t0.2.png')}", headers=auth()
    )
    lit = await client.get(
        f"/v1/files/{file.file_id}/variants/{signed('fit-160x160-t1.5.png')}", headers=auth()
    )
    assert black.status_code == lit.status_code == 302, black.text
    assert black.headers["variant-spec"] == "fit-160x160-t0.2.png"
    dark = Image.open(io.BytesIO((await fetch(black.headers["location"])).content)).convert("L")
    light = Image.open(io.BytesIO((await fetch(lit.headers["location"])).content)).convert("L")
    assert max(dark.size) == max(light.size) == 160
    (_, darkest_high), (_, lightest_high) = dark.getextrema(), light.getextrema()
    assert isinstance(darkest_high, int)
    assert isinstance(lightest_high, int)
    assert darkest_high < 40 < lightest_high


async def test_the_worker_projects_file_events_from_the_bus(
    api_settings: ThumbnailerSettings, verified: Verified, rows: Rows
) -> None:
    from mediaplane.contracts import build_registry

    file: FileVerified = await verified(PHOTO, "image/jpeg", "image")
    registry = build_registry(api_settings.bus.subject_root)
    async with open_resources(api_settings, pool_size=2, media_tools=False) as resources:
        bus = Bus(api_settings.bus, registry, producer=SERVICE)
        register_variant_sources(
            bus,
            resources.pool,
            resources.variants,
            originals_bucket=api_settings.originals_bucket,
        )
        async with bus.running():
            await bus.publish(file)
            await eventually(
                lambda: bool(
                    rows("SELECT 1 FROM variant_sources WHERE file_id = %s", file.file_id)
                ),
                within=30,
            )
    [row] = rows("SELECT owner, status, sha256, kind FROM variant_sources WHERE file_id = %s",
                 file.file_id)  # fmt: skip
    assert row == {
        "owner": "alice",
        "status": "ready",
        "sha256": hashlib.sha256(PHOTO).hexdigest(),
        "kind": "image",
    }
    assert new_event_id()  # ids stay UUIDv7 for the events the test made


async def test_a_takedown_from_the_bus_refuses_variants_until_restored(
    client: Client, known: Known, api_settings: ThumbnailerSettings
) -> None:
    from mediaplane.contracts import FileRestored, FileTakenDown, build_registry

    file = await known(PHOTO, "image/jpeg", "image")
    context = EventContext(producer="upload-gateway", correlation_id="moderation")

    def decision(cls: type[FileTakenDown] | type[FileRestored], reason: str) -> Any:
        return new_event(
            cls,
            occurred_at=utc_now(),
            stream_id=f"file-{file.file_id}",
            context=context,
            file_id=file.file_id,
            owner=file.owner,
            moderator="mod",
            reason=reason,
        )

    async def answer(who: dict[str, str]) -> tuple[int, str]:
        got = await client.get(f"/v1/files/{file.file_id}/variants/card", headers=who)
        return got.status_code, "" if got.status_code == 302 else got.json()["code"]

    assert await answer(auth()) == (302, "")
    down, restored = decision(FileTakenDown, "abuse"), decision(FileRestored, "appeal upheld")
    registry = build_registry(api_settings.bus.subject_root)
    async with open_resources(api_settings, pool_size=2, media_tools=False) as resources:
        pool = resources.pool
        bus = Bus(api_settings.bus, registry, producer=SERVICE)
        register_variant_sources(
            bus, pool, resources.variants, originals_bucket=api_settings.originals_bucket
        )
        async with bus.running():
            await bus.publish(down)

            async def refused() -> bool:
                return await answer(auth()) == (451, "file_taken_down")

            await eventually(refused, within=30)
            assert await answer(auth("mod", roles=["moderator"])) == (302, "")
            assert await answer(auth("ops", roles=["admin"])) == (302, "")
            assert await answer(auth("mallory")) == (404, "file_not_found")
            await bus.publish(restored)

            async def served() -> bool:
                return await answer(auth()) == (302, "")

            await eventually(served, within=30)
        # A late redelivery of the takedown does not undo the newer restore.
        await variant_store.project(pool, [down])
    assert await answer(auth()) == (302, "")


async def test_a_variants_rerun_drops_them_and_the_next_request_makes_them_again(
    client: Client,
    known: Known,
    api_settings: ThumbnailerSettings,
    objects: ObjectStore,
    rows: Rows,
) -> None:
    from mediaplane.contracts import FileReprocessRequestedV2, build_registry

    file = await known(PHOTO, "image/jpeg", "image")
    bucket = api_settings.variants.bucket
    for preset in ("card", "small"):
        made = await client.get(f"/v1/files/{file.file_id}/variants/{preset}", headers=auth())
        assert made.status_code == 302, made.text
    before = {o.key for o in await objects.list_objects(bucket, f"{file.sha256}/")}
    assert len(before) == 2
    [old_card] = rows(
        "SELECT created_at FROM variants WHERE sha256 = %s AND spec LIKE 'fill-400x300%%'",
        file.sha256,
    )

    request = new_event(
        FileReprocessRequestedV2,
        occurred_at=utc_now(),
        stream_id=f"file-{file.file_id}",
        context=EventContext(producer="upload-gateway", correlation_id="rerun"),
        file_id=file.file_id,
        owner=file.owner,
        target="variants",
        requested_by="root",
        bucket=file.bucket,
        object_key=file.object_key,
        sha256=file.sha256,
        size=file.size,
        media_type=file.media_type,
        kind=file.kind,
    )
    registry = build_registry(api_settings.bus.subject_root)
    async with open_resources(api_settings, pool_size=2, media_tools=False) as resources:
        bus = Bus(api_settings.bus, registry, producer=SERVICE)
        register_variant_sources(
            bus, resources.pool, resources.variants, originals_bucket=api_settings.originals_bucket
        )
        async with bus.running():
            await bus.publish(request)
            await eventually(
                lambda: not rows("SELECT 1 FROM variants WHERE sha256 = %s", file.sha256),
                within=30,
            )
        # A redelivery finds nothing left to drop.
        assert await resources.variants.drop(request) == 0
    assert await objects.list_objects(bucket, f"{file.sha256}/") == []
    dropped = rows(
        "SELECT data, metadata FROM event_log WHERE type = 'variant.dropped.v1'"
        " AND data->>'sha256' = %s",
        file.sha256,
    )
    assert sorted(d["data"]["key"] for d in dropped) == sorted(before)
    assert {d["metadata"]["causation_id"] for d in dropped} == {str(request.event_id)}

    again = await client.get(f"/v1/files/{file.file_id}/variants/card", headers=auth())
    assert (again.status_code, again.headers["variant-cache"]) == (302, "miss"), again.text
    [new_card] = rows(
        "SELECT created_at, key FROM variants WHERE sha256 = %s AND spec LIKE 'fill-400x300%%'",
        file.sha256,
    )
    assert new_card["created_at"] > old_card["created_at"]
    after = {o.key for o in await objects.list_objects(bucket, f"{file.sha256}/")}
    assert after == {new_card["key"]}  # made again; the other waits for its next request


async def test_a_suspended_or_deleted_user_gets_no_variants(
    client: Client, known: Known, api_settings: ThumbnailerSettings, rows: Rows
) -> None:
    """`user.*` events from the bus reach the API's accounts projection: a suspended user is
    refused (even their own files) until reinstated; a deleted one for good."""
    from mediaplane.contracts import (
        UserDeleted,
        UserRegistered,
        UserReinstated,
        UserSuspended,
        build_registry,
    )
    from mediaplane.thumbnailer.adapters import accounts
    from mediaplane.thumbnailer.domain.account import standing
    from mediaplane.thumbnailer.worker.accounts import register_accounts

    file = await known(PHOTO, "image/jpeg", "image")
    user = uuid.uuid4()
    mine = await known(PHOTO, "image/jpeg", "image", owner=str(user))
    context = EventContext(producer="identity", correlation_id="accounts")

    def user_event(cls: type[Any], **fields: Any) -> Any:
        return new_event(
            cls,
            occurred_at=utc_now(),
            stream_id=f"user-{user}",
            context=context,
            user_id=user,
            **fields,
        )

    async def answer(file_id: uuid.UUID) -> tuple[int, str]:
        got = await client.get(f"/v1/files/{file_id}/variants/card", headers=auth(str(user)))
        return got.status_code, "" if got.status_code == 302 else got.json()["code"]

    assert await answer(mine.file_id) == (302, "")
    registry = build_registry(api_settings.bus.subject_root)
    async with await open_pool(api_settings.database_url, min_size=1, max_size=2) as pool:
        bus = Bus(api_settings.bus, registry, producer=SERVICE)
        register_accounts(bus, pool)
        async with bus.running():
            await bus.publish(user_event(UserRegistered, role="user", plan="free", via="open"))
            suspended = user_event(UserSuspended, reason="spam", suspended_by="admin")
            await bus.publish(suspended)

            async def refused(code: str) -> bool:
                return await answer(mine.file_id) == (403, code)

            async def served() -> bool:
                return await answer(mine.file_id) == (302, "")

            await eventually(lambda: refused("account_suspended"), within=30)
            # Every call, not only the user's own files.
            assert await answer(file.file_id) == (403, "account_suspended")
            assert (
                await client.get(f"/v1/files/{file.file_id}/variants/card", headers=auth())
            ).status_code == 302  # others are not affected
            await bus.publish(user_event(UserReinstated, reinstated_by="admin"))
            await eventually(served, within=30)
            deleted = user_event(UserDeleted, deleted_by="admin")
            await bus.publish(deleted)
            await eventually(lambda: refused("account_deleted"), within=30)
        # A redelivered suspension (older than the deletion) and a newer reinstatement
        # change nothing: deleted is final.
        for late in (suspended, user_event(UserReinstated, reinstated_by="admin")):
            change = standing(late)
            assert change is not None
            await accounts.record(pool, [change])
    statuses = "SELECT status, status_event FROM thumbnailer_accounts WHERE owner = %s"
    assert rows(statuses, str(user)) == [{"status": "deleted", "status_event": deleted.event_id}]
    assert await answer(mine.file_id) == (403, "account_deleted")
