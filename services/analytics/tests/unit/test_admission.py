"""Which beacon batches are admitted: given a file and a clock, when a batch comes, then."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mediaplane.analytics.api.problems import PROBLEMS
from mediaplane.analytics.domain import errors
from mediaplane.analytics.domain.admission import PlayableFile, admit_batch
from mediaplane.contracts import Beacon
from mediaplane.domain import DomainError

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
FILE = PlayableFile(owner="alice", duration=60.0)


def beat(position: float = 1.0, at: datetime = NOW) -> Beacon:
    return Beacon(kind="heartbeat", at=at, position=position)


def admit(
    *beacons: Beacon, file: PlayableFile | None = FILE, viewer: str = "alice", admin: bool = False
) -> PlayableFile:
    return admit_batch(beacons, file=file, viewer=viewer, viewer_is_admin=admin, now=NOW)


def test_the_owner_and_an_admin_may_send_beacons_of_a_playable_file() -> None:
    assert admit(beat(60.5)) == FILE  # a little past the end: the player's rounding
    assert admit(beat(), viewer="root", admin=True) == FILE
    assert admit(beat(at=NOW + timedelta(seconds=29))) == FILE


@pytest.mark.parametrize(
    ("beacon", "file", "viewer", "error"),
    [
        (beat(), None, "alice", errors.UnknownFile),
        (beat(), FILE, "bob", errors.UnknownFile),
        (beat(), PlayableFile(owner="alice", duration=60, deleted=True), "alice",
         errors.UnknownFile),
        (beat(), PlayableFile(owner="alice", duration=None), "alice", errors.NotPlayable),
        (beat(61.5), FILE, "alice", errors.PositionBeyondDuration),
        (beat(at=NOW + timedelta(seconds=31)), FILE, "alice", errors.FutureTimestamp),
        (beat(at=NOW - timedelta(hours=25)), FILE, "alice", errors.StaleTimestamp),
    ],
)  # fmt: skip
def test_refusals(
    beacon: Beacon, file: PlayableFile | None, viewer: str, error: type[DomainError]
) -> None:
    with pytest.raises(error):
        admit(beacon, file=file, viewer=viewer)


def test_every_domain_code_has_a_problem() -> None:
    codes = {
        cls.code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, DomainError) and cls is not DomainError
    }
    assert codes <= set(PROBLEMS)
