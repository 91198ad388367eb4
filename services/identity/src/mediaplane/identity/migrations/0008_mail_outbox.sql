-- Mails waiting to be handed to the mail server. A request writes its mail here in the
-- transaction that makes the change the mail is about (a new account, a reset link), and
-- the relay role's sender delivers it (app/mail_sender.py). `body` is the rendered mail,
-- so a link's secret is in it: the row is deleted once sent, dropped unsent when the link
-- expires, its body erased when it fails for good, and deleted with its user.
CREATE TABLE mail_outbox (
    mail_id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    kind text NOT NULL,                     -- verify_email | reset_password | account_exists
    recipient text NOT NULL,
    subject text NOT NULL,
    body text,                              -- NULL once failed for good
    created_at timestamptz NOT NULL,
    expires_at timestamptz,                 -- the link's: not sent after it
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    failed_at timestamptz,                  -- given up (see last_error)
    last_error text                         -- the failure's kind, never its text
);
-- What the sender claims: pending mails by due time.
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE failed_at IS NULL;
CREATE INDEX mail_outbox_by_user ON mail_outbox (user_id);
