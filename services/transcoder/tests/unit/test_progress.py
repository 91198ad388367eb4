"""The progress throttle and ffmpeg's `-progress` stream (pure)."""

from __future__ import annotations

import pytest

from mediaplane.transcoder.adapters.ffmpeg import ProgressReader, parse_out_time_us
from mediaplane.transcoder.domain.progress import (
    ProgressThrottle,
    Reported,
    percent_done,
    should_report,
)

THROTTLE = ProgressThrottle(step=5.0, min_interval=3.0)
START = Reported(percent=0.0, at=100.0)


def test_percent_is_clamped_and_rounded() -> None:
    assert percent_done(5.0, 20.0) == 25.0
    assert percent_done(1.0, 3.0) == 33.3
    assert percent_done(-1.0, 10.0) == 0.0
    assert percent_done(30.0, 20.0) == 100.0
    assert percent_done(1.0, 0.0) == 0.0


def test_a_report_needs_both_the_step_and_the_interval() -> None:
    assert should_report(THROTTLE, START, 5.0, 103.0)
    assert not should_report(THROTTLE, START, 4.9, 200.0)  # too little progress
    assert not should_report(THROTTLE, START, 50.0, 102.9)  # too soon
    assert not should_report(THROTTLE, START, 100.0, 500.0)  # completion says 100 %


def test_a_long_fast_encode_reports_at_most_once_per_step() -> None:
    """Reports every 0.5 s over a long job: the count is bounded by the step, not the length."""
    throttle = ProgressThrottle(step=5.0, min_interval=0.0)
    last, reports = START, []
    for tick in range(10_001):
        percent = percent_done(tick, 10_000)
        if should_report(throttle, last, percent, 100.0 + tick / 2):
            last = Reported(percent=percent, at=100.0 + tick / 2)
            reports.append(percent)
    assert reports == [float(p) for p in range(5, 100, 5)]
    assert len(reports) <= throttle.max_reports() == 20


def test_a_slow_encode_is_limited_by_the_interval() -> None:
    """1 % per second with a 30 s interval: one report every 30 s, well over the step."""
    throttle = ProgressThrottle(step=5.0, min_interval=30.0)
    last, reports = START, []
    for second in range(101):
        now = 100.0 + second
        if should_report(throttle, last, float(second), now):
            last = Reported(percent=float(second), at=now)
            reports.append(second)
    assert reports == [30, 60, 90]


@pytest.mark.parametrize(("step", "interval"), [(0.0, 1.0), (101.0, 1.0), (5.0, -1.0)])
def test_a_throttle_out_of_range_is_refused(step: float, interval: float) -> None:
    with pytest.raises(ValueError, match="progress"):
        ProgressThrottle(step=step, min_interval=interval)


def test_the_reader_reports_each_block_across_chunk_boundaries() -> None:
    positions: list[float] = []
    reader = ProgressReader(positions.append)
    stream = (
        b"frame=0\nout_time_us=N/A\nprogress=continue\n"
        b"frame=10\nout_time_us=1000000\nprogress=continue\n"
        b"frame=20\nout_time_us=2500000\nprogress=end\n"
    )
    for i in range(0, len(stream), 7):  # pipes deliver arbitrary slices
        reader.feed(stream[i : i + 7])
    assert positions == [1.0, 2.5]


def test_out_time_values() -> None:
    assert parse_out_time_us("1500000") == 1.5
    assert parse_out_time_us("N/A") is None
    assert parse_out_time_us("-23220") is None
