-- Moderation (issue 16), projected from the gateway's file.reported/report_dismissed/
-- taken_down/restored events: a file's takedown state, and every report with its outcome.
CREATE TABLE file_moderation (
    file_id     uuid        PRIMARY KEY,
    owner       text        NOT NULL,
    taken_down  boolean     NOT NULL,
    -- The latest takedown's or restore's reason and moderator.
    reason      text,
    moderator   text,
    changed_at  timestamptz,
    reports     integer     NOT NULL,
    updated_at  timestamptz NOT NULL
);
-- Repeated offenders: takedowns per owner.
CREATE INDEX file_moderation_taken_down ON file_moderation (owner) WHERE taken_down;

CREATE TABLE reports (
    report_id   uuid        PRIMARY KEY,
    file_id     uuid        NOT NULL,
    owner       text        NOT NULL,
    reporter    text        NOT NULL,
    reason      text        NOT NULL,
    reported_at timestamptz NOT NULL,
    status      text        NOT NULL CHECK (status IN ('open', 'dismissed', 'actioned')),
    resolved_by text,
    resolved_at timestamptz
);
-- The moderators' queue: oldest open reports first.
CREATE INDEX reports_queue ON reports (status, reported_at, report_id);
CREATE INDEX reports_by_file ON reports (file_id);

-- The admin audit log reads the ledger newest first (keyset on occurred_at, event_id).
CREATE INDEX ledger_by_time ON ledger (occurred_at DESC, event_id DESC);
