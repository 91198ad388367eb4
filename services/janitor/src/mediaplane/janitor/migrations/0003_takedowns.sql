-- Moderation (issue 16): a file taken down and not restored within the takedown
-- retention is purged like a deleted one. The latest decision (takedown or restore,
-- by (occurred_at, event_id)) wins, whatever order the events arrive in.
ALTER TABLE janitor_files
    ADD COLUMN taken_down_at            timestamptz,
    ADD COLUMN moderated_at             timestamptz,
    ADD COLUMN moderation_event_id      uuid,
    ADD COLUMN moderation_correlation_id text;
CREATE INDEX janitor_files_taken_down ON janitor_files (taken_down_at)
    WHERE taken_down_at IS NOT NULL;
