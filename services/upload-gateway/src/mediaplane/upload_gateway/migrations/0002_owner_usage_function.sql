-- An owner's quota usage, read AFTER taking the owner's quota lock.
--
-- Taking the lock and reading in one plain statement is not enough: a READ
-- COMMITTED statement reads the snapshot taken when it started, before it
-- waited for the lock, so it misses a session another transaction committed
-- while holding it (two concurrent opens could both pass the quota). Inside
-- a VOLATILE function every statement takes a fresh snapshot, so the reads
-- below see everything committed before the lock was granted. The lock is
-- held until the caller's transaction (or autocommit statement) ends.
CREATE FUNCTION gateway_lock_owner_usage(p_owner text, p_now timestamptz)
RETURNS TABLE (files bigint, bytes bigint, open_sessions bigint, reserved_bytes bigint)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(p_owner, 42));
    RETURN QUERY
    SELECT f.n, f.total, s.n, s.total
    FROM (SELECT count(*) AS n, coalesce(sum(size), 0)::bigint AS total FROM gateway_files
          WHERE owner = p_owner AND status IN ('uploaded', 'verified')) AS f,
         (SELECT count(*) AS n, coalesce(sum(size), 0)::bigint AS total FROM gateway_sessions
          WHERE owner = p_owner AND status = 'open' AND expires_at > p_now) AS s;
END
$$;

-- The usage reads above as index-only scans: the sizes are in the indexes.
DROP INDEX gateway_sessions_open_by_owner;
CREATE INDEX gateway_sessions_open_by_owner ON gateway_sessions (owner, expires_at)
    INCLUDE (size) WHERE status = 'open';
DROP INDEX gateway_files_live_by_owner;
CREATE INDEX gateway_files_live_by_owner ON gateway_files (owner) INCLUDE (size)
    WHERE status IN ('uploaded', 'verified');
