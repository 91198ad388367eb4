"""The file-status rules (pure), and the SQL generated from them."""

from __future__ import annotations

import random
import re
import uuid
from pathlib import Path

from mediaplane.catalog.adapters import projections
from mediaplane.catalog.adapters.projections import FILES, PROJECTIONS
from mediaplane.catalog.domain.file_status import FileStatus, file_status
from mediaplane.catalog.testing import FileStory


def statuses(story: FileStory) -> tuple[str | None, ...] | None:
    found = file_status(story.events)
    if found is None:
        return None
    return (found.status, found.transcode_status, found.thumbnail_status)


def transcode(story: FileStory) -> tuple[str | None, str | None]:
    found = file_status(story.events)
    assert found is not None
    return (found.transcode_status, found.transcode_error)


def thumbnail(story: FileStory) -> tuple[str | None, str | None]:
    found = file_status(story.events)
    assert found is not None
    return (found.thumbnail_status, found.thumbnail_error)


def test_the_lifecycle_advances_with_each_fact() -> None:
    story = FileStory(owner="a", kind="video").opened()
    assert statuses(story) == ("uploading", None, None)
    story.session_completed()
    assert statuses(story) == ("verifying", None, None)
    story.file_uploaded()
    assert statuses(story) == ("verifying", None, None)
    story.verified()
    assert statuses(story) == ("ready", "pending", "pending")
    story.transcoded().thumbnailed()
    assert statuses(story) == ("ready", "ready", "ready")
    story.deleted()
    assert statuses(story) == ("deleted", "ready", "ready")


def test_a_rejection_or_deletion_wins_whenever_it_arrives() -> None:
    rejected = FileStory(owner="a").opened().rejected()
    rejected.uploaded().verified()
    assert statuses(rejected) == ("rejected", "pending", "pending")

    both = FileStory(owner="a").opened().uploaded().rejected("empty").deleted()
    assert file_status(both.events) == FileStatus(
        status="deleted",
        rejection_code="empty",
        transcode_status=None,
        transcode_error=None,
        transcode_rerun_error=None,
        thumbnail_status=None,
        thumbnail_error=None,
    )


def test_videos_and_audio_are_transcoded_and_only_some_kinds_thumbnailed() -> None:
    kinds = {
        kind: statuses(FileStory(owner="a", kind=kind).opened().uploaded().verified())
        for kind in ("video", "image", "pdf", "audio", "other")
    }

    assert kinds == {
        "video": ("ready", "pending", "pending"),
        "image": ("ready", None, "pending"),
        "pdf": ("ready", None, "pending"),
        "audio": ("ready", "pending", None),
        "other": ("ready", None, None),
    }


def test_the_latest_transcode_attempt_decides_until_one_completes() -> None:
    story = FileStory(owner="a").opened().uploaded().verified()
    first, second = uuid.uuid4(), uuid.uuid4()

    assert transcode(story.transcode_started(first)) == ("running", None)
    assert transcode(story.transcode_failure(first, "timeout")) == ("failed", "timeout")
    assert transcode(story.transcode_started(second)) == ("running", None)
    assert transcode(story.transcode_failure(second, "corrupt_input")) == (
        "failed",
        "corrupt_input",
    )
    assert transcode(story.transcode_completed(first)) == ("ready", None)


def test_a_failed_rerun_keeps_the_file_ready_and_shows_its_code_until_one_succeeds() -> None:
    story = FileStory(owner="a").opened().uploaded().verified()
    first, rerun, again = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    def rerun_status() -> tuple[str | None, str | None, str | None]:
        found = file_status(story.events)
        assert found is not None
        return (found.transcode_status, found.transcode_error, found.transcode_rerun_error)

    story.transcode_started(first).transcode_completed(first)
    assert rerun_status() == ("ready", None, None)
    story.transcode_started(rerun)
    assert rerun_status() == ("ready", None, None)
    story.transcode_failure(rerun, "encoder_crashed")
    assert rerun_status() == ("ready", None, "encoder_crashed")
    story.transcode_started(again)
    assert rerun_status() == ("ready", None, None)
    story.transcode_completed(again)
    assert rerun_status() == ("ready", None, None)


def test_a_first_failure_is_no_rerun_failure() -> None:
    story = FileStory(owner="a").opened().uploaded().verified()
    job = uuid.uuid4()
    story.transcode_started(job).transcode_failure(job, "timeout")

    found = file_status(story.events)
    assert found is not None
    assert (found.transcode_status, found.transcode_error, found.transcode_rerun_error) == (
        "failed",
        "timeout",
        None,
    )


def test_a_thumbnail_failure_shows_its_code_until_thumbnails_exist() -> None:
    story = FileStory(owner="a", kind="image").opened().uploaded().verified()

    assert thumbnail(story.thumbnail_failed("too_large")) == ("failed", "too_large")
    assert thumbnail(story.thumbnailed()) == ("ready", None)


def test_a_file_is_listed_once_uploaded_or_while_its_session_may_complete() -> None:
    assert statuses(FileStory(owner="a").opened().aborted()) is None
    assert statuses(FileStory(owner="a").opened().expired()) is None
    assert statuses(FileStory(owner="a").verified()) is None
    late = FileStory(owner="a").opened().expired().file_uploaded(legacy=True)
    assert statuses(late) == ("verifying", None, None)


def test_arrival_order_does_not_matter() -> None:
    story = FileStory(owner="a").opened().uploaded().verified().transcode_failed()
    story.thumbnail_failed().transcoded().retagged(["x"], []).deleted()
    expected = file_status(story.events)

    rng = random.Random(3)
    for _ in range(20):
        shuffled = list(story.events)
        rng.shuffle(shuffled)
        assert file_status(shuffled) == expected


def test_no_event_type_is_typed_by_hand_in_the_projection_sql() -> None:
    source = Path(projections.__file__).read_text()
    assert re.findall(r"['\"][a-z_.]+\.v\d+['\"]", source) == []


def test_the_generated_sql_reads_only_types_that_refresh_its_projection() -> None:
    for projection in PROJECTIONS.values():
        named = set(re.findall(r"'([a-z_.]+\.v\d+)'", projection.select))
        assert named, projection.name
        assert named <= projection.types, projection.name
    assert "'file.deleted.v1'" in FILES.select
