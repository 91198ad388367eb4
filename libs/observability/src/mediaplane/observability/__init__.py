"""mediaplane observability: JSON logs, tracing, health and metrics helpers."""

from mediaplane.observability.health import HealthChecks, Readiness
from mediaplane.observability.logs import bind_context, configure_logging
from mediaplane.observability.tracing import configure_tracing

__all__ = ["HealthChecks", "Readiness", "bind_context", "configure_logging", "configure_tracing"]
