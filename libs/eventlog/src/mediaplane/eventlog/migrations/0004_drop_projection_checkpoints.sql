-- The catch-up projector that kept its checkpoints here had no production
-- user and was removed: projections are inline (in the append's transaction)
-- or consume JetStream. Nothing reads or writes this table.
DROP TABLE IF EXISTS projection_checkpoints;
