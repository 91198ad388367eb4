-- Issue 16. An admin's quota for one user (`user.quota_set`): NULL follows the plan's.
ALTER TABLE accounts
    ADD COLUMN quota_files bigint,
    ADD COLUMN quota_bytes bigint;

-- Usage over time, per file (rebuildable like every projection): the day its bytes were
-- verified (an upload) and the day it was deleted, if it was. The admin console sums it per
-- owner and day, and for the platform.
CREATE TABLE file_usage_days (
    file_id    uuid   NOT NULL,
    owner      text   NOT NULL,
    day        date   NOT NULL,
    uploads    int    NOT NULL,
    bytes      bigint NOT NULL,
    deletions  int    NOT NULL,
    freed      bigint NOT NULL,
    PRIMARY KEY (file_id, day)
);
CREATE INDEX file_usage_days_by_owner ON file_usage_days (owner, day);
CREATE INDEX file_usage_days_by_day ON file_usage_days (day);

-- User and file events already in the ledger are projected by
-- `python -m mediaplane.catalog projections rebuild accounts file_usage_days`.
