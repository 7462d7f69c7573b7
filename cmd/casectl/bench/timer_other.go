//go:build !linux

package bench

func newDueTimer() sleeper { return goTimer{} }
