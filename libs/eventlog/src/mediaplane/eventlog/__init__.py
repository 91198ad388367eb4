"""The write side of every producing service: event log, outbox relay, the one write path.

See the package README for the schema and the guarantees.
"""

from mediaplane.eventlog.database import Pool, open_pool
from mediaplane.eventlog.errors import ConcurrencyError, MigrationError
from mediaplane.eventlog.handle import (
    Handled,
    InlineProjection,
    TransactionStep,
    current_state,
    handle,
)
from mediaplane.eventlog.metrics import RelayMetrics
from mediaplane.eventlog.migrator import EVENTLOG_MIGRATIONS, MigrationSource, migrate
from mediaplane.eventlog.records import LoadedStream, RecordedEvent
from mediaplane.eventlog.relay import OutboxRelay
from mediaplane.eventlog.store import ANY, AppendGuard, EventStore, ExpectedVersion, GuardedAppend

__all__ = [
    "ANY",
    "EVENTLOG_MIGRATIONS",
    "AppendGuard",
    "ConcurrencyError",
    "EventStore",
    "ExpectedVersion",
    "GuardedAppend",
    "Handled",
    "InlineProjection",
    "LoadedStream",
    "MigrationError",
    "MigrationSource",
    "OutboxRelay",
    "Pool",
    "RecordedEvent",
    "RelayMetrics",
    "TransactionStep",
    "current_state",
    "handle",
    "migrate",
    "open_pool",
]
