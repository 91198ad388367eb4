-- The catalog's own database: the ledger of every event it consumed, and the
-- projections (pure functions of the ledger) the query API reads.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Append-only: one row per event id, whatever the number of deliveries.
-- `tx` is the inserting transaction, so a rebuild can find the rows its
-- snapshot did not see (commits land out of `seq` order).
CREATE TABLE ledger (
    seq             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        uuid        NOT NULL UNIQUE,
    type            text        NOT NULL,
    known           boolean     NOT NULL,
    stream_id       text        NOT NULL,
    occurred_at     timestamptz NOT NULL,
    file_id         uuid,
    session_id      uuid,
    tag             text,
    subject         text        NOT NULL,
    stream_sequence bigint,
    data            jsonb       NOT NULL,
    ingested_at     timestamptz NOT NULL DEFAULT now(),
    tx              xid8        NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX ledger_by_file ON ledger (file_id) WHERE file_id IS NOT NULL;
CREATE INDEX ledger_by_session ON ledger (session_id) WHERE session_id IS NOT NULL;
CREATE INDEX ledger_by_tag ON ledger (tag) WHERE tag IS NOT NULL;
CREATE INDEX ledger_by_tx ON ledger (tx);

CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only (% refused)', TG_OP;
END $$;
CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

CREATE TABLE files (
    file_id             uuid        PRIMARY KEY,
    owner               text        NOT NULL,
    filename            text        NOT NULL,
    size                bigint      NOT NULL,
    content_type        text        NOT NULL,
    media_type          text,
    kind                text,
    sha256              text,
    bucket              text        NOT NULL,
    object_key          text        NOT NULL,
    status              text        NOT NULL
                        CHECK (status IN ('uploading', 'verifying', 'ready', 'rejected', 'deleted')),
    rejection_code      text,
    transcode_status    text        CHECK (transcode_status IN ('pending', 'running', 'ready', 'failed')),
    transcode_error     text,
    thumbnail_status    text        CHECK (thumbnail_status IN ('pending', 'ready', 'failed')),
    thumbnail_error     text,
    renditions_bucket   text,
    master_playlist_key text,
    duration            double precision,
    purged              boolean     NOT NULL,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL
);
-- The list: newest first, keyset on (created_at, file_id); deleted files only on request.
CREATE INDEX files_owner_live ON files (owner, created_at DESC, file_id DESC)
    WHERE status <> 'deleted';
CREATE INDEX files_owner_status ON files (owner, status, created_at DESC, file_id DESC);
CREATE INDEX files_all ON files (created_at DESC, file_id DESC);
CREATE INDEX files_filename_trgm ON files USING gin (filename gin_trgm_ops);

CREATE TABLE file_tags (
    file_id uuid NOT NULL,
    tag     text NOT NULL,
    PRIMARY KEY (file_id, tag)
);
CREATE INDEX file_tags_by_tag ON file_tags (tag, file_id);

CREATE TABLE tags (
    name       text        PRIMARY KEY,
    created_by text        NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE renditions (
    file_id           uuid             NOT NULL,
    name              text             NOT NULL,
    width             integer          NOT NULL,
    height            integer          NOT NULL,
    bandwidth         bigint           NOT NULL,
    average_bandwidth bigint           NOT NULL,
    codecs            text             NOT NULL,
    frame_rate        double precision NOT NULL,
    bucket            text             NOT NULL,
    playlist_key      text             NOT NULL,
    segment_count     integer          NOT NULL,
    PRIMARY KEY (file_id, name)
);

CREATE TABLE thumbnails (
    file_id uuid    NOT NULL,
    name    text    NOT NULL,
    width   integer NOT NULL,
    height  integer NOT NULL,
    format  text    NOT NULL,
    bucket  text    NOT NULL,
    key     text    NOT NULL,
    size    bigint  NOT NULL,
    PRIMARY KEY (file_id, name)
);

CREATE TABLE upload_sessions (
    session_id uuid        PRIMARY KEY,
    file_id    uuid        NOT NULL,
    owner      text        NOT NULL,
    filename   text        NOT NULL,
    size       bigint      NOT NULL,
    mode       text        NOT NULL,
    status     text        NOT NULL CHECK (status IN ('open', 'completed', 'aborted', 'expired')),
    expires_at timestamptz NOT NULL,
    opened_at  timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX upload_sessions_by_owner ON upload_sessions (owner, status, opened_at DESC, session_id DESC);
