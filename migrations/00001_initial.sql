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
    updated_at              timestamptz NOT NULL,
    -- Callback delivery, SLA escalation and the resolution deadline, on the
    -- row so that reads show them.
    callback_status         text,
    escalated               boolean     NOT NULL DEFAULT false,
    resolve_by              timestamptz
);

-- GET /cases: active cases newest first, optionally by customer, state or type.
CREATE INDEX cases_active_by_registration ON cases (registration_date DESC, case_id DESC) WHERE state <> 'Closed';
CREATE INDEX cases_by_state_registration ON cases (state, registration_date DESC, case_id DESC);
CREATE INDEX cases_by_customer_registration ON cases (customer_id, registration_date DESC, case_id DESC);
CREATE INDEX cases_by_type_registration ON cases (case_type, registration_date DESC, case_id DESC);

-- One row per recorded change; (case_id, version) makes retried writes no-ops.
CREATE TABLE case_history (
    case_id               text        NOT NULL,
    version               bigint      NOT NULL,
    version_date          timestamptz NOT NULL,
    change                text        NOT NULL,
    case_type             text        NOT NULL,
    updated_by_id         text,
    updated_by_name       text,
    customer_id           text        NOT NULL,
    customer_name         text,
    customer_ident_num    text,
    registration_date     timestamptz NOT NULL,
    state                 text        NOT NULL,
    resolution            text,
    importance            text        NOT NULL,
    details               text,
    arrangement_num       text,
    callback_request_time timestamptz,
    callback_status       text,
    escalated             boolean     NOT NULL DEFAULT false,
    -- An operator's note (the add-note signal).
    note                  text,
    PRIMARY KEY (case_id, version)
);

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
    -- A replayed change carries the ETag of the version it made.
    etag            text,
    PRIMARY KEY (subject, key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

-- Exact case counts per state and type, kept by statement triggers on cases,
-- so that the total-count of a list page that is not one customer's does not
-- count hundreds of thousands of rows. Each (state, type) is split over eight
-- shards by case id, so concurrent writes rarely wait on the same counter.
CREATE TABLE case_counts (
    state     text   NOT NULL,
    case_type text   NOT NULL,
    shard     int    NOT NULL,
    n         bigint NOT NULL,
    PRIMARY KEY (state, case_type, shard)
);

-- +goose StatementBegin
CREATE FUNCTION tally_cases() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Counter rows are updated in key order, so two writers never wait on
    -- each other's counters in opposite orders.
    IF TG_OP = 'INSERT' THEN
        INSERT INTO case_counts AS c (state, case_type, shard, n)
        SELECT state, case_type, hashtext(case_id) & 7, count(*) FROM new_rows
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (state, case_type, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO case_counts AS c (state, case_type, shard, n)
        SELECT state, case_type, shard, sum(delta) FROM (
            SELECT state, case_type, hashtext(case_id) & 7 AS shard, 1 AS delta FROM new_rows
            UNION ALL
            SELECT state, case_type, hashtext(case_id) & 7, -1 FROM old_rows
        ) changes
        GROUP BY 1, 2, 3 HAVING sum(delta) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (state, case_type, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO case_counts AS c (state, case_type, shard, n)
        SELECT state, case_type, hashtext(case_id) & 7, -count(*) FROM old_rows
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (state, case_type, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    ELSE
        DELETE FROM case_counts;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER cases_tally_insert AFTER INSERT ON cases
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tally_cases();
CREATE TRIGGER cases_tally_update AFTER UPDATE ON cases
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tally_cases();
CREATE TRIGGER cases_tally_delete AFTER DELETE ON cases
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tally_cases();
CREATE TRIGGER cases_tally_truncate AFTER TRUNCATE ON cases
    FOR EACH STATEMENT EXECUTE FUNCTION tally_cases();

-- +goose Down
DROP TABLE case_counts;
DROP FUNCTION tally_cases() CASCADE;
DROP TABLE idempotency_keys;
DROP TABLE outbox;
DROP TABLE case_history;
DROP TABLE cases;
DROP SEQUENCE case_number_seq;
