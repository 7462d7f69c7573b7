package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/internal/platform/encryption"
	"github.com/bank/caseservice/internal/replay"
	caseworker "github.com/bank/caseservice/worker"
	"github.com/bank/caseservice/workflows"
)

// TestRunningCasesReplayBeforeADeploy replays the histories of running cases
// fetched from the server, as casectl replay does before a worker deploy:
// this build follows them all; a build that reorders the workflow's commands
// is caught on each.
func TestRunningCasesReplayBeforeADeploy(t *testing.T) {
	s := startStack(t, stackOptions{})
	var ids []string
	for _, body := range []map[string]any{
		{"customer-id": "C-1", "details": "card blocked"},
		{"customer-id": "C-2", "importance": "Critical"},
	} {
		status, answer := s.call(t, "POST", "/complaints", body)
		require.Equal(t, http.StatusCreated, status, answer)
		ids = append(ids, answer["id"].(string))
	}
	status, answer := s.call(t, "PUT", "/cases/"+ids[0], map[string]any{"state": "Resolved", "resolution": "unblocked"})
	require.Equal(t, http.StatusOK, status, answer)
	ctx := context.Background()

	current, err := caseworker.NewReplayer(s.opts.codec)
	require.NoError(t, err)
	var results []replay.Result
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		results, err = replay.Running(ctx, s.temporal, current, "", 10)
		assert.NoError(c, err)
		assert.Len(c, results, 2, "visibility lists both running cases")
	}, 10*time.Second, 50*time.Millisecond)
	assert.Zero(t, replay.Failed(results), "%+v", results)
	for _, r := range results {
		assert.Greater(t, r.Events, 3, r.WorkflowID)
	}

	changed := func(ctx workflow.Context, start workflows.Start) (casefile.Case, error) {
		if err := workflow.Sleep(ctx, time.Second); err != nil {
			return casefile.Case{}, err
		}
		return workflows.CaseWorkflow(ctx, start)
	}
	codec, _, err := encryption.FromConfig(s.opts.codec, encryption.Options{})
	require.NoError(t, err)
	data, failures := encryption.Converters(codec)
	next, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{DataConverter: data, FailureConverter: failures})
	require.NoError(t, err)
	next.RegisterWorkflowWithOptions(changed, workflow.RegisterOptions{Name: "CaseWorkflow"})
	results, err = replay.Running(ctx, s.temporal, next, "CustomerId = \"C-2\"", 10)
	require.NoError(t, err)
	require.Len(t, results, 1, "the query narrows the cases")
	assert.Equal(t, 1, replay.Failed(results))
	assert.ErrorContains(t, results[0].Err, "TMPRL1100")
}
