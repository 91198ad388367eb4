-- What the metadata extractor found per file (metadata.extracted.v1 / metadata.failed.v1):
-- the typed section as JSON for the detail view, and the columns the list filters on.
CREATE TABLE file_metadata (
    file_id    uuid             PRIMARY KEY,
    status     text             NOT NULL CHECK (status IN ('extracted', 'failed')),
    error      text,
    kind       text,
    taken_at   timestamptz,
    duration   double precision,
    section    jsonb,
    updated_at timestamptz      NOT NULL
);
CREATE INDEX file_metadata_taken_at ON file_metadata (taken_at) WHERE taken_at IS NOT NULL;
CREATE INDEX file_metadata_duration ON file_metadata (duration) WHERE duration IS NOT NULL;
