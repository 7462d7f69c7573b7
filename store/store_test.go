package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/internal/pgtest"
	"github.com/bank/caseservice/store"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func newStore(t *testing.T) *store.Store {
	pool, _ := pgtest.New(t)
	return store.New(pool)
}

func registered(id, customer string, at time.Time) casefile.Case {
	return casefile.Case{
		ID: id, Class: casefile.ClassComplaint, Type: "Complaint",
		RegisteredByName: "Stevan.Kostoski", UpdatedByName: "Stevan.Kostoski",
		CustomerID: customer, CustomerName: "Ime Prezime", Importance: "Standard",
		State: casefile.StateAccepted, RegisteredAt: at, UpdatedAt: at, Version: 1,
	}
}

func TestRecordThenReadRoundTrips(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	c := registered("WI0000000001", "C1", t0)
	callbackAt := t0.Add(time.Hour)
	c.CallbackAt = &callbackAt
	c.Categorry = "Cards"
	c.CallbackStatus, c.CallbackSchedule = casefile.CallbackDelivered, 0
	resolveBy := t0.Add(48 * time.Hour)
	c.ResolveBy, c.Escalated = &resolveBy, true
	c.Attachments = []casefile.Attachment{{FileID: "f-1", FileName: "a.pdf", AddedAt: t0}}
	// Every text column set, so a column a read forgets shows.
	c.RegisteredByID, c.UpdatedByID, c.CustomerIdentNum = "agent-7", "agent-9", "1234567890123"
	c.Resolution, c.Details, c.ArrangementNum = "refunded", "charged twice", "MK07250120000058984"
	c.CommReason, c.CommReplyAddress, c.CommReplyAddressCode = "Complaint", "ana@example.com", "E1"
	c.CommType, c.RelCaseID = "Email", "WI0000000000"
	c.ResolutionCode, c.AssigneeID, c.AssigneeName, c.Queue = "ComplaintUpheld", "agent-3", "Ana Petrova", "cards"
	require.NoError(t, s.Record(ctx, casefile.HistoryEntry{Case: c, Change: casefile.ChangeRegistered}))

	got, err := s.Case(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, c, got)
	// Each listing maps its own rows: every field must come through too.
	for _, filter := range []store.CaseFilter{{}, {CustomerID: c.CustomerID}} {
		listed, err := s.Cases(ctx, store.CaseQuery{Filter: filter, Page: store.Page{Number: 1, Size: 20}})
		require.NoError(t, err)
		require.Equal(t, []casefile.Case{c}, listed.Cases, "%+v", filter)
	}
}

func TestNoAttachmentsReadBackAsAnEmptyList(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	c := registered("WI0000000001", "C1", t0)
	c.Attachments = []casefile.Attachment{}
	require.NoError(t, s.Record(ctx, casefile.HistoryEntry{Case: c, Change: casefile.ChangeRegistered}))
	got, err := s.Case(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, c, got, "an empty list, not nil")
	listed, err := s.Cases(ctx, store.CaseQuery{Filter: store.CaseFilter{CustomerID: c.CustomerID}, Page: store.Page{Number: 1, Size: 20}})
	require.NoError(t, err)
	require.Equal(t, []casefile.Case{c}, listed.Cases)
}

func TestUnknownCaseIsNotFound(t *testing.T) {
	s := newStore(t)
	_, err := s.Case(context.Background(), "WI0000000404")
	require.ErrorIs(t, err, casefile.ErrNotFound)
	var rejection *casefile.Rejection
	require.True(t, errors.As(err, &rejection))
	require.Equal(t, "case WI0000000404 does not exist", rejection.Detail)
}

