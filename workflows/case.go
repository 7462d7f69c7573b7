// Package workflows holds the case workflow: the one place where a case's
// state changes. Each change is validated, applied to the workflow's state and
// recorded in Postgres by an activity before the caller hears back.
package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/bank/caseservice/activities"
	"github.com/bank/caseservice/casefile"
)

// Editor recorded for changes the workflow makes on its own (a callback falling due).
var systemEditor = Editor{ID: "system", Name: "system"}

// recordOptions retry a failed write until it lands: a case change that the
// workflow has accepted must reach Postgres, however long the database is away.
var recordOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    200 * time.Millisecond,
		BackoffCoefficient: 2,
		MaximumInterval:    30 * time.Second,
	},
}

// CaseWorkflow runs one case from registration to close. The argument is the
// case as registered; the workflow sets its state, version and times.
func CaseWorkflow(ctx workflow.Context, registration casefile.Case) (casefile.Case, error) {
	r := &caseRun{c: registration}
	return r.run(ctx)
}

type caseRun struct {
	c casefile.Case
	// registered is set once version 1 is in Postgres.
	registered bool
	// recording counts record activities in flight; the workflow ends only at zero.
	recording int
}

func (r *caseRun) run(ctx workflow.Context) (casefile.Case, error) {
	now := workflow.Now(ctx).UTC()
	r.c.State = casefile.StateAccepted
	r.c.Version = 1
	r.c.RegisteredAt = now
	r.c.UpdatedAt = now
	if r.c.UpdatedByID == "" && r.c.UpdatedByName == "" {
		r.c.UpdatedByID, r.c.UpdatedByName = r.c.RegisteredByID, r.c.RegisteredByName
	}
	if err := r.registerHandlers(ctx); err != nil {
		return r.c, err
	}
	if err := r.record(ctx, casefile.ChangeRegistered); err != nil {
		return r.c, err
	}
	r.registered = true
	if r.c.CallbackAt != nil {
		workflow.Go(ctx, r.awaitCallback)
	}
	err := workflow.Await(ctx, func() bool {
		return r.c.State == casefile.StateClosed && r.recording == 0 && workflow.AllHandlersFinished(ctx)
	})
	return r.c, err
}

func (r *caseRun) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryState, func() (casefile.Case, error) { return r.c, nil },
		workflow.QueryHandlerOptions{Description: "The case as the workflow holds it now."}); err != nil {
		return err
	}
	handlers := []struct {
		name, description  string
		handler, validator any
	}{
		{UpdateAwaitRegistration, "Returns once the new case is recorded; used by the API on create.",
			r.awaitRegistration, nil},
		{UpdateProgress, "Changes type, state (Accepted/Resolved) or resolution.",
			r.progress, r.validateProgress},
		{UpdateClose, "Closes the case; the workflow then completes.",
			r.close, r.validateClose},
		{UpdateAddAttachment, "Attaches file metadata.",
			r.addAttachment, r.validateAddAttachment},
		{UpdateRemoveAttachment, "Detaches a file.",
			r.removeAttachment, r.validateRemoveAttachment},
	}
	for _, h := range handlers {
		opts := workflow.UpdateHandlerOptions{Description: h.description, Validator: h.validator}
		if err := workflow.SetUpdateHandlerWithOptions(ctx, h.name, h.handler, opts); err != nil {
			return fmt.Errorf("register update %s: %w", h.name, err)
		}
	}
	return nil
}

func (r *caseRun) awaitRegistration(ctx workflow.Context) (Result, error) {
	err := workflow.Await(ctx, func() bool { return r.registered })
	return r.result(), err
}

func (r *caseRun) validateProgress(req ProgressRequest) error {
	if err := r.validateOpen(); err != nil {
		return err
	}
	switch req.State {
	case "", casefile.StateAccepted:
	case casefile.StateResolved:
		if r.c.State == casefile.StateAccepted && req.Resolution == "" {
			return reject(RejectInvalid, "resolving case %s needs a resolution", r.c.ID)
		}
	case casefile.StateClosed:
		return reject(RejectInvalid, "a case is closed with DELETE, not by setting its state")
	default:
		return reject(RejectInvalid, "unknown state %q", req.State)
	}
	return nil
}

func (r *caseRun) progress(ctx workflow.Context, req ProgressRequest) (Result, error) {
	change := casefile.ChangeUpdated
	switch {
	case req.State == casefile.StateResolved && r.c.State != casefile.StateResolved:
		change = casefile.ChangeResolved
	case req.State == casefile.StateAccepted && r.c.State == casefile.StateResolved:
		change = casefile.ChangeReopened
		r.c.Resolution = ""
	}
	if req.State != "" {
		r.c.State = req.State
	}
	if req.CaseType != "" {
		r.c.Type = req.CaseType
	}
	if req.Resolution != "" {
		r.c.Resolution = req.Resolution
	}
	return r.commit(ctx, req.Editor, change)
}

