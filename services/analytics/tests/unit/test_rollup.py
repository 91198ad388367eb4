"""The view fold and the rollup measures, given beacons, then the numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mediaplane.analytics.domain.rollup import MAX_GAP, Totals, combine, fold, retention_curve
from mediaplane.contracts import Beacon

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def at(seconds: float, kind: str, position: float, **extra: Any) -> Beacon:
    return Beacon(kind=kind, at=T0 + timedelta(seconds=seconds), position=position, **extra)  # type: ignore[arg-type]


def test_playing_rebuffering_and_renditions_are_timed_between_beacons() -> None:
    view = fold(
        None,
        [
            at(0, "view_start", 0, rendition="360p", startup_ms=800),
            at(5, "heartbeat", 5, rendition="360p"),
            at(10, "rendition_change", 10, rendition="720p"),
            at(20, "rebuffer_start", 20),
            at(22, "rebuffer_end", 20),
            at(30, "heartbeat", 28, rendition="720p"),
            at(40, "view_end", 38),
        ],
    )
    assert view.playing_seconds == 38
    assert view.rebuffer_seconds == 2
    assert view.watch_seconds == 40
    assert view.rebuffer_count == 1
    assert view.startup_ms == 800
    assert view.max_position == 38
    assert view.rendition_seconds == {"360p": 10, "720p": 28}
    assert view.state == "ended"
    assert view.day == T0.date()


def test_folding_in_two_batches_equals_folding_at_once() -> None:
    beacons = [
        at(0, "view_start", 0, rendition="360p"),
        at(4, "error", 4, error="fragLoadError"),
        at(8, "heartbeat", 8),
        at(12, "view_end", 12),
    ]
    assert fold(fold(None, beacons[:2]), beacons[2:]) == fold(None, beacons)
    assert fold(None, beacons).errors == 1


def test_a_long_gap_counts_as_paused_and_a_repeated_rebuffer_start_once() -> None:
    view = fold(
        None,
        [
            at(0, "view_start", 0, rendition="360p"),
            at(MAX_GAP + 10, "heartbeat", 5),  # paused in between
            at(MAX_GAP + 12, "rebuffer_start", 7),
            at(MAX_GAP + 13, "rebuffer_start", 7),
            at(MAX_GAP + 15, "rebuffer_end", 7),
        ],
    )
    assert view.playing_seconds == 2
    assert view.rebuffer_seconds == 3
    assert view.rebuffer_count == 1


def test_a_beacon_out_of_order_counts_no_negative_time() -> None:
    view = fold(None, [at(10, "view_start", 0), at(5, "heartbeat", 1), at(12, "heartbeat", 3)])
    assert view.playing_seconds == 2
    assert view.last_at == T0 + timedelta(seconds=12)


def test_no_beacons_is_no_view() -> None:
    with pytest.raises(ValueError, match="at least one beacon"):
        fold(None, [])


def test_totals_and_their_ratios() -> None:
    a = fold(
        None, [at(0, "view_start", 0, rendition="360p", startup_ms=1000), at(10, "view_end", 10)]
    )
    assert a.watch_seconds == 10
    day = Totals(
        views=4, viewers=3, watch_seconds=100, rebuffer_seconds=5, startup_ms_sum=3000,
        startup_count=3, error_views=1, rendition_seconds={"360p": 60, "720p": 40},
    )  # fmt: skip
    both = combine([day, day], viewers=3)
    assert (both.views, both.viewers, both.watch_seconds) == (8, 3, 200)
    assert both.rendition_seconds == {"360p": 120, "720p": 80}
    assert both.average_view_seconds == 25
    assert both.rebuffer_ratio == 0.05
    assert both.error_rate == 0.25
    assert both.average_startup_ms == 1000
    empty = combine([], viewers=0)
    assert (empty.average_view_seconds, empty.rebuffer_ratio, empty.error_rate) == (0, 0, 0)
    assert empty.average_startup_ms is None


def test_retention_is_the_share_of_views_reaching_each_point() -> None:
    curve = dict(retention_curve([10, 20, 30, 40], duration=40))
    assert curve[0.0] == 100
    assert curve[0.25] == 100  # 10 s
    assert curve[0.5] == 75  # 20 s
    assert curve[0.75] == 50
    assert curve[1.0] == 25
    assert len(curve) == 21
    assert all(p == 0 for _, p in retention_curve([], duration=10))
