-- +goose Up
-- Callback delivery, SLA escalation and the resolution deadline, kept on the
-- case row so that reads show them.
ALTER TABLE cases
    ADD COLUMN callback_status text,
    ADD COLUMN escalated       boolean NOT NULL DEFAULT false,
    ADD COLUMN resolve_by      timestamptz;

ALTER TABLE case_history
    ADD COLUMN callback_request_time timestamptz,
    ADD COLUMN callback_status       text,
    ADD COLUMN escalated             boolean NOT NULL DEFAULT false;

-- Messages handed to the outside world when no webhook or SMTP server is
-- configured: callbacks, escalation notices and customer notices. The key is
-- the idempotency key of the message, so a retried delivery adds no row.
CREATE TABLE outbox (
    idempotency_key text        PRIMARY KEY,
    kind            text        NOT NULL,
    case_id         text        NOT NULL,
    payload         jsonb       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_by_kind_created ON outbox (kind, created_at DESC);

-- casectl callbacks: callback requests by status and time.
CREATE INDEX cases_callbacks ON cases (callback_status, callback_request_time) WHERE case_class = 'CallbackRequest';

-- +goose Down
DROP INDEX cases_callbacks;
DROP TABLE outbox;
ALTER TABLE case_history DROP COLUMN callback_request_time, DROP COLUMN callback_status, DROP COLUMN escalated;
ALTER TABLE cases DROP COLUMN callback_status, DROP COLUMN escalated, DROP COLUMN resolve_by;