func TestRecordIsIdempotentAndNeverGoesBack(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	v1 := registered("WI0000000001", "C1", t0)
	v2 := v1
	v2.Version, v2.State, v2.Resolution, v2.UpdatedAt = 2, casefile.StateResolved, "fixed", t0.Add(time.Minute)

	require.NoError(t, s.Record(ctx, casefile.HistoryEntry{Case: v1, Change: casefile.ChangeRegistered}))
	require.NoError(t, s.Record(ctx, casefile.HistoryEntry{Case: v2, Change: casefile.ChangeResolved, Note: "checked twice"}))
	// A retried v2 and a late v1 change nothing.
	require.NoError(t, s.Record(ctx, casefile.HistoryEntry{Case: v2, Change: casefile.ChangeResolved}))
	require.NoError(t, s.Record(ctx, casefile.HistoryEntry{Case: v1, Change: casefile.ChangeRegistered}))

	got, err := s.Case(ctx, v1.ID)
	require.NoError(t, err)
	require.Equal(t, int64(2), got.Version)
	require.Equal(t, casefile.StateResolved, got.State)

	history, err := s.History(ctx, store.HistoryQuery{CaseID: v1.ID, Page: store.Page{Number: 1, Size: 100}, CustomerView: false})
	require.NoError(t, err)
	require.Equal(t, int64(2), history.Total)
	require.Len(t, history.Entries, 2)
	require.Equal(t, casefile.ChangeRegistered, history.Entries[0].Change)
	require.Equal(t, casefile.ChangeResolved, history.Entries[1].Change)
	require.Equal(t, "fixed", history.Entries[1].Case.Resolution)
	require.Equal(t, "checked twice", history.Entries[1].Note)
	require.Equal(t, t0.Add(time.Minute), history.Entries[1].Case.UpdatedAt)
}

// A customer's history leaves out notes added for agents only, and shows
// other notes only where they are marked for the customer.
func TestCustomersSeeOnlyTheirNotes(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	c := registered("WI0000000001", "C1", t0)
	entries := []casefile.HistoryEntry{{Case: c, Change: casefile.ChangeRegistered}}
	for i, e := range []casefile.HistoryEntry{
		{Change: casefile.ChangeNoteAdded, Note: "called the branch", NoteVisibility: casefile.NoteInternal},
		{Change: casefile.ChangeNoteAdded, Note: "your card is on its way", NoteVisibility: casefile.NoteCustomer},
		{Change: casefile.ChangeEscalated, Note: "VIP customer", NoteVisibility: casefile.NoteInternal},
	} {
		e.Case = c
		e.Case.Version = int64(i + 2)
		entries = append(entries, e)
	}
	for _, e := range entries {
		require.NoError(t, s.Record(ctx, e))
	}

	agent, err := s.History(ctx, store.HistoryQuery{CaseID: c.ID, Page: store.Page{Number: 1, Size: 100}, CustomerView: false})
	require.NoError(t, err)
	require.Equal(t, int64(4), agent.Total)
	require.Equal(t, casefile.NoteInternal, agent.Entries[1].NoteVisibility)
	require.Equal(t, "VIP customer", agent.Entries[3].Note)

	customer, err := s.History(ctx, store.HistoryQuery{CaseID: c.ID, Page: store.Page{Number: 1, Size: 100}, CustomerView: true})
	require.NoError(t, err)
	require.Equal(t, int64(3), customer.Total)
	var versions []int64
	for _, e := range customer.Entries {
		versions = append(versions, e.Case.Version)
	}
	require.Equal(t, []int64{1, 3, 4}, versions)
	require.Equal(t, "your card is on its way", customer.Entries[1].Note)
	require.Equal(t, casefile.NoteCustomer, customer.Entries[1].NoteVisibility)
	require.Empty(t, customer.Entries[2].Note, "an escalation's internal note")

	past, err := s.History(ctx, store.HistoryQuery{CaseID: c.ID, Page: store.Page{Number: 2, Size: 100}, CustomerView: true})
	require.NoError(t, err)
	require.Equal(t, int64(3), past.Total, "the count past the last page leaves out the same rows")
}

