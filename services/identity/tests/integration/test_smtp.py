"""Mail over SMTP: a real SMTP server in-process (aiosmtpd) receives the verification mail,
and the code in it verifies the account. In clear to a loopback server, and with STARTTLS
and a password (the server's certificate checked against a CA the test makes)."""

from __future__ import annotations

import datetime
import email
import ipaddress
import re
import ssl
from collections.abc import Callable, Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mediaplane.devstack.ports import free_port_block
from mediaplane.identity.app.bootstrap import apply_migrations
from mediaplane.identity.config import IdentitySettings, SmtpSettings
from mediaplane.identity.testing import PASSWORD, running

pytestmark = pytest.mark.integration

SMTP_USER = "identity"
SMTP_PASSWORD = "smtp-password-for-tests"


class Inbox:
    """aiosmtpd's handler: keeps what it was sent."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.content
        assert isinstance(content, bytes)
        self.messages.append(email.message_from_bytes(content))
        return "250 OK"


def _certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA): the cert and key files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "smtp.crt", directory / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth: Any) -> Any:
    ok = isinstance(auth, LoginPassword) and (auth.login, auth.password) == (
        SMTP_USER.encode(),
        SMTP_PASSWORD.encode(),
    )
    # handled=False: aiosmtpd answers the refusal (535) itself.
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., tuple[Inbox, int]]]:
    """`smtp_server(**controller_options)`: a started aiosmtpd server, its inbox and port."""
    started: list[Controller] = []

    def start(**options: Any) -> tuple[Inbox, int]:
        inbox, port = Inbox(), free_port_block(1)
        controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
        controller.start()
        started.append(controller)
        return inbox, port

    yield start
    for controller in started:
        controller.stop()


async def _register_and_verify(settings: IdentitySettings, inbox: Inbox, address: str) -> None:
    await apply_migrations(settings)
    async with running(settings) as server:
        registered = await server.http.post(
            "/v1/account/registrations", json={"email": address, "password": PASSWORD}
        )
        assert registered.status_code == 202, registered.text
        [mail] = inbox.messages
        assert mail["To"] == address
        assert mail["Subject"] == "mediaplane: verify your email"
        payload = mail.get_payload(decode=True)
        assert isinstance(payload, bytes)
        found = re.search(r"verify-token: (\S+)", payload.decode())
        assert found, payload
        verified = await server.http.post(
            "/v1/account/email-verifications", json={"token": found.group(1)}
        )
        assert verified.status_code == 204, verified.text
        signed_in = await server.http.post(
            "/v1/account/sessions", json={"email": address, "password": PASSWORD}
        )
        assert signed_in.status_code == 201, signed_in.text


async def test_the_verification_mail_goes_out_over_smtp(
    make_identity_settings: Callable[..., IdentitySettings],
    smtp_server: Callable[..., tuple[Inbox, int]],
) -> None:
    inbox, port = smtp_server()
    smtp = SmtpSettings.from_url(f"smtp+insecure://127.0.0.1:{port}")
    settings = make_identity_settings(maildir=None, smtp=smtp)
    await _register_and_verify(settings, inbox, "smtp@example.org")


async def test_starttls_and_a_password_from_a_file(
    make_identity_settings: Callable[..., IdentitySettings],
    smtp_server: Callable[..., tuple[Inbox, int]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cert_file, key_file = _certificate(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert_file, key_file)
    inbox, port = smtp_server(
        tls_context=tls,
        require_starttls=True,
        authenticator=_authenticator,
        auth_require_tls=True,
        auth_required=True,
    )
    password_file = tmp_path / "smtp-password"
    password_file.write_text(SMTP_PASSWORD + "\n")
    env = {
        "MEDIAPLANE_IDENTITY_SMTP_URL": f"smtp://{SMTP_USER}@127.0.0.1:{port}",
        "MEDIAPLANE_IDENTITY_SMTP_PASSWORD_FILE": str(password_file),
        "MEDIAPLANE_IDENTITY_SMTP_CA_FILE": str(cert_file),
        "MEDIAPLANE_IDENTITY_MAIL_FROM": "accounts <accounts@example.org>",
    }
    smtp = SmtpSettings.from_env(env)
    assert smtp is not None
    assert (smtp.security, smtp.username, smtp.password) == ("starttls", SMTP_USER, SMTP_PASSWORD)
    assert SMTP_PASSWORD not in repr(smtp)
    settings = make_identity_settings(maildir=None, smtp=smtp)
    await _register_and_verify(settings, inbox, "tls@example.org")
    assert inbox.messages[0]["From"] == "accounts <accounts@example.org>"


async def test_a_refused_smtp_password_fails_the_request_without_leaking_it(
    make_identity_settings: Callable[..., IdentitySettings],
    smtp_server: Callable[..., tuple[Inbox, int]],
    tmp_path: Path,
) -> None:
    cert_file, key_file = _certificate(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert_file, key_file)
    inbox, port = smtp_server(
        tls_context=tls,
        require_starttls=True,
        authenticator=_authenticator,
        auth_required=True,
    )
    smtp = SmtpSettings.from_url(
        f"smtp://{SMTP_USER}@127.0.0.1:{port}", password="wrong", ca_file=str(cert_file)
    )
    settings = make_identity_settings(maildir=None, smtp=smtp)
    await apply_migrations(settings)
    async with running(settings) as server:
        response = await server.http.post(
            "/v1/account/registrations", json={"email": "no@example.org", "password": PASSWORD}
        )
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "mail_unavailable"
    assert "wrong" not in response.text
    assert inbox.messages == []


async def test_an_unreachable_smtp_server_is_a_503_the_user_can_retry(
    make_identity_settings: Callable[..., IdentitySettings],
    smtp_server: Callable[..., tuple[Inbox, int]],
) -> None:
    """Nothing listens on the configured port at first: the request fails with a problem
    the client can act on and the address is in no answer; once the server is up, the
    same request goes through and its mail arrives."""
    down = free_port_block(1)
    smtp = SmtpSettings.from_url(f"smtp+insecure://127.0.0.1:{down}")
    settings = make_identity_settings(maildir=None, smtp=smtp)
    await apply_migrations(settings)
    async with running(settings) as server:
        refused = await server.http.post(
            "/v1/account/password-resets", json={"email": "nobody-yet@example.org"}
        )
        # An unknown address sends no mail, so it cannot fail: the same 202 as ever.
        assert refused.status_code == 202, refused.text
        registered = await server.http.post(
            "/v1/account/registrations", json={"email": "ivy@example.org", "password": PASSWORD}
        )
        assert registered.status_code == 503, registered.text
        assert registered.headers["content-type"].startswith("application/problem+json")
        assert registered.json()["code"] == "mail_unavailable"
        assert "ivy@example.org" not in registered.text
    inbox, port = smtp_server()
    settings = make_identity_settings(
        maildir=None, smtp=SmtpSettings.from_url(f"smtp+insecure://127.0.0.1:{port}")
    )
    async with running(settings) as server:
        # The account exists (its verification mail failed): a reset is the way in.
        again = await server.http.post(
            "/v1/account/password-resets", json={"email": "ivy@example.org"}
        )
        assert again.status_code == 202, again.text
    [mail] = inbox.messages
    assert (mail["To"], mail["Subject"]) == ("ivy@example.org", "mediaplane: reset your password")
