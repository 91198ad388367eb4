-- One row per transcode job: the idempotency key (file + source hash), the
-- claim a worker holds while it runs the job (a lease it keeps renewing), and
-- the outcome, written in the same transaction as the job's events.

CREATE TABLE transcode_jobs (
    file_id         uuid        NOT NULL,
    source_sha256   text        NOT NULL CHECK (source_sha256 ~ '^[0-9a-f]{64}$'),
    job_id          uuid        NOT NULL UNIQUE,
    -- The file.verified event whose deliveries own the job; a different event
    -- for the same file and bytes is a duplicate and starts nothing.
    event_id        uuid        NOT NULL,
    status          text        NOT NULL
                    CHECK (status IN ('queued', 'running', 'completed', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    worker          text,
    lease_until     timestamptz,
    failure_code    text,
    failure_detail  text,
    master_playlist_key text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (file_id, source_sha256)
);

-- Operators look for stuck and failed jobs.
CREATE INDEX transcode_jobs_unfinished ON transcode_jobs (updated_at)
    WHERE status IN ('queued', 'running');
