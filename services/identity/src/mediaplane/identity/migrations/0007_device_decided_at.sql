-- When the user approved or denied a device code: a token is issued for that approval
-- only if the account was not signed out everywhere since (see save_refresh_token).
ALTER TABLE device_codes ADD COLUMN decided_at timestamptz;
