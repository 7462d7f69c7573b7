// Package workflows holds the case workflow, the one place where a case's state
// changes.
package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/bank/caseservice/casefile"
)

// systemEditor is recorded for the changes the case's clocks make.
var systemEditor = Editor{ID: "system", Name: "system"}

// CaseWorkflow runs one case from registration to close. A first run
// registers the case; a continued run (its case has a version) goes on from
// the case as the previous run left it.
func CaseWorkflow(ctx workflow.Context, start Start) (casefile.Case, error) {
	r := &caseRun{c: start.Case, policy: start.Policy, registeredBy: start.RegisteredBy, recent: start.Recent}
	return r.run(ctx)
}

type caseRun struct {
	c            casefile.Case
	policy       Policy
	registeredBy string
	// recent are the latest recorded changes, for the history query.
	recent []ChangeSummary
	// registered is set once version 1 is in Postgres.
	registered bool
	// pending counts activities in flight; the run ends only at zero.
	pending int
	// delivering is set while a callback delivery is being attempted.
	delivering bool
	// handlersFinished counts update handlers that have returned.
	handlersFinished int
	// draining is set once the run is about to continue as new.
	draining bool
}

func (r *caseRun) run(ctx workflow.Context) (casefile.Case, error) {
	continued := r.c.Version > 0
	if !continued {
		r.register(ctx)
	}
	// Handlers first, so that the create's await-registration update is
	// accepted while the registration is being recorded.
	if err := r.registerHandlers(ctx); err != nil {
		return r.c, err
	}
	if !continued {
		if err := r.record(ctx, casefile.ChangeRegistered, "", ""); err != nil {
			return r.c, err
		}
	}
	r.registered = true
	r.showDetails(ctx)

	if r.c.CallbackStatus == casefile.CallbackScheduled {
		workflow.Go(ctx, r.runCallback)
	}
	workflow.Go(ctx, r.runResolutionDeadline)
	workflow.Go(ctx, r.runReopenWindow)

	if err := workflow.Await(ctx, func() bool {
		return (r.c.State == casefile.StateClosed && r.idle(ctx)) || r.historyIsLong(ctx)
	}); err != nil {
		return r.c, err
	}
	if r.c.State == casefile.StateClosed {
		return r.c, nil
	}
	return r.c, r.continueAsNew(ctx)
}

// continueAsNew hands the case, its policy and its pending clocks to a new
// run. From here on updates are turned away (callers retry them on the next
// run), so that the ones in flight can finish.
func (r *caseRun) continueAsNew(ctx workflow.Context) error {
	r.draining = true
	if err := r.awaitQuietTask(ctx); err != nil {
		return err
	}
	return workflow.NewContinueAsNewError(ctx, CaseWorkflow, Start{Case: r.c, Policy: r.policy, RegisteredBy: r.registeredBy, Recent: r.recent})
}

// awaitQuietTask returns in a workflow task in which nothing is in flight and
// no update handler finished. The server may drop an update completion sent
// in the same task as a continue-as-new (temporalio/temporal#6375), so a
// short timer puts a task boundary between the last completion and the
// continue-as-new; updates that arrive meanwhile are served first.
func (r *caseRun) awaitQuietTask(ctx workflow.Context) error {
	for {
		if err := workflow.Await(ctx, func() bool { return r.idle(ctx) }); err != nil {
			return err
		}
		finished := r.handlersFinished
		if err := workflow.Sleep(ctx, time.Millisecond); err != nil {
			return err
		}
		if r.idle(ctx) && r.handlersFinished == finished {
			return nil
		}
	}
}

