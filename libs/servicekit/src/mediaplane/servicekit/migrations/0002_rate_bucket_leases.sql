-- How many tokens the last take of a bucket gave (servicekit rate_lease.py): a
-- process takes a lease of up to k tokens per round trip, fewer when the bucket
-- holds fewer, and RETURNING sees only the new row (PostgreSQL 15 has no `old`).
ALTER TABLE rate_buckets ADD COLUMN leased integer NOT NULL DEFAULT 0;
