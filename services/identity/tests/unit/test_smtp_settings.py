"""SMTP configuration: closed by default (TLS unless loopback), no password in the URL."""

from __future__ import annotations

import pytest

from mediaplane.identity.config import SmtpSettings


def test_schemes_choose_the_protection_and_the_default_port() -> None:
    implicit = SmtpSettings.from_url("smtps://mail.example.org", password=None)
    assert (implicit.security, implicit.port) == ("tls", 465)
    starttls = SmtpSettings.from_url("smtp://ops%40example.org@mail.example.org", password="p")
    assert (starttls.security, starttls.port, starttls.username) == (
        "starttls",
        587,
        "ops@example.org",
    )
    local = SmtpSettings.from_url("smtp+insecure://127.0.0.1:2525")
    assert (local.security, local.port) == ("none", 2525)


@pytest.mark.parametrize(
    ("url", "password", "message"),
    [
        ("smtp+insecure://mail.example.org", None, "loopback"),
        ("smtp://user:secret@mail.example.org", None, "must not carry the password"),
        ("smtp://user@mail.example.org", None, "SMTP_PASSWORD"),
        ("http://mail.example.org", None, "smtps://host"),
        ("smtps://", None, "smtps://host"),
    ],
)
def test_unsafe_or_malformed_settings_are_refused(
    url: str, password: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message) as refused:
        SmtpSettings.from_url(url, password=password)
    assert "secret" not in str(refused.value)


def test_the_password_comes_from_the_environment_and_stays_out_of_repr() -> None:
    smtp = SmtpSettings.from_env(
        {
            "MEDIAPLANE_IDENTITY_SMTP_URL": "smtps://bot@mail.example.org",
            "MEDIAPLANE_IDENTITY_SMTP_PASSWORD": "hunter2-hunter2",
        }
    )
    assert smtp is not None
    assert smtp.password == "hunter2-hunter2"
    assert "hunter2" not in repr(smtp)
    assert SmtpSettings.from_env({}) is None
