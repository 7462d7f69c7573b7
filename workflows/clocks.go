package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/bank/caseservice/activities"
	"github.com/bank/caseservice/casefile"
)

// a names the activities; its methods are only referenced, never called here.
var a *activities.Activities

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

// localRecordOptions give a change a minute to land as a local activity,
// run by the worker inside the workflow task: no activity task and no
// second workflow task, so a change takes Temporal one workflow task. Past that
// minute the write goes on as an activity with recordOptions, whose retries
// add nothing to the history and show operators a pending RecordChange.
var localRecordOptions = workflow.LocalActivityOptions{
	ScheduleToCloseTimeout: time.Minute,
	StartToCloseTimeout:    30 * time.Second,
	RetryPolicy:            recordOptions.RetryPolicy,
}

// deliveryOptions retry a delivery with exponential backoff until maxRetry
// has passed since its first attempt.
func deliveryOptions(maxRetry time.Duration) workflow.ActivityOptions {
	if maxRetry <= 0 {
		maxRetry = time.Hour
	}
	return workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: maxRetry,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    5 * time.Minute,
		},
	}
}

// runCallback waits for the callback time, re-arming on every reschedule,
// and delivers the callback unless the case is closed first.
func (r *caseRun) runCallback(ctx workflow.Context) {
	for r.c.CallbackStatus == casefile.CallbackScheduled {
		schedule, at := r.c.CallbackSchedule, *r.c.CallbackAt
		changed := func() bool {
			return r.c.CallbackSchedule != schedule || r.c.CallbackStatus != casefile.CallbackScheduled
		}
		if wait := at.Sub(workflow.Now(ctx)); wait > 0 {
			_, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{
				Timeout:      wait,
				TimerOptions: workflow.TimerOptions{Summary: fmt.Sprintf("callback for %s at %s", r.c.ID, at.Format(time.RFC3339))},
			}, changed)
			if err != nil {
				return
			}
		}
		if changed() {
			continue // rescheduled or cancelled: look again
		}
		r.deliverCallback(ctx, schedule, at)
		return
	}
}

func (r *caseRun) deliverCallback(ctx workflow.Context, schedule int, at time.Time) {
	r.pending++
	r.delivering = true
	defer func() { r.pending--; r.delivering = false }()
	ctx = workflow.WithActivityOptions(ctx, deliveryOptions(r.policy.CallbackMaxRetry))
	err := workflow.ExecuteActivity(ctx, a.DeliverCallback, activities.CallbackDelivery{
		CaseID: r.c.ID, PartyID: r.c.CustomerID, Categorry: r.c.Categorry, RequestedAt: at, Schedule: schedule,
	}).Get(ctx, nil)
	change := casefile.ChangeCallbackDelivered
	r.c.CallbackStatus = casefile.CallbackDelivered
	if err != nil {
		workflow.GetLogger(ctx).Error("Callback delivery given up", "case-id", r.c.ID, "error", err)
		change = casefile.ChangeCallbackFailed
		r.c.CallbackStatus = casefile.CallbackFailed
	}
	if _, err := r.commit(ctx, systemEditor, change); err != nil {
		workflow.GetLogger(ctx).Error("Recording callback outcome failed", "case-id", r.c.ID, "error", err)
	}
}

// Limits on operator input, as for the API's fields.
const (
	maxOperatorLen = 200
	maxNoteLen     = casefile.MaxNoteLen
)

// validateOperator checks who acts and what they note, and that the case is open.
func (r *caseRun) validateOperator(operator, note string) error {
	switch {
	case operator == "":
		return reject(RejectInvalid, `name the operator: {"operator": "jane.doe", ...}`)
	case len(operator) > maxOperatorLen:
		return reject(RejectInvalid, "the operator's name is longer than %d bytes", maxOperatorLen)
	case len(note) > maxNoteLen:
		return reject(RejectInvalid, "the note is longer than %d bytes", maxNoteLen)
	}
	return r.validateOpen(0)
}

func operatorEditor(operator string) Editor {
	return Editor{ID: "temporal-operator:" + operator, Name: operator}
}

