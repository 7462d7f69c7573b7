// Package replay replays the histories of running cases from a cluster
// against this build: the check before a worker deploy that the new code
// still follows every running case's recorded commands.
package replay

import (
	"context"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/bank/caseservice/internal/runningcases"
)

// Result is one replayed run; Err is set when this build does not replay it.
type Result struct {
	WorkflowID, RunID string
	Events            int
	Err               error
}

// Running fetches up to limit running case workflows that query selects
// (all running ones when empty) and replays each history with replayer.
func Running(ctx context.Context, tc client.Client, replayer worker.WorkflowReplayer, query string, limit int) ([]Result, error) {
	runs, err := runningcases.List(ctx, tc, query, limit)
	if err != nil {
		return nil, err
	}
	results := make([]Result, len(runs))
	for i, run := range runs {
		history, err := fetch(ctx, tc, run.WorkflowID, run.RunID)
		if err != nil {
			return nil, err
		}
		results[i] = Result{WorkflowID: run.WorkflowID, RunID: run.RunID, Events: len(history.Events),
			Err: replayer.ReplayWorkflowHistory(nil, history)}
	}
	return results, nil
}

// fetch reads a run's history as far as it goes now.
func fetch(ctx context.Context, tc client.Client, workflowID, runID string) (*historypb.History, error) {
	history := &historypb.History{}
	events := tc.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for events.HasNext() {
		event, err := events.Next()
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", workflowID, err)
		}
		history.Events = append(history.Events, event)
	}
	return history, nil
}

// Failed counts the runs this build does not replay.
func Failed(results []Result) int {
	n := 0
	for _, r := range results {
		if r.Err != nil {
			n++
		}
	}
	return n
}
