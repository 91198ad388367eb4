"""How often a failing message is retried, how long to wait between tries, and deferral."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """`max_deliver` attempts in all; after failed attempt n, wait `backoff[n-1]` seconds.

    When there are more attempts than backoff steps, the last step repeats.
    The delay is applied with a NAK delay rather than the consumer's server-side
    `backoff` list: with `backoff` set, JetStream uses `backoff[0]` as the ack
    deadline of the first delivery, so a short first retry delay would also cut
    short the time a healthy handler may run before it is redelivered.
    """

    max_deliver: int = 5
    backoff: Sequence[float] = (1.0, 5.0, 30.0)
    # Deliveries a handler may spend on `Defer` on top of `max_deliver`. JetStream
    # counts every delivery alike, so the two share one budget: a consumer that
    # defers counts its own failed attempts (see `Defer`).
    max_deferrals: int = 0

    def __post_init__(self) -> None:
        if self.max_deliver < 1:
            raise ValueError("max_deliver must be >= 1")
        if self.max_deferrals < 0:
            raise ValueError("max_deferrals must be >= 0")
        if any(step < 0 for step in self.backoff):
            raise ValueError("backoff delays must be >= 0")

    @property
    def deliveries(self) -> int:
        """Deliveries a message gets in all before it is dead-lettered."""
        return self.max_deliver + self.max_deferrals

    def delay(self, delivery_count: int) -> float:
        """Seconds before redelivering a message whose attempt `delivery_count` failed."""
        if not self.backoff:
            return 0.0
        return float(self.backoff[min(delivery_count, len(self.backoff)) - 1])

    def exhausted(self, delivery_count: int) -> bool:
        """True when delivery `delivery_count` was the last one allowed."""
        return delivery_count >= self.deliveries

    @property
    def server_max_deliver(self) -> int:
        """The consumer's `max_deliver`: one more than the deliveries we allow.

        The spare delivery only happens when the last attempt never answered
        (the worker died or overran `ack_wait`); the consumer then dead-letters
        it instead of the server silently giving up on it.
        """
        return self.deliveries + 1


class Defer(Exception):
    """Raised by a handler that cannot take the message *now* (a capacity limit, not a
    failure): it is NAKed with `delay` and redelivered then, with no error logged.

    A consumer that defers is registered with `max_deferrals`: the deliveries
    spent waiting. They are not failed attempts, but JetStream's delivery count
    (and so `Delivery.delivery_count`) includes them; a handler that must tell
    its last real attempt counts its attempts in its own store.
    """

    def __init__(self, delay: float, reason: str) -> None:
        if delay < 0:
            raise ValueError("delay must be >= 0")
        super().__init__(reason)
        self.delay = delay
        self.reason = reason


class PoisonEvent(Exception):
    """Raised by a handler: this event can never be handled; dead-letter it now.

    For an event that decodes but must not be trusted (e.g. an object key
    that does not belong to the event's owner): retrying it `max_deliver`
    times would only repeat the refusal. The message is dead-lettered with
    `poison: <reason>` in `Mp-Dlq-Reason`.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
