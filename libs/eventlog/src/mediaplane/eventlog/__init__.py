"""The write side of every producing service: event log, outbox relay, deciders, projectors.

See the package README for the schema and the guarantees.
"""

from mediaplane.eventlog.database import Pool, open_pool
from mediaplane.eventlog.decider import Decider, Handled, InlineProjection, handle
from mediaplane.eventlog.errors import ConcurrencyError, MigrationError
from mediaplane.eventlog.metrics import RelayMetrics
from mediaplane.eventlog.migrator import EVENTLOG_MIGRATIONS, MigrationSource, migrate
from mediaplane.eventlog.projector import Projection, Projector
from mediaplane.eventlog.records import LoadedStream, RecordedEvent
from mediaplane.eventlog.relay import OutboxRelay
from mediaplane.eventlog.store import ANY, AppendGuard, EventStore, ExpectedVersion, GuardedAppend

__all__ = [
    "ANY",
    "EVENTLOG_MIGRATIONS",
    "AppendGuard",
    "ConcurrencyError",
    "Decider",
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
    "Projection",
    "Projector",
    "RecordedEvent",
    "RelayMetrics",
    "handle",
    "migrate",
    "open_pool",
]
