"""One view's numbers, folded from its beacons in arrival order (pure; stored per view).

Time between two beacons counts for the state the first one left the player in:
playing (watch time, and time in the current rendition) or rebuffering. A gap
longer than `MAX_GAP` counts as nothing: the player was paused or the tab hidden,
since a playing player sends a heartbeat every few seconds. Folding the same
beacons in the same order always gives the same state, so replaying the beacon
stream rebuilds the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from itertools import chain
from typing import Literal

from mediaplane.contracts import Beacon

MAX_GAP = 30.0  # seconds
# Retention curve points: 0 %, 5 %, ..., 100 % of the file's duration.
RETENTION_POINTS = 21

PlayerState = Literal["playing", "rebuffering", "ended"]


@dataclass(frozen=True, kw_only=True)
class ViewState:
    started_at: datetime
    startup_ms: int | None = None
    last_at: datetime
    state: PlayerState = "playing"
    rendition: str | None = None
    playing_seconds: float = 0.0
    rebuffer_seconds: float = 0.0
    rebuffer_count: int = 0
    errors: int = 0
    max_position: float = 0.0
    rendition_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def day(self) -> date:
        """The day the view counts on (UTC, when it started)."""
        return self.started_at.date()

    @property
    def watch_seconds(self) -> float:
        """Time in the view: playing plus rebuffering (Mux's watch time)."""
        return self.playing_seconds + self.rebuffer_seconds


def fold(state: ViewState | None, beacons: Iterable[Beacon]) -> ViewState:
    """`state` (None: a new view) after `beacons`, in the order given.

    One pass over local variables and one ViewState at the end: the rollup folds
    every beacon of the platform, and a frozen copy per beacon was its largest cost.
    """
    pending = iter(beacons)
    if state is None:
        first = next(pending, None)
        if first is None:
            raise ValueError("a view needs at least one beacon")
        state = ViewState(started_at=first.at, last_at=first.at, rendition=first.rendition)
        pending = chain((first,), pending)
    current: PlayerState = state.state
    last_at, rendition = state.last_at, state.rendition
    playing, rebuffer = state.playing_seconds, state.rebuffer_seconds
    rebuffers, errors, startup = state.rebuffer_count, state.errors, state.startup_ms
    max_position = state.max_position
    renditions = dict(state.rendition_seconds)  # a copy: states are never changed
    for beacon in pending:
        gap = (beacon.at - last_at).total_seconds()
        counted = gap if 0 < gap <= MAX_GAP else 0.0
        if current == "playing" and counted:
            playing += counted
            if rendition is not None:
                renditions[rendition] = renditions.get(rendition, 0.0) + counted
        elif current == "rebuffering":
            rebuffer += counted
        match beacon.kind:
            case "view_start":
                startup = beacon.startup_ms if beacon.startup_ms is not None else startup
                current = "playing"
            case "rebuffer_start":
                if current != "rebuffering":
                    rebuffers += 1
                current = "rebuffering"
            case "rebuffer_end" | "heartbeat" | "rendition_change":
                current = "playing" if current != "ended" else "ended"
            case "error":
                errors += 1
            case "view_end":
                current = "ended"
        if beacon.at > last_at:
            last_at = beacon.at
        rendition = beacon.rendition or rendition
        if beacon.position > max_position:
            max_position = beacon.position
    return replace(
        state,
        startup_ms=startup,
        last_at=last_at,
        state=current,
        rendition=rendition,
        playing_seconds=playing,
        rebuffer_seconds=rebuffer,
        rebuffer_count=rebuffers,
        errors=errors,
        max_position=max_position,
        rendition_seconds=renditions,
    )


@dataclass(frozen=True, kw_only=True)
class Totals:
    """Aggregates of a set of views (a file's day, an owner's day, the platform's day)."""

    views: int
    viewers: int
    watch_seconds: float
    rebuffer_seconds: float
    startup_ms_sum: int
    startup_count: int
    error_views: int
    rendition_seconds: dict[str, float]

    @property
    def average_view_seconds(self) -> float:
        return self.watch_seconds / self.views if self.views else 0.0

    @property
    def rebuffer_ratio(self) -> float:
        return self.rebuffer_seconds / self.watch_seconds if self.watch_seconds else 0.0

    @property
    def error_rate(self) -> float:
        return self.error_views / self.views if self.views else 0.0

    @property
    def average_startup_ms(self) -> float | None:
        return self.startup_ms_sum / self.startup_count if self.startup_count else None


def retention_curve(reached: Iterable[float], duration: float) -> list[tuple[float, float]]:
    """(fraction of the duration, percentage of views that reached it) at each point.

    A view reached a point when its furthest position is at or past it; every view
    reached 0 %.
    """
    positions = list(reached)
    points = []
    for n in range(RETENTION_POINTS):
        fraction = n / (RETENTION_POINTS - 1)
        at = fraction * duration
        still = sum(1 for p in positions if p >= at - 1e-9)
        points.append((fraction, 100.0 * still / len(positions) if positions else 0.0))
    return points


def combine(parts: Iterable[Totals], *, viewers: int) -> Totals:
    """The totals of several days; `viewers` is counted apart (a viewer of two days is
    one viewer, so daily counts do not add up)."""
    parts = list(parts)
    renditions: dict[str, float] = {}
    for part in parts:
        for name, seconds in part.rendition_seconds.items():
            renditions[name] = renditions.get(name, 0.0) + seconds
    return Totals(
        views=sum(p.views for p in parts),
        viewers=viewers,
        watch_seconds=sum(p.watch_seconds for p in parts),
        rebuffer_seconds=sum(p.rebuffer_seconds for p in parts),
        startup_ms_sum=sum(p.startup_ms_sum for p in parts),
        startup_count=sum(p.startup_count for p in parts),
        error_views=sum(p.error_views for p in parts),
        rendition_seconds=renditions,
    )
