"""Range filters of the file list: parsing and validation (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from mediaplane.catalog.domain.ranges import InvalidRange, Range, checked_range, parse_time


def test_rfc3339_times_with_a_zone() -> None:
    assert parse_time("t", "2024-07-14T10:00:00Z") == datetime(2024, 7, 14, 10, tzinfo=UTC)
    assert parse_time("t", "2024-07-14t12:00:00+02:00") == datetime(
        2024, 7, 14, 12, tzinfo=timezone(timedelta(hours=2))
    )
    assert parse_time("t", None) is None


@pytest.mark.parametrize("text", ["2024-07-14T10:00:00", "2024-07-14", "1721000000", "soon", ""])
def test_naive_or_malformed_times_are_refused(text: str) -> None:
    with pytest.raises(InvalidRange):
        parse_time("taken_after", text)


def test_ranges() -> None:
    assert checked_range("duration", 1.0, 1.0) == Range(1.0, 1.0)
    assert checked_range("duration", None, 5.0) == Range(None, 5.0)
    with pytest.raises(InvalidRange, match="after the upper bound"):
        checked_range("duration", 5.0, 1.0)
