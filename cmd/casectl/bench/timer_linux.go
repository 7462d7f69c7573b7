package bench

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// An open loop counts latency from each arrival's due time, so the
// generator's own lateness is in every figure. Go's timers fire late and
// unevenly here (1 ms sleeps: 0.12 ms median, 0.35–0.63 ms p99 late). The
// open loop waits on a timerfd instead (0.07–0.09 ms median, 0.22–0.29 ms
// p99): a kernel high-resolution timer read through the
// netpoller, so the waiting goroutine parks like any other and holds no
// thread. A nanosleep on a locked thread is as precise, but it holds a P in a
// system call with the arrival just started queued behind it: the runtime's
// monitor then takes the P back at every arrival and keeps polling every
// 20 µs, which cost the load tool ~17 % more CPU a request.

// dueTimer sleeps the calling goroutine, parked like any other waiting on I/O.
type dueTimer struct {
	fd   int
	file *os.File
	buf  [8]byte
}

// newDueTimer returns a precise timer, or one on Go's own timers if the
// kernel refuses a timerfd.
func newDueTimer() sleeper {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return goTimer{}
	}
	// A non-blocking descriptor is read through the netpoller.
	return &dueTimer{fd: fd, file: os.NewFile(uintptr(fd), "timerfd")}
}

// sleep blocks for d (d > 0); an error ends it early.
func (t *dueTimer) sleep(d time.Duration) {
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(d.Nanoseconds())}
	if err := unix.TimerfdSettime(t.fd, 0, &spec, nil); err != nil {
		time.Sleep(d)
		return
	}
	_, _ = t.file.Read(t.buf[:]) // the count of expiries: always 1 here
}

func (t *dueTimer) close() { _ = t.file.Close() }
