"""Prometheus metrics of the mail outbox's sender (the relay role exports them)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class MailMetrics:
    """Pass the process registry to export them; by default they live in a private one, so
    the API role (which builds a sender it never runs) and tests register nothing global."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.sent = Counter(
            "identity_mails_sent_total",
            "Mails the mail server took, by kind",
            ["kind"],
            registry=self.registry,
        )
        self.failed = Counter(
            "identity_mails_failed_total",
            "Mails given up for good, by kind and reason (rejected_permanently: a 5xx reply"
            " to RCPT or DATA; retries_exhausted: the attempts or age bound; expired: its"
            " link expired before it went out, dropped)",
            ["kind", "reason"],
            registry=self.registry,
        )
        self.pending = Gauge(
            "identity_mail_outbox_pending",
            "Mails waiting to be sent (due now or waiting for a retry)",
            registry=self.registry,
        )
        self.failed_kept = Gauge(
            "identity_mail_outbox_failed",
            "Mails failed for good and kept for an operator (until dismissed)",
            registry=self.registry,
        )
        self.oldest_pending_age = Gauge(
            "identity_mail_outbox_oldest_pending_age_seconds",
            "Age of the oldest mail waiting to be sent (0: none waits)",
            registry=self.registry,
        )
