"""The verifier's verdicts; events reach JetStream through the relay, also after NATS was down."""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import nats
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from mediaplane.bus import Bus, provision, read_dead_letters
from mediaplane.bus.testing import eventually, namespaced_settings
from mediaplane.contracts import (
    EventContext,
    FileRejected,
    FileUploadedV2,
    FileVerified,
    new_event,
    utc_now,
)
from mediaplane.devstack.pytest_plugin import NatsNamespace, PrivateNats
from mediaplane.eventlog.relay import OutboxRelay
from mediaplane.upload_gateway.api.app import create_app
from mediaplane.upload_gateway.app.bootstrap import (
    apply_migrations,
    clamd_scanner,
    open_resources,
)
from mediaplane.upload_gateway.config import GatewaySettings
from mediaplane.upload_gateway.domain.policy import MiB
from mediaplane.upload_gateway.worker.verifier import inspect, register_verifier

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Litestar]


@asynccontextmanager
async def workers(settings: GatewaySettings) -> AsyncIterator[None]:
    """The gateway's verifier and relay, as their processes run them."""
    async with open_resources(settings, pool_size=4) as resources:
        bus = Bus(settings.bus, resources.registry, producer="upload-gateway")
        register_verifier(bus, resources.service, resources.objects, clamd_scanner(settings))
        async with (
            bus.running(),
            OutboxRelay(settings.database_url, settings.bus.url, poll_interval=0.2),
        ):
            yield


async def wait_for(event_types: Any, stream_id: str, wanted: str) -> list[str]:
    deadline = asyncio.get_running_loop().time() + 60  # patience for a loaded machine
    while asyncio.get_running_loop().time() < deadline:
        types: list[str] = event_types(stream_id)
        if wanted in types:
            return types
        await asyncio.sleep(0.1)
    raise AssertionError(f"{wanted} never reached {stream_id}: {event_types(stream_id)}")


async def upload(
    client: Client,
    s3: httpx.AsyncClient,
    auth: Any,
    body: bytes,
    content_type: str,
    sha256: str | None = None,
) -> dict[str, Any]:
    opened = await client.post(
        "/v1/uploads",
        headers=auth(),
        json={
            "filename": "f",
            "size": len(body),
            "content_type": content_type,
            **({"sha256": sha256} if sha256 else {}),
        },
    )
    assert opened.status_code == 201, opened.text
    session: dict[str, Any] = opened.json()
    if session["mode"] == "single":
        stored = await s3.request(
            "PUT", session["upload"]["url"], headers=session["upload"]["headers"], content=body
        )
        assert stored.status_code == 200, stored.text
        done = await client.post(
            f"/v1/uploads/{session['session_id']}/complete", headers=auth(), json={}
        )
    else:
        size = session["part_size"]
        numbers = list(range(1, session["part_count"] + 1))
        signed = (
            await client.post(
                f"/v1/uploads/{session['session_id']}/parts",
                headers=auth(),
                json={"parts": [{"number": n} for n in numbers]},
            )
        ).json()["parts"]
        etags = []
        for part in signed:
            n = part["number"]
            put = await s3.put(part["url"], content=body[(n - 1) * size : n * size])
            etags.append({"number": n, "etag": put.headers["etag"]})
        done = await client.post(
            f"/v1/uploads/{session['session_id']}/complete", headers=auth(), json={"parts": etags}
        )
    assert done.status_code == 202, done.text
    return session


