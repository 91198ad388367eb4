-- Inline projections of the gateway, written in the same transaction as the
-- events they follow: upload sessions and files per owner, for quotas and
-- for answering "which of my uploads are open?" without replaying streams.

CREATE TABLE gateway_sessions (
    session_id  uuid        PRIMARY KEY,
    file_id     uuid        NOT NULL,
    owner       text        NOT NULL,
    mode        text        NOT NULL CHECK (mode IN ('single', 'multipart')),
    size        bigint      NOT NULL CHECK (size >= 0),
    status      text        NOT NULL CHECK (status IN ('open', 'completed', 'aborted')),
    expires_at  timestamptz NOT NULL,
    opened_at   timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX gateway_sessions_open_by_owner ON gateway_sessions (owner, expires_at)
    WHERE status = 'open';

CREATE TABLE gateway_files (
    file_id     uuid        PRIMARY KEY,
    owner       text        NOT NULL,
    size        bigint      NOT NULL CHECK (size >= 0),
    status      text        NOT NULL
                CHECK (status IN ('uploaded', 'verified', 'rejected', 'deleted')),
    updated_at  timestamptz NOT NULL
);
CREATE INDEX gateway_files_live_by_owner ON gateway_files (owner)
    WHERE status IN ('uploaded', 'verified');
