package store

import (
	"context"
	"sync"
	"time"
)

// The API's reads (a case by id, a page of cases) are its most frequent
// requests. Past a few in flight, more concurrent queries only make Postgres
// and the API switch between them; so at most a limit of each kind run, and
// the reads that arrive meanwhile wait and then go together, in one round
// trip. Postgres then reads and answers once, and the API makes one pool
// acquire and one network write and read, per batch instead of per read.
// Below the limit a read runs at once on its own: batching adds no wait.
//
// Once as many reads queue as the limit, the load is past what separate
// queries serve well, and the queue is read one batch at a time: fewer,
// fuller batches cost less per read. The first query to end with none
// waiting lifts that again. (At c=32 one query at a time read 13-28 % more
// than four; at c=4 four alone read more than batches of two.)
//
// There are no background goroutines: a read's own goroutine runs its query.
// When a query ends and reads are waiting, its slot passes to one of them,
// which runs the batch for all of them.

// maxBatch bounds the reads in one batch.
const maxBatch = 128

// batcher runs reads of one kind: each on its own (one) while a slot is free,
// the ones that wait for a slot together (many).
type batcher[In, Out any] struct {
	limit int
	one   func(ctx context.Context, in In) (Out, error)
	// many answers every call of a batch, its val or its err, in one round trip.
	many func(ctx context.Context, batch []*call[In, Out])

	mu       sync.Mutex
	inFlight int              // queries running, on their own or batched
	queued   bool             // the queue is read one batch at a time (passSlot)
	waiting  []*call[In, Out] // in arrival order
}

// call is one read waiting for its answer or for the slot to run a batch.
// done closes on either; batch is set, under mu, on the one to run.
type call[In, Out any] struct {
	ctx   context.Context
	in    In
	done  chan struct{}
	batch []*call[In, Out]
	val   Out
	err   error
}

// slots is how many queries may run now.
func (b *batcher[In, Out]) slots() int {
	if b.queued {
		return 1
	}
	return b.limit
}

// do answers in: at once if a slot is free, else in the next batch. A caller
// that gives up while it waits gets ctx's error.
func (b *batcher[In, Out]) do(ctx context.Context, in In) (Out, error) {
	b.mu.Lock()
	if b.inFlight < b.slots() {
		b.inFlight++
		b.mu.Unlock()
		defer b.passSlot()
		return b.one(ctx, in)
	}
	c := &call[In, Out]{ctx: ctx, in: in, done: make(chan struct{})}
	b.waiting = append(b.waiting, c)
	b.mu.Unlock()

	select {
	case <-c.done:
		if c.batch != nil {
			b.runBatch(c.batch)
		}
		return c.val, c.err
	case <-ctx.Done():
		b.mu.Lock()
		stillWaiting := b.remove(c)
		batch := c.batch
		b.mu.Unlock()
		if !stillWaiting && batch != nil {
			go b.runBatch(batch) // the others in it still want their answers
		}
		var none Out
		return none, ctx.Err()
	}
}

// remove takes c out of the waiting calls, if it is still there.
func (b *batcher[In, Out]) remove(c *call[In, Out]) bool {
	for i, w := range b.waiting {
		if w == c {
			b.waiting = append(b.waiting[:i], b.waiting[i+1:]...)
			return true
		}
	}
	return false
}

// passSlot gives the slot of a finished query to the waiting calls: the
// first of them runs them all. With none waiting, or while the queue is read
// one batch at a time and another query runs, the slot is free.
func (b *batcher[In, Out]) passSlot() {
	b.mu.Lock()
	// Reading the queue one batch at a time starts when limit calls wait and
	// lasts until a query ends with none waiting: a short lull between
	// batches does not bring back the separate queries.
	b.queued = len(b.waiting) >= b.limit || b.queued && len(b.waiting) > 0
	if len(b.waiting) == 0 || b.inFlight > b.slots() {
		// A query still runs when calls wait: its end runs them.
		b.inFlight--
		b.mu.Unlock()
		return
	}
	batch := b.waiting
	b.waiting = nil
	if len(batch) > maxBatch {
		b.waiting = append(b.waiting, batch[maxBatch:]...)
		batch = batch[:maxBatch:maxBatch]
	}
	runner := batch[0]
	runner.batch = batch
	b.mu.Unlock()
	close(runner.done)
}

// runBatch answers the calls of batch in one round trip, and then passes the
// slot on.
func (b *batcher[In, Out]) runBatch(batch []*call[In, Out]) {
	defer b.passSlot()
	ctx, cancel := batchContext(batch)
	defer cancel()
	if err := ctx.Err(); err != nil { // every call of batch has given up
		for _, c := range batch {
			c.err = err
		}
	} else {
		b.many(ctx, batch)
	}
	for _, c := range batch[1:] { // the runner's own goroutine is this one
		close(c.done)
	}
}

// batchContext lasts as long as the most patient call of batch wants its
// answer, and carries the first one's values (its trace, for the query's
// span). One caller giving up does not cancel the others' query; when all
// have, it is done already.
func batchContext[In, Out any](batch []*call[In, Out]) (context.Context, context.CancelFunc) {
	var latest time.Time
	for _, c := range batch {
		if c.ctx.Err() != nil {
			continue
		}
		deadline, ok := c.ctx.Deadline()
		if !ok {
			return context.WithCancel(context.WithoutCancel(batch[0].ctx))
		}
		if deadline.After(latest) {
			latest = deadline
		}
	}
	return context.WithDeadline(context.WithoutCancel(batch[0].ctx), latest)
}
