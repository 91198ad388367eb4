-- Accounts and what the OAuth provider keeps. Secrets (session cookies, codes,
-- refresh tokens, mail links, client secrets) are stored as SHA-256 digests only;
-- passwords as argon2id hashes.

CREATE TABLE users (
    user_id uuid PRIMARY KEY,
    email text NOT NULL UNIQUE,             -- normalized (lower case)
    password_hash text NOT NULL,            -- argon2id, PHC string
    role text NOT NULL,
    plan text NOT NULL,
    status text NOT NULL,                   -- active | suspended
    email_verified boolean NOT NULL DEFAULT false,
    sessions_valid_after timestamptz NOT NULL DEFAULT now(),  -- "sign out everywhere"
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Failed sign-ins per key (`account:<email>` or `ip:<address>`).
CREATE TABLE sign_in_failures (
    key text PRIMARY KEY,
    failures integer NOT NULL,
    locked_until timestamptz NOT NULL,
    last_failed_at timestamptz NOT NULL
);

CREATE TABLE sessions (
    token_sha256 bytea PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    user_agent text
);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE mail_links (
    token_sha256 bytea PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    purpose text NOT NULL,                  -- verify_email | reset_password
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);

CREATE TABLE invites (
    token_sha256 bytea PRIMARY KEY,
    created_by text NOT NULL,
    expires_at timestamptz NOT NULL,
    used_by uuid
);

CREATE TABLE oauth_clients (
    client_id text PRIMARY KEY,
    secret_sha256 bytea,                    -- NULL: a public client (PKCE, no secret)
    redirect_uris text[] NOT NULL,
    grant_types text[] NOT NULL,
    scope text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE oauth_codes (
    code_sha256 bytea PRIMARY KEY,
    client_id text NOT NULL REFERENCES oauth_clients ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    redirect_uri text NOT NULL,
    scope text NOT NULL,
    code_challenge text NOT NULL,
    nonce text,
    family_id uuid NOT NULL,                -- of the refresh tokens it is exchanged for
    auth_time timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);

-- One family per sign-in: every refresh replaces the token with a new one of the
-- same family; presenting a replaced token again revokes the whole family.
CREATE TABLE refresh_tokens (
    token_sha256 bytea PRIMARY KEY,
    family_id uuid NOT NULL,
    client_id text NOT NULL REFERENCES oauth_clients ON DELETE CASCADE,
    user_id uuid REFERENCES users ON DELETE CASCADE,
    scope text NOT NULL,
    issued_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    replaced_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX oauth_codes_by_nonce ON oauth_codes (client_id, nonce);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_by_user ON refresh_tokens (user_id);

-- Access tokens revoked before their expiry (RFC 7009 on an access token), by `jti`.
CREATE TABLE revoked_access_tokens (
    jti text PRIMARY KEY,
    expires_at timestamptz NOT NULL
);

-- Signing keys: a key is published from created_at, signs from activates_at until
-- retires_at, and stays published until retires_at + the access-token lifetime.
CREATE TABLE signing_keys (
    kid text PRIMARY KEY,
    private_jwk jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    activates_at timestamptz NOT NULL,
    retires_at timestamptz NOT NULL
);
