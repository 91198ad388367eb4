"""How long a superseded generation of a file's renditions stays readable (pure).

A re-run's completion makes the catalog serve the new generation, but a viewer in the
middle of the old ladder still holds URLs into the old folder: playlists fetched with its
playback token (`MEDIAPLANE_CATALOG_PLAYBACK_TTL`, 30 min), the presigned segment URLs in
them (`MEDIAPLANE_CATALOG_HLS_TTL`, 30 min) and a presigned MP4 fallback or waveform URL
(`MEDIAPLANE_PRESIGN_TTL`, 1 h). The old folder is therefore retired, not deleted, and
deleted `grace` seconds later by the worker's sweep, every `sweep_interval` seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

# Twice the longest URL lifetime the catalog hands out by default (the MP4 fallback's and
# the waveform's hour; playlists and segments: 30 min), so a viewer who started the old
# ladder just before the switch, and the catalog's lag in seeing the new completion, fit.
DEFAULT_GRACE = 2 * 3600.0
DEFAULT_SWEEP_INTERVAL = 60.0
# A superseded ladder kept longer than this is a leak, not a grace; the bound also keeps
# `retired_at + grace` a representable timestamp.
MAX_GRACE = 366 * 86400.0


@dataclass(frozen=True, kw_only=True)
class Retirement:
    grace: float = DEFAULT_GRACE  # seconds an old generation stays after it is superseded
    sweep_interval: float = DEFAULT_SWEEP_INTERVAL  # seconds between the worker's sweeps

    def __post_init__(self) -> None:
        if not (math.isfinite(self.grace) and 0 < self.grace <= MAX_GRACE):
            raise ValueError(
                "MEDIAPLANE_TRANSCODER_RETIRE_GRACE must be a positive number of seconds, "
                f"at most {MAX_GRACE:.0f} (got {self.grace})"
            )
        if not (math.isfinite(self.sweep_interval) and self.sweep_interval > 0):
            raise ValueError(
                "MEDIAPLANE_TRANSCODER_RETIRE_SWEEP_INTERVAL must be a positive number of "
                f"seconds (got {self.sweep_interval})"
            )

    def delete_after(self, retired_at: datetime) -> datetime:
        """When a generation retired at `retired_at` may go."""
        return retired_at + timedelta(seconds=self.grace)