func (r *caseRun) validateEscalate(action OperatorAction) error {
	if err := r.validateOperator(action.Operator, action.Note); err != nil {
		return err
	}
	if r.c.Escalated {
		return reject(RejectConflict, "case %s is escalated already", r.c.ID)
	}
	return nil
}

func (r *caseRun) escalateByOperator(ctx workflow.Context, action OperatorAction) (Result, error) {
	return r.escalate(ctx, operatorEditor(action.Operator), action.Note)
}

// validateAddNote checks a note from either side: an operator in the
// Temporal UI, or an agent through the API (POST /cases/{case-id}/notes).
func (r *caseRun) validateAddNote(action OperatorAction) error {
	if err := r.validateOperator(action.author().ID, action.Note); err != nil {
		return err
	}
	switch action.Visibility {
	case "", casefile.NoteInternal, casefile.NoteCustomer:
	default:
		return reject(RejectInvalid, `visibility is "internal" or "customer", not %q`, action.Visibility)
	}
	if action.Note == "" {
		return reject(RejectInvalid, `a note needs its text: {"operator": "jane.doe", "note": "..."}`)
	}
	return r.validateOpen(action.IfVersion)
}

func (r *caseRun) addNote(ctx workflow.Context, action OperatorAction) (Result, error) {
	return r.commitNoted(ctx, action.author(), casefile.ChangeNoteAdded, action.Note, noteVisibility(action.Note, action.Visibility))
}

// author is who adds the note: the API's agent, or the named operator.
func (a OperatorAction) author() Editor {
	if a.Editor != nil {
		return *a.Editor
	}
	if a.Operator == "" {
		return Editor{}
	}
	return operatorEditor(a.Operator)
}

// noteVisibility is who may read a note: nobody's business without one,
// agents only unless it says otherwise.
func noteVisibility(note string, v casefile.NoteVisibility) casefile.NoteVisibility {
	switch {
	case note == "":
		return ""
	case v == "":
		return casefile.NoteInternal
	}
	return v
}

// validateRescheduleByOperator checks an operator's reschedule as the API
// checks a client's: the same span of time and the same rules.
func (r *caseRun) validateRescheduleByOperator(ctx workflow.Context, req OperatorReschedule) error {
	if err := r.validateOperator(req.Operator, ""); err != nil {
		return err
	}
	if _, err := casefile.ParseCallbackTime(req.CallbackRequestTime, workflow.Now(ctx)); err != nil {
		return reject(RejectInvalid, "callback-request-time %s", err)
	}
	return r.validateReschedule()
}

func (r *caseRun) rescheduleByOperator(ctx workflow.Context, req OperatorReschedule) (Result, error) {
	at, _ := casefile.ParseCallbackTime(req.CallbackRequestTime, workflow.Now(ctx)) // checked by the validator
	return r.progress(ctx, ProgressRequest{Editor: operatorEditor(req.Operator), CallbackAt: &at})
}

// runResolutionDeadline escalates, once, a case still unresolved at its deadline.
func (r *caseRun) runResolutionDeadline(ctx workflow.Context) {
	if r.c.ResolveBy == nil || r.c.Escalated {
		return
	}
	deadline := *r.c.ResolveBy
	if wait := deadline.Sub(workflow.Now(ctx)); wait > 0 {
		closed, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{
			Timeout:      wait,
			TimerOptions: workflow.TimerOptions{Summary: fmt.Sprintf("resolve %s by %s", r.c.ID, deadline.Format(time.RFC3339))},
		}, func() bool { return r.c.State == casefile.StateClosed })
		if err != nil || closed {
			return
		}
	}
	if r.c.State != casefile.StateAccepted || r.c.Escalated {
		return
	}
	if _, err := r.escalate(ctx, systemEditor, ""); err != nil {
		workflow.GetLogger(ctx).Error("Recording escalation failed", "case-id", r.c.ID, "error", err)
	}
}

