-- How far each catch-up projection has read event_log, in (transaction_id,
-- position) order. Updated in the same transaction as the projection's writes.
CREATE TABLE projection_checkpoints (
    name           text        PRIMARY KEY,
    transaction_id xid8        NOT NULL DEFAULT '0',
    position       bigint      NOT NULL DEFAULT 0,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
