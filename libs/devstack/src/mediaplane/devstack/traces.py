"""Reading a trace back from the local stack's trace backend (its query API).

The platform test checks with it that one upload is one trace, and the latency
benchmark splits each measured wait into the hops of that trace.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

# Phoenix files spans without a project attribute under this one.
_PROJECT = "default"


@dataclass(frozen=True, kw_only=True)
class SpanRecord:
    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    service: str  # `<service>-<role>` when the process has a role
    start_ns: int
    end_ns: int

    @property
    def duration_ms(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6


def _record(raw: dict[str, Any]) -> SpanRecord:
    # OTLP JSON: each value is an object with one field set (`string_value`, ...).
    attributes = {
        str(a["key"]): next((v for v in a["value"].values() if v is not None), None)
        for a in raw.get("attributes") or []
    }
    service = str(attributes.get("service.name", "?"))
    role = attributes.get("mediaplane.role")
    parent = raw.get("parent_span_id")
    return SpanRecord(
        trace_id=str(raw["trace_id"]),
        span_id=str(raw["span_id"]),
        parent_id=str(parent) if parent else None,
        name=str(raw["name"]),
        service=f"{service}-{role}" if role else service,
        start_ns=int(raw["start_time_unix_nano"]),
        end_ns=int(raw["end_time_unix_nano"]),
    )


def spans(traces_url: str, trace_id: str) -> list[SpanRecord]:
    """Every span the backend holds for `trace_id`, oldest first."""
    found: list[SpanRecord] = []
    cursor: str | None = None
    with httpx.Client(base_url=traces_url, timeout=10) as http:
        while True:
            params: dict[str, str | int] = {"trace_id": trace_id, "limit": 1000}
            if cursor:
                params["cursor"] = cursor
            response = http.get(f"/v1/projects/{_PROJECT}/spans/otlpv1", params=params)
            if response.status_code == 404:  # no span at all yet: no project either
                return []
            response.raise_for_status()
            page = response.json()
            found += [_record(raw) for raw in page["data"]]
            cursor = page.get("next_cursor")
            if not cursor:
                return sorted(found, key=lambda s: s.start_ns)


def wait_for_spans(
    traces_url: str, trace_id: str, *, services: set[str], timeout: float
) -> list[SpanRecord]:
    """The trace once spans of every one of `services` arrived (exporters batch them), or
    what arrived by `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        found = spans(traces_url, trace_id)
        if services <= {s.service for s in found} or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def trace_id_of(traceresponse: str) -> str:
    """The trace id in a `traceresponse` header (`00-<trace id>-<span id>-<flags>`)."""
    parts = traceresponse.split("-")
    if len(parts) != 4 or len(parts[1]) != 32:
        raise ValueError(f"not a traceresponse header: {traceresponse!r}")
    return parts[1]


def ui_url(traces_url: str, trace_id: str) -> str:
    """Where the trace backend's UI shows the trace (it redirects to the trace's page)."""
    return f"{traces_url}/redirects/traces/{trace_id}"
