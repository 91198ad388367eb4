-- An admin's quota for one user (issue 16, `user.quota_set`), which replaces the plan's:
-- each NULL field follows the plan. Like the other fields it moves only to a later fact
-- (by `(quota_at, quota_event)`), so redelivered or reordered events change nothing.
ALTER TABLE gateway_accounts
    ADD COLUMN quota_files bigint CHECK (quota_files >= 0),
    ADD COLUMN quota_bytes bigint CHECK (quota_bytes >= 0),
    ADD COLUMN quota_at    timestamptz,
    ADD COLUMN quota_event uuid;