func TestCasesFiltersOrdersAndPages(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	for i := 1; i <= 5; i++ {
		c := registered(casefile.FormatID(int64(i)), fmt.Sprintf("C%d", i%2), t0.Add(time.Duration(i)*time.Minute))
		if i == 3 {
			c.State, c.Version = casefile.StateClosed, 2
		}
		if i == 4 {
			c.Type = "CardComplaint"
		}
		require.NoError(t, s.Record(ctx, casefile.HistoryEntry{Case: c, Change: casefile.ChangeRegistered}))
	}
	ids := func(p store.CasePage) []string {
		out := []string{}
		for _, c := range p.Cases {
			out = append(out, c.ID)
		}
		return out
	}
	tests := []struct {
		name   string
		filter store.CaseFilter
		page   store.Page
		want   []string
		total  int64
	}{
		{"active newest first", store.CaseFilter{}, store.Page{Number: 1, Size: 20},
			[]string{"WI0000000005", "WI0000000004", "WI0000000002", "WI0000000001"}, 4},
		{"second page", store.CaseFilter{}, store.Page{Number: 2, Size: 3}, []string{"WI0000000001"}, 4},
		{"past the end keeps the total", store.CaseFilter{}, store.Page{Number: 9, Size: 3}, []string{}, 4},
		{"closed", store.CaseFilter{States: []casefile.State{casefile.StateClosed}}, store.Page{Number: 1, Size: 20}, []string{"WI0000000003"}, 1},
		{"by customer", store.CaseFilter{CustomerID: "C1"}, store.Page{Number: 1, Size: 20},
			[]string{"WI0000000005", "WI0000000001"}, 2},
		{"a customer's second page", store.CaseFilter{CustomerID: "C1"}, store.Page{Number: 2, Size: 1}, []string{"WI0000000001"}, 2},
		{"past a customer's last page keeps the total", store.CaseFilter{CustomerID: "C1"}, store.Page{Number: 3, Size: 1}, []string{}, 2},
		{"a customer's cases of a type", store.CaseFilter{CustomerID: "C0", CaseType: "CardComplaint"}, store.Page{Number: 1, Size: 20},
			[]string{"WI0000000004"}, 1},
		{"by type", store.CaseFilter{CaseType: "CardComplaint"}, store.Page{Number: 1, Size: 20}, []string{"WI0000000004"}, 1},
		{"customer and state", store.CaseFilter{CustomerID: "C1", States: []casefile.State{casefile.StateClosed}}, store.Page{Number: 1, Size: 20},
			[]string{"WI0000000003"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Cases(ctx, store.CaseQuery{Filter: tt.filter, Page: tt.page})
			require.NoError(t, err)
			require.Equal(t, tt.want, ids(got))
			require.Equal(t, tt.total, got.Total)
		})
	}
}

func TestNextCaseIDIsUniqueAndWellFormed(t *testing.T) {
	s := newStore(t)
	seen := map[string]bool{}
	for range 3 {
		id, err := s.NextCaseID(context.Background())
		require.NoError(t, err)
		require.True(t, casefile.ValidID(id), id)
		require.False(t, seen[id])
		seen[id] = true
	}
}

func TestSeedFillsCasesWithASpread(t *testing.T) {
	pool, _ := pgtest.New(t)
	s := store.New(pool)
	ctx := context.Background()
	before, err := s.NextCaseID(ctx)
	require.NoError(t, err)
	first, last, err := s.Seed(ctx, store.SeedSpec{Cases: 25_000, Customers: 100, Span: 365 * 24 * time.Hour, Seed: 7}, t0)
	require.NoError(t, err)
	require.Greater(t, first, before)
	next, err := s.NextCaseID(ctx)
	require.NoError(t, err)
	require.Greater(t, next, last, "the sequence moved past the seeded block")

	all, err := s.Cases(ctx, store.CaseQuery{Filter: store.CaseFilter{States: []casefile.State{casefile.StateClosed}}, Page: store.Page{Number: 1, Size: 1}})
	require.NoError(t, err)
	require.InDelta(t, 0.25*25_000, all.Total, 0.03*25_000, "about a quarter closed")
	active, err := s.Cases(ctx, store.CaseQuery{Filter: store.CaseFilter{}, Page: store.Page{Number: 1, Size: 5}})
	require.NoError(t, err)
	require.InDelta(t, 0.75*25_000, active.Total, 0.03*25_000)
	require.Len(t, active.Cases, 5)
	require.False(t, active.Cases[0].RegisteredAt.After(t0))
	one, err := s.Cases(ctx, store.CaseQuery{Filter: store.CaseFilter{CustomerID: "SEED0000042"}, Page: store.Page{Number: 1, Size: 100}})
	require.NoError(t, err)
	require.Greater(t, one.Total, int64(100), "about 250 cases per customer, active ones counted")
	var estimated float64
	require.NoError(t, pool.QueryRow(ctx, "SELECT reltuples FROM pg_class WHERE relname = 'cases'").Scan(&estimated))
	require.InDelta(t, 25_000, estimated, 2_500, "the planner knows the seeded rows without waiting for autovacuum")
}

