package store_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/store"
)

// pageRead is one Cases call: its filter and page.
type pageRead struct {
	filter store.CaseFilter
	page   store.Page
	// state is the filter's one state, or none.
	state casefile.State
}

func (p pageRead) String() string {
	return fmt.Sprintf("%s/%s page %d of %d", p.filter.CustomerID, p.state, p.page.Number, p.page.Size)
}

// readPage calls s.Cases in the background.
func readPage(ctx context.Context, s *store.Store, r pageRead) <-chan answer[store.CasePage] {
	return inBackground(func() (store.CasePage, error) { return s.Cases(ctx, store.CaseQuery{Filter: r.filter, Page: r.page}) })
}

// customersStore is a traced store where customer Cn has n cases (C0 none),
// every third of them resolved.
func customersStore(t *testing.T, tracer *readTracer, customers int) *store.Store {
	t.Helper()
	s := tracedStore(t, tracer, 0)
	id := 0
	for n := 1; n < customers; n++ {
		for i := range n {
			id++
			c := registered(fmt.Sprintf("WI%010d", id), fmt.Sprintf("C%d", n), t0.Add(time.Duration(id)*time.Minute))
			if i%3 == 2 {
				c.State = casefile.StateResolved
			}
			require.NoError(t, s.Record(context.Background(), casefile.HistoryEntry{Case: c, Change: casefile.ChangeRegistered}))
		}
	}
	return s
}

func customerPage(customer int, state casefile.State, number, size int) pageRead {
	return pageRead{
		filter: store.CaseFilter{CustomerID: fmt.Sprintf("C%d", customer), States: statesOf(state)},
		page:   store.Page{Number: number, Size: size},
		state:  state,
	}
}

func TestBatchedPagesPipelineThePagesThatWaited(t *testing.T) {
	tracer := &readTracer{gate: make(chan struct{})}
	close(tracer.gate)
	s := customersStore(t, tracer, 6)
	ctx := context.Background()
	reads := []pageRead{
		customerPage(5, "", 1, 20),                     // active (not closed): all 5
		customerPage(5, casefile.StateResolved, 1, 20), // 1 of them
		customerPage(4, "", 2, 1),                      // the second of 4
		customerPage(0, "", 1, 20),                     // no cases
		customerPage(3, casefile.StateAccepted, 3, 20), // past the last page: the count alone
		customerPage(3, casefile.StateAccepted, 1, 20), // the same customer again
		{filter: store.CaseFilter{CustomerID: "C2", CaseType: "Complaint"}, page: store.Page{Number: 1, Size: 2}},
	}
	want := make([]store.CasePage, len(reads))
	for i, r := range reads {
		p, err := s.Cases(ctx, store.CaseQuery{Filter: r.filter, Page: r.page}) // on its own: the store BatchReads was called on is unchanged
		require.NoError(t, err, r)
		want[i] = p
	}
	assert.Len(t, want[0].Cases, 5)
	assert.EqualValues(t, 4, want[2].Total)
	assert.Empty(t, want[4].Cases)
	assert.EqualValues(t, 2, want[4].Total)
	tracer.pageSingles.Store(0)
	tracer.gate = make(chan struct{}) // hold the single reads from here on
	batched := s.BatchReads(2)

	// Two pages take both slots and are held at Postgres...
	first, second := readPage(ctx, batched, reads[0]), readPage(ctx, batched, reads[1])
	require.Eventually(t, func() bool { return tracer.pageSingles.Load() == 2 }, 5*time.Second, time.Millisecond)
	// ...so these wait, and one of them gives up.
	waiting := make([]<-chan answer[store.CasePage], len(reads))
	for i := 2; i < len(reads); i++ {
		waiting[i] = readPage(ctx, batched, reads[i])
	}
	impatient, giveUp := context.WithCancel(ctx)
	gaveUp := readPage(impatient, batched, reads[0])
	require.Eventually(t, func() bool { return batched.PagesWaiting() == len(reads)-1 }, 5*time.Second, time.Millisecond)
	giveUp()
	assert.ErrorIs(t, (<-gaveUp).err, context.Canceled)
	assert.Equal(t, len(reads)-2, batched.PagesWaiting(), "the page that gave up left the queue")

	close(tracer.gate)
	waiting[0], waiting[1] = first, second
	for i, r := range reads {
		a := <-waiting[i]
		require.NoError(t, a.err, r)
		assert.Equal(t, want[i], a.value, r)
	}
	assert.EqualValues(t, 2, tracer.pageSingles.Load(), "single page reads")
	assert.EqualValues(t, 1, tracer.pipelines.Load(), "the waiting pages shared one round trip")
	assert.EqualValues(t, len(reads)-2, tracer.piped.Load(), "each its own query in it")
	assert.Zero(t, batched.PageQueriesInFlight())
	assert.Zero(t, batched.PagesWaiting())
}