// register sets what a new case starts with.
func (r *caseRun) register(ctx workflow.Context) {
	now := workflow.Now(ctx).UTC()
	r.c.State = casefile.StateAccepted
	r.c.Version = 1
	r.c.RegisteredAt = now
	r.c.UpdatedAt = now
	if r.c.UpdatedByID == "" && r.c.UpdatedByName == "" {
		r.c.UpdatedByID, r.c.UpdatedByName = r.c.RegisteredByID, r.c.RegisteredByName
	}
	if r.c.CallbackAt != nil {
		r.c.CallbackStatus = casefile.CallbackScheduled
		r.c.CallbackSchedule = 1
	}
	if within, ok := r.policy.ResolveWithin[r.c.Importance]; ok && within > 0 {
		deadline := now.Add(within)
		r.c.ResolveBy = &deadline
	}
}

func (r *caseRun) idle(ctx workflow.Context) bool {
	return r.pending == 0 && workflow.AllHandlersFinished(ctx)
}

// historyIsLong says when to continue as new, before the history gets large.
func (r *caseRun) historyIsLong(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	if info.GetContinueAsNewSuggested() {
		return true
	}
	return r.policy.MaxHistoryEvents > 0 && info.GetCurrentHistoryLength() >= r.policy.MaxHistoryEvents
}

func (r *caseRun) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryState, func() (casefile.Case, error) { return r.c, nil },
		workflow.QueryHandlerOptions{Description: "The case as the workflow holds it now."}); err != nil {
		return err
	}
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryHistory, func() ([]ChangeSummary, error) { return r.recent, nil },
		workflow.QueryHandlerOptions{Description: "The latest changes (up to 100), oldest first; all of them: GET /cases/{case-id}/history."}); err != nil {
		return err
	}
	handlers := []struct {
		name, description  string
		handler, validator any
	}{
		{UpdateAwaitRegistration, "Returns once the new case is recorded; used by the API on create.",
			func(ctx workflow.Context, operationID string) (Result, error) {
				defer func() { r.handlersFinished++ }()
				return r.awaitRegistration(ctx)
			}, r.validateRegistration},
		{UpdateProgress, "Changes type, state (Accepted/Resolved) or resolution, or reschedules the callback.",
			counted(r, r.progress), r.validateProgress},
		{UpdateClose, "Closes the case; the workflow then completes.",
			counted(r, r.close), r.validateClose},
		{UpdateAddAttachment, "Attaches file metadata.",
			counted(r, r.addAttachment), r.validateAddAttachment},
		{UpdateRemoveAttachment, "Detaches a file.",
			counted(r, r.removeAttachment), r.validateRemoveAttachment},
		{UpdateEscalate, `Operators: escalates the case, once. {"operator": "jane.doe", "note": "why"}`,
			counted(r, r.escalateByOperator), r.validateEscalate},
		{UpdateAddNote, `Operators: adds a note to the case's history. {"operator": "jane.doe", "note": "..."}`,
			counted(r, r.addNote), r.validateAddNote},
		{UpdateRescheduleCallback, `Operators: moves a callback request's callback. {"operator": "jane.doe", "callback-request-time": "2026-12-24T10:00:00Z"}`,
			counted(r, r.rescheduleByOperator), r.validateRescheduleByOperator},
	}
	for _, h := range handlers {
		opts := workflow.UpdateHandlerOptions{Description: h.description, Validator: h.validator}
		if err := workflow.SetUpdateHandlerWithOptions(ctx, h.name, h.handler, opts); err != nil {
			return fmt.Errorf("register update %s: %w", h.name, err)
		}
	}
	return nil
}

// counted wraps an update handler to count its completions.
func counted[Req any](r *caseRun, handler func(workflow.Context, Req) (Result, error)) func(workflow.Context, Req) (Result, error) {
	return func(ctx workflow.Context, req Req) (Result, error) {
		defer func() { r.handlersFinished++ }()
		return handler(ctx, req)
	}
}

// validateRegistration lets only the request that registered the case (or a
// caller that names none) await it: a create that finds another's case under
// the same id is told the id is taken.
func (r *caseRun) validateRegistration(operationID string) error {
	if operationID != "" && operationID != r.registeredBy {
		return reject(RejectConflict, "case id %s is already taken", r.c.ID)
	}
	return nil
}

func (r *caseRun) awaitRegistration(ctx workflow.Context) (Result, error) {
	err := workflow.Await(ctx, func() bool { return r.registered })
	return r.result(), err
}

