-- +goose Up
-- GET /cases filters by assignee, queue, class, importance, escalation,
-- callback status and registration date, and sorts by registration date
-- either way, by deadline or by importance, each ending in the case id so
-- that the order is total and cursor pages can resume after a case. Each
-- order has an index to walk it in; the filters are served by the index
-- that leads with them, or applied to the rows an order's index yields.

-- An importance's rank, Low 1 to Critical 4 (store.ImportanceRank).
CREATE FUNCTION importance_rank(importance text) RETURNS int
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN COALESCE(array_position(ARRAY['Low', 'Standard', 'High', 'Critical'], importance), 0);

-- Listings with closed cases among their states, and registration ranges.
CREATE INDEX cases_by_registration ON cases (registration_date DESC, case_id DESC);
-- An agent's cases; assignee_id IS NULL (unassigned) uses it too.
CREATE INDEX cases_by_assignee_registration ON cases (assignee_id, registration_date DESC, case_id DESC);
CREATE INDEX cases_by_queue_registration ON cases (queue, registration_date DESC, case_id DESC);
-- sort=resolve-by: earliest deadline first, cases without one last.
CREATE INDEX cases_active_by_deadline ON cases (COALESCE(resolve_by, 'infinity'), case_id) WHERE state <> 'Closed';
CREATE INDEX cases_by_deadline ON cases (COALESCE(resolve_by, 'infinity'), case_id);
-- sort=-importance.
CREATE INDEX cases_active_by_importance ON cases (importance_rank(importance) DESC, case_id DESC) WHERE state <> 'Closed';
CREATE INDEX cases_by_importance ON cases (importance_rank(importance) DESC, case_id DESC);
-- escalated=true: few cases, most of them active.
CREATE INDEX cases_escalated_by_registration ON cases (registration_date DESC, case_id DESC) WHERE escalated;

-- Exact case counts by every low-cardinality filter of GET /cases, kept
-- like case_counts (00001) by statement triggers, so that the total-count
-- of a page filtered by queue, class, importance, escalation, callback
-- status or being unassigned sums counters (≈ 5,600 rows at a million
-- cases, of which a filter reads its share) instead of counting the cases. Absent values count under ''.
CREATE TABLE case_tallies (
    state           text    NOT NULL,
    case_type       text    NOT NULL,
    case_class      text    NOT NULL,
    importance      text    NOT NULL,
    queue           text    NOT NULL,
    escalated       boolean NOT NULL,
    callback_status text    NOT NULL,
    assigned        boolean NOT NULL,
    shard           int     NOT NULL,
    n               bigint  NOT NULL,
    PRIMARY KEY (state, case_type, case_class, importance, queue, escalated, callback_status, assigned, shard)
);

-- Each agent's cases per state, for the count of an agent's work list.
CREATE TABLE case_assignee_counts (
    assignee_id text   NOT NULL,
    state       text   NOT NULL,
    n           bigint NOT NULL,
    PRIMARY KEY (assignee_id, state)
);

-- +goose StatementBegin
CREATE FUNCTION tally_case_filters() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- As tally_cases: one branch per operation, since each has only its own
    -- transition tables, and counters updated in key order.
    IF TG_OP = 'INSERT' THEN
        INSERT INTO case_tallies AS t
        SELECT state, case_type, case_class, importance, COALESCE(queue, ''), escalated, COALESCE(callback_status, ''), assignee_id IS NOT NULL, hashtext(case_id) & 7, count(*) FROM new_rows
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9
        ON CONFLICT (state, case_type, case_class, importance, queue, escalated, callback_status, assigned, shard)
        DO UPDATE SET n = t.n + EXCLUDED.n;
        INSERT INTO case_assignee_counts AS a
        SELECT assignee_id, state, count(*) FROM new_rows WHERE assignee_id IS NOT NULL
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (assignee_id, state) DO UPDATE SET n = a.n + EXCLUDED.n;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO case_tallies AS t
        SELECT s, ct, cc, i, q, e, cs, a, sh, sum(delta) FROM (
            SELECT state, case_type, case_class, importance, COALESCE(queue, ''), escalated, COALESCE(callback_status, ''), assignee_id IS NOT NULL, hashtext(case_id) & 7, 1 FROM new_rows
            UNION ALL
            SELECT state, case_type, case_class, importance, COALESCE(queue, ''), escalated, COALESCE(callback_status, ''), assignee_id IS NOT NULL, hashtext(case_id) & 7, -1 FROM old_rows
        ) AS changes (s, ct, cc, i, q, e, cs, a, sh, delta)
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9 HAVING sum(delta) <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9
        ON CONFLICT (state, case_type, case_class, importance, queue, escalated, callback_status, assigned, shard)
        DO UPDATE SET n = t.n + EXCLUDED.n;
        INSERT INTO case_assignee_counts AS a
        SELECT ai, st, sum(delta) FROM (
            SELECT assignee_id, state, 1 FROM new_rows WHERE assignee_id IS NOT NULL
            UNION ALL
            SELECT assignee_id, state, -1 FROM old_rows WHERE assignee_id IS NOT NULL
        ) AS changes (ai, st, delta)
        GROUP BY 1, 2 HAVING sum(delta) <> 0 ORDER BY 1, 2
        ON CONFLICT (assignee_id, state) DO UPDATE SET n = a.n + EXCLUDED.n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO case_tallies AS t
        SELECT state, case_type, case_class, importance, COALESCE(queue, ''), escalated, COALESCE(callback_status, ''), assignee_id IS NOT NULL, hashtext(case_id) & 7, -count(*) FROM old_rows
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9
        ON CONFLICT (state, case_type, case_class, importance, queue, escalated, callback_status, assigned, shard)
        DO UPDATE SET n = t.n + EXCLUDED.n;
        INSERT INTO case_assignee_counts AS a
        SELECT assignee_id, state, -count(*) FROM old_rows WHERE assignee_id IS NOT NULL
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (assignee_id, state) DO UPDATE SET n = a.n + EXCLUDED.n;
    ELSE
        DELETE FROM case_tallies;
        DELETE FROM case_assignee_counts;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER cases_tally_filters_insert AFTER INSERT ON cases
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tally_case_filters();
CREATE TRIGGER cases_tally_filters_update AFTER UPDATE ON cases
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tally_case_filters();
CREATE TRIGGER cases_tally_filters_delete AFTER DELETE ON cases
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tally_case_filters();
CREATE TRIGGER cases_tally_filters_truncate AFTER TRUNCATE ON cases
    FOR EACH STATEMENT EXECUTE FUNCTION tally_case_filters();

-- The cases already there.
INSERT INTO case_tallies
SELECT state, case_type, case_class, importance, COALESCE(queue, ''), escalated, COALESCE(callback_status, ''), assignee_id IS NOT NULL, hashtext(case_id) & 7, count(*) FROM cases
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
INSERT INTO case_assignee_counts
SELECT assignee_id, state, count(*) FROM cases WHERE assignee_id IS NOT NULL GROUP BY 1, 2;

-- +goose Down
DROP TABLE case_assignee_counts;
DROP TABLE case_tallies;
DROP FUNCTION tally_case_filters() CASCADE;
DROP INDEX cases_escalated_by_registration;
DROP INDEX cases_by_importance;
DROP INDEX cases_active_by_importance;
DROP INDEX cases_by_deadline;
DROP INDEX cases_active_by_deadline;
DROP INDEX cases_by_queue_registration;
DROP INDEX cases_by_assignee_registration;
DROP INDEX cases_by_registration;
DROP FUNCTION importance_rank(text);
