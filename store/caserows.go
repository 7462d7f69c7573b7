package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/bank/caseservice/casefile"
)

// Every read of cases rows (a case by id, pages, callbacks, cases by id for
// the checks) decodes the columns straight from the wire instead of through
// pgx's Scan: that planned every column's conversion again on every query and
// allocated each text field, its pointer and the row twice over (41.9 KB for
// a page of 13; docs/BENCHMARKS.md). Here a row's text shares one allocation.

// caseColumnTypes are the column types of cases in table order, the order of
// SELECT * and of sqlc's column lists. A listing's rows carry their total
// count in the column after these.
var caseColumnTypes = [...]uint32{
	pgtype.TextOID, pgtype.TextOID, pgtype.TextOID, // case_id, case_class, case_type
	pgtype.TextOID, pgtype.TextOID, pgtype.TextOID, pgtype.TextOID, // registered_by_id/name, updated_by_id/name
	pgtype.TextOID, pgtype.TextOID, pgtype.TextOID, // customer_id, customer_name, customer_ident_num
	pgtype.TimestamptzOID, pgtype.TextOID, pgtype.TextOID, pgtype.TextOID, // registration_date, state, resolution, importance
	pgtype.TextOID, pgtype.TextOID, pgtype.TextOID, pgtype.TextOID, // details, arrangement_num, comm_reason, comm_reply_address
	pgtype.TextOID, pgtype.TextOID, pgtype.TextOID, // comm_reply_address_code, comm_type, rel_case_id
	pgtype.TimestamptzOID, pgtype.TextOID, pgtype.JSONBOID, pgtype.Int8OID, // callback_request_time, categorry, attachments, version
	pgtype.TimestamptzOID, pgtype.TextOID, pgtype.BoolOID, pgtype.TimestamptzOID, // updated_at, callback_status, escalated, resolve_by
}

const caseColumns = len(caseColumnTypes)

// collectCases decodes every row of rows into a case, and the total count a
// listing's rows carry. capacity is the most rows expected; a listing's total,
// when smaller, bounds them instead (a customer's page holds a few of its 20
// slots, and a case is ~0.4 KB).
func collectCases(rows pgx.Rows, capacity int) ([]casefile.Case, int64, error) {
	defer rows.Close()
	var total int64
	var cases []casefile.Case
	for rows.Next() {
		fields, raw := rows.FieldDescriptions(), rows.RawValues()
		if cases == nil { // the first row: every row has the same columns and total
			if err := checkCaseColumns(fields); err != nil {
				return nil, 0, err
			}
			if len(raw) > caseColumns {
				var err error
				if total, err = int8Value(fields[caseColumns], raw[caseColumns]); err != nil {
					return nil, 0, fmt.Errorf("total count: %w", err)
				}
			}
			if total > 0 && total < int64(capacity) {
				capacity = int(total)
			}
			cases = make([]casefile.Case, 0, capacity)
		}
		c, err := decodeCase(fields, raw)
		if err != nil {
			return nil, 0, err
		}
		cases = append(cases, c)
	}
	if cases == nil {
		cases = []casefile.Case{}
	}
	return cases, total, rows.Err()
}

func checkCaseColumns(fields []pgconn.FieldDescription) error {
	if len(fields) < caseColumns {
		return fmt.Errorf("a case row has %d columns, want at least %d", len(fields), caseColumns)
	}
	for i, want := range caseColumnTypes {
		if fields[i].DataTypeOID != want {
			return fmt.Errorf("case column %d (%s) has type %d, want %d", i, fields[i].Name, fields[i].DataTypeOID, want)
		}
	}
	return nil
}

