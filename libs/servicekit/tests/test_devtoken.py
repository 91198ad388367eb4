"""Development tokens: accepted by the verifier like real ones, refused when they cannot be."""

from __future__ import annotations

import time

import pytest

from mediaplane.servicekit.__main__ import main
from mediaplane.servicekit.auth import AuthSettings, TokenVerifier, Unauthorized
from mediaplane.servicekit.devtoken import is_loopback, issue_dev_token, require_loopback

SECRET = "unit-test-secret-that-is-long-enough"


def test_a_dev_token_is_verified_like_a_real_one() -> None:
    settings = AuthSettings(hs256_secret=SECRET)
    verifier = TokenVerifier(settings)
    user = issue_dev_token(settings, "alice")
    admin = issue_dev_token(settings, "root", admin=True)
    assert verifier.verify(user.token).owner == "alice"
    assert not verifier.verify(user.token).admin
    assert verifier.verify(admin.token).admin
    assert user.expires_at - time.time() == pytest.approx(3600, abs=60)


def test_issuer_and_audience_are_signed_in_when_the_services_require_them() -> None:
    settings = AuthSettings(hs256_secret=SECRET, issuer="mediaplane-dev", audience="mediaplane")
    token = issue_dev_token(settings, "alice").token
    assert TokenVerifier(settings).verify(token).owner == "alice"
    other = AuthSettings(hs256_secret=SECRET, issuer="someone-else")
    with pytest.raises(Unauthorized):
        TokenVerifier(other).verify(token)


def test_a_token_from_another_secret_is_refused() -> None:
    token = issue_dev_token(AuthSettings(hs256_secret="x" * 40), "alice").token
    with pytest.raises(Unauthorized):
        TokenVerifier(AuthSettings(hs256_secret=SECRET)).verify(token)


@pytest.mark.parametrize("subject", ["", "a/b", "../etc", " alice", "x" * 129])
def test_unusable_subjects_are_refused(subject: str) -> None:
    with pytest.raises(ValueError, match="subject"):
        issue_dev_token(AuthSettings(hs256_secret=SECRET), subject)


def test_without_the_hs256_secret_nothing_is_issued() -> None:
    jwks_only = AuthSettings(
        jwks_url="https://idp.example/.well-known/jwks.json",
        issuer="https://idp.example/",
        audience="mediaplane",
    )
    with pytest.raises(ValueError, match="HS256"):
        issue_dev_token(jwks_only, "alice")


def test_the_token_command_prints_a_working_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MEDIAPLANE_JWT_SECRET", SECRET)
    monkeypatch.delenv("MEDIAPLANE_JWT_ISSUER", raising=False)
    monkeypatch.delenv("MEDIAPLANE_JWT_AUDIENCE", raising=False)
    assert main(["token", "--sub", "alice", "--admin", "--ttl", "60"]) == 0
    printed = capsys.readouterr().out.strip()
    principal = TokenVerifier(AuthSettings(hs256_secret=SECRET)).verify(printed)
    assert principal.owner == "alice"
    assert principal.admin


def test_the_token_command_needs_the_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MEDIAPLANE_JWT_SECRET", raising=False)
    assert main(["token", "--sub", "alice"]) == 2
    assert "MEDIAPLANE_JWT_SECRET" in capsys.readouterr().err


def test_only_loopback_binds_count_as_loopback() -> None:
    for host in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"):
        assert is_loopback(host), host
        require_loopback(host, "MEDIAPLANE_GATEWAY_HOST")
    for host in ("0.0.0.0", "::", "192.168.1.5", "gateway-api", ""):
        assert not is_loopback(host), host
        with pytest.raises(ValueError, match=f"MEDIAPLANE_GATEWAY_HOST={host}:"):
            require_loopback(host, "MEDIAPLANE_GATEWAY_HOST")
