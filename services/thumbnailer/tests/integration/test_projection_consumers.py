"""The worker's projection consumers (variant sources, accounts) on the bus's batch consumer:
events already waiting are fetched together, every one is folded in whatever the batch
holds of the same file or user, and a body that can never be handled is dead-lettered
with its reason while the rest of its batch is projected."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import msgspec
import nats
import pytest

from mediaplane.bus import Bus, read_dead_letters
from mediaplane.bus.testing import eventually
from mediaplane.contracts import (
    EventContext,
    FileDeleted,
    FileTakenDown,
    UserDeleted,
    UserRegistered,
    UserReinstated,
    UserSuspended,
    new_event,
    utc_now,
)
from mediaplane.contracts import headers as h
from mediaplane.thumbnailer.app.bootstrap import Resources
from mediaplane.thumbnailer.config import SERVICE
from mediaplane.thumbnailer.worker import accounts, sources

pytestmark = pytest.mark.integration

Verified = Callable[..., Any]
Rows = Callable[..., list[dict[str, Any]]]


async def _settled(resources: Resources, durable: str) -> None:
    """Until every message of `durable` is answered (acked, or dead-lettered)."""
    settings = resources.settings.bus
    nc = await nats.connect(settings.url)
    try:
        js = nc.jetstream()

        async def answered() -> bool:
            info = await js.consumer_info(settings.stream, durable)
            return bool(info.num_pending == 0 and info.num_ack_pending == 0)

        await eventually(answered, within=30)
    finally:
        await nc.close()


async def _dead_letters(resources: Resources) -> list[Any]:
    nc = await nats.connect(resources.settings.bus.url)
    try:
        return await read_dead_letters(nc.jetstream(), resources.settings.bus)
    finally:
        await nc.close()


async def test_a_batch_of_file_events_is_projected_and_a_forged_one_dead_lettered(
    resources: Resources, verified: Verified, rows: Rows
) -> None:
    context = EventContext(producer="upload-gateway", correlation_id="batch")
    doomed = await verified(b"doomed", "image/jpeg", "image", upload=False)
    kept = await verified(b"kept", "image/jpeg", "image", upload=False)
    bobs = await verified(b"bob's", "image/jpeg", "image", upload=False)
    forged = msgspec.structs.replace(bobs, object_key=f"bob/{bobs.file_id}")
    common: dict[str, Any] = {
        "occurred_at": utc_now(),
        "stream_id": f"file-{doomed.file_id}",
        "context": context,
    }
    taken_down = new_event(
        FileTakenDown,
        **common,
        file_id=doomed.file_id,
        owner="alice",
        moderator="mod",
        reason="abuse",
    )
    deleted = new_event(FileDeleted, **common, file_id=doomed.file_id, owner="alice",
                        deleted_by="alice")  # fmt: skip
    bus = Bus(resources.settings.bus, resources.registry, producer=SERVICE)
    sources.register_variant_sources(
        bus,
        resources.pool,
        resources.variants,
        originals_bucket=resources.settings.originals_bucket,
    )
    async with bus.running():
        pass  # the consumer exists: what is published next waits for one fetch
    async with Bus(resources.settings.bus, resources.registry, producer="t").running() as pub:
        # The doom before its verification: arrival order does not matter.
        for event in (deleted, doomed, taken_down, forged, kept):
            await pub.publish(event)
    async with bus.running():
        await _settled(resources, sources.DURABLE)

    by_file = {
        r["file_id"]: r
        for r in rows("SELECT file_id, status, sha256, taken_down FROM variant_sources")
    }
    assert by_file == {
        doomed.file_id: {
            "file_id": doomed.file_id,
            "status": "deleted",
            "sha256": doomed.sha256,
            "taken_down": True,
        },
        kept.file_id: {
            "file_id": kept.file_id,
            "status": "ready",
            "sha256": kept.sha256,
            "taken_down": False,
        },
    }
    [letter] = await _dead_letters(resources)
    assert (letter.consumer, letter.deliveries) == (sources.DURABLE, 1)
    assert letter.reason == (
        f"poison: object key 'bob/{bobs.file_id}' is not under its owner's prefix 'alice/'"
    )


async def test_a_batch_of_user_events_sets_each_users_latest_standing(
    resources: Resources, rows: Rows
) -> None:
    context = EventContext(producer="identity", correlation_id="accounts")
    alice, bob = uuid.uuid4(), uuid.uuid4()

    def user_event(cls: type[Any], user: uuid.UUID, **fields: Any) -> Any:
        return new_event(
            cls, occurred_at=utc_now(), stream_id=f"user-{user}", context=context, user_id=user,
            **fields,
        )  # fmt: skip

    alices = [
        user_event(UserRegistered, alice, role="user", plan="free", via="open"),
        user_event(UserSuspended, alice, reason="spam", suspended_by="admin"),
        user_event(UserReinstated, alice, reinstated_by="admin"),
        user_event(UserSuspended, alice, reason="spam again", suspended_by="admin"),
    ]
    bobs = [
        user_event(UserRegistered, bob, role="user", plan="free", via="open"),
        user_event(UserDeleted, bob, deleted_by="admin"),
    ]
    bus = Bus(resources.settings.bus, resources.registry, producer=SERVICE)
    accounts.register_accounts(bus, resources.pool)
    async with bus.running():
        pass  # the consumer exists: what is published next waits for one fetch
    async with Bus(resources.settings.bus, resources.registry, producer="t").running() as pub:
        # Bob's deletion first: a later-published registration does not bring him back.
        for event in (bobs[1], *alices, bobs[0]):
            await pub.publish(event)
        await pub.js.publish(
            resources.registry.subject_of(bobs[0]),
            b"not an event",
            headers={h.MSG_ID: str(uuid.uuid4())},
        )
    async with bus.running():
        await _settled(resources, accounts.DURABLE)

    standing = rows("SELECT owner, status, status_event FROM thumbnailer_accounts ORDER BY owner")
    assert sorted(standing, key=lambda r: r["owner"]) == sorted(
        [
            {"owner": str(alice), "status": "suspended", "status_event": alices[-1].event_id},
            {"owner": str(bob), "status": "deleted", "status_event": bobs[1].event_id},
        ],
        key=lambda r: r["owner"],
    )
    [letter] = await _dead_letters(resources)
    assert (letter.consumer, letter.deliveries) == (accounts.DURABLE, 1)
    assert letter.reason.startswith("undecodable: ")
