-- The janitor's own projection of what other services announced, fed by the
-- `janitor-projection` consumer, and its work queues. Sweeps claim rows with
-- FOR UPDATE SKIP LOCKED, so several janitors never act on the same row.

-- Exactly-once projection: the event id is recorded in the transaction that
-- applies the event, so a redelivery finds it and changes nothing.
CREATE TABLE janitor_processed_events (
    event_id     uuid        PRIMARY KEY,
    type         text        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now()
);

-- Upload sessions. Events of one session may arrive out of order (a
-- redelivered `opened` after `completed`): a terminal status is never undone,
-- and the columns `opened` brings stay NULL until it arrives.
CREATE TABLE janitor_sessions (
    session_id      uuid        PRIMARY KEY,
    file_id         uuid        NOT NULL,
    status          text        NOT NULL
                    CHECK (status IN ('open', 'completed', 'aborted', 'expired')),
    mode            text        CHECK (mode IN ('single', 'multipart')),
    bucket          text,
    object_key      text,
    upload_id       text,
    expires_at      timestamptz,
    correlation_id  text,
    opened_event_id uuid,
    attempts        int         NOT NULL DEFAULT 0,
    retry_at        timestamptz,
    last_error      text,
    updated_at      timestamptz NOT NULL,
    CHECK (status <> 'open' OR (mode IS NOT NULL AND bucket IS NOT NULL
                                AND object_key IS NOT NULL AND expires_at IS NOT NULL))
);
CREATE INDEX janitor_sessions_open_by_expiry ON janitor_sessions (expires_at)
    WHERE status = 'open';
CREATE INDEX janitor_sessions_by_upload_id ON janitor_sessions (upload_id)
    WHERE upload_id IS NOT NULL;

-- Files to purge: `doomed_by` is set by file.deleted or file.rejected; the
-- row stays, so objects announced later (another stream may lag) are purged too.
CREATE TABLE janitor_files (
    file_id         uuid        PRIMARY KEY,
    doomed_by       text        CHECK (doomed_by IN ('deleted', 'rejected')),
    doomed_at       timestamptz,
    correlation_id  text,
    doom_event_id   uuid,
    attempts        int         NOT NULL DEFAULT 0,
    retry_at        timestamptz,
    last_error      text,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX janitor_files_doomed ON janitor_files (doomed_at) WHERE doomed_at IS NOT NULL;

-- Every object (or key prefix, for HLS segments) a file owns; `purged_at`
-- is set when it was deleted, and cleared when a new event announces it again.
CREATE TABLE janitor_file_objects (
    file_id    uuid        NOT NULL REFERENCES janitor_files (file_id),
    bucket     text        NOT NULL,
    key        text        NOT NULL,
    is_prefix  boolean     NOT NULL,
    kind       text        NOT NULL CHECK (kind IN ('original', 'rendition', 'thumbnail')),
    purged_at  timestamptz,
    PRIMARY KEY (file_id, bucket, key)
);
CREATE INDEX janitor_file_objects_pending ON janitor_file_objects (file_id)
    WHERE purged_at IS NULL;

-- Multipart uploads no session knew, aborted by the reconciliation. The
-- primary key is the claim: a second janitor's insert waits for the first
-- one's transaction and then finds the row.
CREATE TABLE janitor_orphan_uploads (
    bucket      text        NOT NULL,
    upload_id   text        NOT NULL,
    key         text        NOT NULL,
    removed_at  timestamptz NOT NULL,
    PRIMARY KEY (bucket, upload_id)
);
