-- Events waiting for the relay to publish them to JetStream. A row is written
-- in the same statement as its event_log row and deleted once JetStream acked it.
CREATE TABLE outbox (
    position  bigint PRIMARY KEY,  -- event_log.position of the event
    stream_id text   NOT NULL,
    subject   text   NOT NULL
);

-- The relay takes the oldest row of each stream ("head") and the rows after it.
CREATE INDEX outbox_stream_order ON outbox (stream_id, position);


-- Appends NOTIFY channel `eventlog_outbox` when they find the outbox empty
-- (store.py explains why not on every append); relays LISTEN to it.
