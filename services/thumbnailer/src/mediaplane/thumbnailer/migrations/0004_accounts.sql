-- The thumbnailer's projection of accounts (issue 16), from the identity service's
-- `user.*` events (the accounts consumer): the variants API refuses a suspended or
-- deleted user. A row exists once an event named the user; until then the account
-- counts as active.
CREATE TABLE thumbnailer_accounts (
    owner        text        PRIMARY KEY,  -- the user id, as tokens carry it in `sub`
    status       text        NOT NULL CHECK (status IN ('active', 'suspended', 'deleted')),
    status_at    timestamptz NOT NULL,
    status_event uuid        NOT NULL
);
-- The API processes reload the blocked set every second.
CREATE INDEX thumbnailer_accounts_blocked ON thumbnailer_accounts (owner)
    WHERE status <> 'active';
