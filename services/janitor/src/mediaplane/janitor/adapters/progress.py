"""How far the projection consumer has read JetStream, from the server's consumer state."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from mediaplane.bus import BusSettings
from mediaplane.janitor.domain.policy import ProjectionProgress


class JetStreamProgress:
    """Reads the durable consumer's ack floor: every message up to it is projected.

    The first message after the floor (any subject, so possibly one the
    consumer does not even read) was published no later than the oldest
    event that may still be unprojected: its time is a safe horizon.
    """

    def __init__(self, js: JetStreamContext, bus: BusSettings, durable: str) -> None:
        self._js = js
        self._bus = bus
        self._durable = durable

    async def __call__(self) -> ProjectionProgress:
        try:
            info = await self._js.consumer_info(self._bus.stream, self._durable)
        except NotFoundError:
            return ProjectionProgress(started=False)
        if not info.num_pending and not info.num_ack_pending:
            return ProjectionProgress(started=True)
        floor = info.ack_floor.stream_seq if info.ack_floor is not None else 0
        try:
            first_unread = await self._js.get_msg(
                self._bus.stream, seq=(floor or 0) + 1, subject=self._bus.subjects, next=True
            )
        except NotFoundError:
            # Nothing after the floor any more: the pending ones were acked meanwhile.
            return ProjectionProgress(started=True)
        if first_unread.time is None:  # never sent by the server; unknown means hold back
            return ProjectionProgress(started=False)
        return ProjectionProgress(started=True, behind_since=first_unread.time)
