"""Mail over SMTP through the outbox: a real SMTP server in-process (aiosmtpd) receives the
verification mail, and the code in it verifies the account. In clear to a loopback server,
and with STARTTLS and a password (the server's certificate checked against a CA the test
makes). Requests only write mails; the sender (the relay role's, driven here by the test
with a clock it moves) delivers them: after the server comes back, once with two senders,
never when the link expired, and past its bound a mail ends failed with its reason; a
mail the server refuses for good (5xx to RCPT or DATA) ends failed at once."""

from __future__ import annotations

import asyncio
import datetime
import email
import ipaddress
import re
import ssl
from collections.abc import Callable, Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import psycopg
import pytest
import structlog
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from psycopg.rows import dict_row

from mediaplane.bus.testing import eventually
from mediaplane.devstack.ports import free_port_block
from mediaplane.eventlog.database import open_pool
from mediaplane.identity.adapters import mail_outbox
from mediaplane.identity.adapters.mail import Mailer, SmtpMailer
from mediaplane.identity.app import mail_sender
from mediaplane.identity.app.bootstrap import apply_migrations, open_resources
from mediaplane.identity.app.mail_sender import MailSender, sending
from mediaplane.identity.config import IdentitySettings, SmtpSettings
from mediaplane.identity.domain.policy import MailRetry
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


class Refusing(Inbox):
    """An inbox whose server answers RCPT and DATA by the recipient's local part: `gone`
    (550 at RCPT), `later` (450 at RCPT), `spam` (554 after DATA); others it takes."""

    REPLIES = {"gone": "550 5.1.1 <gone@example.org>: mailbox unavailable", "later": "450 busy"}

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Envelope, address: str, options: Any
    ) -> str:
        reply = self.REPLIES.get(address.partition("@")[0])
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:  # noqa: N802
        if any(rcpt.startswith("spam@") for rcpt in envelope.rcpt_tos):
            return "554 5.7.1 <spam@example.org> refused as spam"
        return await super().handle_DATA(server, session, envelope)


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
    """`smtp_server(port=None, inbox=None, **controller_options)`: a started aiosmtpd
    server (on `port`, else a free one; `inbox`: its handler, else an `Inbox`), its inbox
    and port."""
    started: list[Controller] = []

    def start(
        port: int | None = None, inbox: Inbox | None = None, **options: Any
    ) -> tuple[Inbox, int]:
        inbox, port = inbox or Inbox(), port or free_port_block(1)
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
        assert inbox.messages == []  # written, not sent: the sender sends it
        assert await server.deliver() == 1
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


def _in(seconds: float) -> Callable[[], datetime.datetime]:
    """A clock `seconds` from now, for the sender (its retries and the links' expiry)."""
    moment = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=seconds)
    return lambda: moment


async def _outbox(settings: IdentitySettings) -> list[dict[str, Any]]:
    async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
        cursor = conn.cursor(row_factory=dict_row)
        await cursor.execute(
            "SELECT kind, recipient, body, attempts, failed_at, last_error FROM mail_outbox"
            " ORDER BY created_at"
        )
        return await cursor.fetchall()


def _down(make_identity_settings: Callable[..., IdentitySettings], **overrides: Any) -> Any:
    """Settings whose SMTP server is not (yet) listening: the settings and its port."""
    port = free_port_block(1)
    smtp = SmtpSettings.from_url(f"smtp+insecure://127.0.0.1:{port}")
    return make_identity_settings(maildir=None, smtp=smtp, **overrides), port


