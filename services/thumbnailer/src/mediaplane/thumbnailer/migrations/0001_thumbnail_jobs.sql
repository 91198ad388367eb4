-- One row per file the thumbnailer took on: the idempotency key of its consumer
-- (a finished job is never redone, whatever the redeliveries) and what operators
-- look at (attempts, failure codes). The outcome columns are written in the
-- same transaction as the `thumbnail.*` event they mirror.

CREATE TABLE thumbnail_jobs (
    file_id          uuid        PRIMARY KEY,
    kind             text        NOT NULL CHECK (kind IN ('image', 'video', 'pdf')),
    media_type       text        NOT NULL,
    source_event_id  uuid        NOT NULL,
    status           text        NOT NULL CHECK (status IN ('running', 'generated', 'failed')),
    attempts         integer     NOT NULL DEFAULT 1 CHECK (attempts >= 1),
    failure_code     text,
    failure_detail   text,
    thumbnail_count  integer,
    started_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    CHECK ((status = 'failed') = (failure_code IS NOT NULL))
);
CREATE INDEX thumbnail_jobs_unfinished ON thumbnail_jobs (started_at) WHERE status = 'running';
