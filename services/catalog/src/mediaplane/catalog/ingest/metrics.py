"""Prometheus metrics of the ingest path (served by the ingest process's `/metrics`)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

EVENTS = Counter(
    "mediaplane_catalog_events",
    "Messages handled by the catalog ingest, by outcome",
    ["outcome"],  # ingested | duplicate | retried | dead_lettered
)
BATCH_SECONDS = Histogram(
    "mediaplane_catalog_batch_seconds",
    "Time to write one batch to the ledger and projections (one transaction)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
