package bench

import (
	"testing"
	"time"
)

func TestDueTimerSleepsOnATimerfdAtLeastAsLongAsAsked(t *testing.T) {
	timer := newDueTimer()
	defer timer.close()
	if _, ok := timer.(*dueTimer); !ok {
		t.Fatalf("newDueTimer() = %T, want the timerfd timer", timer)
	}
	// In a row on one descriptor: a sleep that left its expiry unread would
	// let the next one return at once.
	for _, d := range []time.Duration{2 * time.Millisecond, 50 * time.Microsecond, 2 * time.Millisecond, time.Millisecond} {
		start := time.Now()
		timer.sleep(d)
		if took := time.Since(start); took < d {
			t.Fatalf("sleep(%v) returned after %v", d, took)
		}
	}
}
