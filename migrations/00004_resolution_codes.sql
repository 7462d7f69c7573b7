-- +goose Up
-- A resolved or closed case's code from the bank's list (CASE_RESOLUTION_CODES),
-- for reporting; cleared when a case is reopened.
ALTER TABLE cases ADD COLUMN resolution_code text;
ALTER TABLE case_history ADD COLUMN resolution_code text;

-- +goose Down
ALTER TABLE case_history DROP COLUMN resolution_code;
ALTER TABLE cases DROP COLUMN resolution_code;
