"""What a handler learns about the message besides the event itself."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from nats.aio.msg import Msg

from mediaplane.contracts import headers as h


@dataclass(frozen=True, kw_only=True)
class Delivery:
    """One delivery of one message to one consumer.

    `delivery_count` starts at 1 and grows with every redelivery; the ids come
    from the headers (set by `Publisher`), so they are known even when the
    body cannot be decoded.
    """

    consumer: str
    stream: str
    subject: str
    stream_sequence: int
    delivery_count: int
    max_deliver: int
    published_at: datetime
    headers: Mapping[str, str]

    @property
    def event_type(self) -> str | None:
        return self.headers.get(h.EVENT_TYPE)

    @property
    def event_id(self) -> str | None:
        return self.headers.get(h.MSG_ID)

    @property
    def correlation_id(self) -> str | None:
        return self.headers.get(h.CORRELATION_ID)

    @property
    def causation_id(self) -> str | None:
        return self.headers.get(h.CAUSATION_ID)

    @property
    def is_last_attempt(self) -> bool:
        """A failure now dead-letters the message instead of retrying it."""
        return self.delivery_count >= self.max_deliver

    @classmethod
    def of(cls, msg: Msg, *, max_deliver: int) -> Delivery:
        md = msg.metadata
        return cls(
            consumer=md.consumer,
            stream=md.stream,
            subject=msg.subject,
            stream_sequence=md.sequence.stream,
            delivery_count=md.num_delivered,
            max_deliver=max_deliver,
            published_at=md.timestamp,
            headers=dict(msg.headers or {}),
        )
