//go:build !linux

package loadtest

import "time"

func preciseSleeps() (restore func()) { return func() {} }

func sleep(d time.Duration) { time.Sleep(d) }
