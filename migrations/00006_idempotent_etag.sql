-- +goose Up
-- A replayed change carries the ETag of the version it made, like the first answer.
ALTER TABLE idempotency_keys ADD COLUMN etag text;

-- +goose Down
ALTER TABLE idempotency_keys DROP COLUMN etag;
