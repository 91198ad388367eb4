"""How the catalog API answers each domain error code (RFC 9457 problem+json via servicekit)."""

from __future__ import annotations

from mediaplane.servicekit.errors import Problem

PROBLEMS = {
    "invalid_cursor": Problem(400, "Invalid cursor"),
    "invalid_range": Problem(422, "Invalid range"),
}
