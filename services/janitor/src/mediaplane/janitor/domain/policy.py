"""When a sweep may act: deadlines against how far the janitor's projection has read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_RETRY_DELAY = timedelta(hours=1)


@dataclass(frozen=True, kw_only=True)
class ProjectionProgress:
    """How far the projection consumer has read the event stream.

    `started` is False before the consumer exists (nothing is projected yet).
    `behind_since` is the publish time of the oldest event that may not be
    projected yet; None when nothing is pending.
    """

    started: bool
    behind_since: datetime | None = None


def sweep_cutoff(now: datetime, progress: ProjectionProgress, grace: timedelta) -> datetime | None:
    """Deadlines before the returned time have passed for sure; None: do not act at all.

    The projection is complete only up to `behind_since`: a session looks open
    until its `completed` event is read, and an upload looks orphaned until
    its session's `opened` is. Acting on a lagging projection (a janitor
    restarted after a long outage) would destroy finished uploads, so the
    horizon is where the projection really is, not the wall clock.
    """
    if not progress.started:
        return None
    horizon = now if progress.behind_since is None else min(now, progress.behind_since)
    return horizon - grace


def retry_after(now: datetime, attempts: int, first_delay: timedelta) -> datetime:
    """When a row whose cleanup failed `attempts` times is tried again (doubling, capped)."""
    doublings = min(max(attempts - 1, 0), 16)  # bounded: the cap applies long before
    delay: timedelta = min(first_delay * 2**doublings, MAX_RETRY_DELAY)
    return now + delay
