"""How far the projection consumer has read JetStream, as the sweeps' policy needs it."""

from __future__ import annotations

from mediaplane.bus.progress import ConsumerProgress
from mediaplane.janitor.domain.policy import ProjectionProgress


class JetStreamProgress:
    """The projection durable's lag (`ConsumerProgress`) as a `ProjectionProgress`.

    Every message up to the durable's ack floor is projected; the publish time
    of the first one after it bounds the oldest event that may not be.
    """

    def __init__(self, progress: ConsumerProgress) -> None:
        self._progress = progress

    async def __call__(self) -> ProjectionProgress:
        lag = await self._progress()
        if not lag.exists:
            return ProjectionProgress(started=False)
        if lag.caught_up:
            return ProjectionProgress(started=True)
        if lag.behind_since is None:  # never sent by the server; unknown means hold back
            return ProjectionProgress(started=False)
        return ProjectionProgress(started=True, behind_since=lag.behind_since)
