-- RFC 8628 device authorization: the device polls with device_code (stored hashed);
-- the user approves user_code while signed in.
CREATE TABLE device_codes (
    device_sha256 bytea PRIMARY KEY,
    user_code text NOT NULL UNIQUE,
    client_id text NOT NULL REFERENCES oauth_clients ON DELETE CASCADE,
    scope text NOT NULL,
    expires_at timestamptz NOT NULL,
    poll_interval integer NOT NULL,
    last_polled_at timestamptz,
    user_id uuid REFERENCES users ON DELETE CASCADE,
    approved boolean,
    used_at timestamptz
);