// TestListTotalsStayExact changes cases every way the service and operators
// do (concurrent registrations and state changes, a delete, a truncate) and
// holds each listing's total to a count of the rows.
func TestListTotalsStayExact(t *testing.T) {
	pool, _ := pgtest.New(t)
	s := store.New(pool)
	ctx := context.Background()
	escalated := true
	filters := []store.CaseFilter{
		{}, {States: []casefile.State{casefile.StateAccepted}}, {States: []casefile.State{casefile.StateResolved}},
		{States: []casefile.State{casefile.StateClosed}}, {CaseType: "Complaint"},
		{CaseType: "CardComplaint", States: []casefile.State{casefile.StateClosed}},
		// Counted from case_tallies:
		{Queue: "cards"}, {Queue: "loans", States: []casefile.State{casefile.StateResolved, casefile.StateClosed}},
		{Importances: []string{"High", "Critical"}}, {Unassigned: true}, {Escalated: &escalated},
		{CaseClass: casefile.ClassComplaint, CaseType: "CardComplaint"},
		// From case_assignee_counts:
		{AssigneeID: "agent-0"}, {AssigneeID: "agent-1", States: []casefile.State{casefile.StateClosed}},
	}
	requireExact := func() {
		t.Helper()
		for _, f := range filters {
			var want int64
			sql, args := store.DirectCountSQL(f)
			require.NoError(t, pool.QueryRow(ctx, sql, args...).Scan(&want))
			got, err := s.Cases(ctx, store.CaseQuery{Filter: f, Page: store.Page{Number: 1, Size: 1}})
			require.NoError(t, err)
			if want == 0 {
				continue // an empty first page has no row to carry the total
			}
			require.EqualValues(t, want, got.Total, "filter %+v", f)
		}
	}

	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 25 {
				c := registered(casefile.FormatID(int64(900_000+w*100+i)), "C1", t0.Add(time.Duration(i)*time.Minute))
				if i%3 == 0 {
					c.Type = "CardComplaint"
				}
				c.Queue, c.Importance = []string{"cards", "loans"}[i%2], casefile.Importances[i%4]
				assert.NoError(t, s.Record(ctx, casefile.HistoryEntry{Case: c, Change: casefile.ChangeRegistered}))
				for v, state := range []casefile.State{casefile.StateResolved, casefile.StateClosed}[:i%3] {
					// Each change moves the case between the counters of several filters.
					c.State, c.Version = state, int64(v+2)
					c.Queue, c.AssigneeID, c.Escalated = "loans", fmt.Sprintf("agent-%d", v), v == 0
					assert.NoError(t, s.Record(ctx, casefile.HistoryEntry{Case: c, Change: casefile.ChangeUpdated}))
				}
			}
		})
	}
	wg.Wait()
	requireExact()

	_, err := pool.Exec(ctx, "DELETE FROM cases WHERE case_id IN ('WI0000900001', 'WI0000900102', 'WI0000900203')")
	require.NoError(t, err)
	requireExact()
	_, _, err = s.Seed(ctx, store.SeedSpec{Cases: 2000, Customers: 10, Span: time.Hour, Seed: 3}, t0)
	require.NoError(t, err)
	requireExact()
	_, err = pool.Exec(ctx, "TRUNCATE cases")
	require.NoError(t, err)
	var counters int
	require.NoError(t, pool.QueryRow(ctx, "SELECT (SELECT count(*) FROM case_counts) + (SELECT count(*) FROM case_tallies) + (SELECT count(*) FROM case_assignee_counts)").Scan(&counters))
	require.Zero(t, counters)
}

