package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

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
	require.NoError(t, s.Record(ctx, casefile.HistoryEntry{Case: c, Change: casefile.ChangeRegistered}))

	got, err := s.Case(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, c, got)
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

	history, err := s.History(ctx, v1.ID, store.Page{Number: 1, Size: 100})
	require.NoError(t, err)
	require.Equal(t, int64(2), history.Total)
	require.Len(t, history.Entries, 2)
	require.Equal(t, casefile.ChangeRegistered, history.Entries[0].Change)
	require.Equal(t, casefile.ChangeResolved, history.Entries[1].Change)
	require.Equal(t, "fixed", history.Entries[1].Case.Resolution)
	require.Equal(t, "checked twice", history.Entries[1].Note)
	require.Equal(t, t0.Add(time.Minute), history.Entries[1].Case.UpdatedAt)
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
		{"closed", store.CaseFilter{State: casefile.StateClosed}, store.Page{Number: 1, Size: 20}, []string{"WI0000000003"}, 1},
		{"by customer", store.CaseFilter{CustomerID: "C1"}, store.Page{Number: 1, Size: 20},
			[]string{"WI0000000005", "WI0000000001"}, 2},
		{"by type", store.CaseFilter{CaseType: "CardComplaint"}, store.Page{Number: 1, Size: 20}, []string{"WI0000000004"}, 1},
		{"customer and state", store.CaseFilter{CustomerID: "C1", State: casefile.StateClosed}, store.Page{Number: 1, Size: 20},
			[]string{"WI0000000003"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Cases(ctx, tt.filter, tt.page)
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
	s := newStore(t)
	ctx := context.Background()
	before, err := s.NextCaseID(ctx)
	require.NoError(t, err)
	first, last, err := s.Seed(ctx, store.SeedSpec{Cases: 25_000, Customers: 100, Span: 365 * 24 * time.Hour, Seed: 7}, t0)
	require.NoError(t, err)
	require.Greater(t, first, before)
	next, err := s.NextCaseID(ctx)
	require.NoError(t, err)
	require.Greater(t, next, last, "the sequence moved past the seeded block")

	all, err := s.Cases(ctx, store.CaseFilter{State: casefile.StateClosed}, store.Page{Number: 1, Size: 1})
	require.NoError(t, err)
	require.InDelta(t, 0.25*25_000, all.Total, 0.03*25_000, "about a quarter closed")
	active, err := s.Cases(ctx, store.CaseFilter{}, store.Page{Number: 1, Size: 5})
	require.NoError(t, err)
	require.InDelta(t, 0.75*25_000, active.Total, 0.03*25_000)
	require.Len(t, active.Cases, 5)
	require.False(t, active.Cases[0].RegisteredAt.After(t0))
	one, err := s.Cases(ctx, store.CaseFilter{CustomerID: "SEED0000042"}, store.Page{Number: 1, Size: 100})
	require.NoError(t, err)
	require.Greater(t, one.Total, int64(100), "about 250 cases per customer, active ones counted")
}