async def test_verifier_accepts_good_files_and_rejects_lies(
    client: Client, settings: GatewaySettings, s3: httpx.AsyncClient, auth: Any, event_types: Any
) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(2000)
    html = b"<!DOCTYPE html><html><body>not an image</body></html>" + b" " * 100
    big = os.urandom(11 * MiB)
    # An HLS playlist that puremagic alone would call video/mp4 (brands at offset 20),
    # and the same behind an ID3 tag (ffmpeg skips ID3 tags before probing).
    polyglot = (
        b"#EXTM3U\n#EXT-X-ftyp\niso2avc1mp41\n#EXT-X-TARGETDURATION:10\n"
        b"#EXTINF:2,\n/etc/passwd.ts\n#EXT-X-ENDLIST\n"
    )
    id3_polyglot = b"ID3\x04\x00\x00\x00\x00\x00\x10" + b"\x00" * 16 + polyglot
    async with workers(settings):
        good = await upload(client, s3, auth, png, "image/png", hashlib.sha256(png).hexdigest())
        disguised = await upload(client, s3, auth, html, "image/png")
        # Multipart parts without per-part checksums: only the verifier can catch the lie.
        lying = await upload(client, s3, auth, big, "video/mp4", sha256="0" * 64)
        playlists = [
            await upload(client, s3, auth, body, "video/mp4") for body in (polyglot, id3_polyglot)
        ]

        assert await wait_for(event_types, f"file-{good['file_id']}", "file.verified.v1") == [
            "file.uploaded.v2",
            "file.verified.v1",
        ]
        await wait_for(event_types, f"file-{disguised['file_id']}", "file.rejected.v1")
        await wait_for(event_types, f"file-{lying['file_id']}", "file.rejected.v1")
        for playlist in playlists:
            await wait_for(event_types, f"file-{playlist['file_id']}", "file.rejected.v1")

    async with open_resources(settings) as resources:
        verified = (await resources.store.load(f"file-{good['file_id']}")).events[-1]
        assert isinstance(verified, FileVerified)
        assert (verified.kind, verified.media_type, verified.size, verified.object_key) == (
            "image",
            "image/png",
            len(png),
            f"alice/{good['file_id']}/original",
        )
        type_rejection = (await resources.store.load(f"file-{disguised['file_id']}")).events[-1]
        assert isinstance(type_rejection, FileRejected)
        assert type_rejection.code == "type_not_allowed"
        checksum_rejection = (await resources.store.load(f"file-{lying['file_id']}")).events[-1]
        assert isinstance(checksum_rejection, FileRejected)
        assert checksum_rejection.code == "checksum_mismatch"
        for playlist in playlists:
            refused = (await resources.store.load(f"file-{playlist['file_id']}")).events[-1]
            assert isinstance(refused, FileRejected)
            assert (refused.code, refused.detail) == (
                "playlist_not_allowed",
                "the bytes are an M3U/HLS playlist, which names other files",
            )
        # Rejected bytes are gone, staging and original; an accepted file keeps only
        # its original.
        for rejected in (lying, disguised, *playlists):
            assert (
                await resources.objects.list_objects(
                    settings.bucket, f"alice/{rejected['file_id']}/"
                )
                == []
            )
        kept = await resources.objects.list_objects(settings.bucket, f"alice/{good['file_id']}/")
        assert [(o.key, o.size) for o in kept] == [(f"alice/{good['file_id']}/original", len(png))]


async def test_inspect_reports_empty_and_size_mismatch_and_missing_objects(
    settings: GatewaySettings,
) -> None:
    ctx = EventContext(producer="test", correlation_id="c")
    async with open_resources(settings) as resources:
        await resources.objects.put_bytes(settings.bucket, "alice/empty/upload", b"")
        await resources.objects.put_bytes(
            settings.bucket, "alice/short/upload", b"\x89PNG\r\n\x1a\nabc"
        )

        def uploaded(folder: str, size: int) -> FileUploadedV2:
            return new_event(
                FileUploadedV2,
                occurred_at=utc_now(),
                stream_id="file-x",
                context=ctx,
                file_id=uuid.uuid4(),
                owner="alice",
                bucket=settings.bucket,
                object_key=f"{folder}/upload",
                original_key=f"{folder}/original",
                filename="f",
                content_type="image/png",
                size=size,
            )

        scanner = clamd_scanner(settings)
        empty = await inspect(
            resources.objects, scanner, uploaded("alice/empty", 1), settings.limits
        )
        short = await inspect(
            resources.objects, scanner, uploaded("alice/short", 100), settings.limits
        )
        gone = await inspect(
            resources.objects, scanner, uploaded("alice/missing", 1), settings.limits
        )
    assert empty.rejection is not None
    assert empty.rejection[0] == "empty"
    assert short.rejection is not None
    assert short.rejection[0] == "size_mismatch"
    assert gone.rejection is not None
    assert gone.rejection[0] == "missing_object"


