// Package bulk applies one operator action to every open case a Temporal
// visibility query selects, as the Temporal UI does for one case: through the
// case workflow's Update, whose validator accepts or rejects each.
package bulk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/bank/caseservice/internal/runningcases"
	"github.com/bank/caseservice/workflows"
)

// Actions are the operator Updates bulk may send, with the input each takes.
var Actions = []string{workflows.UpdateEscalate, workflows.UpdateAddNote, workflows.UpdateRescheduleCallback}

// Options say what to apply where.
type Options struct {
	// Query is a visibility query over the case search attributes, e.g.
	// CaseState="Accepted" AND Importance="Critical"; only running case
	// workflows are ever selected.
	Query string
	// Action is one of Actions; Input is its argument
	// (workflows.OperatorAction or workflows.OperatorReschedule).
	Action string
	Input  any
	// Concurrency bounds the Updates in flight.
	Concurrency int
	// DryRun selects the cases and applies nothing.
	DryRun bool
	// Progress, if set, is told after each case.
	Progress func(done, total int)
}

// Outcome is what happened to one case.
type Outcome struct {
	CaseID string
	// Version is the case's version after an applied action.
	Version int64
	// Rejection is the validator's reason; Err a failure to reach the case.
	Rejection string
	Err       error
}

// Summary is every case's outcome, in case id order.
type Summary struct {
	Selected []string
	Applied  []Outcome
	Rejected []Outcome
	Failed   []Outcome
}

// busyRetries bounds the retries of a case that is moving to its next run.
const busyRetries = 20

// Apply selects the cases and, unless DryRun, sends each the action.
func Apply(ctx context.Context, tc client.Client, opts Options) (Summary, error) {
	if !slices.Contains(Actions, opts.Action) {
		return Summary{}, fmt.Errorf("unknown action %q; want one of %v", opts.Action, Actions)
	}
	ids, err := selectCases(ctx, tc, opts.Query)
	if err != nil {
		return Summary{}, err
	}
	summary := Summary{Selected: ids}
	if opts.DryRun || len(ids) == 0 {
		return summary, nil
	}
	outcomes := make([]Outcome, len(ids))
	work := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for range max(opts.Concurrency, 1) {
		wg.Go(func() {
			for i := range work {
				outcomes[i] = apply(ctx, tc, ids[i], opts)
				mu.Lock()
				done++
				if opts.Progress != nil {
					opts.Progress(done, len(ids))
				}
				mu.Unlock()
			}
		})
	}
	for i := range ids {
		work <- i
	}
	close(work)
	wg.Wait()
	for _, o := range outcomes {
		switch {
		case o.Err != nil:
			summary.Failed = append(summary.Failed, o)
		case o.Rejection != "":
			summary.Rejected = append(summary.Rejected, o)
		default:
			summary.Applied = append(summary.Applied, o)
		}
	}
	return summary, nil
}

// selectCases lists the case ids of the running case workflows the query selects.
func selectCases(ctx context.Context, tc client.Client, query string) ([]string, error) {
	runs, err := runningcases.List(ctx, tc, query, 0)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(runs))
	for i, run := range runs {
		ids[i] = run.CaseID
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// apply sends the action to one case; a case between runs is tried again.
func apply(ctx context.Context, tc client.Client, caseID string, opts Options) Outcome {
	for attempt := 0; ; attempt++ {
		result, err := update(ctx, tc, caseID, opts)
		var rejected *temporal.ApplicationError
		switch {
		case err == nil:
			return Outcome{CaseID: caseID, Version: result.Version}
		case errors.As(err, &rejected) && rejected.Type() == workflows.RejectBusy && attempt < busyRetries:
			select {
			case <-ctx.Done():
				return Outcome{CaseID: caseID, Err: ctx.Err()}
			case <-time.After(100 * time.Millisecond):
			}
		case errors.As(err, &rejected):
			return Outcome{CaseID: caseID, Rejection: rejected.Message()}
		default:
			return Outcome{CaseID: caseID, Err: err}
		}
	}
}

func update(ctx context.Context, tc client.Client, caseID string, opts Options) (workflows.Result, error) {
	var result workflows.Result
	handle, err := tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflows.CaseWorkflowID(caseID),
		UpdateName:   opts.Action,
		Args:         []any{opts.Input},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = handle.Get(ctx, &result)
	}
	return result, err
}
