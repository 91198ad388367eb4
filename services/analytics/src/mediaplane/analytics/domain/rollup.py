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
    """`state` (None: a new view) after `beacons`, in the order given."""
    for beacon in beacons:
        state = _step(state, beacon)
    if state is None:
        raise ValueError("a view needs at least one beacon")
    return state


def _step(state: ViewState | None, beacon: Beacon) -> ViewState:
    if state is None:
        state = ViewState(started_at=beacon.at, last_at=beacon.at, rendition=beacon.rendition)
    gap = (beacon.at - state.last_at).total_seconds()
    counted = gap if 0 < gap <= MAX_GAP else 0.0
    playing, rebuffer = state.playing_seconds, state.rebuffer_seconds
    renditions = state.rendition_seconds
    if state.state == "playing" and counted:
        playing += counted
        if state.rendition is not None:
            renditions = {
                **renditions,
                state.rendition: renditions.get(state.rendition, 0.0) + counted,
            }
    elif state.state == "rebuffering":
        rebuffer += counted
    next_state: PlayerState = state.state
    rebuffers, errors, startup = state.rebuffer_count, state.errors, state.startup_ms
    match beacon.kind:
        case "view_start":
            startup = beacon.startup_ms if beacon.startup_ms is not None else startup
            next_state = "playing"
        case "rebuffer_start":
            if state.state != "rebuffering":
                rebuffers += 1
            next_state = "rebuffering"
        case "rebuffer_end" | "heartbeat" | "rendition_change":
            next_state = "playing" if state.state != "ended" else "ended"
        case "error":
            errors += 1
        case "view_end":
            next_state = "ended"
    return replace(
        state,
        startup_ms=startup,
        last_at=max(state.last_at, beacon.at),
        state=next_state,
        rendition=beacon.rendition or state.rendition,
        playing_seconds=playing,
        rebuffer_seconds=rebuffer,
        rebuffer_count=rebuffers,
        errors=errors,
        max_position=max(state.max_position, beacon.position),
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
