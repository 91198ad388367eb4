"""Two janitors sweeping at once (separate pools, as two replicas) act once per cleanup."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest

from mediaplane.bus import Bus
from mediaplane.contracts import utc_now
from mediaplane.janitor.config import JanitorSettings
from mediaplane.storage import ObjectStore

pytestmark = pytest.mark.integration


def ahead() -> datetime:
    return utc_now() + timedelta(hours=2)


async def test_two_janitors_running_at_once_act_once(
    settings: JanitorSettings,
    objects: ObjectStore,
    projection: Bus,
    projected: Any,
    make_janitor: Any,
    events: Any,
    upload_parts: Any,
    janitor_events: Any,
) -> None:
    bucket = settings.originals_bucket
    published = []
    for n in range(6):
        upload_id = await upload_parts(bucket, f"alice/expired-{n}", [100])
        published.append(
            events.opened(
                key=f"alice/expired-{n}",
                upload_id=upload_id,
                expires_at=utc_now() - timedelta(hours=3),
            )
        )
    orphans = [await upload_parts(bucket, f"alice/orphan-{n}", [50]) for n in range(4)]
    files = [uuid.uuid4() for _ in range(4)]
    for file_id in files:
        await objects.put_bytes(bucket, f"alice/{file_id}", b"f" * 10)
        published += [events.uploaded(file_id, f"alice/{file_id}"), events.deleted(file_id)]
    for event in published:
        await projection.publish(event)
    await projected(len(published))

    async with make_janitor(clock=ahead) as first, make_janitor(clock=ahead) as second:
        left, right = await asyncio.gather(first.service.sweep(), second.service.sweep())

    subjects = [a.subject for a in left + right]
    expected = [str(e.session_id) for e in published[:6]] + orphans + [str(f) for f in files]
    assert sorted(subjects) == sorted(expected)  # every cleanup done, none twice
    recorded = Counter(stream for stream, _, _ in janitor_events())
    assert recorded == Counter(f"janitor-{subject}" for subject in expected)
    assert await objects.list_multipart_uploads(bucket) == []
    assert await objects.list_objects(bucket) == []
