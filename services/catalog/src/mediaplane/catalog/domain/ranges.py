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


def checked_range(name: str, low: T | None, high: T | None) -> Range[T]:
    """The range of `name`; refused when it is empty (low after high) or a time is naive."""
    for bound in (low, high):
        if isinstance(bound, datetime) and bound.tzinfo is None:
            raise InvalidRange(f"{name} bounds need a time zone (e.g. 2024-07-14T00:00:00Z)")
    if low is not None and high is not None and low > high:
        raise InvalidRange(f"{name}: the lower bound {low} is after the upper bound {high}")
    return Range(low, high)
