-- RP-initiated logout: where a client may send the browser after sign-out (exact match).
ALTER TABLE oauth_clients ADD COLUMN post_logout_redirect_uris text[] NOT NULL DEFAULT '{}';
