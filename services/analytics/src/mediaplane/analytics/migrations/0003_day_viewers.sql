-- The distinct viewers of an owner's and of the platform's day, one row per viewer,
-- so that a batch counts only its own viewers: `owner_day.viewers` and
-- `platform_day.viewers` grow by the rows a batch's insert actually added (a viewer
-- already counted conflicts and adds nothing) instead of a count over the day's views.
-- A file's day keeps its count over its own views: that row is recomputed from them anyway.
--
-- One table per scope, as the day tables: typed keys, no scope column. The day leads
-- the key, so the prune (days before a date) and a rebuild's reset (days from a date)
-- are ranges of the primary key. Kept as long as `views` (90 days, the same prune):
-- the counters in the day tables stay for good, and no batch can reach a pruned day
-- (the API refuses beacons older than 24 h; a rebuild replays the stream's 30 days).
CREATE TABLE owner_day_viewers (
    day     date NOT NULL,
    owner   text NOT NULL,
    viewer  text NOT NULL,
    PRIMARY KEY (day, owner, viewer)
);

CREATE TABLE platform_day_viewers (
    day     date NOT NULL,
    viewer  text NOT NULL,
    PRIMARY KEY (day, viewer)
);

-- Backfill from the kept views: each day's row already holds count(DISTINCT viewer)
-- of these views (every batch recomputed it, and the prune drops whole days), so the
-- counters continue from here exactly. Days whose views were pruned get no rows and
-- keep their totals.
INSERT INTO owner_day_viewers (day, owner, viewer) SELECT DISTINCT day, owner, viewer FROM views;
INSERT INTO platform_day_viewers (day, viewer) SELECT DISTINCT day, viewer FROM views;
