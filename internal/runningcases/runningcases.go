// Package runningcases lists the case workflows that are running, for the
// operator tools that act on them (reconcile, operate, replay).
package runningcases

import (
	"context"
	"fmt"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/bank/caseservice/workflows"
)

// Run is one running case workflow.
type Run struct {
	CaseID, WorkflowID, RunID string
}

// List returns the running case workflows that query (a visibility query
// over the case search attributes; empty: all) selects, at most limit of
// them (0: all), in the order visibility lists them.
func List(ctx context.Context, tc client.Client, query string, limit int) ([]Run, error) {
	full := `WorkflowType = "CaseWorkflow" AND ExecutionStatus = "Running"`
	if query != "" {
		full += " AND (" + query + ")"
	}
	var runs []Run
	var token []byte
	for {
		resp, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: full, PageSize: 1000, NextPageToken: token})
		if err != nil {
			return nil, fmt.Errorf("list running cases (%s): %w", full, err)
		}
		for _, e := range resp.GetExecutions() {
			id, ok := workflows.CaseIDOf(e.GetExecution().GetWorkflowId())
			if !ok {
				continue
			}
			runs = append(runs, Run{CaseID: id, WorkflowID: e.GetExecution().GetWorkflowId(), RunID: e.GetExecution().GetRunId()})
			if limit > 0 && len(runs) == limit {
				return runs, nil
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return runs, nil
		}
	}
}
