"""Outgoing mail: over SMTP (production), or into a Maildir sink (stdlib `mailbox`) that
local runs and tests read. Both build the same `EmailMessage` and answer the same `send`.

SMTP is the standard library's `smtplib` in a worker thread (one connection per mail:
the service sends a few mails an hour, not a stream). Closed by default: TLS is required
(implicit TLS for `smtps://`, STARTTLS for `smtp://`), the server's certificate is
verified, and only a loopback server may be spoken to in clear (`smtp+insecure://`, for
a local relay or tests). The password never appears in a URL, a log or an error. A mail
the server does not take is `MailNotTaken`: the outbox's sender (app/mail_sender.py) tries
it again later, unless the server refused it for good (`permanent`); requests never send
mail themselves.
"""

from __future__ import annotations

import asyncio
import mailbox
import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from mediaplane.identity.config import DEFAULT_SENDER, SmtpSettings


class MailNotTaken(Exception):
    """The mail was not delivered. `kind` says why without the error's text, which may
    quote the address: the exception's type, and the server's reply code when it sent one.
    `permanent`: the server refused this mail for good, trying again cannot help."""

    def __init__(self, kind: str, *, permanent: bool = False) -> None:
        super().__init__(kind)
        self.kind = kind
        self.permanent = permanent


def _reply_code(error: Exception) -> int | None:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        # {recipient: (code, text)}; a mail has one recipient.
        codes = [code for code, _ in error.recipients.values()]
        return codes[0] if codes else None
    code = getattr(error, "smtp_code", None)
    return code if isinstance(code, int) else None


def _not_taken(error: Exception) -> MailNotTaken:
    code = _reply_code(error)
    # A 5xx reply to RCPT or DATA refuses this mail (no such mailbox, content refused):
    # permanent. Every other failure is retried: 4xx replies, connections and timeouts
    # are passing, and a refused login (535) or sender (MAIL FROM) is our configuration's
    # fault, not the mail's: once an operator fixes it, the waiting mails go out.
    permanent = (
        isinstance(error, smtplib.SMTPRecipientsRefused | smtplib.SMTPDataError)
        and code is not None
        and 500 <= code < 600
    )
    kind = f"{type(error).__name__} {code}" if code else type(error).__name__
    return MailNotTaken(kind, permanent=permanent)


class Mailer(Protocol):
    # Where mail goes, for logs: `host:port` of the SMTP server, or `maildir`.
    server: str

    async def send(self, *, to: str, subject: str, body: str) -> None:
        """Delivers the mail, or raises `MailNotTaken`."""
        ...


def _message(sender: str, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message


class MaildirMailer:
    server = "maildir"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._make_folders()

    def _make_folders(self) -> None:
        # Not `Maildir(create=True)`: it checks, then makes the folders, so two identity
        # processes starting at once (the API and the relay) could fail with FileExistsError.
        for folder in (self.path, self.path / "tmp", self.path / "new", self.path / "cur"):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)

    def _deliver(self, message: EmailMessage) -> None:
        self._make_folders()
        box = mailbox.Maildir(self.path, create=False)
        try:
            box.add(message)
        finally:
            box.close()

    async def send(self, *, to: str, subject: str, body: str) -> None:
        try:
            await asyncio.to_thread(self._deliver, _message(DEFAULT_SENDER, to, subject, body))
        except OSError as error:
            raise _not_taken(error) from error


class SmtpMailer:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.server = f"{settings.host}:{settings.port}"
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
            raise _not_taken(error) from error


def mailer_for(smtp: SmtpSettings | None, maildir: Path | None) -> Mailer:
    """SMTP when configured, else the Maildir sink."""
    if smtp is not None:
        return SmtpMailer(smtp)
    if maildir is None:
        raise ValueError("set MEDIAPLANE_IDENTITY_SMTP_URL or MEDIAPLANE_IDENTITY_MAILDIR")
    return MaildirMailer(maildir)
