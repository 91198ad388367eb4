-- An owner's quota usage, read AFTER taking the owner's quota lock.
--
-- Taking the lock and reading in one plain statement is not enough: a READ
-- COMMITTED statement reads the snapshot taken when it started, before it
-- waited for the lock, so it misses a session another transaction committed
-- while holding the lock (two concurrent opens could both pass the quota).
-- Inside a VOLATILE function every statement takes a fresh snapshot, so the
-- read below sees everything committed before the lock was granted. The lock
-- is held until the caller's transaction (or autocommit statement) ends.
CREATE FUNCTION gateway_lock_owner_usage(p_owner text, p_now timestamptz)
RETURNS TABLE (files bigint, bytes bigint, open_sessions bigint, reserved_bytes bigint)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(p_owner, 42));
    RETURN QUERY SELECT
        (SELECT count(*) FROM gateway_files f
          WHERE f.owner = p_owner AND f.status IN ('uploaded', 'verified')),
        (SELECT coalesce(sum(f.size), 0)::bigint FROM gateway_files f
          WHERE f.owner = p_owner AND f.status IN ('uploaded', 'verified')),
        (SELECT count(*) FROM gateway_sessions s
          WHERE s.owner = p_owner AND s.status = 'open' AND s.expires_at > p_now),
        (SELECT coalesce(sum(s.size), 0)::bigint FROM gateway_sessions s
          WHERE s.owner = p_owner AND s.status = 'open' AND s.expires_at > p_now);
END
$$;
