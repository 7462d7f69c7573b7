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

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/internal/pgtest"
	"github.com/bank/caseservice/store"
)

// readTracer counts the reads of cases by id and of customer pages, single
// and batched. It holds single ones at gate until it opens, and batched ones
// at batchGate if it is set.
type readTracer struct {
	gate, batchGate               chan struct{}
	singles, batches              atomic.Int64 // by id
	pageSingles, pipelines, piped atomic.Int64 // customer pages; piped counts a pipeline's queries
}

func (r *readTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	switch {
	case data.SQL == store.GetCaseSQL:
		r.singles.Add(1)
		<-r.gate
	case store.IsCustomerPage(data.SQL):
		r.pageSingles.Add(1)
		<-r.gate
	case data.SQL == store.GetCasesSQL:
		r.batches.Add(1)
		r.holdBatch()
	}
	return ctx
}

func (r *readTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (r *readTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.pipelines.Add(1)
	r.holdBatch()
	return ctx
}

func (r *readTracer) TraceBatchQuery(_ context.Context, _ *pgx.Conn, data pgx.TraceBatchQueryData) {
	if store.IsCustomerPage(data.SQL) {
		r.piped.Add(1)
	}
}

func (r *readTracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func (r *readTracer) holdBatch() {
	if r.batchGate != nil {
		<-r.batchGate
	}
}

// tracedStore is a store with cases WI..01 to WI..n, over a pool that tracer sees.
func tracedStore(t *testing.T, tracer pgx.QueryTracer, n int) *store.Store {
	t.Helper()
	_, url := pgtest.New(t)
	pool, err := store.Connect(context.Background(), url, 8, tracer)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	s := store.New(pool)
	for i := 1; i <= n; i++ {
		c := registered(fmt.Sprintf("WI%010d", i), fmt.Sprintf("C%d", i), t0)
		require.NoError(t, s.Record(context.Background(), casefile.HistoryEntry{Case: c, Change: casefile.ChangeRegistered}))
	}
	return s
}

// answer is what one read returned.
type answer[T any] struct {
	value T
	err   error
}

// inBackground runs read on its own goroutine and sends back its answer.
func inBackground[T any](read func() (T, error)) <-chan answer[T] {
	out := make(chan answer[T], 1)
	go func() {
		v, err := read()
		out <- answer[T]{v, err}
	}()
	return out
}

// lookUp calls s.Case in the background.
func lookUp(ctx context.Context, s *store.Store, id string) <-chan answer[casefile.Case] {
	return inBackground(func() (casefile.Case, error) { return s.Case(ctx, id) })
}

func TestBatchedReadsAnswerTheLookupsThatWaitedInOneQuery(t *testing.T) {
	tracer := &readTracer{gate: make(chan struct{})}
	close(tracer.gate)
	s := tracedStore(t, tracer, 5)
	ctx := context.Background()
	want := map[string]casefile.Case{}
	for i := 1; i <= 5; i++ {
		id := fmt.Sprintf("WI%010d", i)
		c, err := s.Case(ctx, id) // on its own: the store BatchReads was called on is unchanged
		require.NoError(t, err)
		want[id] = c
	}
	tracer.singles.Store(0)
	tracer.gate = make(chan struct{}) // hold the reads from here on
	batched := s.BatchReads(2)

	// Two lookups take both slots and are held at Postgres...
	first, second := lookUp(ctx, batched, "WI0000000001"), lookUp(ctx, batched, "WI0000000002")
	require.Eventually(t, func() bool { return tracer.singles.Load() == 2 }, 5*time.Second, time.Millisecond)
	// ...so these wait: a case twice, a missing one, and one that gives up.
	ids := []string{"WI0000000003", "WI0000000004", "WI0000000003", "WI0000000009", "WI0000000005"}
	waiting := make([]<-chan answer[casefile.Case], len(ids))
	for i, id := range ids {
		waiting[i] = lookUp(ctx, batched, id)
	}
	impatient, giveUp := context.WithCancel(ctx)
	gaveUp := lookUp(impatient, batched, "WI0000000001")
	require.Eventually(t, func() bool { return batched.LookupsWaiting() == len(ids)+1 }, 5*time.Second, time.Millisecond)
	giveUp()
	assert.ErrorIs(t, (<-gaveUp).err, context.Canceled)
	assert.Equal(t, len(ids), batched.LookupsWaiting(), "the lookup that gave up left the queue")

	close(tracer.gate)
	for i, a := range []answer[casefile.Case]{<-first, <-second} {
		require.NoError(t, a.err)
		assert.Equal(t, want[fmt.Sprintf("WI%010d", i+1)], a.value)
	}
	for i, id := range ids {
		a := <-waiting[i]
		if id == "WI0000000009" {
			assert.ErrorIs(t, a.err, casefile.ErrNotFound)
			continue
		}
		require.NoError(t, a.err, id)
		assert.Equal(t, want[id], a.value)
	}
	assert.EqualValues(t, 2, tracer.singles.Load(), "single reads")
	assert.EqualValues(t, 1, tracer.batches.Load(), "the waiting lookups shared one query")
	assert.Zero(t, batched.QueriesInFlight())
	assert.Zero(t, batched.LookupsWaiting())
}

// Once as many lookups queue as the limit, one query at a time reads the
// queue, and a lookup that comes meanwhile waits for it even with slots free;
// when fewer queue, lookups run on their own again.
func TestBatchedReadsTakeOneQueryAtATimeWhileLookupsQueue(t *testing.T) {
	tracer := &readTracer{gate: make(chan struct{}), batchGate: make(chan struct{})}
	batched := tracedStore(t, tracer, 6).BatchReads(2)
	openSingles := sync.OnceFunc(func() { close(tracer.gate) })
	openBatches := sync.OnceFunc(func() { close(tracer.batchGate) })
	t.Cleanup(openSingles) // a failed test still lets its held queries end
	t.Cleanup(openBatches)
	answers := map[string]<-chan answer[casefile.Case]{}
	ask := func(id string) { answers[id] = lookUp(context.Background(), batched, id) }
	answered := func(id string) {
		t.Helper()
		a := <-answers[id]
		require.NoError(t, a.err, id)
		assert.Equal(t, id, a.value.ID)
	}
	ask("WI0000000001")
	ask("WI0000000002")
	require.Eventually(t, func() bool { return tracer.singles.Load() == 2 }, 5*time.Second, time.Millisecond)
	ask("WI0000000003")
	ask("WI0000000004")
	ask("WI0000000005")
	require.Eventually(t, func() bool { return batched.LookupsWaiting() == 3 }, 5*time.Second, time.Millisecond)

	openSingles() // the two single reads end with three waiting: one batch reads them
	require.Eventually(t, func() bool { return tracer.batches.Load() == 1 }, 5*time.Second, time.Millisecond)
	answered("WI0000000001")
	answered("WI0000000002")
	assert.Equal(t, 1, batched.QueriesInFlight(), "the other slot was let go")

	ask("WI0000000006") // a slot is free, but the queue is read one query at a time
	require.Eventually(t, func() bool { return batched.LookupsWaiting() == 1 }, 5*time.Second, time.Millisecond)
	assert.EqualValues(t, 2, tracer.singles.Load(), "no read on its own while lookups queue")

	openBatches() // the one waiting goes in the next batch, which ends with none waiting
	for _, id := range []string{"WI0000000003", "WI0000000004", "WI0000000005", "WI0000000006"} {
		answered(id)
	}
	assert.EqualValues(t, 2, tracer.batches.Load())
	require.Eventually(t, func() bool { return batched.QueriesInFlight() == 0 }, 5*time.Second, time.Millisecond)
	ask("WI0000000001")
	answered("WI0000000001")
	assert.EqualValues(t, 3, tracer.singles.Load(), "alone again once the queue is gone")
}

// Many lookups, some giving up at random, must each get their own case or
// their own error, and leave no slot taken.
func TestBatchedReadsUnderConcurrencyAndCancellation(t *testing.T) {
	tracer := &readTracer{gate: make(chan struct{})}
	close(tracer.gate)
	const cases = 50
	batched := tracedStore(t, tracer, cases).BatchReads(2)

	var wg sync.WaitGroup
	var answered, gaveUp atomic.Int64
	for g := range 64 {
		wg.Go(func() {
			for i := range 40 {
				n := (g*40+i)%(cases+5) + 1 // now and then a missing case
				id := fmt.Sprintf("WI%010d", n)
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rand.IntN(40))*time.Millisecond)
				c, err := batched.Case(ctx, id)
				cancel()
				switch {
				case errors.Is(err, context.DeadlineExceeded):
					gaveUp.Add(1)
				case n > cases:
					assert.ErrorIs(t, err, casefile.ErrNotFound, id)
				default:
					if assert.NoError(t, err, id) {
						assert.Equal(t, id, c.ID)
						answered.Add(1)
					}
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d answered, %d gave up, %d single and %d batched queries", answered.Load(), gaveUp.Load(), tracer.singles.Load(), tracer.batches.Load())
	assert.NotZero(t, answered.Load())
	assert.NotZero(t, tracer.batches.Load(), "lookups that waited went in batches")
	assert.Eventually(t, func() bool { return batched.QueriesInFlight() == 0 }, 5*time.Second, time.Millisecond, "every slot is given back")
	assert.Zero(t, batched.LookupsWaiting())
}

func TestBatchedReadsSplitLongQueues(t *testing.T) {
	tracer := &readTracer{gate: make(chan struct{})}
	batched := tracedStore(t, tracer, 1).BatchReads(1)
	ctx := context.Background()
	held := make(chan error, 1)
	go func() {
		_, err := batched.Case(ctx, "WI0000000001")
		held <- err
	}()
	require.Eventually(t, func() bool { return tracer.singles.Load() == 1 }, 5*time.Second, time.Millisecond)
	const waiting = 300 // batches of 128, 128 and 44
	errs := make(chan error, waiting)
	for range waiting {
		go func() {
			c, err := batched.Case(ctx, "WI0000000001")
			if err == nil && c.ID != "WI0000000001" {
				err = fmt.Errorf("got case %s", c.ID)
			}
			errs <- err
		}()
	}
	require.Eventually(t, func() bool { return batched.LookupsWaiting() == waiting }, 5*time.Second, time.Millisecond)
	close(tracer.gate)
	require.NoError(t, <-held)
	for range waiting {
		require.NoError(t, <-errs)
	}
	assert.EqualValues(t, 3, tracer.batches.Load())
	assert.Zero(t, batched.QueriesInFlight())
}
