-- +goose Up
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

-- Count what is there, with writers held off until the triggers are in place.
LOCK TABLE cases IN SHARE MODE;
INSERT INTO case_counts (state, case_type, shard, n)
SELECT state, case_type, hashtext(case_id) & 7, count(*) FROM cases GROUP BY 1, 2, 3;

-- +goose Down
DROP TRIGGER cases_tally_truncate ON cases;
DROP TRIGGER cases_tally_delete ON cases;
DROP TRIGGER cases_tally_update ON cases;
DROP TRIGGER cases_tally_insert ON cases;
DROP FUNCTION tally_cases();
DROP TABLE case_counts;
