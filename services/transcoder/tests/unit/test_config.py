"""Settings from the environment."""

from __future__ import annotations

import pytest

from mediaplane.transcoder.config import DEFAULT_BACKOFF, TranscoderSettings
from mediaplane.transcoder.domain.ladder import DEFAULT_LADDER, RungSpec
from mediaplane.transcoder.domain.retirement import Retirement

REQUIRED = {
    "MEDIAPLANE_TRANSCODER_DATABASE_URL": "postgresql://db/transcoder",
    "MEDIAPLANE_S3_ENDPOINT": "http://127.0.0.1:28333",
    "MEDIAPLANE_TRANSCODER_S3_ACCESS_KEY": "key",
    "MEDIAPLANE_TRANSCODER_S3_SECRET_KEY": "secret",
    "MEDIAPLANE_S3_REGION": "us-east-1",
}


def required_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    required_env(monkeypatch)
    settings = TranscoderSettings.from_env()
    assert settings.database_url == "postgresql://db/transcoder"
    assert (settings.bucket, settings.ops_port) == ("renditions", 9121)
    assert settings.encoding.ladder == DEFAULT_LADDER
    assert (settings.encoding.segment_seconds, settings.encoding.preset) == (4.0, "veryfast")
    assert (settings.chunking.chunk_segments, settings.chunking.preroll) == (8, 1.0)
    assert (settings.ack_wait, settings.lease_seconds, settings.backoff) == (
        60.0,
        60.0,
        DEFAULT_BACKOFF,
    )
    assert (settings.owner_limit.max_running, settings.owner_limit.retry_after) == (2, 30.0)
    tools = settings.tools
    assert (tools.memory_mb, tools.cpu_base, tools.cpu_per_second) == (4096, 60.0, 10.0)
    assert (tools.max_job_seconds, tools.probe_cpu, tools.probe_timeout) == (86400.0, 30.0, 120.0)


def test_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    required_env(monkeypatch)
    monkeypatch.setenv("MEDIAPLANE_RENDITIONS_BUCKET", "hls")
    monkeypatch.setenv("MEDIAPLANE_TRANSCODER_LADDER", "720:3000:128,360:700:64")
    monkeypatch.setenv("MEDIAPLANE_TRANSCODER_SEGMENT_SECONDS", "6")
    monkeypatch.setenv("MEDIAPLANE_TRANSCODER_PRESET", "fast")
    monkeypatch.setenv("MEDIAPLANE_TRANSCODER_ACK_WAIT", "2")
    monkeypatch.setenv("MEDIAPLANE_TRANSCODER_BACKOFF", "1,2")
    monkeypatch.setenv("MEDIAPLANE_TRANSCODER_OPS_PORT", "9200")
    monkeypatch.setenv("MEDIAPLANE_TRANSCODER_MAX_CONCURRENT_PER_OWNER", "1")
    monkeypatch.setenv("MEDIAPLANE_TRANSCODER_OWNER_RETRY_AFTER", "5")
    monkeypatch.setenv("MEDIAPLANE_TRANSCODER_MEMORY_LIMIT_MB", "2048")
    monkeypatch.setenv("MEDIAPLANE_TRANSCODER_CPU_PER_SECOND", "4")
    monkeypatch.setenv("MEDIAPLANE_TRANSCODER_MAX_JOB_SECONDS", "3600")
    settings = TranscoderSettings.from_env()
    assert (settings.owner_limit.max_running, settings.owner_limit.retry_after) == (1, 5.0)
    assert (settings.tools.memory_bytes, settings.tools.cpu_per_second) == (2048 * 2**20, 4.0)
    assert settings.tools.max_job_seconds == 3600.0
    assert settings.bucket == "hls"
    assert settings.encoding.ladder == (
        RungSpec(height=720, video_kbps=3000, audio_kbps=128),
        RungSpec(height=360, video_kbps=700, audio_kbps=64),
    )
    assert (settings.encoding.segment_seconds, settings.encoding.preset) == (6.0, "fast")
    assert (settings.lease_seconds, settings.backoff, settings.ops_port) == (2.0, (1.0, 2.0), 9200)


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    required_env(monkeypatch)
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
    required_env(monkeypatch)
    monkeypatch.setenv("MEDIAPLANE_TRANSCODER_RETIRE_GRACE", value)
    with pytest.raises(ValueError, match=message):
        TranscoderSettings.from_env()


def test_a_bad_sweep_interval_in_the_environment_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    required_env(monkeypatch)
    monkeypatch.setenv("MEDIAPLANE_TRANSCODER_RETIRE_SWEEP_INTERVAL", "0")
    with pytest.raises(ValueError, match="RETIRE_SWEEP_INTERVAL must be a positive number"):
        TranscoderSettings.from_env()


@pytest.mark.parametrize(("segment", "preroll"), [("4", "4"), ("2", "3.5"), ("4", "-1")])
def test_a_chunk_preroll_not_shorter_than_a_segment_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch, segment: str, preroll: str
) -> None:
    required_env(monkeypatch)
    monkeypatch.setenv("MEDIAPLANE_TRANSCODER_SEGMENT_SECONDS", segment)
    monkeypatch.setenv("MEDIAPLANE_TRANSCODER_CHUNK_PREROLL", preroll)
    with pytest.raises(ValueError, match="preroll must"):
        TranscoderSettings.from_env()
