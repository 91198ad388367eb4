"""How long a superseded generation stays (pure): its deadline and the settings' checks
(the environment variables that set them: test_config.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mediaplane.transcoder.domain.retirement import MAX_GRACE, Retirement


def test_a_generation_may_go_the_grace_after_it_was_retired() -> None:
    retired_at = datetime(2026, 12, 6, 22, 0, tzinfo=UTC)
    assert Retirement(grace=90).delete_after(retired_at) == datetime(
        2026, 12, 6, 22, 1, 30, tzinfo=UTC
    )
    assert Retirement(grace=0.5).delete_after(retired_at) == retired_at + timedelta(
        milliseconds=500
    )


def test_the_default_grace_outlasts_every_url_the_catalog_hands_out() -> None:
    # The catalog's defaults: playback token and segment URLs 30 min, MP4 fallback 1 h.
    default = Retirement()
    assert default.grace >= 2 * max(1800, 1800, 3600)
    assert default.sweep_interval == 60.0


@pytest.mark.parametrize("grace", [0.0, -1.0, float("nan"), float("inf"), MAX_GRACE + 1])
def test_a_grace_that_is_not_a_positive_bounded_number_is_refused(grace: float) -> None:
    with pytest.raises(ValueError, match="MEDIAPLANE_TRANSCODER_RETIRE_GRACE"):
        Retirement(grace=grace)


@pytest.mark.parametrize("interval", [0.0, -5.0, float("nan"), float("inf")])
def test_a_sweep_interval_that_is_not_positive_is_refused(interval: float) -> None:
    with pytest.raises(ValueError, match="MEDIAPLANE_TRANSCODER_RETIRE_SWEEP_INTERVAL"):
        Retirement(sweep_interval=interval)
