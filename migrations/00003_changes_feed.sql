-- +goose Up
-- The changes feed (GET /changes) reads history rows in the order of the
-- transactions that wrote them, and serves a row only once every transaction
-- that began before it has ended: a row committed late by an older
-- transaction can then never land behind a position a consumer has passed.
-- tx_id is the writing transaction's id; feed_seq orders rows within one.
ALTER TABLE case_history
    ADD COLUMN tx_id bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint,
    ADD COLUMN feed_seq bigint NOT NULL GENERATED ALWAYS AS IDENTITY;
CREATE INDEX case_history_feed ON case_history (tx_id, feed_seq);

-- +goose Down
DROP INDEX case_history_feed;
ALTER TABLE case_history DROP COLUMN feed_seq, DROP COLUMN tx_id;
