-- Generations of a file's renditions that a newer completion superseded: their folders
-- (`<file_id>/<job_id>/` in the renditions bucket) stay readable for a grace period, so a
-- viewer in the middle of the old ladder can finish it, and a periodic sweep of the worker
-- deletes them once `delete_after` has passed (then the row). Rows are written in the
-- transaction that records the new `transcode.completed`.

CREATE TABLE retired_generations (
    file_id       uuid        NOT NULL,
    job_id        uuid        NOT NULL,
    prefix        text        NOT NULL,
    retired_at    timestamptz NOT NULL,
    delete_after  timestamptz NOT NULL CHECK (delete_after > retired_at),
    PRIMARY KEY (file_id, job_id)
);

-- The sweep takes the folders that are due, oldest first.
CREATE INDEX retired_generations_due ON retired_generations (delete_after);

-- When a job's generation was retired: a job is retired once, so a later completion of the
-- file (or a redelivered one) never puts a swept folder back in the table or moves its
-- deadline.
ALTER TABLE transcode_jobs ADD COLUMN retired_at timestamptz;
