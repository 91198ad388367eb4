-- The purge sweep's queue, proportional to the files with purge work: a flag on
-- the file says whether it has objects not purged yet, so the candidates are read
-- from a partial index of doomed or taken-down files with that flag, in the order
-- the sweep takes them, instead of probing every object of every file ever purged.
--
-- Kept in the writer's transactions: the projection sets it when it announces an
-- object (new or again); a purge clears it when no object is left pending.
ALTER TABLE janitor_files ADD COLUMN objects_pending boolean NOT NULL DEFAULT false;

UPDATE janitor_files f SET objects_pending = true
WHERE EXISTS (SELECT 1 FROM janitor_file_objects o
              WHERE o.file_id = f.file_id AND o.purged_at IS NULL);

CREATE INDEX janitor_files_purge_queue ON janitor_files ((coalesce(doomed_at, taken_down_at)))
    WHERE objects_pending AND (doomed_at IS NOT NULL OR taken_down_at IS NOT NULL);
