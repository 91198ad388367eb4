-- Per-owner token buckets of an API's rate limit, shared by all its replicas
-- (servicekit rate_limit.py): one row per limit and owner (`<purpose>/<owner>`),
-- updated under its row lock.
CREATE TABLE rate_buckets (
    owner       text             PRIMARY KEY,
    tokens      double precision NOT NULL,
    refilled_at timestamptz      NOT NULL
);