async def test_complete_succeeds_while_nats_is_down_and_events_follow_when_it_returns(
    make_gateway_settings: Callable[..., GatewaySettings],
    private_nats: PrivateNats,
    nats_namespace: NatsNamespace,
    s3: httpx.AsyncClient,
    auth: Any,
) -> None:
    bus = namespaced_settings(nats_namespace, private_nats.url)
    settings = make_gateway_settings(bus=bus)
    await apply_migrations(settings)
    nc = await nats.connect(private_nats.url)
    await provision(nc.jetstream(), bus)
    await nc.close()

    async with (
        AsyncTestClient(app=create_app(settings)) as client,
        OutboxRelay(settings.database_url, bus.url, poll_interval=0.2, max_backoff=0.5),
    ):
        body = b"%PDF-1.7\n" + os.urandom(500)
        opened = (
            await client.post(
                "/v1/uploads",
                headers=auth(),
                json={"filename": "a.pdf", "size": len(body), "content_type": "application/pdf"},
            )
        ).json()
        await s3.request(
            "PUT", opened["upload"]["url"], headers=opened["upload"]["headers"], content=body
        )

        private_nats.stop()
        done = await client.post(
            f"/v1/uploads/{opened['session_id']}/complete", headers=auth(), json={}
        )
        assert done.status_code == 202, done.text
        await asyncio.sleep(1.5)  # the relay is retrying against a dead server meanwhile
        private_nats.start()

        subjects = await _stream_subjects(private_nats.url, bus.stream, expected=3)
    root = bus.subject_root
    assert sorted(subjects) == sorted(
        [
            f"{root}.upload.session.opened.v1",
            f"{root}.upload.session.completed.v1",
            f"{root}.file.uploaded.v2",
        ]
    )


async def _stream_subjects(url: str, stream: str, *, expected: int) -> list[str]:
    """Subjects of every message in the stream once it holds `expected` (never more)."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        deadline = asyncio.get_running_loop().time() + 60  # patience for a loaded machine
        while (await js.stream_info(stream)).state.messages < expected:
            assert asyncio.get_running_loop().time() < deadline, "events did not arrive"
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # would a duplicate follow?
        info = await js.stream_info(stream)
        assert info.state.messages == expected
        return [str((await js.get_msg(stream, seq)).subject) for seq in range(1, expected + 1)]
    finally:
        await nc.close()


async def test_a_forged_upload_naming_another_owners_objects_is_dead_lettered_untouched(
    settings: GatewaySettings,
) -> None:
    """The verifier copies and deletes what file.uploaded names: never bob's for alice."""
    file_id = uuid.uuid4()
    bobs = f"bob/{file_id}/upload"
    async with open_resources(settings, pool_size=2) as resources:
        await resources.objects.put_bytes(settings.bucket, bobs, b"bob's bytes")
        forged = new_event(
            FileUploadedV2,
            occurred_at=utc_now(),
            stream_id=f"file-{file_id}",
            context=EventContext(producer="upload-gateway", correlation_id="forged"),
            file_id=file_id,
            owner="alice",
            bucket=settings.bucket,
            object_key=bobs,
            original_key=f"alice/{file_id}/original",
            filename="f",
            content_type="image/png",
            size=11,
        )
        async with workers(settings):
            publisher = Bus(settings.bus, resources.registry, producer="attacker")
            async with publisher.running():
                await publisher.publish(forged)
            nc = await nats.connect(settings.bus.url)
            try:
                js = nc.jetstream()

                async def dead_lettered() -> bool:
                    return len(await read_dead_letters(js, settings.bus)) == 1

                await eventually(dead_lettered)
                [letter] = await read_dead_letters(js, settings.bus)
            finally:
                await nc.close()
        assert letter.deliveries == 1
        assert letter.reason == (
            f"poison: object key {bobs!r} is not under its owner's prefix 'alice/'"
        )
        assert (await resources.objects.stat(settings.bucket, bobs)).size == len(b"bob's bytes")
        assert await resources.objects.list_objects(settings.bucket, f"alice/{file_id}") == []
