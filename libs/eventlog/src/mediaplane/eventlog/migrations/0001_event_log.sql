-- The append-only event log: one row per event, never updated or deleted.
CREATE TABLE event_log (
    position       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream_id      text        NOT NULL,
    version        integer     NOT NULL CHECK (version > 0),
    event_id       uuid        NOT NULL,
    type           text        NOT NULL,
    data           jsonb       NOT NULL,
    metadata       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    -- The writing transaction: catch-up readers only read rows of transactions
    -- older than every transaction still running (see projector.py), because
    -- `position` is assigned before commit and commits land out of order.
    transaction_id xid8        NOT NULL DEFAULT pg_current_xact_id(),
    CONSTRAINT event_log_event_id_key UNIQUE (event_id),
    -- Optimistic concurrency: two writers appending the same version conflict.
    CONSTRAINT event_log_stream_version_key UNIQUE (stream_id, version)
);

CREATE INDEX event_log_transaction_order ON event_log (transaction_id, position);

CREATE FUNCTION event_log_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'event_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;

-- Statement-level, so even an UPDATE or DELETE matching no row fails loudly.
CREATE TRIGGER event_log_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON event_log
    FOR EACH STATEMENT EXECUTE FUNCTION event_log_refuse_change();
