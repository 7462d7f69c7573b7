package logging

import (
	"io"
	"sync"
	"time"
)

// batchWriter gathers log lines in memory and writes them to out in batches:
// every interval, when the batch is full, and on Sync and stop. Unlike zap's
// BufferedWriteSyncer, which holds its lock while it writes the whole buffer
// out, a batch is taken out from under the lock first, so the requests logging
// meanwhile wait for an append, not for the destination (a tick of ~200 KB of
// access lines held them 0.3–0.6 ms; docs/BENCHMARKS.md). Only a full batch
// makes the writer that filled it write, which bounds memory when out is
// slower than the lines arrive.
type batchWriter struct {
	out   io.Writer
	limit int

	mu      sync.Mutex // guards pending
	pending []byte

	writing sync.Mutex // one batch goes out at a time, in order; guards spare
	spare   []byte

	stop chan struct{}
	done chan struct{}
}

// newBatchWriter starts a batchWriter that writes to out at least every
// interval; limit bounds a batch in bytes. Call Stop to write the rest and
// end it.
func newBatchWriter(out io.Writer, limit int, interval time.Duration) *batchWriter {
	// Two buffers of limit bytes, taking turns: appends do not grow them
	// (a batch goes out before it would pass the limit), but for a single
	// line longer than the limit.
	w := &batchWriter{
		out: out, limit: limit,
		pending: make([]byte, 0, limit), spare: make([]byte, 0, limit),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	go w.flushEvery(interval)
	return w
}

// Write appends p to the batch; a line is never split across batches.
func (w *batchWriter) Write(p []byte) (int, error) {
	for {
		w.mu.Lock()
		if len(w.pending) == 0 || len(w.pending)+len(p) <= w.limit {
			w.pending = append(w.pending, p...)
			w.mu.Unlock()
			return len(p), nil
		}
		w.mu.Unlock()
		if err := w.Sync(); err != nil {
			return 0, err
		}
	}
}

// Sync writes what is pending. It does not sync out: on a file that is an
// fsync, and callers would wait for the disk.
func (w *batchWriter) Sync() error {
	w.writing.Lock()
	defer w.writing.Unlock()
	w.mu.Lock()
	batch := w.pending
	w.pending = w.spare[:0]
	w.mu.Unlock()
	w.spare = batch
	if len(batch) == 0 {
		return nil
	}
	_, err := w.out.Write(batch)
	return err
}

func (w *batchWriter) flushEvery(interval time.Duration) {
	defer close(w.done)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			_ = w.Sync() // no one to tell if the destination fails; that batch is dropped
		case <-w.stop:
			return
		}
	}
}

// Stop ends the periodic writes and writes what is pending.
func (w *batchWriter) Stop() error {
	close(w.stop)
	<-w.done
	return w.Sync()
}
