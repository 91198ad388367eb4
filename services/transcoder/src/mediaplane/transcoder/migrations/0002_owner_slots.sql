-- Who a job is for: at most MAX_CONCURRENT_PER_OWNER jobs of one owner run at
-- once (counted over live leases, under an advisory lock per owner, across
-- every replica). Jobs created before this migration have no owner and count
-- for nobody.

ALTER TABLE transcode_jobs ADD COLUMN owner text;

CREATE INDEX transcode_jobs_running_by_owner ON transcode_jobs (owner)
    WHERE status = 'running';
