package bench

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/config"
	"github.com/bank/caseservice/internal/pgtest"
	"github.com/bank/caseservice/store"
)

// The HTTP baseline's server answers the routes the load tool reads the API
// by, with the baseline's rows, and stops when its stdin ends.
func TestFloorServerAnswersTheAPIsReadRoutes(t *testing.T) {
	ctx := context.Background()
	pool, dbURL := pgtest.New(t)
	_, _, err := store.New(pool).Seed(ctx, store.SeedSpec{Cases: 300, Customers: 10, Span: 24 * time.Hour, Seed: 7}, time.Now())
	require.NoError(t, err)
	var target readTarget
	var inState int
	require.NoError(t, pool.QueryRow(ctx, `SELECT case_id, customer_id, state, count(*) OVER (PARTITION BY customer_id, state)
		FROM cases ORDER BY case_id LIMIT 1`).Scan(&target.id, &target.customer, &target.state, &inState))

	stopReader, stop := io.Pipe()
	announced, announce := io.Pipe()
	served := make(chan error, 1)
	go func() {
		served <- serveFloor(ctx, config.Config{DatabaseURL: dbURL, DatabaseMaxConns: 2}, "127.0.0.1:0", "", stopReader, announce)
	}()
	root, err := bufio.NewReader(announced).ReadString('\n')
	require.NoError(t, err)

	reads, err := parseMix("get=1,list=1")
	require.NoError(t, err)
	floor := newAPILoad(loadOptions{apiURL: strings.TrimSpace(root), timeout: 5 * time.Second, plan: Plan{Concurrency: 2}}, reads, []string{"unchecked"})

	require.Equal(t, Outcome{Status: 200}, floor.read(ctx, 0, "get", target, "unchecked"))
	r, o := floor.send(ctx, 0, "GET", "/cases/"+target.id, "", "", nil)
	require.NoError(t, o.Err)
	require.Contains(t, string(r.body), target.id)

	missing := target
	missing.id = casefile.FormatID(999_999)
	require.Equal(t, 404, floor.read(ctx, 0, "get", missing, "unchecked").Status)

	require.Equal(t, Outcome{Status: 200}, floor.read(ctx, 0, "list", target, "unchecked"))
	r, o = floor.send(ctx, 0, "GET", "/cases?customer-id="+target.customer+"&state="+string(target.state), "", "", nil)
	require.NoError(t, o.Err)
	// The body is the rows' raw bytes, each value and row closed by a
	// separator; binary values may hold either byte, so rebuild it to compare.
	sql, args := baselineQuery("list", target, nil)
	rows, err := pool.Query(ctx, sql, args...)
	require.NoError(t, err)
	var want []byte
	pageRows := 0
	for rows.Next() {
		for _, v := range rows.RawValues() {
			want = append(append(want, v...), ',')
		}
		want = append(want, '\n')
		pageRows++
	}
	require.NoError(t, rows.Err())
	require.Equal(t, min(inState, 20), pageRows, "the page holds the customer's cases in that state")
	require.Equal(t, want, r.body, "the page's rows as they come from Postgres")

	require.Equal(t, 404, floor.read(ctx, 0, "get", readTarget{}, "unchecked").Status, "no id, no route")

	require.NoError(t, stop.Close())
	select {
	case err := <-served:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the floor server did not stop when its stdin ended")
	}
}

// TestListFilterRunsTheStoresStatement: with --list-filter, the floors list
// with the statement the store runs for that query, and a bad query stops
// them before they start.
func TestListFilterRunsTheStoresStatement(t *testing.T) {
	filtered, err := listingStatement("queue=cards&state=Accepted,Resolved&sort=resolve-by&page-size=50")
	require.NoError(t, err)
	want, wantArgs := store.ListingStatement(store.CaseQuery{
		Filter: store.CaseFilter{Queue: "cards", States: []casefile.State{casefile.StateAccepted, casefile.StateResolved}},
		Order:  store.DeadlineFirst, Page: store.Page{Number: 1, Size: 50}})
	require.Equal(t, &statement{sql: want, args: wantArgs}, filtered)

	none, err := listingStatement("")
	require.NoError(t, err)
	require.Nil(t, none)
	_, err = listingStatement("colour=red")
	require.ErrorContains(t, err, "colour is not a query parameter")
	_, err = listingStatement("sort=newest")
	require.ErrorContains(t, err, "sort must be one of")
}
