package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/caseops"
	"github.com/bank/caseservice/workflows"
)

// TestCaseWithFiveThousandChanges drives one case through 5,000 changes: it
// continues as new several times and keeps an exact, gap-free history.
func TestCaseWithFiveThousandChanges(t *testing.T) {
	const changes = 5000
	policy := testPolicy
	policy.MaxHistoryEvents = 2000
	s := startStack(t, stackOptions{policy: &policy})
	cases := caseops.New(s.temporal, s.store, policy)
	ctx := context.Background()
	id, err := cases.Register(ctx, casefile.Case{Class: casefile.ClassComplaint, Type: "Complaint", CustomerID: "C1", Importance: "Standard"}, "")
	require.NoError(t, err)

	const senders = 8
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < changes; i += senders {
				_, err := cases.Progress(ctx, id, "", workflows.ProgressRequest{
					Editor: workflows.Editor{ID: "agent-7"}, Resolution: fmt.Sprintf("step %d", i)})
				if err != nil {
					errs <- fmt.Errorf("change %d: %w", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	got, err := s.store.Case(ctx, id)
	require.NoError(t, err)
	require.Equal(t, int64(changes+1), got.Version)
	rows := s.historyRows(t, id)
	require.Len(t, rows, changes+1)
	for v := int64(1); v <= changes+1; v++ {
		require.Equal(t, 1, rows[v], "version %d recorded once", v)
	}
	// Every change landed exactly once: each resolution was set by one version.
	var distinct int
	require.NoError(t, s.pool.QueryRow(ctx,
		"SELECT count(DISTINCT resolution) FROM case_history WHERE case_id = $1 AND version > 1", id).Scan(&distinct))
	require.Equal(t, changes, distinct)

	desc, err := s.temporal.DescribeWorkflow(ctx, workflows.CaseWorkflowID(id), "")
	require.NoError(t, err)
	require.Less(t, desc.RawResponse.WorkflowExecutionInfo.HistoryLength, int64(2100), "the current run's history stays bounded")
	listed, err := s.temporal.ListWorkflow(ctx, listRuns(id))
	require.NoError(t, err)
	require.Greater(t, len(listed.Executions), 2, "the case continued as new")

	// Still working after all that.
	_, err = cases.Close(ctx, id, "", workflows.CloseRequest{Editor: workflows.Editor{ID: "agent-7"}})
	require.NoError(t, err)
	got, err = s.store.Case(ctx, id)
	require.NoError(t, err)
	require.Equal(t, casefile.StateClosed, got.State)
}

func listRuns(caseID string) *workflowservice.ListWorkflowExecutionsRequest {
	return &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default", Query: fmt.Sprintf("WorkflowId = %q", workflows.CaseWorkflowID(caseID))}
}
