"""Prometheus metrics of the janitor's sweeps and projection."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class JanitorMetrics:
    """Pass the process registry to export them; by default they live in a private one.

    A private default keeps several janitors in one process (tests) from
    clashing on metric names in the global registry.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.sessions_expired = Counter(
            "janitor_sessions_expired_total",
            "Upload sessions expired (multipart upload aborted or single-PUT object deleted)",
            registry=self.registry,
        )
        self.orphans_removed = Counter(
            "janitor_orphans_removed_total",
            "Multipart uploads no session knew, aborted",
            registry=self.registry,
        )
        self.files_purged = Counter(
            "janitor_files_purged_total",
            "Purges of deleted or rejected files (a file announced late is purged again)",
            registry=self.registry,
        )
        self.objects_deleted = Counter(
            "janitor_objects_deleted_total",
            "Objects deleted by purges and expiries",
            registry=self.registry,
        )
        self.bytes_freed = Counter(
            "janitor_bytes_freed_total",
            "Bytes freed in object storage, by action",
            ["action"],
            registry=self.registry,
        )
        self.failures = Counter(
            "janitor_action_failures_total",
            "Cleanups that failed and were deferred, or sweeps that stopped, by sweep",
            ["sweep"],
            registry=self.registry,
        )
        self.projection_lag = Gauge(
            "janitor_projection_lag_seconds",
            "Age of the oldest event the projection may not have read (0: caught up)",
            registry=self.registry,
        )
        self.projected = Counter(
            "janitor_projected_events_total",
            "Events applied to the janitor's projection, by type",
            ["type"],
            registry=self.registry,
        )
