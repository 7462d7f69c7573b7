// Package store reads and writes cases in Postgres.
package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/delivery"
	"github.com/bank/caseservice/store/internal/queries"
)

// Store is the Postgres-backed case store.
type Store struct {
	pool    *pgxpool.Pool
	queries *queries.Queries
	batched *batchedReads // nil: each read runs on its own
}

// New returns a store over pool.
func New(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, queries: queries.New(pool)}
}

// NextCaseID draws a fresh case id from the case number sequence.
func (s *Store) NextCaseID(ctx context.Context) (string, error) {
	n, err := s.queries.NextCaseNumber(ctx)
	if err != nil {
		return "", mapError("next case number", err)
	}
	return casefile.FormatID(n), nil
}

// readCases runs a query whose rows are cases (collectCases).
func (s *Store) readCases(ctx context.Context, capacity int, sql string, args ...any) ([]casefile.Case, int64, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, 0, err
	}
	return collectCases(rows, capacity)
}

// Record writes one version of a case: the current row (only if newer than the
// stored one) and its history row (only if not already there), atomically in
// one statement and one round trip.
func (s *Store) Record(ctx context.Context, entry casefile.HistoryEntry) error {
	c := entry.Case
	attachments, err := json.Marshal(nonNil(c.Attachments))
	if err != nil {
		return fmt.Errorf("encode attachments: %w", err)
	}
	_, err = s.queries.RecordCase(ctx, queries.RecordCaseParams{
		CaseID:               c.ID,
		CaseClass:            string(c.Class),
		CaseType:             c.Type,
		RegisteredByID:       nullable(c.RegisteredByID),
		RegisteredByName:     nullable(c.RegisteredByName),
		UpdatedByID:          nullable(c.UpdatedByID),
		UpdatedByName:        nullable(c.UpdatedByName),
		CustomerID:           c.CustomerID,
		CustomerName:         nullable(c.CustomerName),
		CustomerIdentNum:     nullable(c.CustomerIdentNum),
		RegistrationDate:     c.RegisteredAt,
		State:                string(c.State),
		Resolution:           nullable(c.Resolution),
		Importance:           c.Importance,
		Details:              nullable(c.Details),
		ArrangementNum:       nullable(c.ArrangementNum),
		CommReason:           nullable(c.CommReason),
		CommReplyAddress:     nullable(c.CommReplyAddress),
		CommReplyAddressCode: nullable(c.CommReplyAddressCode),
		CommType:             nullable(c.CommType),
		RelCaseID:            nullable(c.RelCaseID),
		CallbackRequestTime:  c.CallbackAt,
		Categorry:            nullable(c.Categorry),
		Attachments:          attachments,
		Version:              c.Version,
		VersionDate:          c.UpdatedAt,
		CallbackStatus:       nullable(string(c.CallbackStatus)),
		Escalated:            c.Escalated,
		ResolveBy:            c.ResolveBy,
		Change:               string(entry.Change),
		Note:                 nullable(entry.Note),
		NoteVisibility:       nullable(string(entry.NoteVisibility)),
		ResolutionCode:       nullable(c.ResolutionCode),
		AssigneeID:           nullable(c.AssigneeID),
		AssigneeName:         nullable(c.AssigneeName),
		Queue:                nullable(c.Queue),
	})
	return mapError(fmt.Sprintf("record %s version %d", c.ID, c.Version), err)
}

// Page selects a 1-based page of a listing.
type Page struct {
	Number int
	Size   int
}

func (p Page) offset() int { return (p.Number - 1) * p.Size }

// HistoryPage is one page of a case's history, oldest change first.
type HistoryPage struct {
	Entries []casefile.HistoryEntry
	Total   int64
	// More says whether rows follow the page's last.
	More bool
}

// HistoryQuery is one page of a case's history: Page.Number's page, or with
// AfterVersion the page after that version.
type HistoryQuery struct {
	CaseID       string
	Page         Page
	AfterVersion int64
	// CustomerView leaves out the notes added for agents only and blanks
	// any other note not marked for the customer (an operator's escalation note).
	CustomerView bool
}

