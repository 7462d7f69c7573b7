-- +goose Up
-- Responses to requests sent with an Idempotency-Key, per token subject, so a
-- retried request gets the first answer. A row without status is in flight;
-- case_id is the id a create reserved before starting the case's workflow.
CREATE TABLE idempotency_keys (
    subject         text        NOT NULL,
    key             text        NOT NULL,
    request_hash    bytea       NOT NULL,
    case_id         text,
    status          integer,
    content_type    text,
    response        bytea,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subject, key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
