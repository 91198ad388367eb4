-- The prune drops applied-batch ids older than the BEACONS stream's max_age: a batch
-- that aged out of the stream can never be delivered again, so its id guards nothing.
CREATE INDEX applied_batches_applied_at ON applied_batches (applied_at);
