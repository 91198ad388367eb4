"""Range filters of the file list (taken_at, duration): validated before any query (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from mediaplane.domain import DomainError

T = TypeVar("T", float, datetime)


class InvalidRange(DomainError):
    code = "invalid_range"


@dataclass(frozen=True)
class Range(Generic[T]):
    """Inclusive bounds; either may be open (None)."""

    low: T | None = None
    high: T | None = None


def parse_time(name: str, text: str | None) -> datetime | None:
    """An RFC 3339 time (`2024-07-14T10:00:00Z`, lower case allowed) with its zone.

    Read here, not by the framework: its lenient conversion would take a bare
    number as a Unix timestamp.
    """
    if text is None:
        return None
    try:
        at = datetime.fromisoformat(text.strip().upper())
    except ValueError:
        raise InvalidRange(f"{name}: {text[:40]!r} is not an RFC 3339 time") from None
    if at.tzinfo is None:
        raise InvalidRange(f"{name} needs a time zone (e.g. 2024-07-14T00:00:00Z)")
    return at


def checked_range(name: str, low: T | None, high: T | None) -> Range[T]:
    """The range of `name`; refused when it is empty (low after high)."""
    if low is not None and high is not None and low > high:
        raise InvalidRange(f"{name}: the lower bound {low} is after the upper bound {high}")
    return Range(low, high)
