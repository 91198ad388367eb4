-- Sign-in with an upstream OpenID provider.
-- One row per started sign-in, consumed by the callback (state stored hashed).
CREATE TABLE federation_states (
    state_sha256 bytea PRIMARY KEY,
    code_verifier text NOT NULL,            -- PKCE, sent only to the upstream's token endpoint
    nonce text NOT NULL,
    link_user_id uuid REFERENCES users ON DELETE CASCADE,  -- explicit linking by a signed-in user
    return_to text,
    expires_at timestamptz NOT NULL
);

-- An upstream account (issuer, subject) belongs to one local user.
CREATE TABLE linked_identities (
    issuer text NOT NULL,
    subject text NOT NULL,
    user_id uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    linked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX linked_identities_by_user ON linked_identities (user_id);
