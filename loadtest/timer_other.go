//go:build !linux

package loadtest

func newDueTimer() sleeper { return goTimer{} }
