-- Personal access tokens: shown once, stored as SHA-256, scoped, always expiring.
CREATE TABLE personal_access_tokens (
    token_id uuid PRIMARY KEY,
    token_sha256 bytea NOT NULL UNIQUE,
    user_id uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    name text NOT NULL,
    scopes text[] NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    last_used_at timestamptz
);
CREATE INDEX personal_access_tokens_by_user ON personal_access_tokens (user_id);
