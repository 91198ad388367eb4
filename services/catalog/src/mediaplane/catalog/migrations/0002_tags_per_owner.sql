-- Tags are per owner (tag.created.v2): one row per (name, owner). Rows of v1's
-- global tags keep their creator as owner, which is what a rebuild computes too.
ALTER TABLE tags RENAME COLUMN created_by TO owner;
ALTER TABLE tags DROP CONSTRAINT tags_pkey;
ALTER TABLE tags ADD PRIMARY KEY (name, owner);
-- The caller's tags by name (GET /v1/tags).
CREATE INDEX tags_by_owner ON tags (owner, name);
