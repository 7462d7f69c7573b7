package logging

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// gate is a destination whose writes wait until it is opened.
type gate struct {
	entered chan struct{}
	open    chan struct{}
	mu      sync.Mutex
	got     bytes.Buffer
}

func (g *gate) Write(p []byte) (int, error) {
	g.entered <- struct{}{}
	<-g.open
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.got.Write(p)
}

// While a batch is being written, lines are still taken at once: a caller
// waits for an append, not for the destination.
func TestBatchWriterTakesLinesWhileABatchIsWritten(t *testing.T) {
	dest := &gate{entered: make(chan struct{}), open: make(chan struct{})}
	w := newBatchWriter(dest, 1<<10, time.Hour)
	if _, err := w.Write([]byte("first\n")); err != nil {
		t.Fatal(err)
	}
	flushed := make(chan error)
	go func() { flushed <- w.Sync() }()
	<-dest.entered // the first batch is now held in the destination

	wrote := make(chan error)
	go func() {
		_, err := w.Write([]byte("second\n"))
		wrote <- err
	}()
	select {
	case err := <-wrote:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a line waited for the batch being written")
	}

	close(dest.open)
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	go func() { <-dest.entered }()
	if err := w.Stop(); err != nil {
		t.Fatal(err)
	}
	if got := dest.got.String(); got != "first\nsecond\n" {
		t.Fatalf("wrote %q", got)
	}
}

// A full batch is written by the writer that filled it; lines stay whole and
// in order, and every batch but one that holds a single longer line stays
// within the limit.
func TestBatchWriterWritesAFullBatchAndKeepsLinesWhole(t *testing.T) {
	var batches []string
	dest := writerFunc(func(p []byte) (int, error) {
		batches = append(batches, string(p))
		return len(p), nil
	})
	w := newBatchWriter(dest, 32, time.Hour)
	var want strings.Builder
	for i := range 20 {
		line := fmt.Sprintf("line %02d\n", i) // 8 bytes: four to a batch
		want.WriteString(line)
		if _, err := w.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	long := strings.Repeat("x", 40) + "\n"
	want.WriteString(long)
	if _, err := w.Write([]byte(long)); err != nil {
		t.Fatal(err)
	}
	if err := w.Stop(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(batches, ""); got != want.String() {
		t.Fatalf("wrote %q, want %q", got, want.String())
	}
	if len(batches) != 6 {
		t.Fatalf("%d batches, want 5 full ones and the long line: %q", len(batches), batches)
	}
	for _, b := range batches[:5] {
		if len(b) != 32 {
			t.Fatalf("batch of %d bytes, want 32: %q", len(b), b)
		}
	}
}

// Lines from many goroutines all arrive, each once and whole.
func TestBatchWriterKeepsEveryLineOfConcurrentWriters(t *testing.T) {
	var mu sync.Mutex
	var out bytes.Buffer
	dest := writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return out.Write(p)
	})
	w := newBatchWriter(dest, 256, time.Millisecond)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				if _, err := fmt.Fprintf(w, "g%d-%03d\n", g, i); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := w.Stop(); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		seen[line]++
	}
	for g := range 8 {
		for i := range 500 {
			if line := fmt.Sprintf("g%d-%03d", g, i); seen[line] != 1 {
				t.Fatalf("%s written %d times", line, seen[line])
			}
		}
	}
	if len(seen) != 8*500 {
		t.Fatalf("%d distinct lines, want %d", len(seen), 8*500)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
