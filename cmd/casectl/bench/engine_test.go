package bench

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestClosedLoopStopsAtCount(t *testing.T) {
	var calls, inFlight, most atomic.Int64
	_, err := Run(context.Background(), Plan{Concurrency: 4, Count: 50}, func(_ context.Context, _ int, _ time.Time) {
		n := inFlight.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(time.Millisecond)
		inFlight.Add(-1)
		calls.Add(1)
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 50 {
		t.Fatalf("ran %d operations, want 50", calls.Load())
	}
	if most.Load() > 4 {
		t.Fatalf("%d in flight, concurrency is 4", most.Load())
	}
}

func TestOpenLoopKeepsItsSchedule(t *testing.T) {
	var scheduled []time.Time
	var seen atomic.Int64
	done := make(chan time.Time, 20)
	start := time.Now()
	_, err := Run(context.Background(), Plan{Concurrency: 20, Rate: 100, Count: 20}, func(_ context.Context, seq int, at time.Time) {
		seen.Add(1)
		done <- at
	})
	if err != nil {
		t.Fatal(err)
	}
	close(done)
	for at := range done {
		scheduled = append(scheduled, at)
	}
	if len(scheduled) != 20 {
		t.Fatalf("ran %d operations, want 20", len(scheduled))
	}
	var last time.Time
	for _, at := range scheduled {
		last = maxTime(last, at)
	}
	// 20 arrivals at 100/s: the last is due 190 ms after the first.
	if got := last.Sub(start); got < 180*time.Millisecond || got > 250*time.Millisecond {
		t.Fatalf("last arrival due %s after start, want about 190ms", got)
	}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func TestDurationBoundsTheRun(t *testing.T) {
	elapsed, err := Run(context.Background(), Plan{Concurrency: 2, Duration: 100 * time.Millisecond}, func(context.Context, int, time.Time) {
		time.Sleep(5 * time.Millisecond)
	})
	if err != nil {
		t.Fatal(err)
	}
	if elapsed < 100*time.Millisecond || elapsed > 300*time.Millisecond {
		t.Fatalf("run took %s, want about 100ms", elapsed)
	}
}

func TestOpenLoopBehindScheduleStopsAtTheDuration(t *testing.T) {
	// 1,000/s for 100 ms is 100 arrivals, but one slot that takes 20 ms each
	// serves only about 5 of them in that time.
	var started atomic.Int64
	elapsed, err := Run(context.Background(), Plan{Concurrency: 1, Rate: 1000, Duration: 100 * time.Millisecond}, func(context.Context, int, time.Time) {
		started.Add(1)
		time.Sleep(20 * time.Millisecond)
	})
	if err != nil {
		t.Fatal(err)
	}
	if elapsed > 300*time.Millisecond || started.Load() > 10 {
		t.Fatalf("run took %s and started %d operations, want about 100ms and 5", elapsed, started.Load())
	}
}

func TestUnboundedPlanIsRefused(t *testing.T) {
	if _, err := Run(context.Background(), Plan{Concurrency: 1}, nil); err == nil {
		t.Fatal("a plan without duration or count ran")
	}
}

func TestReportQuantilesAndStatuses(t *testing.T) {
	r := NewRecorder()
	for i := 1; i <= 100; i++ {
		r.Record("get", time.Duration(i)*time.Millisecond, Outcome{Status: 200})
	}
	r.Record("create", 5*time.Millisecond, Outcome{Status: 503, Err: errors.New("503 Service Unavailable"), Retries: 2})
	r.Record("create", 7*time.Millisecond, Outcome{Status: 201, Retries: 1})
	rep := r.Report("api", time.Second)

	get := rep.Ops[1]
	if get.Op != "get" || get.P50 != 50 || get.P95 != 95 || get.P99 != 99 || get.Max != 100 || get.OK != 100 {
		t.Fatalf("get report = %+v", get)
	}
	create := rep.Ops[0]
	if create.OK != 1 || create.Retried != 2 || create.Statuses["503"] != 1 || create.Errors["503 Service Unavailable"] != 1 {
		t.Fatalf("create report = %+v", create)
	}
	if rep.Total.Count != 102 || rep.Total.OK != 101 || rep.Total.Throughput != 101 {
		t.Fatalf("total = %+v", rep.Total)
	}
	if done, failed := r.Counts(); done != 102 || failed != 1 {
		t.Fatalf("counts = %d, %d", done, failed)
	}
}

func TestResetForgetsTheWarmUp(t *testing.T) {
	r := NewRecorder()
	r.Record("list", 600*time.Millisecond, Outcome{Status: 200})
	r.Record("list", time.Second, Outcome{Status: 0, Err: errors.New("timeout")})
	r.Reset()
	r.Record("list", 2*time.Millisecond, Outcome{Status: 200})
	rep := r.Report("api", time.Second)
	if len(rep.Ops) != 1 || rep.Ops[0].Count != 1 || rep.Ops[0].Max != 2 || len(rep.Ops[0].Errors) != 0 {
		t.Fatalf("after reset: %+v", rep.Ops)
	}
}

func TestStartLatenessIsReportedForOpenLoops(t *testing.T) {
	r := NewRecorder()
	r.Started(time.Hour) // a warm-up's, forgotten below
	r.Reset()
	for i := 1; i <= 100; i++ {
		r.Started(time.Duration(i) * 10 * time.Microsecond)
		r.Record("list", time.Millisecond, Outcome{Status: 200})
	}
	rep := r.Report("api", time.Second)
	if l := rep.StartedLate; l == nil || l.P50 != 0.5 || l.P99 != 0.99 || l.Max != 1 {
		t.Fatalf("started late = %+v", rep.StartedLate)
	}
	var text strings.Builder
	rep.Rate = 100
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "started behind schedule: p50 0.500 ms, p99 0.990 ms, max 1.0 ms") {
		t.Fatalf("open-loop report lacks the lateness:\n%s", text.String())
	}
	text.Reset()
	rep.Rate = 0
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(text.String(), "behind schedule") {
		t.Fatalf("a closed loop has no schedule to be behind:\n%s", text.String())
	}
}
