"""How long a superseded generation stays (pure): its deadline, the settings' checks, and
the environment variables that set them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mediaplane.transcoder.config import TranscoderSettings
from mediaplane.transcoder.domain.retirement import MAX_GRACE, Retirement

REQUIRED = {
    "MEDIAPLANE_TRANSCODER_DATABASE_URL": "postgresql://db/transcoder",
    "MEDIAPLANE_S3_ENDPOINT": "http://127.0.0.1:28333",
    "MEDIAPLANE_S3_ACCESS_KEY": "key",
    "MEDIAPLANE_S3_SECRET_KEY": "secret",
    "MEDIAPLANE_S3_REGION": "us-east-1",
}


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


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    assert TranscoderSettings.from_env().retirement == Retirement()
    monkeypatch.setenv("MEDIAPLANE_TRANSCODER_RETIRE_GRACE", "600")
    monkeypatch.setenv("MEDIAPLANE_TRANSCODER_RETIRE_SWEEP_INTERVAL", "15")
    assert TranscoderSettings.from_env().retirement == Retirement(grace=600, sweep_interval=15)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "RETIRE_GRACE must be a positive number of seconds"),
        ("-60", "RETIRE_GRACE must be a positive number of seconds"),
        ("two hours", "RETIRE_GRACE must be a number"),
    ],
)
def test_a_bad_grace_in_the_environment_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    for name, required in REQUIRED.items():
        monkeypatch.setenv(name, required)
    monkeypatch.setenv("MEDIAPLANE_TRANSCODER_RETIRE_GRACE", value)
    with pytest.raises(ValueError, match=message):
        TranscoderSettings.from_env()


def test_a_bad_sweep_interval_in_the_environment_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, required in REQUIRED.items():
        monkeypatch.setenv(name, required)
    monkeypatch.setenv("MEDIAPLANE_TRANSCODER_RETIRE_SWEEP_INTERVAL", "0")
    with pytest.raises(ValueError, match="RETIRE_SWEEP_INTERVAL must be a positive number"):
        TranscoderSettings.from_env()