func (r *caseRun) validateProgress(req ProgressRequest) error {
	if err := r.validateOpen(req.IfVersion); err != nil {
		return err
	}
	if err := r.validateCaseType(req.CaseType); err != nil {
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
	if req.ResolutionCode != "" {
		resolved := req.State == casefile.StateResolved || req.State == "" && r.c.State == casefile.StateResolved
		if !resolved {
			return rejectField(FieldResolutionCode, "goes with resolving the case (state Resolved) or with a resolved case")
		}
	}
	if req.CallbackAt != nil && !r.hasCallbackAt(*req.CallbackAt) {
		return r.validateReschedule()
	}
	return nil
}

// validateCaseType refuses a request that names another type than the
// case's: like the case id beside it, the type identifies the case and no
// request changes it.
func (r *caseRun) validateCaseType(caseType string) error {
	if caseType != "" && caseType != r.c.Type {
		return rejectField(FieldCaseType, "must be the case's type, %q", r.c.Type)
	}
	return nil
}

func (r *caseRun) validateReschedule() error {
	switch {
	case r.c.Class != casefile.ClassCallbackRequest:
		return reject(RejectInvalid, "case %s is a %s; only callback requests have a callback time", r.c.ID, r.c.Class)
	case r.delivering:
		return reject(RejectConflict, "the callback of case %s is being delivered", r.c.ID)
	case r.c.CallbackStatus == casefile.CallbackDelivered:
		return reject(RejectConflict, "the callback of case %s was already delivered", r.c.ID)
	}
	return nil
}

// hasCallbackAt says whether the callback is already scheduled for at.
func (r *caseRun) hasCallbackAt(at time.Time) bool {
	return r.c.CallbackStatus == casefile.CallbackScheduled && r.c.CallbackAt != nil && r.c.CallbackAt.Equal(at)
}

// progress applies what the request changes and records it as one version,
// with a change of assignment as a version of its own before it; a request
// that asks only for what the case already has records nothing.
func (r *caseRun) progress(ctx workflow.Context, req ProgressRequest) (Result, error) {
	assigned := req.Assignment.changes(&r.c)
	if assigned {
		req.Assignment.applyTo(&r.c)
		if result, err := r.commit(ctx, req.Editor, casefile.ChangeAssigned); err != nil {
			return result, err
		}
	}
	newState := req.State != "" && req.State != r.c.State
	newResolution := req.Resolution != "" && req.Resolution != r.c.Resolution ||
		req.ResolutionCode != "" && req.ResolutionCode != r.c.ResolutionCode
	newCallback := req.CallbackAt != nil && !r.hasCallbackAt(*req.CallbackAt)
	if !newState && !newResolution && !newCallback {
		result := r.result()
		result.Recorded = assigned
		return result, nil
	}
	change := casefile.ChangeUpdated
	switch {
	case newState && req.State == casefile.StateResolved:
		change = casefile.ChangeResolved
		now := workflow.Now(ctx).UTC()
		r.c.ResolvedAt = &now
	case newState && req.State == casefile.StateAccepted:
		change = casefile.ChangeReopened
		r.c.Resolution, r.c.ResolutionCode = "", ""
		r.c.ResolvedAt = nil
	case newCallback:
		change = casefile.ChangeCallbackRescheduled
	}
	if newState {
		r.c.State = req.State
	}
	if req.Resolution != "" {
		r.c.Resolution = req.Resolution
	}
	if req.ResolutionCode != "" {
		r.c.ResolutionCode = req.ResolutionCode
	}
	if newCallback {
		r.reschedule(ctx, *req.CallbackAt)
	}
	result, err := r.commit(ctx, req.Editor, change)
	if err == nil && change == casefile.ChangeResolved && r.wantsNotice() {
		version := r.c.Version
		r.pending++
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer func() { r.pending-- }()
			r.sendNotice(ctx, version)
		})
	}
	return result, err
}