// History returns a page of the recorded changes of a case.
func (s *Store) History(ctx context.Context, q HistoryQuery) (HistoryPage, error) {
	offset := q.Page.offset()
	if q.AfterVersion > 0 {
		offset = 0
	}
	rows, err := s.queries.ListHistory(ctx, queries.ListHistoryParams{
		CaseID:       q.CaseID,
		CustomerView: q.CustomerView,
		AfterVersion: q.AfterVersion,
		// One row more than the page tells whether another page follows.
		RowLimit:  int32(q.Page.Size + 1),
		RowOffset: int32(offset),
	})
	if err != nil {
		return HistoryPage{}, mapError("list history of "+q.CaseID, err)
	}
	more := len(rows) > q.Page.Size
	if more {
		rows = rows[:q.Page.Size]
	}
	out := HistoryPage{Entries: make([]casefile.HistoryEntry, 0, len(rows)), More: more}
	for _, row := range rows {
		out.Total = row.TotalCount
		entry := historyFromRow(row.CaseHistory)
		if q.CustomerView && !entry.VisibleToCustomer() {
			entry.Note = ""
		}
		out.Entries = append(out.Entries, entry)
	}
	if len(rows) == 0 && (offset > 0 || q.AfterVersion > 0) {
		// Past the last page the count has no row to ride on.
		if out.Total, err = s.queries.CountHistory(ctx, queries.CountHistoryParams{CaseID: q.CaseID, CustomerView: q.CustomerView}); err != nil {
			return HistoryPage{}, mapError("count history of "+q.CaseID, err)
		}
	}
	return out, nil
}

// noteVisibility reads a row's visibility: a note without one is internal.
func noteVisibility(row queries.CaseHistory) casefile.NoteVisibility {
	if row.Note == nil {
		return ""
	}
	if v := value(row.NoteVisibility); v != "" {
		return casefile.NoteVisibility(v)
	}
	return casefile.NoteInternal
}

func historyFromRow(row queries.CaseHistory) casefile.HistoryEntry {
	return casefile.HistoryEntry{
		Change:         casefile.Change(row.Change),
		Note:           value(row.Note),
		NoteVisibility: noteVisibility(row),
		Case: casefile.Case{
			ID:               row.CaseID,
			Type:             row.CaseType,
			UpdatedByID:      value(row.UpdatedByID),
			UpdatedByName:    value(row.UpdatedByName),
			CustomerID:       row.CustomerID,
			CustomerName:     value(row.CustomerName),
			CustomerIdentNum: value(row.CustomerIdentNum),
			RegisteredAt:     row.RegistrationDate.UTC(),
			State:            casefile.State(row.State),
			Resolution:       value(row.Resolution),
			Importance:       row.Importance,
			Details:          value(row.Details),
			ArrangementNum:   value(row.ArrangementNum),
			CallbackAt:       utc(row.CallbackRequestTime),
			CallbackStatus:   casefile.CallbackStatus(value(row.CallbackStatus)),
			Escalated:        row.Escalated,
			ResolutionCode:   value(row.ResolutionCode),
			AssigneeID:       value(row.AssigneeID),
			AssigneeName:     value(row.AssigneeName),
			Queue:            value(row.Queue),
			Version:          row.Version,
			UpdatedAt:        row.VersionDate.UTC(),
		},
	}
}

// nullable stores an empty string as NULL.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func value(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func nonNil(a []casefile.Attachment) []casefile.Attachment {
	if a == nil {
		return []casefile.Attachment{}
	}
	return a
}

// AddToOutbox keeps a message for a receiver that is not configured. A
// message already kept under the same idempotency key is not added again.
func (s *Store) AddToOutbox(ctx context.Context, m delivery.Message) (bool, error) {
	n, err := s.queries.InsertOutbox(ctx, queries.InsertOutboxParams{
		IdempotencyKey: m.IdempotencyKey,
		Kind:           m.Kind,
		CaseID:         m.CaseID,
		Payload:        m.Body,
	})
	if err != nil {
		return false, mapError("add to outbox "+m.IdempotencyKey, err)
	}
	return n == 1, nil
}

// OutboxEntry is a kept message.
type OutboxEntry struct {
	IdempotencyKey string
	Kind           string
	CaseID         string
	Payload        json.RawMessage
	CreatedAt      time.Time
}

