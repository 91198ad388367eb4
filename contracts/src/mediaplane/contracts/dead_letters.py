"""Dead letters (stream `deadletter-<DLQ stream>-<DLQ sequence>`): an admin's actions on
a message parked in the DLQ, recorded by the upload gateway, which hosts the admin
dead-letter API. They are the audit trail: the catalog's admin audit log shows them."""

from __future__ import annotations

from mediaplane.contracts.envelope import Event


class DeadLetterRedriven(Event, tag="deadletter.redriven.v1", frozen=True, kw_only=True):
    """The parked message was published again on its original subject (as
    `redrive_msg_id`, landing at `stream_sequence`) and removed from the DLQ."""

    dlq_sequence: int
    consumer: str
    original_subject: str
    # The parked event's id (its original `Nats-Msg-Id`), when it had one.
    original_msg_id: str | None = None
    reason: str
    redriven_by: str
    redrive_msg_id: str
    stream_sequence: int


class DeadLetterDiscarded(Event, tag="deadletter.discarded.v1", frozen=True, kw_only=True):
    """The parked message was removed from the DLQ without being handled again."""

    dlq_sequence: int
    consumer: str
    original_subject: str
    original_msg_id: str | None = None
    reason: str
    discarded_by: str
    note: str | None = None