func TestCasesByIDAndHistoryShapes(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	c := registered("WI0000000007", "C7", t0)
	require.NoError(t, s.Record(ctx, casefile.HistoryEntry{Case: c, Change: casefile.ChangeRegistered}))
	resolved := c
	resolved.State, resolved.Version = casefile.StateResolved, 3
	require.NoError(t, s.Record(ctx, casefile.HistoryEntry{Case: resolved, Change: casefile.ChangeResolved}))

	rows, err := s.CasesByID(ctx, []string{c.ID, "WI0000000404"})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	require.Equal(t, casefile.StateResolved, rows[c.ID].State)

	shapes, err := s.HistoryShapes(ctx, []string{c.ID})
	require.NoError(t, err)
	require.Equal(t, store.HistoryShape{Rows: 2, Versions: 2, First: 1, Last: 3}, shapes[c.ID])
	require.False(t, shapes[c.ID].Gapless(), "version 2 is missing")
	require.True(t, store.HistoryShape{Rows: 3, Versions: 3, First: 1, Last: 3}.Gapless())
}

func TestCallbacksListsOnlyCallbackRequestsOfTheStatus(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	callback := registered("WI0000000001", "C1", t0)
	callback.Class, callback.Type = casefile.ClassCallbackRequest, "CallbackRequest"
	at := t0.Add(time.Hour)
	callback.CallbackAt, callback.CallbackStatus = &at, casefile.CallbackDelivered
	callback.Attachments = []casefile.Attachment{}
	complaint := registered("WI0000000002", "C1", t0)
	for _, c := range []casefile.Case{callback, complaint} {
		require.NoError(t, s.Record(ctx, casefile.HistoryEntry{Case: c, Change: casefile.ChangeRegistered}))
	}
	got, err := s.Callbacks(ctx, casefile.CallbackDelivered, 10)
	require.NoError(t, err)
	require.Equal(t, []casefile.Case{callback}, got)
	got, err = s.Callbacks(ctx, casefile.CallbackFailed, 10)
	require.NoError(t, err)
	require.Empty(t, got)
}

func TestRegistrationRangesAreCountedUpToTheLimit(t *testing.T) {
	pool, _ := pgtest.New(t)
	s := store.New(pool)
	ctx := context.Background()
	_, _, err := s.Seed(ctx, store.SeedSpec{Cases: store.CountLimit + 500, Customers: 50, Span: 100 * time.Hour, Seed: 5}, t0)
	require.NoError(t, err)
	wide, err := s.Cases(ctx, store.CaseQuery{Filter: store.CaseFilter{
		States: casefile.States, RegisteredFrom: t0.Add(-200 * time.Hour)}, Page: store.Page{Number: 1, Size: 5}})
	require.NoError(t, err)
	require.Equal(t, int64(store.CountLimit), wide.Total)
	require.True(t, wide.TotalAtLeast)

	narrow, err := s.Cases(ctx, store.CaseQuery{Filter: store.CaseFilter{
		States: casefile.States, RegisteredFrom: t0.Add(-time.Hour)}, Page: store.Page{Number: 1, Size: 5}})
	require.NoError(t, err)
	require.False(t, narrow.TotalAtLeast)
	var want int64
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM cases WHERE registration_date >= $1", t0.Add(-time.Hour)).Scan(&want))
	require.Equal(t, want, narrow.Total)
	require.Less(t, want, int64(store.CountLimit))

	// One customer's cases are counted in full, also past the last page.
	_, _, err = s.Seed(ctx, store.SeedSpec{Cases: store.CountLimit + 200, Customers: 1, Span: time.Hour, Seed: 6}, t0)
	require.NoError(t, err)
	var mine int64
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM cases WHERE customer_id = 'SEED0000000'").Scan(&mine))
	for _, page := range []store.Page{{Number: 1, Size: 5}, {Number: 100_000, Size: 5}} {
		theirs, err := s.Cases(ctx, store.CaseQuery{Filter: store.CaseFilter{CustomerID: "SEED0000000",
			States: casefile.States, RegisteredFrom: t0.Add(-200 * time.Hour)}, Page: page})
		require.NoError(t, err)
		require.Equal(t, mine, theirs.Total, "page %d", page.Number)
		require.False(t, theirs.TotalAtLeast)
	}
}
