"""Why a beacon batch is refused (codes only; api/problems.py maps them to HTTP)."""

from __future__ import annotations

from mediaplane.domain import DomainError


class UnknownFile(DomainError):
    """No such file for this viewer (unknown, deleted, or another owner's: never a 403)."""

    code = "unknown_file"


class NotPlayable(DomainError):
    """The file has no playable rendition (not a video, or not transcoded yet)."""

    code = "not_playable"


class PositionBeyondDuration(DomainError):
    code = "position_beyond_duration"


class FutureTimestamp(DomainError):
    code = "future_timestamp"


class StaleTimestamp(DomainError):
    code = "stale_timestamp"


class BeaconFlood(DomainError):
    """More beacons than playback can produce: the viewer's beacon budget is spent."""

    code = "beacon_flood"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
