-- +goose Up
-- Who may read a history row's note: agents only ('internal', also when
-- NULL) or the customer too ('customer'). A customer's history leaves out
-- notes added for agents only and blanks the note of other rows unless it is
-- marked for them.
ALTER TABLE case_history ADD COLUMN note_visibility text
    CHECK (note_visibility IN ('internal', 'customer'));

-- +goose Down
ALTER TABLE case_history DROP COLUMN note_visibility;
