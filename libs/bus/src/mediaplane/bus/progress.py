"""How far a durable consumer has got, from the server's consumer state (no Bus needed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import TracebackType

import nats
from nats.aio.client import Client
from nats.js.errors import NotFoundError

from mediaplane.bus.settings import BusSettings


@dataclass(frozen=True, kw_only=True)
class ConsumerLag:
    """`exists` is False before the durable was created. `caught_up`: nothing pending or
    unacked. Otherwise `behind_since` is the publish time of the first message after the
    ack floor (None when the server did not say)."""

    exists: bool
    caught_up: bool = False
    behind_since: datetime | None = None


class ConsumerProgress:
    """Reads the ack floor of `durable` on a connection of its own.

    For processes that must know a consumer's progress without running it
    (the janitor's `sweep` role). The first message after the floor (any
    subject, so possibly one the consumer does not even read) was published
    no later than the oldest message the consumer may not have handled yet:
    its time is a safe horizon.

    ```python
    async with ConsumerProgress(settings, "janitor-projection", name="janitor") as progress:
        lag = await progress()
    ```
    """

    def __init__(self, settings: BusSettings, durable: str, *, name: str) -> None:
        self._settings = settings
        self._durable = durable
        self._name = name
        self._nc: Client | None = None

    async def __aenter__(self) -> ConsumerProgress:
        self._nc = await nats.connect(
            self._settings.servers,
            name=self._name,
            max_reconnect_attempts=-1,
            **self._settings.connect_options(),
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._nc is not None:
            await self._nc.close()
            self._nc = None

    async def __call__(self) -> ConsumerLag:
        if self._nc is None:
            raise RuntimeError("use `async with ConsumerProgress(...)`")
        js = self._nc.jetstream()
        stream = self._settings.stream
        try:
            info = await js.consumer_info(stream, self._durable)
        except NotFoundError:
            return ConsumerLag(exists=False)
        if not info.num_pending and not info.num_ack_pending:
            return ConsumerLag(exists=True, caught_up=True)
        floor = info.ack_floor.stream_seq if info.ack_floor is not None else 0
        try:
            first_unread = await js.get_msg(
                stream, seq=(floor or 0) + 1, subject=self._settings.subjects, next=True
            )
        except NotFoundError:
            # Nothing after the floor any more: the pending ones were acked meanwhile.
            return ConsumerLag(exists=True, caught_up=True)
        return ConsumerLag(exists=True, behind_since=first_unread.time)
