"""How the analytics API answers each domain error code (RFC 9457 problem+json)."""

from __future__ import annotations

from mediaplane.servicekit.errors import Problem, ProblemError

PROBLEMS = {
    "unknown_file": Problem(404, "No such file"),
    "not_playable": Problem(409, "The file has nothing to play"),
    "position_beyond_duration": Problem(422, "Position beyond the file's duration"),
    "future_timestamp": Problem(422, "Beacon timestamp in the future"),
    "stale_timestamp": Problem(422, "Beacon timestamp too old"),
    "beacon_flood": Problem(429, "Too many beacons"),
}


class Flooded(ProblemError):
    """`beacon_flood` with the seconds to wait (a domain error carries no Retry-After)."""

    code = "beacon_flood"
    status = 429
    title = "Too many beacons"
