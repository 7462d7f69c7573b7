package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/store/internal/queries"
)

// Reads of single cases are the API's most frequent request. Past a few in
// flight, more concurrent queries only make Postgres and the API switch
// between them; so at most a limit of them run, and the lookups that arrive
// meanwhile wait and then go together, in one query (case_id = ANY). Postgres
// then parses, binds and executes once, and the API makes one pool acquire
// and one network write and read, per batch instead of per read. Below the
// limit a lookup runs at once on its own: batching adds no wait.
//
// Once as many lookups queue as the limit, the load is past what separate
// queries serve well, and the queue is read one query at a time: fewer,
// fuller batches cost less per lookup. The first query to end with none
// waiting lifts that again. (docs/BENCHMARKS.md, eleventh session: at c=32
// one query at a time read 13-28 % more than four; at c=4 four alone read
// more than batches of two.)
//
// There are no background goroutines: a lookup's own goroutine runs its query.
// When a query ends and lookups are waiting, its slot passes to one of them,
// which runs the query for all of them.

// maxLookupBatch bounds the ids in one query.
const maxLookupBatch = 128

// caseLookups holds the query slots and the lookups waiting for one.
type caseLookups struct {
	limit int

	mu       sync.Mutex
	inFlight int       // queries running, on their own or batched
	queued   bool      // the queue is read one query at a time (passSlot)
	waiting  []*lookup // in arrival order
}

// slots is how many queries may run now.
func (g *caseLookups) slots() int {
	if g.queued {
		return 1
	}
	return g.limit
}

// lookup is one Case call waiting for its answer or for the slot to read a
// batch. done closes on either; batch is set, under mu, on the one to read.
type lookup struct {
	ctx   context.Context
	id    string
	done  chan struct{}
	batch []*lookup
	found casefile.Case
	err   error
}

// BatchReads returns a store whose Case runs at most limit queries at once,
// one while limit or more lookups queue, and batches the lookups that wait.
// The store it is called on is unchanged.
func (s *Store) BatchReads(limit int) *Store {
	batched := *s
	batched.lookups = &caseLookups{limit: limit}
	return &batched
}

// Case returns the current state of the case with the given id, or an error
// wrapping ErrNotFound.
func (s *Store) Case(ctx context.Context, id string) (casefile.Case, error) {
	g := s.lookups
	if g == nil {
		return s.caseAlone(ctx, id)
	}
	g.mu.Lock()
	if g.inFlight < g.slots() {
		g.inFlight++
		g.mu.Unlock()
		defer s.passSlot()
		return s.caseAlone(ctx, id)
	}
	l := &lookup{ctx: ctx, id: id, done: make(chan struct{})}
	g.waiting = append(g.waiting, l)
	g.mu.Unlock()

	select {
	case <-l.done:
		if l.batch != nil {
			s.readBatch(l.batch)
		}
		return l.found, l.err
	case <-ctx.Done():
		g.mu.Lock()
		stillWaiting := g.remove(l)
		batch := l.batch
		g.mu.Unlock()
		if !stillWaiting && batch != nil {
			go s.readBatch(batch) // the others in it still want their answers
		}
		return casefile.Case{}, mapError("get case "+id, ctx.Err())
	}
}

// remove takes l out of the waiting lookups, if it is still there.
func (g *caseLookups) remove(l *lookup) bool {
	for i, w := range g.waiting {
		if w == l {
			g.waiting = append(g.waiting[:i], g.waiting[i+1:]...)
			return true
		}
	}
	return false
}

// passSlot gives the slot of a finished query to the waiting lookups: the
// first of them reads them all. With none waiting, or while the queue is read
// one query at a time and another query runs, the slot is free.
func (s *Store) passSlot() {
	g := s.lookups
	g.mu.Lock()
	// Reading the queue one query at a time starts when limit lookups wait
	// and lasts until a query ends with none waiting: a short lull between
	// batches does not bring back the separate queries.
	g.queued = len(g.waiting) >= g.limit || g.queued && len(g.waiting) > 0
	if len(g.waiting) == 0 || g.inFlight > g.slots() {
		// A query still runs when lookups wait: its end reads them.
		g.inFlight--
		g.mu.Unlock()
		return
	}
	batch := g.waiting
	g.waiting = nil
	if len(batch) > maxLookupBatch {
		g.waiting = append(g.waiting, batch[maxLookupBatch:]...)
		batch = batch[:maxLookupBatch:maxLookupBatch]
	}
	reader := batch[0]
	reader.batch = batch
	g.mu.Unlock()
	close(reader.done)
}

// readBatch answers the lookups of batch that still wait, in one query, and
// then passes the slot on.
func (s *Store) readBatch(batch []*lookup) {
	defer s.passSlot()
	ids := make([]string, 0, len(batch))
	for _, l := range batch {
		ids = append(ids, l.id)
	}
	ctx, cancel := batchContext(batch)
	defer cancel()
	var cases map[string]casefile.Case
	err := ctx.Err() // every lookup of batch has given up
	if err == nil {
		cases, err = s.CasesByID(ctx, ids)
	}
	for _, l := range batch {
		c, ok := cases[l.id]
		switch {
		case err != nil:
			l.err = fmt.Errorf("get case %s: %w", l.id, err)
		case !ok:
			l.err = casefile.NotFound(l.id)
		default:
			l.found = c
		}
		if l != batch[0] { // the reader's own goroutine is this one
			close(l.done)
		}
	}
}

// batchContext lasts as long as the most patient lookup of batch wants its
// answer, and carries the first one's values (its trace, for the query's
// span). One caller giving up does not cancel the others' query; when all
// have, it is done already.
func batchContext(batch []*lookup) (context.Context, context.CancelFunc) {
	var latest time.Time
	for _, l := range batch {
		if l.ctx.Err() != nil {
			continue
		}
		deadline, ok := l.ctx.Deadline()
		if !ok {
			return context.WithCancel(context.WithoutCancel(batch[0].ctx))
		}
		if deadline.After(latest) {
			latest = deadline
		}
	}
	return context.WithDeadline(context.WithoutCancel(batch[0].ctx), latest)
}

func (s *Store) caseAlone(ctx context.Context, id string) (casefile.Case, error) {
	cases, _, err := s.readCases(ctx, 1, queries.GetCaseSQL, id)
	if err != nil {
		return casefile.Case{}, mapError("get case "+id, err)
	}
	if len(cases) == 0 {
		return casefile.Case{}, casefile.NotFound(id)
	}
	return cases[0], nil
}
