-- Moderation (issue 16): a taken-down file gives no variants but to moderators and
-- admins. Takedown and restore alternate, so the latest decision wins, by
-- (occurred_at, event_id): redelivered or reordered events do not change it.
ALTER TABLE variant_sources
    ADD COLUMN taken_down        boolean     NOT NULL DEFAULT false,
    ADD COLUMN takedown_reason   text,
    ADD COLUMN moderated_at      timestamptz,
    ADD COLUMN moderation_event  uuid;