// reschedule moves the callback to at; the callback loop re-arms its timer.
func (r *caseRun) reschedule(ctx workflow.Context, at time.Time) {
	at = at.UTC()
	r.c.CallbackAt = &at
	r.c.CallbackSchedule++
	if r.c.CallbackStatus != casefile.CallbackScheduled {
		// A failed callback gets a new chance.
		r.c.CallbackStatus = casefile.CallbackScheduled
		workflow.Go(ctx, r.runCallback)
	}
}

func (r *caseRun) validateClose(req CloseRequest) error {
	if err := r.validateOpen(req.IfVersion); err != nil {
		return err
	}
	return r.validateCaseType(req.CaseType)
}

func (r *caseRun) close(ctx workflow.Context, req CloseRequest) (Result, error) {
	return r.closeCase(ctx, req.Editor, req.Resolution, req.ResolutionCode)
}

func (r *caseRun) closeCase(ctx workflow.Context, editor Editor, resolution, code string) (Result, error) {
	r.c.State = casefile.StateClosed
	if resolution != "" {
		r.c.Resolution = resolution
	}
	if code != "" {
		r.c.ResolutionCode = code
	}
	if r.c.CallbackStatus == casefile.CallbackScheduled && !r.delivering {
		r.c.CallbackStatus = casefile.CallbackCancelled
	}
	return r.commit(ctx, editor, casefile.ChangeClosed)
}

