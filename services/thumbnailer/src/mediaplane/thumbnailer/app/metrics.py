"""Prometheus metrics of the thumbnailer (the default registry: `/metrics` of the ops app)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

JOBS = Counter(
    "mediaplane_thumbnailer_jobs_total",
    "Verified files handled, by kind and outcome (generated, failed, duplicate)",
    ["kind", "outcome"],
)
FAILURES = Counter(
    "mediaplane_thumbnailer_failures_total",
    "thumbnail.failed events recorded, by code",
    ["code"],
)
RETRIES = Counter(
    "mediaplane_thumbnailer_retries_total",
    "Attempts that raised (S3, Postgres, timeouts) and will be retried by the bus",
    ["kind"],
)
DURATION = Histogram(
    "mediaplane_thumbnailer_job_seconds",
    "Time of a job that generated thumbnails: download, render, upload, record",
    ["kind"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
SOURCE_BYTES = Counter(
    "mediaplane_thumbnailer_source_bytes_total",
    "Bytes of originals downloaded",
    ["kind"],
)
VARIANTS = Counter(
    "mediaplane_thumbnailer_variants_total",
    "Variant requests answered, by path (generated now, or cached) and recorded status",
    ["path", "status"],
)
METADATA = Counter(
    "mediaplane_thumbnailer_metadata_total",
    "Verified files whose metadata was extracted, by kind and outcome (extracted, failed, ...)",
    ["kind", "outcome"],
)
