package e2e

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"

	"github.com/bank/caseservice/activities"
	"github.com/bank/caseservice/casefile"
	caseworker "github.com/bank/caseservice/worker"
)

// failAfterWrite does the real write, then reports a failure the first time
// it sees each version, as if the worker died before telling Temporal.
type failAfterWrite struct {
	real   *activities.Activities
	mu     sync.Mutex
	seen   map[int64]bool
	failed int
}

func (f *failAfterWrite) RecordChange(ctx context.Context, entry casefile.HistoryEntry) error {
	if err := f.real.RecordChange(ctx, entry); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seen[entry.Case.Version] {
		return nil
	}
	f.seen[entry.Case.Version] = true
	f.failed++
	return errors.New("injected failure after the write")
}

func TestRetriedRecordLeavesOneHistoryRowPerVersion(t *testing.T) {
	flaky := &failAfterWrite{seen: map[int64]bool{}}
	s := startStack(t, stackOptions{register: func(r worker.Registry, acts *activities.Activities) {
		flaky.real = acts
		caseworker.RegisterWorkflows(r)
		r.RegisterActivityWithOptions(flaky.RecordChange, activity.RegisterOptions{Name: "RecordChange"})
	}})

	status, body := s.call(t, "POST", "/complaints", map[string]any{"customer-id": "C1"})
	require.Equal(t, http.StatusCreated, status, body)
	id := body["id"].(string)
	status, _ = s.call(t, "PUT", "/cases/"+id, map[string]any{"state": "Resolved", "resolution": "done"})
	require.Equal(t, http.StatusOK, status)
	status, _ = s.call(t, "DELETE", "/cases/"+id, nil)
	require.Equal(t, http.StatusOK, status)

	require.Equal(t, 3, flaky.failed, "every version failed once after its write")
	require.Equal(t, map[int64]int{1: 1, 2: 1, 3: 1}, s.historyRows(t, id))
	c, err := s.store.Case(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, casefile.StateClosed, c.State)
	require.Equal(t, int64(3), c.Version)
}
