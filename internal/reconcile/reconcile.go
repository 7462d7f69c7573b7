// Package reconcile compares each case workflow with its Postgres row and
// repairs rows that fell behind.
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/internal/runningcases"
	"github.com/bank/caseservice/store"
	"github.com/bank/caseservice/workflows"
)

// Kinds of drift.
const (
	RowMissing   = "row missing"
	RowBehind    = "row behind workflow"
	RowAhead     = "row ahead of workflow"
	StateDiffers = "state differs at the same version"
	NoWorkflow   = "no workflow"
	RowNotClosed = "workflow finished, row not closed"
)

// queryDeadline bounds asking one workflow; one that replays a long history
// on a busy worker can take seconds.
const queryDeadline = 30 * time.Second

// Drift is a case whose row does not match its workflow.
type Drift struct {
	CaseID   string         `json:"case-id"`
	Kind     string         `json:"kind"`
	Workflow *casefile.Case `json:"-"`
	// WorkflowVersion and RowVersion are 0 where that side is missing.
	WorkflowVersion int64          `json:"workflow-version"`
	WorkflowState   casefile.State `json:"workflow-state,omitempty"`
	RowVersion      int64          `json:"row-version"`
	RowState        casefile.State `json:"row-state,omitempty"`
	Repaired        bool           `json:"repaired"`
}

// Reconciler checks cases against their workflows.
type Reconciler struct {
	temporal client.Client
	store    *store.Store
}

// New returns a reconciler of the cases in the client's namespace.
func New(temporal client.Client, store *store.Store) *Reconciler {
	return &Reconciler{temporal: temporal, store: store}
}

// Options shape a reconciliation.
type Options struct {
	// Repair writes the workflow's snapshot over a row that is missing or
	// behind, with its history row if that is missing too.
	Repair bool
	// Settle is how long to wait before checking a drifted case again: a
	// change whose activity is in flight is not drift.
	Settle time.Duration
	// Concurrency bounds the workflow queries in flight.
	Concurrency int
}

// Report is the outcome of a reconciliation.
type Report struct {
	Checked  int     `json:"checked"`
	Drifted  []Drift `json:"drifted"`
	Repaired int     `json:"repaired"`
	// Unchecked are cases whose workflow could not be asked, twice, with why.
	Unchecked map[string]string `json:"unchecked,omitempty"`
}

// RunningCases lists the ids of cases whose workflow is running.
func (r *Reconciler) RunningCases(ctx context.Context) ([]string, error) {
	runs, err := runningcases.List(ctx, r.temporal, "", 0)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(runs))
	for i, run := range runs {
		ids[i] = run.CaseID
	}
	return ids, nil
}

// Reconcile checks the given cases, checks the drifted ones and those that
// could not be checked again after Settle, and with Repair restores rows that
// stayed behind their workflow.
func (r *Reconciler) Reconcile(ctx context.Context, ids []string, o Options) (Report, error) {
	drifted, unchecked, err := r.checkAll(ctx, ids, o.Concurrency)
	if err != nil {
		return Report{}, err
	}
	if len(drifted)+len(unchecked) > 0 {
		select {
		case <-ctx.Done():
			return Report{}, ctx.Err()
		case <-time.After(o.Settle):
		}
		var again []string
		for _, d := range drifted {
			again = append(again, d.CaseID)
		}
		for id := range unchecked {
			again = append(again, id)
		}
		if drifted, unchecked, err = r.checkAll(ctx, again, o.Concurrency); err != nil {
			return Report{}, err
		}
	}
	rep := Report{Checked: len(ids) - len(unchecked), Drifted: drifted, Unchecked: unchecked}
	if !o.Repair {
		return rep, nil
	}
	for i, d := range rep.Drifted {
		if d.Workflow == nil || (d.Kind != RowMissing && d.Kind != RowBehind) {
			continue
		}
		entry, err := r.latestEntry(ctx, *d.Workflow)
		if err != nil {
			return rep, err
		}
		// The same write the workflow's record activity makes: the row only
		// by a newer version, the history row only if it is missing.
		if err := r.store.Record(ctx, entry); err != nil {
			return rep, err
		}
		rep.Drifted[i].Repaired = true
		rep.Repaired++
	}
	return rep, nil
}

