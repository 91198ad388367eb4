-- Immutable originals: clients write a staging object (`<owner>/<file_id>/upload`)
-- that the gateway's verifier copies to the original and then deletes. A client
-- may write the staging key again while its presigned URL lives, so the
-- reconciliation sweeps it once the session's URLs are dead (after `expires_at`)
-- and the file is settled (verified, rejected or deleted).

-- When the staging object of a completed or aborted session was swept.
ALTER TABLE janitor_sessions ADD COLUMN staging_swept_at timestamptz;
CREATE INDEX janitor_sessions_staging_unswept ON janitor_sessions (expires_at)
    WHERE staging_swept_at IS NULL AND status IN ('completed', 'aborted');

-- file.verified seen: the staging object is no longer needed by anyone.
ALTER TABLE janitor_files ADD COLUMN verified_at timestamptz;

-- A deleted file's staging object is purged with its original.
ALTER TABLE janitor_file_objects DROP CONSTRAINT janitor_file_objects_kind_check;
ALTER TABLE janitor_file_objects ADD CONSTRAINT janitor_file_objects_kind_check
    CHECK (kind IN ('original', 'staging', 'rendition', 'thumbnail'));
