"""Outgoing mail: over SMTP (production), or into a Maildir sink (stdlib `mailbox`) that
local runs and tests read. Both build the same `EmailMessage` and answer the same `send`.

SMTP is the standard library's `smtplib` in a worker thread (one connection per mail:
the service sends a few mails an hour, not a stream). Closed by default: TLS is required
(implicit TLS for `smtps://`, STARTTLS for `smtp://`), the server's certificate is
verified, and only a loopback server may be spoken to in clear (`smtp+insecure://`, for
a local relay or tests). The password never appears in a URL, a log or an error. A mail
the server does not take is `MailUnavailable` (503 `mail_unavailable`): the user retries.
"""

from __future__ import annotations

import asyncio
import mailbox
import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import structlog

from mediaplane.identity.config import DEFAULT_SENDER, SmtpSettings
from mediaplane.identity.domain.errors import MailUnavailable

_log = structlog.get_logger(__name__)


class Mailer(Protocol):
    async def send(self, *, to: str, subject: str, body: str) -> None: ...


def _message(sender: str, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message


class MaildirMailer:
    def __init__(self, path: Path) -> None:
        self.path = path
        mailbox.Maildir(path, create=True)

    def _deliver(self, message: EmailMessage) -> None:
        box = mailbox.Maildir(self.path, create=True)
        try:
            box.add(message)
        finally:
            box.close()

    async def send(self, *, to: str, subject: str, body: str) -> None:
        await asyncio.to_thread(self._deliver, _message(DEFAULT_SENDER, to, subject, body))


class SmtpMailer:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._tls = ssl.create_default_context(cafile=settings.ca_file)

    def _deliver(self, message: EmailMessage) -> None:
        settings = self.settings
        client: smtplib.SMTP
        if settings.security == "tls":
            client = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=self._tls
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            if settings.security == "starttls":
                client.starttls(context=self._tls)  # raises when the server offers no TLS
            if settings.username is not None:
                client.login(settings.username, settings.password or "")
            client.send_message(message)

    async def send(self, *, to: str, subject: str, body: str) -> None:
        message = _message(self.settings.sender, to, subject, body)
        try:
            await asyncio.to_thread(self._deliver, message)
        except (OSError, smtplib.SMTPException) as error:
            # No address or credential in the log: the kind of failure and the server.
            _log.error(
                "mail.smtp_failed",
                server=f"{self.settings.host}:{self.settings.port}",
                error=type(error).__name__,
            )
            raise MailUnavailable("the mail server did not take the mail") from error


def mailer_for(smtp: SmtpSettings | None, maildir: Path | None) -> Mailer:
    """SMTP when configured, else the Maildir sink."""
    if smtp is not None:
        return SmtpMailer(smtp)
    if maildir is None:
        raise ValueError("set MEDIAPLANE_IDENTITY_SMTP_URL or MEDIAPLANE_IDENTITY_MAILDIR")
    return MaildirMailer(maildir)
