-- +goose Up
-- The agent responsible for a case and the work queue it sits in; a history
-- row carries them as they were at its version.
ALTER TABLE cases
    ADD COLUMN assignee_id text,
    ADD COLUMN assignee_name text,
    ADD COLUMN queue text;
ALTER TABLE case_history
    ADD COLUMN assignee_id text,
    ADD COLUMN assignee_name text,
    ADD COLUMN queue text;

-- +goose Down
ALTER TABLE case_history DROP COLUMN queue, DROP COLUMN assignee_name, DROP COLUMN assignee_id;
ALTER TABLE cases DROP COLUMN queue, DROP COLUMN assignee_name, DROP COLUMN assignee_id;
