-- +goose Up
-- Internal notes operators add to a case (the add-note signal).
ALTER TABLE case_history ADD COLUMN note text;

-- +goose Down
ALTER TABLE case_history DROP COLUMN note;