async def test_a_refused_smtp_password_is_retried_and_never_leaked(
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
        assert (response.status_code, response.json()) == (202, {"status": "check_your_email"})
        with structlog.testing.capture_logs() as logs:
            assert await server.deliver() == 0
    assert inbox.messages == []
    [row] = await _outbox(settings)
    assert (row["attempts"], row["failed_at"], row["last_error"]) == (
        1,
        None,
        "SMTPAuthenticationError 535",
    )
    [retrying] = [entry for entry in logs if entry["event"] == "mail.retrying"]
    assert retrying["kind"] == "verify_email"
    assert retrying["server"] == f"127.0.0.1:{port}"
    assert retrying["error"] == "SMTPAuthenticationError 535"
    assert (
        server.mail_sender.metrics.registry.get_sample_value(
            "identity_mails_failed_total",
            {"kind": "verify_email", "reason": "rejected_permanently"},
        )
        is None
    )  # our configuration's fault, not the mail's: kept for when it is fixed
    assert "wrong" not in str(logs)
    assert "no@example.org" not in str(logs)


async def test_mail_written_while_the_server_is_down_goes_out_when_it_is_back(
    make_identity_settings: Callable[..., IdentitySettings],
    smtp_server: Callable[..., tuple[Inbox, int]],
) -> None:
    """Nothing listens on the configured port at first: the requests answer as ever, a
    reset for a known address exactly as one for an unknown address; the mails wait, and
    go out once the server is up and their retry is due."""
    settings, port = _down(make_identity_settings)
    await apply_migrations(settings)
    async with running(settings) as server:
        registered = await server.http.post(
            "/v1/account/registrations", json={"email": "ivy@example.org", "password": PASSWORD}
        )
        assert (registered.status_code, registered.json()) == (202, {"status": "check_your_email"})
        known = await server.http.post(
            "/v1/account/password-resets", json={"email": "ivy@example.org"}
        )
        unknown = await server.http.post(
            "/v1/account/password-resets", json={"email": "nobody-yet@example.org"}
        )
        assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
        assert (known.status_code, known.headers["content-type"]) == (
            unknown.status_code,
            unknown.headers["content-type"],
        )
        assert known.status_code == 202
        assert await server.deliver() == 0  # refused: both wait for their retry
        rows = await _outbox(settings)
        assert [(r["kind"], r["attempts"], r["last_error"]) for r in rows] == [
            ("verify_email", 1, "ConnectionRefusedError"),
            ("reset_password", 1, "ConnectionRefusedError"),
        ]
        inbox, _ = smtp_server(port=port)
        assert await server.deliver() == 0  # back, but the retries are not due yet
        server.mail_sender.clock = _in(2)
        assert await server.deliver() == 2
        assert await _outbox(settings) == []
        assert [(m["To"], m["Subject"]) for m in inbox.messages] == [
            ("ivy@example.org", "mediaplane: verify your email"),
            ("ivy@example.org", "mediaplane: reset your password"),
        ]
        # The reset mail's code works: the way in for an address whose mail came late.
        payload = inbox.messages[1].get_payload(decode=True)
        assert isinstance(payload, bytes)
        found = re.search(r"reset-token: (\S+)", payload.decode())
        assert found, payload
        reset = await server.http.post(
            "/v1/account/password-resets/confirm",
            json={"token": found.group(1), "password": "a brand new passphrase"},
        )
        assert reset.status_code == 204, reset.text


async def test_a_mail_that_keeps_failing_ends_failed_with_its_reason(
    make_identity_settings: Callable[..., IdentitySettings],
    smtp_server: Callable[..., tuple[Inbox, int]],
) -> None:
    settings, port = _down(make_identity_settings, mail_retry=MailRetry(max_attempts=3))
    await apply_migrations(settings)
    async with running(settings) as server:
        await server.http.post(
            "/v1/account/registrations", json={"email": "jo@example.org", "password": PASSWORD}
        )
        with structlog.testing.capture_logs() as logs:
            for attempt in range(3):  # each retry due (1 s, then 2 s) when the clock moves
                server.mail_sender.clock = _in(10 * attempt)
                assert await server.deliver() == 0
        [row] = await _outbox(settings)
        assert row["failed_at"] is not None
        assert (row["attempts"], row["last_error"], row["body"]) == (
            3,
            "retries_exhausted: ConnectionRefusedError",
            None,  # the link it held is gone with it
        )
        assert [entry["event"] for entry in logs if entry["event"].startswith("mail.")] == [
            "mail.retrying",
            "mail.retrying",
            "mail.failed",
        ]
        failed = logs[-1]
        assert (failed["log_level"], failed["kind"], failed["error"], failed["attempts"]) == (
            "error",
            "verify_email",
            "ConnectionRefusedError",
            3,
        )
        assert failed["reason"] == "retries_exhausted"
        assert (
            server.mail_sender.metrics.registry.get_sample_value(
                "identity_mails_failed_total",
                {"kind": "verify_email", "reason": "retries_exhausted"},
            )
            == 1
        )
        assert "jo@example.org" not in str(logs)
        # Failed is final: the server coming back does not send it.
        inbox, _ = smtp_server(port=port)
        server.mail_sender.clock = _in(60)
        assert await server.deliver() == 0
    assert inbox.messages == []


async def test_a_permanent_refusal_fails_the_mail_at_once_a_temporary_one_is_retried(
    make_identity_settings: Callable[..., IdentitySettings],
    smtp_server: Callable[..., tuple[Inbox, int]],
) -> None:
    """550 to RCPT and 554 to DATA: failed after one attempt, with the reply code but not
    the server's text (which quotes the address); 450 to RCPT: tried again later."""
    inbox, port = smtp_server(inbox=Refusing())
    smtp = SmtpSettings.from_url(f"smtp+insecure://127.0.0.1:{port}")
    settings = make_identity_settings(maildir=None, smtp=smtp)
    await apply_migrations(settings)
    async with running(settings) as server:
        for local in ("gone", "spam", "later", "ok"):
            registered = await server.http.post(
                "/v1/account/registrations",
                json={"email": f"{local}@example.org", "password": PASSWORD},
            )
            assert registered.status_code == 202, registered.text
        with structlog.testing.capture_logs() as logs:
            assert await server.deliver() == 1
        metrics = server.mail_sender.metrics.registry
    assert [m["To"] for m in inbox.messages] == ["ok@example.org"]
    rows = {row["recipient"]: row for row in await _outbox(settings)}
    assert {
        to: (r["attempts"], r["failed_at"] is not None, r["last_error"], r["body"] is None)
        for to, r in rows.items()
    } == {
        "gone@example.org": (1, True, "rejected_permanently: SMTPRecipientsRefused 550", True),
        "spam@example.org": (1, True, "rejected_permanently: SMTPDataError 554", True),
        "later@example.org": (1, False, "SMTPRecipientsRefused 450", False),
    }
    failed = [entry for entry in logs if entry["event"] == "mail.failed"]
    assert [(e["log_level"], e["reason"], e["error"]) for e in failed] == [
        ("error", "rejected_permanently", "SMTPRecipientsRefused 550"),
        ("error", "rejected_permanently", "SMTPDataError 554"),
    ]
    assert [e["event"] for e in logs if e["event"].startswith("mail.")].count("mail.retrying") == 1
    assert "example.org" not in str(logs)
    assert (
        metrics.get_sample_value(
            "identity_mails_failed_total",
            {"kind": "verify_email", "reason": "rejected_permanently"},
        )
        == 2
    )
    assert metrics.get_sample_value("identity_mails_sent_total", {"kind": "verify_email"}) == 1
    assert metrics.get_sample_value("identity_mail_outbox_pending") == 1
    assert metrics.get_sample_value("identity_mail_outbox_failed") == 2
    age = metrics.get_sample_value("identity_mail_outbox_oldest_pending_age_seconds")
    assert age is not None
    assert age >= 0


async def test_a_mail_whose_link_expired_is_dropped_unsent(
    make_identity_settings: Callable[..., IdentitySettings],
    smtp_server: Callable[..., tuple[Inbox, int]],
) -> None:
    """The sender was away longer than a link lives: the verification mail is dropped (its
    code would be refused anyway), a mail with no link still goes out."""
    inbox, port = smtp_server()
    smtp = SmtpSettings.from_url(f"smtp+insecure://127.0.0.1:{port}")
    settings = make_identity_settings(maildir=None, smtp=smtp)
    await apply_migrations(settings)
    async with running(settings) as server:
        for _ in range(2):  # the second: "you already have an account", no link
            await server.http.post(
                "/v1/account/registrations", json={"email": "kit@example.org", "password": PASSWORD}
            )
        server.mail_sender.clock = _in(settings.lifetimes.mail_link_seconds + 1)
        with structlog.testing.capture_logs() as logs:
            assert await server.deliver() == 1
    assert [m["Subject"] for m in inbox.messages] == ["mediaplane: you already have an account"]
    assert await _outbox(settings) == []
    [expired] = [entry for entry in logs if entry["event"] == "mail.expired"]
    assert expired["kind"] == "verify_email"
    assert (
        server.mail_sender.metrics.registry.get_sample_value(
            "identity_mails_failed_total", {"kind": "verify_email", "reason": "expired"}
        )
        == 1
    )
    assert "kit@example.org" not in str(logs)


async def test_deleting_an_account_deletes_its_unsent_mail(
    make_identity_settings: Callable[..., IdentitySettings],
) -> None:
    settings, _ = _down(make_identity_settings)
    await apply_migrations(settings)
    async with running(settings) as server:
        await server.http.post(
            "/v1/account/registrations", json={"email": "lu@example.org", "password": PASSWORD}
        )
        assert [row["recipient"] for row in await _outbox(settings)] == ["lu@example.org"]
        async with open_resources(settings, pool_size=1) as resources:
            async with resources.pool.connection() as conn:
                cursor = await conn.execute("SELECT user_id FROM users")
                [(user_id,)] = await cursor.fetchall()
            await resources.accounts.delete(user_id, by="test")
        assert await _outbox(settings) == []


class _Held:
    """A mailer that holds its first mail until `release` is set (`holding`: it has one)."""

    def __init__(self, inner: Mailer) -> None:
        self.inner, self.server = inner, inner.server
        self.holding, self.release = asyncio.Event(), asyncio.Event()

    async def send(self, *, to: str, subject: str, body: str) -> None:
        self.holding.set()
        await self.release.wait()
        await self.inner.send(to=to, subject=subject, body=body)


async def test_two_senders_send_each_mail_once(
    make_identity_settings: Callable[..., IdentitySettings],
    smtp_server: Callable[..., tuple[Inbox, int]],
) -> None:
    """One sender is in the middle of a mail (its row locked) while the other sends the
    rest: it skips that one, and each mail arrives once."""
    inbox, port = smtp_server()
    smtp = SmtpSettings.from_url(f"smtp+insecure://127.0.0.1:{port}")
    settings = make_identity_settings(maildir=None, smtp=smtp)
    await apply_migrations(settings)
    async with open_resources(settings, pool_size=1) as resources:
        user_id = await resources.accounts.register(
            email="many@example.org", password=PASSWORD, via="admin", verified=True
        )
        assert user_id is not None
        async with resources.pool.connection() as conn, conn.transaction():
            for n in range(20):
                await mail_outbox.enqueue(
                    conn,
                    user_id=user_id,
                    kind="account_exists",
                    recipient="many@example.org",
                    subject=f"mail {n}",
                    body="hello\n",
                    now=datetime.datetime.now(datetime.UTC),
                )
    held = _Held(SmtpMailer(smtp))
    async with (
        await open_pool(settings.database_url, max_size=1) as pool_a,
        await open_pool(settings.database_url, max_size=1) as pool_b,
    ):
        first = MailSender(pool=pool_a, mailer=held, retry=settings.mail_retry)
        second = MailSender(pool=pool_b, mailer=SmtpMailer(smtp), retry=settings.mail_retry)
        sending_first = asyncio.create_task(first.send_due())
        await held.holding.wait()
        assert await second.send_due() == 19
        held.release.set()
        assert await sending_first == 1
    subjects = [m["Subject"] for m in inbox.messages]
    assert sorted(subjects) == sorted(f"mail {n}" for n in range(20))
    assert await _outbox(settings) == []


async def _listening(settings: IdentitySettings) -> bool:
    async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
        cursor = await conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND query = %s",
            (f'LISTEN "{mail_outbox.MAIL_CHANNEL}"',),
        )
        row = await cursor.fetchone()
    return row is not None and row[0] == 1


async def test_a_written_mail_wakes_the_sender(
    make_identity_settings: Callable[..., IdentitySettings],
    smtp_server: Callable[..., tuple[Inbox, int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The relay role's loop (`sending`): with the poll an hour apart, only the NOTIFY of
    the written mail can bring it out."""
    monkeypatch.setattr(mail_sender, "POLL_SECONDS", 3600.0)
    inbox, port = smtp_server()
    smtp = SmtpSettings.from_url(f"smtp+insecure://127.0.0.1:{port}")
    settings = make_identity_settings(maildir=None, smtp=smtp)
    await apply_migrations(settings)
    async with running(settings) as server, sending(server.mail_sender, settings.database_url):
        await eventually(lambda: _listening(settings))
        await server.http.post(
            "/v1/account/registrations", json={"email": "mo@example.org", "password": PASSWORD}
        )
        await eventually(lambda: len(inbox.messages) == 1)
    assert inbox.messages[0]["To"] == "mo@example.org"
