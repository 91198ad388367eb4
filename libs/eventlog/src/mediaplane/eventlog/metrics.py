"""Prometheus metrics of the outbox relay."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class RelayMetrics:
    """Pass the service's registry to export them; by default they live in a private one.

    A private default keeps several relays in one process (tests) from
    clashing on metric names in the global registry.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.published = Counter(
            "eventlog_relay_published_total",
            "Events published to JetStream (acknowledged) and removed from the outbox",
            registry=self.registry,
        )
        self.failures = Counter(
            "eventlog_relay_failures_total",
            "Relay rounds that failed (NATS or Postgres unavailable, publish not acknowledged)",
            registry=self.registry,
        )
        self.lag = Gauge(
            "eventlog_outbox_lag_seconds",
            "Age of the oldest event in the last claimed outbox batch (0: outbox empty)",
            registry=self.registry,
        )
