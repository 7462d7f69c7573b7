package bench

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Plan bounds a run and shapes its arrivals.
type Plan struct {
	// Concurrency is the number of closed-loop callers, or with a Rate the
	// most operations in flight.
	Concurrency int
	// Rate, when positive, starts operations at this many per second
	// whatever their latency (open loop).
	Rate float64
	// Duration stops new operations after this long; those in flight finish.
	Duration time.Duration
	// Count stops after this many operations.
	Count int
}

// Validate says whether the plan is bounded and well-formed.
func (p Plan) Validate() error {
	switch {
	case p.Concurrency < 1:
		return errors.New("concurrency must be at least 1")
	case p.Rate < 0:
		return errors.New("rate must not be negative")
	case p.Duration <= 0 && p.Count <= 0:
		return errors.New("a run needs a duration or a count")
	case p.Duration < 0 || p.Count < 0:
		return errors.New("duration and count must not be negative")
	}
	return nil
}

// Do carries out operation seq, which was due to start at scheduled (in an
// open loop it may start later, and its latency should count from then).
type Do func(ctx context.Context, seq int, scheduled time.Time)

// Run runs the plan until its duration or count is reached or ctx ends, and
// returns how long it took, in-flight operations included.
func Run(ctx context.Context, plan Plan, do Do) (time.Duration, error) {
	if err := plan.Validate(); err != nil {
		return 0, err
	}
	start := time.Now()
	deadline := time.Time{}
	if plan.Duration > 0 {
		deadline = start.Add(plan.Duration)
	}
	more := func(seq int, at time.Time) bool {
		return ctx.Err() == nil && (plan.Count == 0 || seq < plan.Count) && (deadline.IsZero() || at.Before(deadline))
	}
	var wg sync.WaitGroup
	if plan.Rate > 0 {
		openLoop(ctx, plan, start, more, do, &wg)
	} else {
		var next atomic.Int64
		for range plan.Concurrency {
			wg.Go(func() {
				for {
					seq := int(next.Add(1) - 1)
					now := time.Now()
					if !more(seq, now) {
						return
					}
					do(ctx, seq, now)
				}
			})
		}
	}
	wg.Wait()
	return time.Since(start), nil
}

// maxSleep bounds how long the open loop sleeps before it checks ctx again.
const maxSleep = 10 * time.Millisecond

// openLoop starts operation i at start + i/rate, waiting for a free slot
// when Concurrency are in flight (the wait counts in its latency).
func openLoop(ctx context.Context, plan Plan, start time.Time, more func(int, time.Time) bool, do Do, wg *sync.WaitGroup) {
	timer := newDueTimer()
	defer timer.close()
	slots := make(chan struct{}, plan.Concurrency)
	interval := time.Duration(float64(time.Second) / plan.Rate)
	for seq := 0; ; seq++ {
		due := start.Add(time.Duration(seq) * interval)
		if !more(seq, due) {
			return
		}
		for wait := time.Until(due); wait > 0; wait = time.Until(due) {
			if ctx.Err() != nil {
				return
			}
			timer.sleep(min(wait, maxSleep))
		}
		select {
		case <-ctx.Done():
			return
		case slots <- struct{}{}:
		}
		// A server that falls behind must not stretch the run past its
		// duration: arrivals still waiting for a slot then are not started.
		if !more(seq, time.Now()) {
			<-slots
			return
		}
		wg.Go(func() {
			defer func() { <-slots }()
			do(ctx, seq, due)
		})
	}
}
