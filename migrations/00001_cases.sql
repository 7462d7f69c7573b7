-- +goose Up
-- Case ids are drawn from this sequence ("WI" + 10 zero-padded digits).
CREATE SEQUENCE case_number_seq START WITH 1 MAXVALUE 9999999999;

-- The current state of each case. Written only by the worker's activities;
-- a row is replaced by a newer version only (version guards retried activities).
CREATE TABLE cases (
    case_id                 text        PRIMARY KEY,
    case_class              text        NOT NULL,
    case_type               text        NOT NULL,
    registered_by_id        text,
    registered_by_name      text,
    updated_by_id           text,
    updated_by_name         text,
    customer_id             text        NOT NULL,
    customer_name           text,
    customer_ident_num      text,
    registration_date       timestamptz NOT NULL,
    state                   text        NOT NULL,
    resolution              text,
    importance              text        NOT NULL,
    details                 text,
    arrangement_num         text,
    comm_reason             text,
    comm_reply_address      text,
    comm_reply_address_code text,
    comm_type               text,
    rel_case_id             text,
    callback_request_time   timestamptz,
    categorry               text,
    attachments             jsonb       NOT NULL DEFAULT '[]',
    version                 bigint      NOT NULL,
    updated_at              timestamptz NOT NULL
);

-- GET /cases: active cases newest first, optionally by customer, state or type.
CREATE INDEX cases_active_by_registration ON cases (registration_date DESC, case_id DESC) WHERE state <> 'Closed';
CREATE INDEX cases_by_state_registration ON cases (state, registration_date DESC, case_id DESC);
CREATE INDEX cases_by_customer_registration ON cases (customer_id, registration_date DESC, case_id DESC);
CREATE INDEX cases_by_type_registration ON cases (case_type, registration_date DESC, case_id DESC);

-- One row per recorded change; (case_id, version) makes retried writes no-ops.
CREATE TABLE case_history (
    case_id            text        NOT NULL,
    version            bigint      NOT NULL,
    version_date       timestamptz NOT NULL,
    change             text        NOT NULL,
    case_type          text        NOT NULL,
    updated_by_id      text,
    updated_by_name    text,
    customer_id        text        NOT NULL,
    customer_name      text,
    customer_ident_num text,
    registration_date  timestamptz NOT NULL,
    state              text        NOT NULL,
    resolution         text,
    importance         text        NOT NULL,
    details            text,
    arrangement_num    text,
    PRIMARY KEY (case_id, version)
);

-- +goose Down
DROP TABLE case_history;
DROP TABLE cases;
DROP SEQUENCE case_number_seq;
