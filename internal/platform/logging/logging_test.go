package logging_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/bank/caseservice/internal/platform/logging"
)

// Every request gets its access line, however many share a message in a
// second (the general logger samples those), and the lines are JSON.
func TestAccessLogKeepsEveryLine(t *testing.T) {
	var out bytes.Buffer
	logger, flush, err := logging.Access("info", false, &out)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		logger.Info("Request", zap.Int("n", i))
	}
	if err := flush(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1000 {
		t.Fatalf("%d access lines, want 1000", len(lines))
	}
	var last struct {
		Msg string `json:"msg"`
		N   int    `json:"n"`
	}
	if err := json.Unmarshal([]byte(lines[999]), &last); err != nil || last.Msg != "Request" || last.N != 999 {
		t.Fatalf("last line %q: %+v, %v", lines[999], last, err)
	}
}

func TestAccessLogKeepsItsLevel(t *testing.T) {
	var out bytes.Buffer
	logger, flush, err := logging.Access("warn", false, &out)
	if err != nil {
		t.Fatal(err)
	}
	logger.Info("Request")
	_ = flush()
	if out.Len() != 0 {
		t.Fatalf("an info line at level warn: %q", out.String())
	}
}

// syncCounter is a log destination that, like a file, can be synced.
type syncCounter struct {
	bytes.Buffer
	syncs int
}

func (s *syncCounter) Sync() error {
	s.syncs++
	return nil
}

// The access log's flushes write its lines but never fsync the destination:
// that would hold the log's lock, and the requests waiting on it, for a disk
// flush each second.
func TestAccessLogFlushesWithoutSyncingItsDestination(t *testing.T) {
	out := &syncCounter{}
	logger, flush, err := logging.Access("info", false, out)
	if err != nil {
		t.Fatal(err)
	}
	logger.Info("Request")
	if err := logger.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := flush(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"msg":"Request"`) || out.syncs != 0 {
		t.Fatalf("flushed %q with %d syncs; want the line and no sync", out.String(), out.syncs)
	}
}
