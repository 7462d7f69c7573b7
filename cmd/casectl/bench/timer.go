package bench

import "time"

// sleeper waits until an open loop's next arrival is due.
type sleeper interface {
	sleep(d time.Duration)
	close()
}

// goTimer sleeps on Go's timers, up to a millisecond late.
type goTimer struct{}

func (goTimer) sleep(d time.Duration) { time.Sleep(d) }
func (goTimer) close()                {}
