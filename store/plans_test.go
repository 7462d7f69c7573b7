package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/internal/pgtest"
	"github.com/bank/caseservice/store"
)

// planCases is enough cases for the planner to prefer a sequential scan
// wherever no index serves a listing; PLAN_TEST_CASES asks for more (the
// figure in docs/BENCHMARKS.md ran with 1000000).
func planCases(t *testing.T) int {
	raw := os.Getenv("PLAN_TEST_CASES")
	if raw == "" {
		return 200_000
	}
	n, err := strconv.Atoi(raw)
	require.NoError(t, err, "PLAN_TEST_CASES")
	return n
}

// TestListingPlansUseIndexes: every filter of GET /cases, alone and in
// pairs, under every sort, for all cases and for one customer's, first
// pages and cursor pages, is planned on indexes: no sequential scan of
// cases, in the page or in its count.
func TestListingPlansUseIndexes(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 200,000 cases")
	}
	cases := planCases(t)
	pool, _ := pgtest.New(t)
	s := store.New(pool)
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	_, _, err := s.Seed(ctx, store.SeedSpec{Cases: cases, Customers: cases / 20, Span: 365 * 24 * time.Hour, Seed: 11}, now)
	require.NoError(t, err)

	yes, no := true, false
	filters := map[string]func(*store.CaseFilter){
		"active":         func(*store.CaseFilter) {},
		"state=Accepted": func(f *store.CaseFilter) { f.States = []casefile.State{casefile.StateAccepted} },
		"state=Accepted,Resolved": func(f *store.CaseFilter) {
			f.States = []casefile.State{casefile.StateAccepted, casefile.StateResolved}
		},
		"state=Closed":          func(f *store.CaseFilter) { f.States = []casefile.State{casefile.StateClosed} },
		"state=Resolved,Closed": func(f *store.CaseFilter) { f.States = []casefile.State{casefile.StateResolved, casefile.StateClosed} },
		"importance=Critical":   func(f *store.CaseFilter) { f.Importances = []string{"Critical"} },
		"importance=High,Critical": func(f *store.CaseFilter) {
			f.Importances = []string{"High", "Critical"}
		},
		"case-type":        func(f *store.CaseFilter) { f.CaseType = "Complaint" },
		"case-class":       func(f *store.CaseFilter) { f.CaseClass = casefile.ClassServiceRequest },
		"assignee-id":      func(f *store.CaseFilter) { f.AssigneeID = "agent-042" },
		"assignee-id=none": func(f *store.CaseFilter) { f.Unassigned = true },
		"queue":            func(f *store.CaseFilter) { f.Queue = "cards" },
		"escalated=true":   func(f *store.CaseFilter) { f.Escalated = &yes },
		"escalated=false":  func(f *store.CaseFilter) { f.Escalated = &no },
		"callback-status":  func(f *store.CaseFilter) { f.CallbackStatus = casefile.CallbackScheduled },
		"registered-from":  func(f *store.CaseFilter) { f.RegisteredFrom = now.Add(-7 * 24 * time.Hour) },
		"registered-to":    func(f *store.CaseFilter) { f.RegisteredTo = now.Add(-300 * 24 * time.Hour) },
	}
	after := store.CaseCursor{CaseID: "WI0000100000", RegisteredAt: now.Add(-100 * 24 * time.Hour), Importance: "High"}
	deadline := now.Add(-99 * 24 * time.Hour)
	afterDeadline := after
	afterDeadline.ResolveBy = &deadline
	checked := 0
	for first, narrowFirst := range filters {
		for second, narrowSecond := range filters {
			if second < first {
				continue // each pair once; a filter with itself is the filter alone
			}
			for _, order := range store.CaseOrders {
				for _, customer := range []string{"", "SEED0004242"} {
					for _, cursor := range []*store.CaseCursor{nil, &after, &afterDeadline} {
						f := store.CaseFilter{CustomerID: customer}
						narrowFirst(&f)
						narrowSecond(&f)
						q := store.CaseQuery{Filter: f, Order: order, Page: store.Page{Number: 1, Size: 20}, After: cursor}
						name := fmt.Sprintf("%s+%s sort=%s customer=%q cursor=%v", first, second, order, customer, cursor != nil)
						sql, args := store.ListingStatement(q)
						requireIndexPlan(t, pool, name, sql, args)
						sql, args = store.CountSQL(q)
						requireIndexPlan(t, pool, name+" count", sql, args)
						checked++
					}
				}
			}
		}
	}
	t.Logf("%d listings planned on indexes at %d cases", checked, cases)
}

// requireIndexPlan fails when the plan of sql scans cases sequentially.
func requireIndexPlan(t *testing.T, pool *pgxpool.Pool, name, sql string, args []any) {
	t.Helper()
	var plan []byte
	require.NoError(t, pool.QueryRow(context.Background(), "EXPLAIN (FORMAT JSON) "+sql, args...).Scan(&plan), name)
	var scans []string
	var walk func(node map[string]any)
	walk = func(node map[string]any) {
		if node["Node Type"] == "Seq Scan" {
			scans = append(scans, fmt.Sprint(node["Relation Name"]))
		}
		children, _ := node["Plans"].([]any)
		for _, child := range children {
			walk(child.(map[string]any))
		}
	}
	var doc []map[string]map[string]any
	require.NoError(t, json.Unmarshal(plan, &doc))
	walk(doc[0]["Plan"])
	if slices.Contains(scans, "cases") {
		t.Errorf("%s: sequential scan of cases\n%s\n%s", name, sql, plan)
	}
}
