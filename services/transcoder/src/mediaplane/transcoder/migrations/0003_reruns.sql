-- Admin re-runs (file.reprocess_requested.v2, target `transcode`): each request is a job
-- of its own, a new generation of the file's renditions under its own job folder. The
-- idempotency key becomes (file, source hash, request): `request_id` is the request's
-- event id, and the nil UUID for the job `file.verified` asks for (every job before this
-- migration), so a redelivered verification still finds its one job.

ALTER TABLE transcode_jobs
    ADD COLUMN request_id uuid NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000';

ALTER TABLE transcode_jobs DROP CONSTRAINT transcode_jobs_pkey;
ALTER TABLE transcode_jobs ADD PRIMARY KEY (file_id, source_sha256, request_id);
