"""Which beacon batches are accepted: pure rules over the batch, the file and the clock."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from mediaplane.analytics.domain.errors import (
    BeaconFlood,
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


@dataclass(frozen=True, kw_only=True)
class BeaconBudget:
    """Beacons per viewer: a token bucket (`burst` at once, refilled at `per_second`).

    A player sends a heartbeat every few seconds and a handful of other beacons;
    even several tabs stay far below the default. Counted in beacons, not requests,
    so big batches cannot get around it.
    """

    per_second: float = 5.0
    burst: int = 300


class BeaconBudgets:
    """Each viewer's bucket (least recently seen forgotten first; times in seconds)."""

    def __init__(self, budget: BeaconBudget, *, max_viewers: int = 100_000) -> None:
        self._budget = budget
        self._max_viewers = max_viewers
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, viewer: str, count: int, now: float) -> None:
        """Spend `count` of `viewer`'s beacons or raise BeaconFlood (nothing spent)."""
        budget = self._budget
        tokens, last = self._buckets.pop(viewer, (float(budget.burst), now))
        tokens = min(float(budget.burst), tokens + max(0.0, now - last) * budget.per_second)
        self._buckets[viewer] = (tokens, now)
        if tokens < count:
            wait = max(1, math.ceil((count - tokens) / budget.per_second))
            raise BeaconFlood(
                f"at most {budget.per_second:g} beacons/s per viewer (burst {budget.burst})",
                retry_after=wait,
            )
        self._buckets[viewer] = (tokens - count, now)
        if len(self._buckets) > self._max_viewers:
            self._buckets.popitem(last=False)
