"""The suspended and deleted accounts, in memory, for the request path.

Each API keeps a projection of account status from `user.*` events in its own
database. Looking it up per request would add a query to every call, so each
API process holds the set of blocked accounts (few: suspended and deleted
ones) and reloads it every `poll_seconds` in a background task: a suspension
is refused that long after the projection has it, far within one access
token's lifetime. A failed reload keeps the last set (logged).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

import structlog

from mediaplane.servicekit.access import refuse_blocked

_log = structlog.get_logger(__name__)

# Reads the projection: owner -> status, for every account that is not active.
Loader = Callable[[], Awaitable[Mapping[str, str]]]


class BlockedAccounts:
    def __init__(self, load: Loader | None = None, *, poll_seconds: float = 1.0) -> None:
        if poll_seconds <= 0:
            raise ValueError("poll_seconds must be positive")
        self._load = load
        self._poll_seconds = poll_seconds
        self._blocked: Mapping[str, str] = {}

    def blocked(self, owner: str) -> bool:
        return owner in self._blocked

    def check(self, owner: str) -> None:
        """Refuse `owner` (403 `account_suspended` / `account_deleted`) if blocked."""
        refuse_blocked(self._blocked.get(owner))

    async def refresh(self) -> None:
        if self._load is not None:
            self._blocked = dict(await self._load())

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Load once (a failure stops the start), then reload in the background until exit."""
        await self.refresh()

        async def loop() -> None:
            while True:
                await asyncio.sleep(self._poll_seconds)
                try:
                    await self.refresh()
                except Exception as error:  # keep the last set; the next poll retries
                    _log.warning("accounts.reload_failed", error=str(error))

        task = asyncio.create_task(loop(), name="blocked-accounts")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
