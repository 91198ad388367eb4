"""The generated SQL and the pure file-status rules agree, over every short event sequence.

Each sequence is one file's story; all stories go through the real ingest
(shuffled, in batches, so files are refreshed from partial sets of facts
before they converge) and the `files` rows are compared with `file_status`.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
import psycopg
import pytest

from mediaplane.catalog.config import CatalogSettings
from mediaplane.catalog.domain.file_status import FileStatus, file_status
from mediaplane.catalog.testing import EPOCH, FileStory
from mediaplane.contracts import Event, FileKind

pytestmark = pytest.mark.integration

Step = Callable[[FileStory], FileStory]


def _job(story: FileStory) -> uuid.UUID:
    # One transcode job per file: the attempts of a job share its id.
    return uuid.UUID(int=story.file_id.int ^ 1)


def _code(story: FileStory) -> str:
    # A code per position, so "the latest failure's code" is observable.
    return f"code_{len(story.events)}"


STEPS: dict[str, Step] = {
    "opened": lambda s: s.opened(),
    "completed": lambda s: s.session_completed(),
    "uploaded.v1": lambda s: s.file_uploaded(legacy=True),
    "uploaded.v2": lambda s: s.file_uploaded(legacy=False),
    "verified": lambda s: s.verified(),
    "rejected": lambda s: s.rejected(_code(s)),
    "deleted": lambda s: s.deleted(),
    "purged": lambda s: s.purged(),
    "aborted": lambda s: s.aborted(),
    "expired": lambda s: s.expired(),
    "retagged": lambda s: s.retagged(["x"], []),
    "transcode.started": lambda s: s.transcode_started(_job(s)),
    "transcode.completed": lambda s: s.transcode_completed(_job(s)),
    "transcode.failed": lambda s: s.transcode_failure(_job(s), _code(s)),
    "thumbnail.generated": lambda s: s.thumbnailed(),
    "thumbnail.failed": lambda s: s.thumbnail_failed(_code(s)),
}


def _story(
    rng: random.Random, kind: FileKind, steps: Sequence[str], *, ties: bool = False
) -> FileStory:
    story = FileStory(
        owner="alice",
        filename="-".join(steps),
        kind=kind,
        rng=rng,
        file_id=uuid.UUID(int=rng.getrandbits(128), version=4),
        session_id=uuid.UUID(int=rng.getrandbits(128), version=4),
    )
    for step in steps:
        STEPS[step](story)
    if ties:
        # Few distinct times: "latest" is then decided by the event id.
        story.events = [
            msgspec.structs.replace(e, occurred_at=EPOCH.replace(second=rng.randrange(3)))
            for e in story.events
        ]
    return story


def _stories() -> list[FileStory]:
    rng = random.Random(13)
    names = list(STEPS)
    stories = [
        _story(rng, "video", steps)
        for n in range(1, 4)
        for steps in itertools.product(names, repeat=n)
    ]
    stories += [
        _story(rng, kind, steps)
        for kind in ("image", "audio")
        for n in range(1, 3)
        for steps in itertools.product(names, repeat=n)
    ]
    # An admin's transcode re-runs after a first success: failed, running again, succeeded.
    rerun = ["uploaded.v2", "verified", "transcode.started", "transcode.completed"]
    rerun += ["transcode.started", "transcode.failed"]
    stories += [
        _story(rng, "video", rerun + more, ties=ties)
        for more in ([], ["transcode.started"], ["transcode.started", "transcode.completed"])
        for ties in (False, True)
    ]
    # Longer lives, some with equal timestamps.
    stories += [
        _story(
            rng,
            rng.choice(["video", "image", "pdf", "audio", "other"]),
            rng.choices(names, k=rng.randrange(4, 10)),
            ties=i % 2 == 0,
        )
        for i in range(2000)
    ]
    return stories


async def test_the_files_projection_agrees_with_the_pure_rules(
    settings: CatalogSettings, ingest_events: Any
) -> None:
    stories = _stories()
    events: list[Event] = [e for s in stories for e in s.events]
    random.Random(5).shuffle(events)

    for start in range(0, len(events), 500):
        await ingest_events(events[start : start + 500])

    with psycopg.connect(settings.database_url) as conn:
        projected = {
            row[0]: FileStatus(
                status=row[1],
                rejection_code=row[2],
                transcode_status=row[3],
                transcode_error=row[4],
                transcode_rerun_error=row[5],
                thumbnail_status=row[6],
                thumbnail_error=row[7],
            )
            for row in conn.execute(
                "SELECT file_id, status, rejection_code, transcode_status, transcode_error, "
                "transcode_rerun_error, thumbnail_status, thumbnail_error FROM files"
            )
        }
    expected = {s.file_id: file_status(s.events) for s in stories}
    listed = {file_id: status for file_id, status in expected.items() if status is not None}

    assert len(stories) > 6000
    assert {s.status for s in listed.values()} == {
        "uploading",
        "verifying",
        "ready",
        "rejected",
        "deleted",
    }
    assert {s.transcode_rerun_error is not None for s in listed.values()} == {True, False}
    mismatches = {
        "/".join(s.filename.split("-")): (projected.get(s.file_id), expected[s.file_id])
        for s in stories
        if projected.get(s.file_id) != expected[s.file_id]
    }
    assert mismatches == {}
    assert projected == listed
