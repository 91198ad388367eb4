"""At most N transcodes of one owner at once (pure)."""

from __future__ import annotations

import pytest

from mediaplane.transcoder.domain.owners import OwnerLimit


def test_an_owner_may_start_jobs_up_to_the_limit() -> None:
    limit = OwnerLimit(max_running=2)
    assert [limit.admits(running) for running in (0, 1, 2, 3)] == [True, True, False, False]


def test_the_reason_names_the_owner_and_the_limit() -> None:
    assert OwnerLimit(max_running=1).reason("alice", 1) == (
        "owner alice has 1 transcodes running (at most 1)"
    )


@pytest.mark.parametrize(("max_running", "retry_after"), [(0, 30.0), (2, 0.0)])
def test_a_limit_that_admits_nothing_or_retries_at_once_is_refused(
    max_running: int, retry_after: float
) -> None:
    with pytest.raises(ValueError, match="must be"):
        OwnerLimit(max_running=max_running, retry_after=retry_after)
