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

// namedChannel is a signal channel with its signal's name.
type namedChannel struct {
	name string
	ch   workflow.ReceiveChannel
}

// operatorSignals are the channels of the signals operators send from the
// Temporal UI.
type operatorSignals struct {
	reschedules workflow.ReceiveChannel
	actions     []namedChannel
}

// listenToOperators applies operators' signals as they come, for as long as
// the run lasts.
func (r *caseRun) listenToOperators(ctx workflow.Context) operatorSignals {
	signals := operatorSignals{
		reschedules: workflow.GetSignalChannel(ctx, SignalRescheduleCallback),
		actions: []namedChannel{
			{SignalEscalate, workflow.GetSignalChannel(ctx, SignalEscalate)},
			{SignalAddNote, workflow.GetSignalChannel(ctx, SignalAddNote)},
		},
	}
	workflow.Go(ctx, func(ctx workflow.Context) {
		selector := workflow.NewSelector(ctx)
		selector.AddReceive(signals.reschedules, func(c workflow.ReceiveChannel, _ bool) {
			var at string
			c.Receive(ctx, &at)
			r.rescheduleFromSignal(ctx, at)
		})
		for _, action := range signals.actions {
			selector.AddReceive(action.ch, func(c workflow.ReceiveChannel, _ bool) {
				var input OperatorAction
				c.Receive(ctx, &input)
				r.operatorAction(ctx, action.name, input)
			})
		}
		for {
			selector.Select(ctx)
		}
	})
	return signals
}

// drainSignals applies signals already received, before the run ends.
func (r *caseRun) drainSignals(ctx workflow.Context, signals operatorSignals) {
	var at string
	for signals.reschedules.ReceiveAsync(&at) {
		r.rescheduleFromSignal(ctx, at)
	}
	for _, action := range signals.actions {
		var input OperatorAction
		for action.ch.ReceiveAsync(&input) {
			r.operatorAction(ctx, action.name, input)
		}
	}
}

// Limits on operator input, as for the API's fields.
const (
	maxOperatorLen = 200
	maxNoteLen     = 4000
)

// operatorAction applies an escalate or add-note signal. A signal cannot be
// refused, so one that does not apply is logged and dropped.
func (r *caseRun) operatorAction(ctx workflow.Context, signal string, action OperatorAction) {
	logger := workflow.GetLogger(ctx)
	switch {
	case action.Operator == "" || len(action.Operator) > maxOperatorLen:
		logger.Warn("Ignored operator signal: name the operator", "signal", signal)
		return
	case len(action.Note) > maxNoteLen:
		logger.Warn("Ignored operator signal: note too long", "signal", signal)
		return
	case r.c.State == casefile.StateClosed:
		logger.Warn("Ignored operator signal: the case is closed", "signal", signal)
		return
	}
	editor := Editor{ID: "temporal-operator:" + action.Operator, Name: action.Operator}
	switch signal {
	case SignalAddNote:
		if action.Note == "" {
			logger.Warn("Ignored add-note signal without a note")
			return
		}
		if _, err := r.commitNoted(ctx, editor, casefile.ChangeNoteAdded, action.Note); err != nil {
			logger.Error("Recording note failed", "case-id", r.c.ID, "error", err)
		}
	case SignalEscalate:
		if r.c.Escalated {
			logger.Warn("Ignored escalate signal: the case is escalated already")
			return
		}
		r.escalate(ctx, editor, action.Note)
	}
}

// rescheduleFromSignal checks a signalled time as the update validator would;
// a signal cannot be refused, so a bad one is logged and dropped.
func (r *caseRun) rescheduleFromSignal(ctx workflow.Context, value string) {
	logger := workflow.GetLogger(ctx)
	at, err := time.Parse(time.RFC3339Nano, value)
	if err != nil {
		logger.Warn("Ignored reschedule-callback signal: want an RFC 3339 time", "value", value)
		return
	}
	if err := r.validateOpen(0); err != nil {
		logger.Warn("Ignored reschedule-callback signal", "reason", err)
		return
	}
	if err := r.validateReschedule(); err != nil {
		logger.Warn("Ignored reschedule-callback signal", "reason", err)
		return
	}
	r.reschedule(ctx, at)
	if _, err := r.commit(ctx, operatorEditor, casefile.ChangeCallbackRescheduled); err != nil {
		logger.Error("Recording reschedule failed", "case-id", r.c.ID, "error", err)
	}
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
	r.escalate(ctx, systemEditor, "")
}

// escalate marks the case escalated, records it and sends the escalation notice.
func (r *caseRun) escalate(ctx workflow.Context, editor Editor, note string) {
	r.c.Escalated = true
	if _, err := r.commitNoted(ctx, editor, casefile.ChangeEscalated, note); err != nil {
		workflow.GetLogger(ctx).Error("Recording escalation failed", "case-id", r.c.ID, "error", err)
		return
	}
	notice := activities.EscalationNotice{CaseID: r.c.ID, CaseType: r.c.Type, CustomerID: r.c.CustomerID, Importance: r.c.Importance}
	if r.c.ResolveBy != nil {
		notice.ResolveBy = *r.c.ResolveBy
	}
	r.pending++
	defer func() { r.pending-- }()
	ctx = workflow.WithActivityOptions(ctx, deliveryOptions(r.policy.NoticeMaxRetry))
	if err := workflow.ExecuteActivity(ctx, a.SendEscalation, notice).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("Escalation notice given up", "case-id", r.c.ID, "error", err)
	}
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
		if _, err := r.closeCase(ctx, systemEditor, ""); err != nil {
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
