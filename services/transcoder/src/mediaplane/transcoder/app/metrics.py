"""Prometheus metrics of the transcoder worker: jobs, durations, failures by code."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_JOB_BUCKETS = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200)


class TranscoderMetrics:
    """Pass the process's registry to export them; by default they live in a private one
    (several workers in one test process must not clash on names)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.jobs = Counter(
            "mediaplane_transcoder_jobs_total",
            "Job attempts by outcome: completed, failed, skipped (duplicate, finished, not a"
            " video), retried (transient error), interrupted (shutdown or lease lost),"
            " deferred (the owner's slots are taken)",
            ["outcome"],
            registry=self.registry,
        )
        self.failures = Counter(
            "mediaplane_transcoder_failures_total",
            "Jobs that ended with transcode.failed, by code",
            ["code"],
            registry=self.registry,
        )
        self.job_seconds = Histogram(
            "mediaplane_transcoder_job_seconds",
            "Wall time of a job attempt (download, probe, encode, check, upload)",
            ["outcome"],
            buckets=_JOB_BUCKETS,
            registry=self.registry,
        )
        self.encode_seconds = Histogram(
            "mediaplane_transcoder_encode_seconds",
            "Wall time of the ffmpeg ladder encode",
            buckets=_JOB_BUCKETS,
            registry=self.registry,
        )
        self.media_seconds = Counter(
            "mediaplane_transcoder_media_seconds_total",
            "Seconds of source video transcoded successfully",
            registry=self.registry,
        )
        self.chunks = Counter(
            "mediaplane_transcoder_chunks_total",
            "Chunk attempts of chunked ladders (any replica's jobs) by outcome: done, failed,"
            " skipped (already done, or its job ended), retried",
            ["outcome"],
            registry=self.registry,
        )
        self.in_progress = Gauge(
            "mediaplane_transcoder_jobs_in_progress",
            "Jobs this process is working on",
            registry=self.registry,
        )
