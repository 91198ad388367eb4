"""Outgoing mail: a Maildir sink (stdlib `mailbox`) that local runs and tests read.

Production would put an SMTP sender behind the same `send`; until then the
service writes every message to the Maildir named by MEDIAPLANE_IDENTITY_MAILDIR.
"""

from __future__ import annotations

import asyncio
import mailbox
from email.message import EmailMessage
from pathlib import Path

SENDER = "mediaplane <no-reply@mediaplane.invalid>"


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
        message = EmailMessage()
        message["From"] = SENDER
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        await asyncio.to_thread(self._deliver, message)
