"""The mail outbox's sender: delivers the mails requests wrote (`adapters/mail_outbox.py`).

It runs in the relay role, beside the event outbox's relay (`sending`): woken by the
NOTIFY each written mail sends, and every `POLL_SECONDS` for retries that came due. One
mail per transaction, its row locked while it is handed to the server: a second sender
skips it, and a crash before the commit sends it again (at least once). A mail the server
does not take is tried again later (`MailRetry`) and, past the bound, marked failed with
its reason; one the server refused for good (a 5xx reply to RCPT or DATA) is marked failed
at once; a mail whose link expired is dropped unsent. Logs name the mail's id and kind,
the server and the failure's kind: never the address, the body or a credential. Metrics
(`MailMetrics`): mails sent and failed by kind, and the outbox's counts, read at most
every `COUNT_SECONDS`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

import structlog

from mediaplane.contracts import utc_now
from mediaplane.eventlog.database import Pool
from mediaplane.eventlog.wakeup import Wakeup
from mediaplane.identity.adapters import mail_outbox as outbox
from mediaplane.identity.adapters.mail import Mailer, MailNotTaken
from mediaplane.identity.adapters.metrics import MailMetrics
from mediaplane.identity.domain.policy import MailRetry
from mediaplane.servicekit import periodic

_log = structlog.get_logger(__name__)
# How often due retries are looked for; a new mail wakes the sender at once (NOTIFY).
POLL_SECONDS = 1.0
# How often the outbox is counted for the gauges: one small query, not one per mail.
COUNT_SECONDS = 5.0


class MailSender:
    def __init__(
        self,
        *,
        pool: Pool,
        mailer: Mailer,
        retry: MailRetry,
        metrics: MailMetrics | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.pool = pool
        self.mailer = mailer
        self.retry = retry
        self.metrics = metrics if metrics is not None else MailMetrics()
        self.clock = clock
        self._counted_at: float | None = None  # time.monotonic() of the last count

    async def send_due(self) -> int:
        """Delivers every mail due now, one at a time; how many went out."""
        sent = 0
        while (outcome := await self._send_one()) is not None:
            sent += outcome
        await self.count()
        return sent

    async def count(self, *, force: bool = False) -> None:
        """Sets the gauges from the outbox, unless it was counted under `COUNT_SECONDS` ago."""
        at = time.monotonic()
        if not force and self._counted_at is not None and at - self._counted_at < COUNT_SECONDS:
            return
        async with self.pool.connection() as conn:
            counts = await outbox.counts(conn)
        self._counted_at = at
        oldest = counts.oldest_pending
        self.metrics.pending.set(counts.pending)
        self.metrics.failed_kept.set(counts.failed)
        age = 0.0 if oldest is None else max(0.0, (self.clock() - oldest).total_seconds())
        self.metrics.oldest_pending_age.set(age)

    async def _send_one(self) -> int | None:
        """1: a mail went out; 0: one was dropped or failed; None: none is due."""
        now = self.clock()
        async with self.pool.connection() as conn, conn.transaction():
            mail = await outbox.claim(conn, now)
            if mail is None:
                return None
            fields: dict[str, object] = {"mail_id": str(mail.mail_id), "kind": mail.kind}
            if mail.expires_at is not None and mail.expires_at <= now:
                await outbox.delete(conn, mail.mail_id)
                _log.warning("mail.expired", **fields, attempts=mail.attempts)
                self.metrics.failed.labels(kind=mail.kind, reason="expired").inc()
                return 0
            try:
                await self.mailer.send(to=mail.recipient, subject=mail.subject, body=mail.body)
            except MailNotTaken as error:
                await self._not_taken(conn, mail, error, fields)
                return 0
            await outbox.delete(conn, mail.mail_id)
        _log.info("mail.sent", **fields, server=self.mailer.server)
        self.metrics.sent.labels(kind=mail.kind).inc()
        return 1

    async def _not_taken(
        self, conn: outbox.Conn, mail: outbox.Mail, error: MailNotTaken, fields: dict[str, object]
    ) -> None:
        attempts, now = mail.attempts + 1, self.clock()
        at = (
            None
            if error.permanent
            else self.retry.next_attempt(attempts=attempts, created_at=mail.created_at, now=now)
        )
        fields = {**fields, "server": self.mailer.server, "error": error.kind, "attempts": attempts}
        if at is None:
            reason = "rejected_permanently" if error.permanent else "retries_exhausted"
            await outbox.fail(
                conn, mail.mail_id, attempts=attempts, now=now, error=f"{reason}: {error.kind}"
            )
            _log.error("mail.failed", **fields, reason=reason)
            self.metrics.failed.labels(kind=mail.kind, reason=reason).inc()
        else:
            await outbox.retry(conn, mail.mail_id, attempts=attempts, at=at, error=error.kind)
            _log.warning("mail.retrying", **fields, retry_in=(at - now).total_seconds())


@asynccontextmanager
async def sending(sender: MailSender, database_url: str) -> AsyncIterator[None]:
    """`sender` delivering in the background while the block runs: at once when a mail is
    written (LISTEN on the outbox's channel), else every `POLL_SECONDS`."""
    listener = Wakeup(database_url, outbox.MAIL_CHANNEL)
    listener.start()
    try:
        async with periodic.running("mail", POLL_SECONDS, sender.send_due, wake=listener.event):
            yield
    finally:
        await listener.stop()
