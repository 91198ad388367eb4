"""Message header names every producer sets and every consumer reads on JetStream."""

MSG_ID = "Nats-Msg-Id"  # = event_id: JetStream drops re-publishes within the duplicate window
EVENT_TYPE = "Mp-Event-Type"  # the event tag, so consumers can skip unknown types before decoding
STREAM_ID = "Mp-Stream-Id"
CORRELATION_ID = "Mp-Correlation-Id"
CAUSATION_ID = "Mp-Causation-Id"
PRODUCER = "Mp-Producer"
# W3C trace context (`traceparent`, `tracestate`) is injected by OpenTelemetry's propagator.

# Dead-letter headers, added when a message is copied to the DLQ stream.
DLQ_REASON = "Mp-Dlq-Reason"
DLQ_CONSUMER = "Mp-Dlq-Consumer"
DLQ_DELIVERIES = "Mp-Dlq-Deliveries"
DLQ_ORIGINAL_SUBJECT = "Mp-Dlq-Original-Subject"
DLQ_ORIGINAL_SEQUENCE = "Mp-Dlq-Original-Sequence"