func (r *caseRun) validateClose(CloseRequest) error { return r.validateOpen() }

func (r *caseRun) close(ctx workflow.Context, req CloseRequest) (Result, error) {
	r.c.State = casefile.StateClosed
	if req.CaseType != "" {
		r.c.Type = req.CaseType
	}
	if req.Resolution != "" {
		r.c.Resolution = req.Resolution
	}
	return r.commit(ctx, req.Editor, casefile.ChangeClosed)
}

func (r *caseRun) validateAddAttachment(req AddAttachmentRequest) error {
	if err := r.validateOpen(); err != nil {
		return err
	}
	if req.FileID == "" || req.FileName == "" {
		return reject(RejectInvalid, "an attachment needs a file id and a file name")
	}
	if i := r.c.AttachmentIndex(req.FileID); i >= 0 && r.c.Attachments[i].FileName != req.FileName {
		return reject(RejectConflict, "file %q is already attached to case %s under another name", req.FileID, r.c.ID)
	}
	return nil
}

func (r *caseRun) addAttachment(ctx workflow.Context, req AddAttachmentRequest) (Result, error) {
	if r.c.AttachmentIndex(req.FileID) >= 0 {
		return r.result(), nil // already attached: nothing to record
	}
	r.c.Attachments = append(r.c.Attachments, casefile.Attachment{
		FileID:     req.FileID,
		FileName:   req.FileName,
		CustomerID: req.CustomerID,
		AddedAt:    workflow.Now(ctx).UTC(),
	})
	return r.commit(ctx, req.Editor, casefile.ChangeAttachmentAdded)
}

func (r *caseRun) validateRemoveAttachment(req RemoveAttachmentRequest) error {
	if err := r.validateOpen(); err != nil {
		return err
	}
	if r.c.AttachmentIndex(req.FileID) < 0 {
		return reject(RejectNotFound, "case %s has no attachment %q", r.c.ID, req.FileID)
	}
	return nil
}

func (r *caseRun) removeAttachment(ctx workflow.Context, req RemoveAttachmentRequest) (Result, error) {
	i := r.c.AttachmentIndex(req.FileID)
	// Copy rather than splice in place: earlier snapshots may share the array.
	kept := make([]casefile.Attachment, 0, len(r.c.Attachments)-1)
	kept = append(kept, r.c.Attachments[:i]...)
	r.c.Attachments = append(kept, r.c.Attachments[i+1:]...)
	return r.commit(ctx, req.Editor, casefile.ChangeAttachmentRemoved)
}

func (r *caseRun) validateOpen() error {
	if r.c.State == casefile.StateClosed {
		return reject(RejectConflict, "case %s is closed", r.c.ID)
	}
	return nil
}

// awaitCallback waits for the requested callback time, unless the case is
// closed first, and records that the callback is due.
func (r *caseRun) awaitCallback(ctx workflow.Context) {
	at := *r.c.CallbackAt
	wait := at.Sub(workflow.Now(ctx))
	if wait > 0 {
		closed, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{
			Timeout:      wait,
			TimerOptions: workflow.TimerOptions{Summary: fmt.Sprintf("callback for %s at %s", r.c.ID, at.UTC().Format(time.RFC3339))},
		}, func() bool { return r.c.State == casefile.StateClosed })
		if err != nil || closed {
			return
		}
	}
	if r.c.State == casefile.StateClosed {
		return
	}
	if _, err := r.commit(ctx, systemEditor, casefile.ChangeCallbackDue); err != nil {
		workflow.GetLogger(ctx).Error("Recording due callback failed", "error", err)
	}
}

// commit stamps a change made to r.c with a new version and records it.
func (r *caseRun) commit(ctx workflow.Context, editor Editor, change casefile.Change) (Result, error) {
	r.c.Version++
	r.c.UpdatedAt = workflow.Now(ctx).UTC()
	r.c.UpdatedByID, r.c.UpdatedByName = editor.ID, editor.Name
	err := workflow.UpsertTypedSearchAttributes(ctx,
		CaseStateKey.ValueSet(string(r.c.State)),
		CaseTypeKey.ValueSet(r.c.Type),
	)
	if err != nil {
		return Result{}, fmt.Errorf("upsert search attributes: %w", err)
	}
	result := r.result()
	result.Recorded = true
	return result, r.record(ctx, change)
}

// record writes the current snapshot as a history entry. The snapshot is
// encoded when the activity is scheduled, so later changes cannot leak into it.
func (r *caseRun) record(ctx workflow.Context, change casefile.Change) error {
	var a *activities.Activities
	r.recording++
	defer func() { r.recording-- }()
	entry := casefile.HistoryEntry{Case: r.c, Change: change}
	ctx = workflow.WithActivityOptions(ctx, recordOptions)
	return workflow.ExecuteActivity(ctx, a.RecordChange, entry).Get(ctx, nil)
}

func (r *caseRun) result() Result { return Result{CaseID: r.c.ID, Version: r.c.Version} }