// escalate marks the case escalated and records it; the escalation notice
// goes out meanwhile, so that an operator's escalate returns once recorded.
func (r *caseRun) escalate(ctx workflow.Context, editor Editor, note string) (Result, error) {
	r.c.Escalated = true
	result, err := r.commitNoted(ctx, editor, casefile.ChangeEscalated, note, noteVisibility(note, casefile.NoteInternal))
	if err != nil {
		return result, err
	}
	notice := activities.EscalationNotice{CaseID: r.c.ID, CaseType: r.c.Type, CustomerID: r.c.CustomerID, Importance: r.c.Importance}
	if r.c.ResolveBy != nil {
		notice.ResolveBy = *r.c.ResolveBy
	}
	r.pending++
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { r.pending-- }()
		ctx = workflow.WithActivityOptions(ctx, deliveryOptions(r.policy.NoticeMaxRetry))
		if err := workflow.ExecuteActivity(ctx, a.SendEscalation, notice).Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("Escalation notice given up", "case-id", r.c.ID, "error", err)
		}
	})
	return result, nil
}

// runReopenWindow closes a Resolved case that is not reopened within the
// policy's window; every resolution starts a new window.
func (r *caseRun) runReopenWindow(ctx workflow.Context) {
	if r.policy.AutoCloseAfter <= 0 {
		return
	}
	for {
		err := workflow.Await(ctx, func() bool {
			return r.c.State == casefile.StateClosed || (r.c.State == casefile.StateResolved && r.c.ResolvedAt != nil)
		})
		if err != nil || r.c.State == casefile.StateClosed {
			return
		}
		resolvedAt := *r.c.ResolvedAt
		stillResolved := func() bool {
			return r.c.State == casefile.StateResolved && r.c.ResolvedAt != nil && r.c.ResolvedAt.Equal(resolvedAt)
		}
		deadline := resolvedAt.Add(r.policy.AutoCloseAfter)
		if wait := deadline.Sub(workflow.Now(ctx)); wait > 0 {
			_, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{
				Timeout:      wait,
				TimerOptions: workflow.TimerOptions{Summary: fmt.Sprintf("close %s at %s unless reopened", r.c.ID, deadline.Format(time.RFC3339))},
			}, func() bool { return !stillResolved() })
			if err != nil {
				return
			}
		}
		if !stillResolved() {
			if r.c.State == casefile.StateClosed {
				return
			}
			continue // reopened, or resolved again: a new window
		}
		if _, err := r.closeCase(ctx, systemEditor, "", ""); err != nil {
			workflow.GetLogger(ctx).Error("Closing resolved case failed", "case-id", r.c.ID, "error", err)
		}
		return
	}
}

// wantsNotice says whether the customer asked to hear about the resolution.
func (r *caseRun) wantsNotice() bool {
	return r.c.Class != casefile.ClassCallbackRequest && r.c.CommType != "" && r.c.CommReplyAddress != ""
}

// sendNotice tells the customer about the resolution recorded as version;
// the outcome is recorded in the history.
func (r *caseRun) sendNotice(ctx workflow.Context, version int64) {
	notice := activities.ResolutionNotice{
		CaseID: r.c.ID, CaseType: r.c.Type, CustomerID: r.c.CustomerID, CustomerName: r.c.CustomerName,
		CommType: r.c.CommType, ReplyAddress: r.c.CommReplyAddress, ReplyAddressCode: r.c.CommReplyAddressCode,
		Resolution: r.c.Resolution, Version: version,
	}
	actx := workflow.WithActivityOptions(ctx, deliveryOptions(r.policy.NoticeMaxRetry))
	change := casefile.ChangeNoticeSent
	if err := workflow.ExecuteActivity(actx, a.SendResolutionNotice, notice).Get(actx, nil); err != nil {
		workflow.GetLogger(ctx).Error("Resolution notice given up", "case-id", r.c.ID, "error", err)
		change = casefile.ChangeNoticeFailed
	}
	if _, err := r.commit(ctx, systemEditor, change); err != nil {
		workflow.GetLogger(ctx).Error("Recording notice outcome failed", "case-id", r.c.ID, "error", err)
	}
}
