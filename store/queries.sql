-- name: NextCaseNumber :one
SELECT nextval('case_number_seq')::bigint;

-- name: GetCase :one
SELECT * FROM cases WHERE case_id = $1;

-- name: RecordCase :execrows
-- One version of a case in one statement, so one round trip and atomic: the
-- current row only if it is newer than the stored one (a retried or late
-- write of an older snapshot changes nothing), and the history row only if
-- it is not there yet. The history row reuses the case's parameters.
WITH current_row AS (
    INSERT INTO cases (
        case_id, case_class, case_type, registered_by_id, registered_by_name,
        updated_by_id, updated_by_name, customer_id, customer_name, customer_ident_num,
        registration_date, state, resolution, importance, details, arrangement_num,
        comm_reason, comm_reply_address, comm_reply_address_code, comm_type, rel_case_id,
        callback_request_time, categorry, attachments, version, updated_at,
        callback_status, escalated, resolve_by, resolution_code,
        assignee_id, assignee_name, queue
    ) VALUES (
        $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
        $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $33, $34, $35, $36
    )
    ON CONFLICT (case_id) DO UPDATE SET
        case_type = EXCLUDED.case_type,
        updated_by_id = EXCLUDED.updated_by_id,
        updated_by_name = EXCLUDED.updated_by_name,
        state = EXCLUDED.state,
        resolution = EXCLUDED.resolution,
        attachments = EXCLUDED.attachments,
        callback_request_time = EXCLUDED.callback_request_time,
        callback_status = EXCLUDED.callback_status,
        escalated = EXCLUDED.escalated,
        resolve_by = EXCLUDED.resolve_by,
        resolution_code = EXCLUDED.resolution_code,
        assignee_id = EXCLUDED.assignee_id,
        assignee_name = EXCLUDED.assignee_name,
        queue = EXCLUDED.queue,
        version = EXCLUDED.version,
        updated_at = EXCLUDED.updated_at
    WHERE cases.version < EXCLUDED.version
)
INSERT INTO case_history (
    case_id, version, version_date, change, case_type, updated_by_id, updated_by_name,
    customer_id, customer_name, customer_ident_num, registration_date, state,
    resolution, importance, details, arrangement_num,
    callback_request_time, callback_status, escalated, note, note_visibility, resolution_code,
    assignee_id, assignee_name, queue
) VALUES (
    $1, $25, $26, $30, $3, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $22, $27, $28, $31, $32, $33,
    $34, $35, $36
)
ON CONFLICT (case_id, version) DO NOTHING;

-- name: ListHistory :many
-- In a customer's view, the notes added for agents only stay out. A cursor
-- page starts after a version; the count covers the whole history.
SELECT sqlc.embed(case_history), (
    SELECT count(*) FROM case_history AS k
    WHERE k.case_id = sqlc.arg(case_id)
      AND (NOT sqlc.arg(customer_view)::boolean OR k.change <> 'NoteAdded' OR k.note_visibility = 'customer')
) AS total_count
FROM case_history
WHERE case_history.case_id = sqlc.arg(case_id)
  AND (NOT sqlc.arg(customer_view)::boolean OR case_history.change <> 'NoteAdded' OR case_history.note_visibility = 'customer')
  AND case_history.version > sqlc.arg(after_version)
ORDER BY case_history.version
LIMIT sqlc.arg(row_limit) OFFSET sqlc.arg(row_offset);

-- name: CountHistory :one
SELECT count(*) FROM case_history
WHERE case_id = sqlc.arg(case_id)
  AND (NOT sqlc.arg(customer_view)::boolean OR change <> 'NoteAdded' OR note_visibility = 'customer');

-- name: InsertOutbox :execrows
INSERT INTO outbox (idempotency_key, kind, case_id, payload)
VALUES ($1, $2, $3, $4)
ON CONFLICT (idempotency_key) DO NOTHING;

-- name: ListOutbox :many
SELECT * FROM outbox
WHERE kind = $1
ORDER BY created_at DESC
LIMIT $2;

-- name: ListCallbacks :many
-- Callback requests by requested time, optionally of one status.
SELECT sqlc.embed(cases)
FROM cases
WHERE case_class = 'CallbackRequest'
  AND (sqlc.narg(callback_status)::text IS NULL OR callback_status = sqlc.narg(callback_status)::text)
ORDER BY callback_request_time DESC
LIMIT sqlc.arg(max_rows);

-- name: OutboxTimes :many
SELECT idempotency_key, created_at FROM outbox WHERE idempotency_key = ANY(sqlc.arg(keys)::text[]);

-- name: ClaimIdempotencyKey :execrows
INSERT INTO idempotency_keys (subject, key, request_hash)
VALUES ($1, $2, $3)
ON CONFLICT (subject, key) DO NOTHING;

-- name: GetIdempotencyKey :one
SELECT * FROM idempotency_keys WHERE subject = $1 AND key = $2;

-- name: TakeOverIdempotencyKey :execrows
-- An in-flight claim older than the cutoff was abandoned (its process died);
-- a retry takes it over, keeping any case id it reserved.
UPDATE idempotency_keys SET created_at = now()
WHERE subject = $1 AND key = $2 AND status IS NULL AND created_at < sqlc.arg(cutoff);

-- name: ReserveIdempotentCaseID :one
UPDATE idempotency_keys SET case_id = COALESCE(case_id, sqlc.arg(case_id))
WHERE subject = $1 AND key = $2
RETURNING case_id;

-- name: CompleteIdempotencyKey :exec
UPDATE idempotency_keys SET status = $3, content_type = $4, response = $5, etag = $6
WHERE subject = $1 AND key = $2;

-- name: ReleaseIdempotencyKey :exec
DELETE FROM idempotency_keys WHERE subject = $1 AND key = $2 AND status IS NULL;

-- name: ExpireIdempotencyKeys :execrows
DELETE FROM idempotency_keys WHERE created_at < sqlc.arg(cutoff);

-- name: SeedCases :copyfrom
INSERT INTO cases (
    case_id, case_class, case_type, registered_by_id, registered_by_name, updated_by_id, updated_by_name,
    customer_id, customer_name, registration_date, state, resolution, importance, details,
    attachments, version, updated_at, queue, assignee_id, assignee_name, resolve_by, escalated,
    callback_request_time, callback_status, categorry
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25);

-- name: ReserveCaseNumbers :one
-- Moves the case number sequence past a block of n numbers and returns the first.
SELECT (setval('case_number_seq', nextval('case_number_seq') + sqlc.arg(n)::bigint - 1) - sqlc.arg(n)::bigint + 1)::bigint AS first;

-- name: GetCases :many
SELECT * FROM cases WHERE case_id = ANY(sqlc.arg(case_ids)::text[]);

-- name: HistoryShapes :many
-- Per case: history rows, distinct versions and their range, to find
-- duplicated or missing versions.
SELECT case_id, count(*) AS row_count, count(DISTINCT version) AS versions,
       min(version)::bigint AS first_version, max(version)::bigint AS last_version
FROM case_history
WHERE case_id = ANY(sqlc.arg(case_ids)::text[])
GROUP BY case_id;

-- name: ChangesAfter :many
-- History rows after a feed position, in the order of their transactions,
-- only from transactions older than every one still running: what this
-- returns is final, nothing can later appear before its last row.
SELECT sqlc.embed(case_history)
FROM case_history
WHERE (tx_id, feed_seq) > (sqlc.arg(after_tx)::bigint, sqlc.arg(after_seq)::bigint)
  AND tx_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
ORDER BY tx_id, feed_seq
LIMIT sqlc.arg(row_limit);
