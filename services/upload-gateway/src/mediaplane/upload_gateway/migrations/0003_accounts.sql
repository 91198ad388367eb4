-- The gateway's projection of accounts, from the identity service's `user.*` events
-- (the accounts consumer): the status refuses a suspended or deleted user's calls, the
-- plan chooses the quota. A row exists once an event named the user; until then the
-- token's `plan` claim (or the default plan) applies and the account counts as active.
CREATE TABLE gateway_accounts (
    owner        text        PRIMARY KEY,  -- the user id, as tokens carry it in `sub`
    status       text        NOT NULL DEFAULT 'active'
                 CHECK (status IN ('active', 'suspended', 'deleted')),
    status_at    timestamptz,
    status_event uuid,
    plan         text,
    plan_at      timestamptz,
    plan_event   uuid
);
-- The API processes reload the blocked set every second.
CREATE INDEX gateway_accounts_blocked ON gateway_accounts (owner) WHERE status <> 'active';