// A listing across customers may count a large share of all cases: it never
// waits behind customers' pages nor holds them up in a pipeline.
func TestListingsAcrossCustomersAreNotBatched(t *testing.T) {
	tracer := &readTracer{gate: make(chan struct{})}
	batched := customersStore(t, tracer, 4).BatchReads(1)
	release := sync.OnceFunc(func() { close(tracer.gate) })
	t.Cleanup(release) // a failed test still lets its held query end
	held := readPage(context.Background(), batched, customerPage(3, "", 1, 20))
	require.Eventually(t, func() bool { return tracer.pageSingles.Load() == 1 }, 5*time.Second, time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	all, err := batched.Cases(ctx, store.CaseQuery{Filter: store.CaseFilter{}, Page: store.Page{Number: 1, Size: 20}})
	require.NoError(t, err, "answered while the only page slot is held")
	assert.EqualValues(t, 6, all.Total) // 1 + 2 + 3 cases, none closed
	assert.Zero(t, batched.PagesWaiting())

	release()
	require.NoError(t, (<-held).err)
	assert.Zero(t, tracer.pipelines.Load())
}

// Many page reads, some giving up at random, must each get their own
// customer's page or their own error, and leave no slot taken.
func TestBatchedPagesUnderConcurrencyAndCancellation(t *testing.T) {
	tracer := &readTracer{gate: make(chan struct{})}
	close(tracer.gate)
	const customers = 12
	s := customersStore(t, tracer, customers)
	batched := s.BatchReads(2)

	var wg sync.WaitGroup
	var answered, gaveUp atomic.Int64
	for g := range 64 {
		wg.Go(func() {
			for i := range 40 {
				n := (g*40 + i) % customers
				states := []casefile.State{"", casefile.StateAccepted, casefile.StateResolved}
				r := customerPage(n, states[i%3], 1+i%2, 3)
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rand.IntN(40))*time.Millisecond)
				got, err := batched.Cases(ctx, store.CaseQuery{Filter: r.filter, Page: r.page})
				cancel()
				if errors.Is(err, context.DeadlineExceeded) {
					gaveUp.Add(1)
					continue
				}
				if !assert.NoError(t, err, r) {
					continue
				}
				answered.Add(1)
				resolved := int64(n / 3) // every third of customer n's cases
				wantTotal := map[casefile.State]int64{"": int64(n), casefile.StateAccepted: int64(n) - resolved, casefile.StateResolved: resolved}[r.state]
				assert.Equal(t, wantTotal, got.Total, r)
				wantLen := min(max(wantTotal-int64((r.page.Number-1)*r.page.Size), 0), int64(r.page.Size))
				assert.Len(t, got.Cases, int(wantLen), r)
				for _, c := range got.Cases {
					assert.Equal(t, r.filter.CustomerID, c.CustomerID, r)
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d answered, %d gave up, %d single page reads, %d pipelines of %d queries", answered.Load(), gaveUp.Load(), tracer.pageSingles.Load(), tracer.pipelines.Load(), tracer.piped.Load())
	assert.NotZero(t, answered.Load())
	assert.NotZero(t, tracer.pipelines.Load(), "pages that waited went in pipelines")
	assert.Eventually(t, func() bool { return batched.PageQueriesInFlight() == 0 }, 5*time.Second, time.Millisecond, "every slot is given back")
	assert.Zero(t, batched.PagesWaiting())
}

// statesOf is the filter's list of one state, or none for "".
func statesOf(state casefile.State) []casefile.State {
	if state == "" {
		return nil
	}
	return []casefile.State{state}
}