// decodeCase turns the raw values of one row (columns as checkCaseColumns
// wants them) into a case. A NULL text is the empty string, as the API
// shows it.
func decodeCase(fields []pgconn.FieldDescription, raw [][]byte) (casefile.Case, error) {
	// Text is the same bytes in either wire format; copy it all at once.
	n := 0
	for i, oid := range caseColumnTypes {
		if oid == pgtype.TextOID {
			n += len(raw[i])
		}
	}
	var b strings.Builder
	b.Grow(n)
	for i, oid := range caseColumnTypes {
		if oid == pgtype.TextOID {
			b.Write(raw[i])
		}
	}
	all, at := b.String(), 0
	var text [caseColumns]string
	for i, oid := range caseColumnTypes {
		if oid == pgtype.TextOID {
			text[i], at = all[at:at+len(raw[i])], at+len(raw[i])
		}
	}

	var err error
	var registeredAt, updatedAt time.Time
	var callbackAt, resolveBy *time.Time
	var version int64
	var escalated bool
	var attachments []casefile.Attachment
	decode := func(column string, e error) {
		if e != nil && err == nil {
			err = fmt.Errorf("case %s, %s: %w", text[0], column, e)
		}
	}
	decode("registration_date", timestampValue(fields[10], raw[10], &registeredAt))
	decode("callback_request_time", optionalTimestamp(fields[21], raw[21], &callbackAt))
	decode("attachments", attachmentsValue(fields[23], raw[23], &attachments))
	version, e := int8Value(fields[24], raw[24])
	decode("version", e)
	decode("updated_at", timestampValue(fields[25], raw[25], &updatedAt))
	escalated, e = boolValue(fields[27], raw[27])
	decode("escalated", e)
	decode("resolve_by", optionalTimestamp(fields[28], raw[28], &resolveBy))
	if err != nil {
		return casefile.Case{}, err
	}
	return casefile.Case{
		ID:                   text[0],
		Class:                casefile.Class(text[1]),
		Type:                 text[2],
		RegisteredByID:       text[3],
		RegisteredByName:     text[4],
		UpdatedByID:          text[5],
		UpdatedByName:        text[6],
		CustomerID:           text[7],
		CustomerName:         text[8],
		CustomerIdentNum:     text[9],
		RegisteredAt:         registeredAt,
		State:                casefile.State(text[11]),
		Resolution:           text[12],
		Importance:           text[13],
		Details:              text[14],
		ArrangementNum:       text[15],
		CommReason:           text[16],
		CommReplyAddress:     text[17],
		CommReplyAddressCode: text[18],
		CommType:             text[19],
		RelCaseID:            text[20],
		CallbackAt:           callbackAt,
		Categorry:            text[22],
		Attachments:          attachments,
		Version:              version,
		UpdatedAt:            updatedAt,
		CallbackStatus:       casefile.CallbackStatus(text[26]),
		Escalated:            escalated,
		ResolveBy:            resolveBy,
	}, nil
}

// postgresEpoch is where binary timestamps count from, in microseconds.
var postgresEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()

func timestampValue(f pgconn.FieldDescription, raw []byte, to *time.Time) error {
	switch {
	case raw == nil:
		return fmt.Errorf("NULL where a time is required")
	case f.Format != pgtype.BinaryFormatCode || len(raw) != 8:
		return fmt.Errorf("want an 8-byte binary timestamp, got format %d, %d bytes", f.Format, len(raw))
	}
	micros := int64(binary.BigEndian.Uint64(raw))
	if micros == infinityMicros || micros == -infinityMicros-1 {
		return fmt.Errorf("infinite timestamp")
	}
	seconds, rest := micros/1e6, micros%1e6
	if rest < 0 {
		seconds, rest = seconds-1, rest+1e6
	}
	*to = time.Unix(postgresEpoch+seconds, rest*1000).UTC()
	return nil
}

// infinityMicros is Postgres's binary 'infinity'; '-infinity' is its
// negative minus one (math.MinInt64).
const infinityMicros = 1<<63 - 1

func optionalTimestamp(f pgconn.FieldDescription, raw []byte, to **time.Time) error {
	if raw == nil {
		return nil
	}
	var t time.Time
	if err := timestampValue(f, raw, &t); err != nil {
		return err
	}
	*to = &t
	return nil
}

func int8Value(f pgconn.FieldDescription, raw []byte) (int64, error) {
	switch {
	case raw == nil:
		return 0, fmt.Errorf("NULL where a number is required")
	case f.Format == pgtype.BinaryFormatCode && len(raw) == 8:
		return int64(binary.BigEndian.Uint64(raw)), nil
	case f.Format == pgtype.TextFormatCode:
		return strconv.ParseInt(string(raw), 10, 64)
	}
	return 0, fmt.Errorf("want an 8-byte binary integer, got %d bytes", len(raw))
}

func boolValue(f pgconn.FieldDescription, raw []byte) (bool, error) {
	switch {
	case raw == nil:
		return false, fmt.Errorf("NULL where true or false is required")
	case f.Format == pgtype.BinaryFormatCode && len(raw) == 1:
		return raw[0] != 0, nil
	case f.Format == pgtype.TextFormatCode && len(raw) == 1:
		return raw[0] == 't', nil
	}
	return false, fmt.Errorf("want a boolean, got format %d, %d bytes", f.Format, len(raw))
}

func attachmentsValue(f pgconn.FieldDescription, raw []byte, to *[]casefile.Attachment) error {
	if raw == nil {
		return fmt.Errorf("NULL where a list is required")
	}
	if f.Format == pgtype.BinaryFormatCode {
		// Binary jsonb is a version byte, then the JSON text.
		if len(raw) == 0 || raw[0] != 1 {
			return fmt.Errorf("unknown binary jsonb version")
		}
		raw = raw[1:]
	}
	if string(raw) == "[]" {
		// Most cases have none; the decoder cost more than the rest of the row.
		*to = []casefile.Attachment{}
		return nil
	}
	return json.Unmarshal(raw, to)
}
