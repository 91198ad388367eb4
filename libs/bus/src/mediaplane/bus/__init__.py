"""mediaplane's event bus on NATS JetStream.

Topology (`provision`), publishing (`Publisher`), and durable pull consumers
with retry, backoff and dead-lettering (`Bus.consumer`). See README.md.
"""

from mediaplane.bus.batch import BatchHandler, Decoder, decode_event
from mediaplane.bus.bus import Bus
from mediaplane.bus.consumer import ConsumerSpec, EventHandler, RawHandler
from mediaplane.bus.dead_letter import (
    DLQ_ORIGINAL_MSG_ID,
    DeadLetter,
    dead_letter_subject,
    read_dead_letters,
)
from mediaplane.bus.delivery import Delivery
from mediaplane.bus.headers import envelope_headers
from mediaplane.bus.publisher import Publisher
from mediaplane.bus.retry import Defer, PoisonEvent, RetryPolicy
from mediaplane.bus.settings import BusSettings
from mediaplane.bus.topology import (
    consumer_config,
    dlq_stream_config,
    ensure_consumer,
    media_stream_config,
    provision,
)

__all__ = [
    "DLQ_ORIGINAL_MSG_ID",
    "BatchHandler",
    "Bus",
    "BusSettings",
    "ConsumerSpec",
    "DeadLetter",
    "Decoder",
    "Defer",
    "Delivery",
    "EventHandler",
    "PoisonEvent",
    "Publisher",
    "RawHandler",
    "RetryPolicy",
    "consumer_config",
    "dead_letter_subject",
    "decode_event",
    "dlq_stream_config",
    "ensure_consumer",
    "envelope_headers",
    "media_stream_config",
    "provision",
    "read_dead_letters",
]
