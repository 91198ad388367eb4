-- A failed transcode re-run (the latest attempt failed while an earlier generation is still
-- served, so transcode_status stays 'ready'): its failure code, NULL otherwise. The rule is
-- domain/file_status.py's TRANSCODE_RERUN, compiled into the files projection's SQL; rows
-- written before this column are filled by `projections rebuild files` (or by the file's
-- next event), never by a second copy of the rule here.
ALTER TABLE files ADD COLUMN transcode_rerun_error text;