func (r *caseRun) validateAddAttachment(req AddAttachmentRequest) error {
	if err := r.validateOpen(req.IfVersion); err != nil {
		return err
	}
	if req.FileID == "" || req.FileName == "" {
		return reject(RejectInvalid, "an attachment needs a file id and a file name")
	}
	i := r.c.AttachmentIndex(req.FileID)
	if i >= 0 && r.c.Attachments[i].FileName != req.FileName {
		return reject(RejectConflict, "file %q is already attached to case %s under another name", req.FileID, r.c.ID)
	}
	if i < 0 && len(r.c.Attachments) >= casefile.MaxAttachments {
		return reject(RejectConflict, "case %s already has %d attachments, the most a case may have", r.c.ID, casefile.MaxAttachments)
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
	if err := r.validateOpen(req.IfVersion); err != nil {
		return err
	}
	if r.c.AttachmentIndex(req.FileID) < 0 {
		return reject(RejectNotFound, "case %s has no attachment %q", r.c.ID, req.FileID)
	}
	return nil
}

func (r *caseRun) removeAttachment(ctx workflow.Context, req RemoveAttachmentRequest) (Result, error) {
	i := r.c.AttachmentIndex(req.FileID)
	// Copy rather than splice in place: earlier snapshots, and records in
	// flight as local activities, may share the array.
	kept := make([]casefile.Attachment, 0, len(r.c.Attachments)-1)
	kept = append(kept, r.c.Attachments[:i]...)
	r.c.Attachments = append(kept, r.c.Attachments[i+1:]...)
	return r.commit(ctx, req.Editor, casefile.ChangeAttachmentRemoved)
}

// validateOpen refuses changes to a closed case, changes conditioned on a
// version the case has left (ifVersion 0: any), and changes while draining.
func (r *caseRun) validateOpen(ifVersion int64) error {
	if r.c.State == casefile.StateClosed {
		return reject(RejectConflict, "case %s is closed", r.c.ID)
	}
	if ifVersion != 0 && ifVersion != r.c.Version {
		return reject(RejectStale, "case %s is at version %d, not %d", r.c.ID, r.c.Version, ifVersion)
	}
	if r.draining {
		return reject(RejectBusy, "case %s is moving to a new run; try again", r.c.ID)
	}
	return nil
}

// commit stamps a change made to r.c with a new version and records it.
func (r *caseRun) commit(ctx workflow.Context, editor Editor, change casefile.Change) (Result, error) {
	return r.commitNoted(ctx, editor, change, "", "")
}

// commitNoted is commit with a note, and who may read it, on the history row.
func (r *caseRun) commitNoted(ctx workflow.Context, editor Editor, change casefile.Change, note string, visibility casefile.NoteVisibility) (Result, error) {
	r.c.Version++
	r.c.UpdatedAt = workflow.Now(ctx).UTC()
	r.c.UpdatedByID, r.c.UpdatedByName = editor.ID, editor.Name
	if err := workflow.UpsertTypedSearchAttributes(ctx, r.searchAttributeUpdates(ctx)...); err != nil {
		return Result{}, fmt.Errorf("upsert search attributes: %w", err)
	}
	r.showDetails(ctx)
	result := r.result()
	result.Recorded = true
	return result, r.record(ctx, change, note, visibility)
}

// showDetails sets what the Temporal UI shows as the workflow's current details.
func (r *caseRun) showDetails(ctx workflow.Context) {
	details := fmt.Sprintf("**%s** · version %d · updated by %s at %s", r.c.State, r.c.Version,
		r.c.UpdatedByName, r.c.UpdatedAt.Format(time.RFC3339))
	if r.c.Escalated {
		details += " · **escalated**"
	}
	if r.c.CallbackAt != nil {
		details += fmt.Sprintf(" · callback %s for %s", r.c.CallbackStatus, r.c.CallbackAt.Format(time.RFC3339))
	}
	workflow.SetCurrentDetails(ctx, details)
}

func (r *caseRun) searchAttributeUpdates(ctx workflow.Context) []temporal.SearchAttributeUpdate {
	updates := []temporal.SearchAttributeUpdate{
		CaseStateKey.ValueSet(string(r.c.State)),
		CaseEscalatedKey.ValueSet(r.c.Escalated),
	}
	if r.c.CallbackAt != nil {
		updates = append(updates, CallbackStatusKey.ValueSet(string(r.c.CallbackStatus)), CallbackAtKey.ValueSet(*r.c.CallbackAt))
	}
	// An empty value removes its attribute, where the workflow has it.
	current := workflow.GetTypedSearchAttributes(ctx)
	for _, kw := range optionalKeywords(&r.c) {
		if _, set := current.GetKeyword(kw.key); kw.value != "" {
			updates = append(updates, kw.key.ValueSet(kw.value))
		} else if set {
			updates = append(updates, kw.key.ValueUnset())
		}
	}
	return updates
}

// record writes the current snapshot as a history entry: as a local
// activity, run inside the workflow task, and if that has not landed within
// localRecordOptions' minute, as an activity retried until it lands. A
// local activity's input is not encoded when it is scheduled, so the entry
// shares the case's attachments array, which is never changed in place
// (attachments are appended, and removeAttachment copies): later changes
// cannot leak into it.
func (r *caseRun) record(ctx workflow.Context, change casefile.Change, note string, visibility casefile.NoteVisibility) error {
	r.pending++
	defer func() { r.pending-- }()
	entry := casefile.HistoryEntry{Case: r.c, Change: change, Note: note, NoteVisibility: visibility}
	r.recent = append(r.recent, ChangeSummary{Version: r.c.Version, Change: change, At: r.c.UpdatedAt,
		By: r.c.UpdatedByName, State: r.c.State, Note: note})
	if len(r.recent) > RecentChanges {
		r.recent = slices.Clone(r.recent[len(r.recent)-RecentChanges:])
	}
	local := workflow.WithLocalActivityOptions(ctx, localRecordOptions)
	err := workflow.ExecuteLocalActivity(local, a.RecordChange, entry).Get(local, nil)
	if err == nil {
		return nil
	}
	workflow.GetLogger(ctx).Warn("Recording a change locally failed; retrying it as an activity",
		"case-id", r.c.ID, "version", entry.Case.Version, "error", err)
	ctx = workflow.WithActivityOptions(ctx, recordOptions)
	return workflow.ExecuteActivity(ctx, a.RecordChange, entry).Get(ctx, nil)
}

func (r *caseRun) result() Result { return Result{CaseID: r.c.ID, Version: r.c.Version} }
