"""Which beacon batches are accepted: pure rules over the batch, the file and the clock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from mediaplane.analytics.domain.errors import (
    FutureTimestamp,
    NotPlayable,
    PositionBeyondDuration,
    StaleTimestamp,
    UnknownFile,
)
from mediaplane.contracts import Beacon

# Clients' clocks drift; more than this ahead is a lie or a broken clock.
CLOCK_SKEW = timedelta(seconds=30)
# A beacon older than this is refused: a player flushes within seconds (and at page
# hide), and the day rollups of older days are settled.
MAX_AGE = timedelta(hours=24)
# Players report the position a little past the last frame (rounding, the end event).
POSITION_SLACK = 1.0


@dataclass(frozen=True, kw_only=True)
class PlayableFile:
    """What analytics knows of a file from the platform's events."""

    owner: str
    duration: float | None  # from transcode.completed; None: nothing to play yet
    deleted: bool = False


def admit_batch(
    beacons: Sequence[Beacon],
    *,
    file: PlayableFile | None,
    viewer: str,
    viewer_is_admin: bool,
    now: datetime,
) -> PlayableFile:
    """The file, when the whole batch is accepted; else raise the first reason to refuse."""
    if file is None or file.deleted or not (viewer_is_admin or file.owner == viewer):
        raise UnknownFile("no such file")
    if file.duration is None:
        raise NotPlayable("the file has no HLS rendition to play")
    limit = file.duration + POSITION_SLACK
    for n, beacon in enumerate(beacons):
        if beacon.at.tzinfo is None:
            raise FutureTimestamp(f"beacons[{n}].at has no time zone")
        if beacon.at > now + CLOCK_SKEW:
            raise FutureTimestamp(f"beacons[{n}].at is in the future ({beacon.at.isoformat()})")
        if beacon.at < now - MAX_AGE:
            raise StaleTimestamp(f"beacons[{n}].at is older than {MAX_AGE}")
        if beacon.position > limit:
            raise PositionBeyondDuration(
                f"beacons[{n}].position {beacon.position:g}s is past the file's "
                f"duration {file.duration:g}s"
            )
    return file