// Outbox lists the newest kept messages of a kind.
func (s *Store) Outbox(ctx context.Context, kind string, limit int) ([]OutboxEntry, error) {
	rows, err := s.queries.ListOutbox(ctx, queries.ListOutboxParams{Kind: kind, Limit: int32(limit)})
	if err != nil {
		return nil, mapError("list outbox", err)
	}
	out := make([]OutboxEntry, len(rows))
	for i, r := range rows {
		out[i] = OutboxEntry{IdempotencyKey: r.IdempotencyKey, Kind: r.Kind, CaseID: r.CaseID, Payload: r.Payload, CreatedAt: r.CreatedAt.UTC()}
	}
	return out, nil
}

// Callbacks lists callback requests, newest requested time first, optionally
// of one status.
func (s *Store) Callbacks(ctx context.Context, status casefile.CallbackStatus, limit int) ([]casefile.Case, error) {
	cases, _, err := s.readCases(ctx, limit, queries.ListCallbacksSQL, nullable(string(status)), int32(limit))
	if err != nil {
		return nil, mapError("list callbacks", err)
	}
	return cases, nil
}

// OutboxTimes says when each of the given messages reached the outbox.
func (s *Store) OutboxTimes(ctx context.Context, keys []string) (map[string]time.Time, error) {
	rows, err := s.queries.OutboxTimes(ctx, keys)
	if err != nil {
		return nil, mapError("outbox times", err)
	}
	out := make(map[string]time.Time, len(rows))
	for _, r := range rows {
		out[r.IdempotencyKey] = r.CreatedAt.UTC()
	}
	return out, nil
}

// CasesByID returns the current state of the cases with the given ids that exist.
func (s *Store) CasesByID(ctx context.Context, ids []string) (map[string]casefile.Case, error) {
	cases, _, err := s.readCases(ctx, len(ids), queries.GetCasesSQL, ids)
	if err != nil {
		return nil, mapError("get cases", err)
	}
	out := make(map[string]casefile.Case, len(cases))
	for _, c := range cases {
		out[c.ID] = c
	}
	return out, nil
}

// HistoryShape summarises a case's history rows.
type HistoryShape struct {
	Rows, Versions int64
	First, Last    int64
}

// Gapless says whether the history holds each version from 1 to the last once.
func (h HistoryShape) Gapless() bool {
	return h.Rows == h.Versions && h.First == 1 && h.Last == h.Rows
}

// HistoryShapes summarises the history of each of the given cases that has any.
func (s *Store) HistoryShapes(ctx context.Context, ids []string) (map[string]HistoryShape, error) {
	rows, err := s.queries.HistoryShapes(ctx, ids)
	if err != nil {
		return nil, mapError("history shapes", err)
	}
	out := make(map[string]HistoryShape, len(rows))
	for _, r := range rows {
		out[r.CaseID] = HistoryShape{Rows: r.RowCount, Versions: r.Versions, First: r.FirstVersion, Last: r.LastVersion}
	}
	return out, nil
}

// FeedPosition is a place in the changes feed: just after the history row
// written as row Seq of transaction Tx. The zero position is the beginning.
type FeedPosition struct {
	Tx, Seq int64
}

// FeedEntry is a history row with its place in the feed.
type FeedEntry struct {
	casefile.HistoryEntry
	Position FeedPosition
}

// ChangesAfter returns up to limit history rows after a position, of every
// case, each once, in the order of the transactions that wrote them. It
// serves only rows of transactions older than every transaction still
// running, so a later call can never find a row before the last one served:
// a consumer that resumes from the last position misses nothing.
func (s *Store) ChangesAfter(ctx context.Context, after FeedPosition, limit int) ([]FeedEntry, error) {
	rows, err := s.queries.ChangesAfter(ctx, queries.ChangesAfterParams{AfterTx: after.Tx, AfterSeq: after.Seq, RowLimit: int32(limit)})
	if err != nil {
		return nil, mapError("read the changes feed", err)
	}
	out := make([]FeedEntry, 0, len(rows))
	for _, row := range rows {
		out = append(out, FeedEntry{
			HistoryEntry: historyFromRow(row.CaseHistory),
			Position:     FeedPosition{Tx: row.CaseHistory.TxID, Seq: row.CaseHistory.FeedSeq},
		})
	}
	return out, nil
}
