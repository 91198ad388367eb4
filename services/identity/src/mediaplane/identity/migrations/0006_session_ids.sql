-- A public id per session, so its owner can list sessions and end one
-- (the primary key is the cookie's digest, which must never leave the service).
ALTER TABLE sessions ADD COLUMN session_id uuid NOT NULL DEFAULT gen_random_uuid();
CREATE UNIQUE INDEX sessions_by_id ON sessions (session_id);
