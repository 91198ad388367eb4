"""Events naming another owner's object never become something the janitor deletes."""

from __future__ import annotations

import uuid
from typing import Any

import nats
import psycopg
import pytest

from mediaplane.bus import Bus, read_dead_letters
from mediaplane.bus.testing import eventually
from mediaplane.contracts import utc_now
from mediaplane.janitor.config import PROJECTION_DURABLE, JanitorSettings

pytestmark = pytest.mark.integration


async def test_forged_object_references_are_dead_lettered_at_once(
    settings: JanitorSettings, projection: Bus, events: Any
) -> None:
    victim = uuid.uuid4()
    forged_upload = events.uploaded(victim, f"bob/{victim}")  # alice's file, bob's object
    forged_session = events.opened(key=f"bob/{victim}/upload", expires_at=utc_now())
    await projection.publish(forged_upload)
    await projection.publish(forged_session)
    nc = await nats.connect(settings.bus.url)
    try:
        js = nc.jetstream()

        async def both_dead_lettered() -> bool:
            return len(await read_dead_letters(js, settings.bus)) == 2

        await eventually(both_dead_lettered)
        letters = await read_dead_letters(js, settings.bus)
    finally:
        await nc.close()

    assert [(x.consumer, x.deliveries) for x in letters] == [(PROJECTION_DURABLE, 1)] * 2
    assert [x.reason for x in letters] == [
        f"poison: object key 'bob/{victim}' is not under its owner's prefix 'alice/'",
        f"poison: object key 'bob/{victim}/upload' is not under its owner's prefix 'alice/'",
    ]
    with psycopg.connect(settings.database_url) as conn:
        assert conn.execute("SELECT count(*) FROM janitor_file_objects").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM janitor_sessions").fetchone() == (0,)
