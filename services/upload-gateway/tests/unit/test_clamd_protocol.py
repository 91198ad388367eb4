"""clamd's answers, its address and the verifier's retry delays (pure, no I/O)."""

from __future__ import annotations

import dataclasses

import pytest

from mediaplane.upload_gateway.adapters.clamd import (
    ScanResult,
    ScanUnavailable,
    parse_address,
    parse_reply,
)
from mediaplane.upload_gateway.app.bootstrap import clamd_scanner
from mediaplane.upload_gateway.config import GatewaySettings
from mediaplane.upload_gateway.worker.verifier import SCAN_RETRY_MAX, scan_retry_delay


@pytest.mark.parametrize(
    ("reply", "result"),
    [
        (b"stream: OK\0", ScanResult(outcome="clean")),
        (
            b"stream: Eicar-Test-Signature.UNOFFICIAL FOUND\0",
            ScanResult(outcome="found", detail="Eicar-Test-Signature.UNOFFICIAL"),
        ),
        (
            b"INSTREAM size limit exceeded. ERROR\0",
            ScanResult(outcome="limit", detail="the stream is longer than clamd accepts"),
        ),
        (
            b"stream: Heuristics.Limits.Exceeded.MaxFileSize FOUND\0",
            ScanResult(
                outcome="limit",
                detail="clamd could not scan it whole (Heuristics.Limits.Exceeded.MaxFileSize)",
            ),
        ),
    ],
)
def test_clamds_answers_are_verdicts(reply: bytes, result: ScanResult) -> None:
    assert parse_reply(reply) == result


@pytest.mark.parametrize(
    "reply", [b"", b"stream: Can't allocate memory ERROR\0", b"UNKNOWN COMMAND\0"]
)
def test_anything_else_is_no_verdict_at_all(reply: bytes) -> None:
    with pytest.raises(ScanUnavailable):
        parse_reply(reply)


def test_the_address_is_tcp_host_and_port() -> None:
    assert parse_address("tcp://clamav:3310") == ("clamav", 3310)
    assert parse_address("tcp://[::1]:3310") == ("::1", 3310)
    for wrong in ("clamav:3310", "unix:///run/clamd.ctl", "tcp://clamav", "tcp://:3310"):
        with pytest.raises(ValueError, match="MEDIAPLANE_CLAMD_URL"):
            parse_address(wrong)


def test_retries_while_clamd_is_down_back_off_to_a_ceiling() -> None:
    delays = [scan_retry_delay(n) for n in range(1, 12)]
    assert delays[:4] == [1.0, 2.0, 4.0, 8.0]
    assert delays == sorted(delays)
    assert delays[-1] == SCAN_RETRY_MAX
    assert scan_retry_delay(10_000) == SCAN_RETRY_MAX


def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "MEDIAPLANE_GATEWAY_DATABASE_URL": "postgresql://x@127.0.0.1:1/x",
        "MEDIAPLANE_JWT_SECRET": "test-secret-that-is-long-enough-for-hs256",
        "MEDIAPLANE_S3_ENDPOINT": "http://127.0.0.1:1",
        "MEDIAPLANE_GATEWAY_S3_ACCESS_KEY": "k",
        "MEDIAPLANE_GATEWAY_S3_SECRET_KEY": "s",
        "MEDIAPLANE_S3_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    for unset in ("CLAMD_URL", "CLAMD_STREAM_MAX", "MAX_OBJECT_SIZE"):
        monkeypatch.delenv(f"MEDIAPLANE_{unset}", raising=False)


def test_the_largest_upload_is_what_clamd_scans_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """A larger original could never be verified: by default its session does not open,
    and a configured size limit above the scanner's refuses to start."""
    _environment(monkeypatch)
    assert GatewaySettings.from_env().limits.max_object_size == 1000 * 1024 * 1024
    monkeypatch.setenv("MEDIAPLANE_CLAMD_STREAM_MAX", str(2 * 1024**3))
    assert GatewaySettings.from_env().limits.max_object_size == 2 * 1024**3
    monkeypatch.setenv("MEDIAPLANE_MAX_OBJECT_SIZE", str(512 * 1024**2))
    assert GatewaySettings.from_env().limits.max_object_size == 512 * 1024**2
    monkeypatch.setenv("MEDIAPLANE_MAX_OBJECT_SIZE", str(2 * 1024**3 + 1))
    with pytest.raises(ValueError, match="could never be scanned whole"):
        GatewaySettings.from_env()


def test_the_verifier_will_not_run_without_clamd(monkeypatch: pytest.MonkeyPatch) -> None:
    _environment(monkeypatch)
    settings = GatewaySettings.from_env()
    assert settings.clamd_url is None
    with pytest.raises(ValueError, match="no upload is verified without a malware scan"):
        clamd_scanner(settings)

    scanner = clamd_scanner(dataclasses.replace(settings, clamd_url="tcp://127.0.0.1:23310"))
    assert (scanner.url, scanner.timeout, scanner.stream_max) == (
        "tcp://127.0.0.1:23310",
        60.0,
        1000 * 1024 * 1024,
    )
