-- A chunked ladder still being encoded (transcode.segments_ready.v1): the latest step of the
-- job the latest transcode.started began, so playback can start before transcode.completed.
CREATE TABLE live_ladders (
    file_id             uuid             PRIMARY KEY,
    job_id              uuid             NOT NULL,
    bucket              text             NOT NULL,
    master_playlist_key text             NOT NULL,
    playlists           jsonb            NOT NULL,
    ready               double precision NOT NULL,
    chunks_done         int              NOT NULL,
    chunks_planned      int              NOT NULL,
    ended               boolean          NOT NULL,
    updated_at          timestamptz      NOT NULL
);
