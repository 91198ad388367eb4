"""When a running encode reports how far it is (pure): the `transcode.progress` throttle.

ffmpeg reports its position several times a second. Each report that passes
the throttle becomes an event in the job's stream and in every reader's
ledger, so the throttle bounds their number per attempt: a report must be at
least `step` percent past the last one AND at least `min_interval` seconds
after it (the first counts from the start of the encode). 100 % is never
reported: `transcode.completed` says that. An attempt therefore emits at most
`100 / step` progress events, however long the source.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class ProgressThrottle:
    step: float = 5.0  # percent
    min_interval: float = 3.0  # seconds

    def __post_init__(self) -> None:
        if not 0 < self.step <= 100:
            raise ValueError("the progress step must be within (0, 100] percent")
        if self.min_interval < 0:
            raise ValueError("the progress interval must not be negative")

    def max_reports(self) -> int:
        """The most reports one attempt can make."""
        return int(100 // self.step)


@dataclass(frozen=True, kw_only=True)
class Reported:
    """The last report (or the start of the encode: 0 % at its start time)."""

    percent: float
    at: float  # monotonic seconds


def percent_done(processed: float, duration: float) -> float:
    """Encoded seconds over the source's, as a percentage in [0, 100], one decimal."""
    if duration <= 0:
        return 0.0
    return round(min(max(processed / duration, 0.0), 1.0) * 100, 1)


def should_report(throttle: ProgressThrottle, last: Reported, percent: float, now: float) -> bool:
    if percent >= 100:
        return False
    return percent - last.percent >= throttle.step and now - last.at >= throttle.min_interval
