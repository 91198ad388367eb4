-- analytics' own database: what it knows of files (from MEDIA), each view's folded
-- state (from BEACONS) and the day rollups the API reads.
--
-- Retention: raw beacons live in the BEACONS stream for 30 days (its max_age);
-- `views` rows for 90 days (`analytics prune`), the retention curves' source;
-- the day rollups (`file_day`, `owner_day`, `platform_day`) are kept for good.

-- From file.verified (owner), transcode.completed (duration), file.deleted.
CREATE TABLE files (
    file_id   uuid PRIMARY KEY,
    owner     text,
    duration  double precision,
    deleted   boolean NOT NULL DEFAULT false
);

-- Beacon batches already folded (their event ids): redelivery is a no-op.
CREATE TABLE applied_batches (
    event_id   uuid PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE views (
    view_id           uuid PRIMARY KEY,
    file_id           uuid NOT NULL,
    owner             text NOT NULL,
    viewer            text NOT NULL,
    day               date NOT NULL,
    started_at        timestamptz NOT NULL,
    last_at           timestamptz NOT NULL,
    state             text NOT NULL,
    rendition         text,
    startup_ms        integer,
    playing_seconds   double precision NOT NULL,
    rebuffer_seconds  double precision NOT NULL,
    rebuffer_count    integer NOT NULL,
    errors            integer NOT NULL,
    max_position      double precision NOT NULL,
    rendition_seconds jsonb NOT NULL
);
CREATE INDEX views_file_day ON views (file_id, day);
CREATE INDEX views_owner_day ON views (owner, day);
CREATE INDEX views_day ON views (day);

-- One rollup shape for the three keys: a file's day, an owner's day, the platform's day.
CREATE TABLE file_day (
    file_id           uuid NOT NULL,
    owner             text NOT NULL,
    day               date NOT NULL,
    views             integer NOT NULL,
    viewers           integer NOT NULL,
    watch_seconds     double precision NOT NULL,
    rebuffer_seconds  double precision NOT NULL,
    startup_ms_sum    bigint NOT NULL,
    startup_count     integer NOT NULL,
    error_views       integer NOT NULL,
    rendition_seconds jsonb NOT NULL,
    PRIMARY KEY (file_id, day)
);
CREATE INDEX file_day_day ON file_day (day);

CREATE TABLE owner_day (
    owner             text NOT NULL,
    day               date NOT NULL,
    views             integer NOT NULL,
    viewers           integer NOT NULL,
    watch_seconds     double precision NOT NULL,
    rebuffer_seconds  double precision NOT NULL,
    startup_ms_sum    bigint NOT NULL,
    startup_count     integer NOT NULL,
    error_views       integer NOT NULL,
    rendition_seconds jsonb NOT NULL,
    PRIMARY KEY (owner, day)
);

CREATE TABLE platform_day (
    day               date PRIMARY KEY,
    views             integer NOT NULL,
    viewers           integer NOT NULL,
    watch_seconds     double precision NOT NULL,
    rebuffer_seconds  double precision NOT NULL,
    startup_ms_sum    bigint NOT NULL,
    startup_count     integer NOT NULL,
    error_views       integer NOT NULL,
    rendition_seconds jsonb NOT NULL
);
