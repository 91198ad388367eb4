"""The mail outbox as admins see it: mails that failed for good or still wait, newest
first, without their subject or body (the body holds a link's secret); and dismissing a
failed one (the row and its recipient go)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from mediaplane.eventlog.database import Pool
from mediaplane.identity.adapters import mail_outbox as outbox
from mediaplane.identity.domain.errors import MailNotFound, MailPending
from mediaplane.servicekit.pagination import decode_cursor, encode_cursor


@dataclass(frozen=True, kw_only=True)
class MailPage:
    items: list[outbox.MailRow]
    next_cursor: str | None


class MailAdmin:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def mails(self, state: outbox.MailState, *, limit: int, cursor: str | None) -> MailPage:
        """Newest first; the cursor is the last row's `(created_at, mail_id)` (keyset)."""
        before = decode_cursor(cursor) if cursor is not None else None
        async with self._pool.connection() as conn:
            rows = await outbox.page(conn, state, limit=limit + 1, before=before)
        items = rows[:limit]
        last = items[-1] if len(rows) > limit else None
        return MailPage(
            items=items,
            next_cursor=encode_cursor(last.created_at, last.mail_id) if last else None,
        )

    async def dismiss(self, mail_id: uuid.UUID) -> None:
        async with self._pool.connection() as conn:
            dismissed = await outbox.dismiss(conn, mail_id)
        if dismissed is None:
            raise MailNotFound(f"no mail {mail_id}")
        if not dismissed:
            raise MailPending("the mail is still being sent; only a failed mail is dismissed")