// latestEntry is the history entry of the version a workflow holds: its
// snapshot, with the change and note its history query lists for that version.
func (r *Reconciler) latestEntry(ctx context.Context, c casefile.Case) (casefile.HistoryEntry, error) {
	var recent []workflows.ChangeSummary
	if err := r.query(ctx, c.ID, workflows.QueryHistory, &recent); err != nil {
		return casefile.HistoryEntry{}, err
	}
	for _, change := range recent {
		if change.Version == c.Version {
			return casefile.HistoryEntry{Case: c, Change: change.Change, Note: change.Note}, nil
		}
	}
	return casefile.HistoryEntry{}, fmt.Errorf("workflow of %s lists no change for its version %d", c.ID, c.Version)
}

// checkAll checks cases against their workflows. A workflow that cannot be
// asked (a worker busy replaying, a timeout) leaves its case unchecked, with
// the reason; only a failing database ends the check.
func (r *Reconciler) checkAll(ctx context.Context, ids []string, concurrency int) ([]Drift, map[string]string, error) {
	rows, err := r.store.CasesByID(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	var (
		mu        sync.Mutex
		drifted   []Drift
		unchecked = map[string]string{}
		wg        sync.WaitGroup
	)
	jobs := make(chan string)
	for range max(1, concurrency) {
		wg.Go(func() {
			for id := range jobs {
				var row *casefile.Case
				if c, ok := rows[id]; ok {
					row = &c
				}
				d, ok, err := r.check(ctx, id, row)
				mu.Lock()
				switch {
				case err != nil:
					unchecked[id] = err.Error()
				case ok:
					drifted = append(drifted, d)
				}
				mu.Unlock()
			}
		})
	}
	for _, id := range ids {
		jobs <- id
	}
	close(jobs)
	wg.Wait()
	if len(unchecked) == 0 {
		unchecked = nil
	}
	return drifted, unchecked, ctx.Err()
}

// check compares one case's workflow with its row; ok is true on drift.
func (r *Reconciler) check(ctx context.Context, id string, row *casefile.Case) (Drift, bool, error) {
	qctx, cancel := context.WithTimeout(ctx, queryDeadline)
	defer cancel()
	d := Drift{CaseID: id}
	if row != nil {
		d.RowVersion, d.RowState = row.Version, row.State
	}
	wf, running, err := r.workflowCase(qctx, id)
	if errors.Is(err, errNoWorkflow) {
		d.Kind = NoWorkflow
		return d, true, nil
	}
	if err != nil {
		return d, false, err
	}
	d.Workflow, d.WorkflowVersion, d.WorkflowState = &wf, wf.Version, wf.State
	switch {
	case row == nil:
		d.Kind = RowMissing
	case row.Version < wf.Version:
		d.Kind = RowBehind
	case row.Version > wf.Version:
		d.Kind = RowAhead
	case row.State != wf.State:
		d.Kind = StateDiffers
	case !running && row.State != casefile.StateClosed:
		d.Kind = RowNotClosed
	default:
		return d, false, nil
	}
	return d, true, nil
}

var errNoWorkflow = errors.New("no workflow")

// workflowCase asks the case's latest workflow run what it holds.
func (r *Reconciler) workflowCase(ctx context.Context, id string) (casefile.Case, bool, error) {
	var c casefile.Case
	wfID := workflows.CaseWorkflowID(id)
	desc, err := r.temporal.DescribeWorkflow(ctx, wfID, "")
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return c, false, errNoWorkflow
	}
	if err != nil {
		return c, false, fmt.Errorf("describe workflow of %s: %w", id, err)
	}
	running := desc.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	if err := r.query(ctx, id, workflows.QueryState, &c); err != nil {
		return c, false, err
	}
	return c, running, nil
}

// query asks a case's workflow the named query, within queryDeadline, and
// decodes the answer into out.
func (r *Reconciler) query(ctx context.Context, id, name string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, queryDeadline)
	defer cancel()
	value, err := r.temporal.QueryWorkflow(ctx, workflows.CaseWorkflowID(id), "", name)
	if err != nil {
		return fmt.Errorf("query %s of %s: %w", name, id, err)
	}
	if err := value.Get(out); err != nil {
		return fmt.Errorf("decode %s of %s: %w", name, id, err)
	}
	return nil
}
