-- Accounts (issue 14), projected from the identity service's `user.*` events in the
-- ledger: the API refuses a suspended or deleted user's calls. Keyed by the user's
-- stream (`user-<id>`); `owner` is the user id, as tokens carry it in `sub`.
CREATE TABLE accounts (
    stream_id  text        PRIMARY KEY,
    owner      text        NOT NULL,
    status     text        NOT NULL CHECK (status IN ('active', 'suspended', 'deleted')),
    plan       text,
    updated_at timestamptz NOT NULL
);
-- The API processes reload the blocked set every second.
CREATE INDEX accounts_blocked ON accounts (owner) WHERE status <> 'active';
-- Refreshing an account reads its user events only.
CREATE INDEX ledger_by_user_stream ON ledger (stream_id) WHERE type LIKE 'user.%';

-- User events already in the ledger are projected by
-- `python -m mediaplane.catalog projections rebuild accounts` (the same SQL as ingestion).
