package workflows_test

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/bank/caseservice/activities"
	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/workflows"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func callbackCase(at time.Time) casefile.Case {
	return casefile.Case{
		ID: "WI0000000043", Class: casefile.ClassCallbackRequest, Type: "CallbackRequest",
		CustomerID: "1104977710344", Importance: "Standard", Categorry: "Cards", CallbackAt: &at,
	}
}

func (s *caseWorkflowSuite) deliveryTimes() []time.Time {
	var out []time.Time
	for _, d := range s.deliveries {
		out = append(out, d.at)
	}
	return out
}

func (s *caseWorkflowSuite) TestCallbackIsDeliveredAtItsTime() {
	at := t0.Add(3 * time.Hour)
	s.update(5*time.Hour, workflows.UpdateClose, workflows.CloseRequest{Editor: agent})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, start(callbackCase(at), noClocks))

	s.Equal([]time.Time{at}, s.deliveryTimes(), "delivered once, exactly at the requested time")
	d := s.deliveries[0].request
	s.Equal(activities.CallbackDelivery{CaseID: "WI0000000043", PartyID: "1104977710344", Categorry: "Cards", RequestedAt: at, Schedule: 1}, d)
	s.Equal([]casefile.Change{casefile.ChangeRegistered, casefile.ChangeCallbackDelivered, casefile.ChangeClosed}, s.changes())
	s.Equal(casefile.CallbackScheduled, s.log.entries[0].Case.CallbackStatus)
	s.Equal(casefile.CallbackDelivered, s.log.entries[1].Case.CallbackStatus)
	s.Equal(at, s.log.entries[1].Case.UpdatedAt)
	s.Equal(casefile.CallbackDelivered, s.result().CallbackStatus)
}

func (s *caseWorkflowSuite) TestRescheduleLaterMovesTheCallback() {
	at, later := t0.Add(time.Hour), t0.Add(4*time.Hour)
	moved := s.update(30*time.Minute, workflows.UpdateProgress, workflows.ProgressRequest{Editor: agent, CallbackAt: &later})
	s.update(5*time.Hour, workflows.UpdateClose, workflows.CloseRequest{Editor: agent})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, start(callbackCase(at), noClocks))

	s.NoError(moved.err)
	s.Equal([]time.Time{later}, s.deliveryTimes(), "the old time never fires")
	s.Equal(2, s.deliveries[0].request.Schedule)
	s.Equal([]casefile.Change{casefile.ChangeRegistered, casefile.ChangeCallbackRescheduled,
		casefile.ChangeCallbackDelivered, casefile.ChangeClosed}, s.changes())
}

func (s *caseWorkflowSuite) TestRescheduleEarlierMovesTheCallback() {
	at, earlier := t0.Add(4*time.Hour), t0.Add(time.Hour)
	s.update(30*time.Minute, workflows.UpdateProgress, workflows.ProgressRequest{Editor: agent, CallbackAt: &earlier})
	s.update(5*time.Hour, workflows.UpdateClose, workflows.CloseRequest{Editor: agent})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, start(callbackCase(at), noClocks))

	s.Equal([]time.Time{earlier}, s.deliveryTimes())
}

func (s *caseWorkflowSuite) TestOperatorsRescheduleTheCallback() {
	at, later := t0.Add(time.Hour), t0.Add(2*time.Hour)
	reschedule := func(after time.Duration, operator, value string) *outcome {
		return s.update(after, workflows.UpdateRescheduleCallback, workflows.OperatorReschedule{Operator: operator, CallbackRequestTime: value})
	}
	rejected := map[string]*outcome{
		"must be an RFC 3339 time": reschedule(10*time.Minute, "jane.doe", "not a time"),
		"is in the past":           reschedule(10*time.Minute, "jane.doe", t0.Format(time.RFC3339)),
		"more than a year ahead":   reschedule(10*time.Minute, "jane.doe", t0.AddDate(2, 0, 0).Format(time.RFC3339)),
		"name the operator":        reschedule(10*time.Minute, "", later.Format(time.RFC3339)),
	}
	moved := reschedule(11*time.Minute, "jane.doe", later.Format(time.RFC3339))
	afterDelivery := reschedule(2*time.Hour+time.Minute, "jane.doe", t0.Add(3*time.Hour).Format(time.RFC3339))
	s.update(3*time.Hour, workflows.UpdateClose, workflows.CloseRequest{Editor: agent})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, start(callbackCase(at), noClocks))

	for reason, o := range rejected {
		s.ErrorContains(o.err, reason)
	}
	s.NoError(moved.err)
	s.Equal(int64(2), moved.result.Version, "an accepted action answers the new version")
	s.ErrorContains(afterDelivery.err, "already delivered")
	s.Equal([]time.Time{later}, s.deliveryTimes())
	s.Equal([]casefile.Change{casefile.ChangeRegistered, casefile.ChangeCallbackRescheduled,
		casefile.ChangeCallbackDelivered, casefile.ChangeClosed}, s.changes(), "rejected actions record nothing")
	s.Equal("temporal-operator:jane.doe", s.log.entries[1].Case.UpdatedByID)
}

func (s *caseWorkflowSuite) TestOnlyCallbackRequestsHaveACallbackToReschedule() {
	o := s.update(time.Minute, workflows.UpdateRescheduleCallback,
		workflows.OperatorReschedule{Operator: "jane.doe", CallbackRequestTime: t0.Add(time.Hour).Format(time.RFC3339)})
	s.update(2*time.Minute, workflows.UpdateClose, workflows.CloseRequest{Editor: agent})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, start(complaint(), noClocks))

	s.ErrorContains(o.err, "only callback requests have a callback time")
	s.Equal([]casefile.Change{casefile.ChangeRegistered, casefile.ChangeClosed}, s.changes())
}

func (s *caseWorkflowSuite) TestClosingBeforeTheCallbackCancelsIt() {
	s.update(time.Hour, workflows.UpdateClose, workflows.CloseRequest{Editor: agent})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, start(callbackCase(t0.Add(3*time.Hour)), noClocks))

	s.Empty(s.deliveries)
	s.Equal([]casefile.Change{casefile.ChangeRegistered, casefile.ChangeClosed}, s.changes())
	s.Equal(casefile.CallbackCancelled, s.result().CallbackStatus)
	s.Equal(t0.Add(time.Hour), s.env.Now().UTC(), "the workflow ends at the close, not at the callback time")
}

func (s *caseWorkflowSuite) TestFailedDeliveryIsRetriedThenSucceeds() {
	at := t0.Add(time.Hour)
	s.deliverFails = func(attempt int) bool { return attempt <= 2 }
	s.update(2*time.Hour, workflows.UpdateClose, workflows.CloseRequest{Editor: agent})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, start(callbackCase(at), noClocks))

	s.Require().Len(s.deliveries, 3)
	s.Equal([]int{1, 2, 3}, []int{s.deliveries[0].number, s.deliveries[1].number, s.deliveries[2].number})
	s.Equal(at.Add(time.Second), s.deliveries[1].at, "first retry after the initial interval")
	s.Equal(at.Add(3*time.Second), s.deliveries[2].at, "then backing off")
	s.Equal([]casefile.Change{casefile.ChangeRegistered, casefile.ChangeCallbackDelivered, casefile.ChangeClosed}, s.changes())
}

func (s *caseWorkflowSuite) TestDeliveryGivesUpAfterMaxRetry() {
	at := t0.Add(time.Hour)
	s.deliverFails = func(int) bool { return true }
	policy := noClocks
	policy.CallbackMaxRetry = 10 * time.Minute
	rescheduleAfterFailure := t0.Add(5 * time.Hour)
	retried := s.update(4*time.Hour, workflows.UpdateProgress, workflows.ProgressRequest{Editor: agent, CallbackAt: &rescheduleAfterFailure})
	s.update(6*time.Hour, workflows.UpdateClose, workflows.CloseRequest{Editor: agent})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, start(callbackCase(at), policy))

	s.Equal(casefile.ChangeCallbackFailed, s.log.entries[1].Change)
	s.Equal(casefile.CallbackFailed, s.log.entries[1].Case.CallbackStatus)
	var first, second []time.Time
	for _, d := range s.deliveries {
		if d.request.Schedule == 1 {
			first = append(first, d.at)
		} else {
			second = append(second, d.at)
		}
	}
	s.Greater(len(first), 3, "retried several times")
	s.LessOrEqual(first[len(first)-1].Sub(at), 10*time.Minute, "no attempt after the retry budget")
	s.NoError(retried.err, "a failed callback can be rescheduled")
	s.Require().NotEmpty(second)
	s.Equal(rescheduleAfterFailure, second[0], "the rescheduled callback was attempted at its new time")
}

func (s *caseWorkflowSuite) TestDeliveredCallbackCannotBeRescheduled() {
	at, later := t0.Add(time.Hour), t0.Add(5*time.Hour)
	moved := s.update(2*time.Hour, workflows.UpdateProgress, workflows.ProgressRequest{Editor: agent, CallbackAt: &later})
	notCallback := s.update(2*time.Hour, workflows.UpdateProgress, workflows.ProgressRequest{Editor: agent, Resolution: "called back"})
	s.update(3*time.Hour, workflows.UpdateClose, workflows.CloseRequest{Editor: agent})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, start(callbackCase(at), noClocks))

	s.Equal(workflows.RejectConflict, rejectionType(moved.err))
	s.NoError(notCallback.err)
	s.Len(s.deliveries, 1)
}

func (s *caseWorkflowSuite) TestOnlyCallbackRequestsHaveACallbackTime() {
	later := t0.Add(time.Hour)
	moved := s.update(time.Minute, workflows.UpdateProgress, workflows.ProgressRequest{Editor: agent, CallbackAt: &later})
	s.update(2*time.Minute, workflows.UpdateClose, workflows.CloseRequest{Editor: agent})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, start(complaint(), noClocks))

	s.Equal(workflows.RejectInvalid, rejectionType(moved.err))
}

func (s *caseWorkflowSuite) TestResolvedCaseClosesItselfAfterTheWindow() {
	policy := noClocks
	policy.AutoCloseAfter = 7 * 24 * time.Hour
	s.update(time.Hour, workflows.UpdateProgress, workflows.ProgressRequest{Editor: agent, State: casefile.StateResolved, Resolution: "fixed"})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, start(complaint(), policy))

	s.Equal([]casefile.Change{casefile.ChangeRegistered, casefile.ChangeResolved, casefile.ChangeClosed}, s.changes())
	closed := s.log.entries[2].Case
	s.Equal("system", closed.UpdatedByID)
	s.Equal(t0.Add(time.Hour+7*24*time.Hour), closed.UpdatedAt)
	s.Equal(casefile.StateClosed, s.result().State)
}

func (s *caseWorkflowSuite) TestReopeningInsideTheWindowKeepsTheCaseOpen() {
	policy := noClocks
	policy.AutoCloseAfter = 7 * 24 * time.Hour
	s.update(time.Hour, workflows.UpdateProgress, workflows.ProgressRequest{Editor: agent, State: casefile.StateResolved, Resolution: "fixed"})
	s.update(3*24*time.Hour, workflows.UpdateProgress, workflows.ProgressRequest{Editor: agent, State: casefile.StateAccepted})
	s.update(20*24*time.Hour, workflows.UpdateClose, workflows.CloseRequest{Editor: agent})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, start(complaint(), policy))

	s.Equal([]casefile.Change{casefile.ChangeRegistered, casefile.ChangeResolved, casefile.ChangeReopened, casefile.ChangeClosed}, s.changes())
	s.Equal("agent-7", s.log.entries[3].Case.UpdatedByID, "closed by the agent after 20 days, not by the window")
}

func (s *caseWorkflowSuite) TestUnresolvedCaseIsEscalatedOnceAtItsDeadline() {
	policy := noClocks
	policy.ResolveWithin = map[string]time.Duration{"Standard": 48 * time.Hour}
	s.update(72*time.Hour, workflows.UpdateProgress, workflows.ProgressRequest{Editor: agent, State: casefile.StateResolved, Resolution: "late"})
	s.update(80*time.Hour, workflows.UpdateClose, workflows.CloseRequest{Editor: agent})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, start(complaint(), policy))

	deadline := t0.Add(48 * time.Hour)
	s.Equal(&deadline, s.log.entries[0].Case.ResolveBy)
	s.Equal([]casefile.Change{casefile.ChangeRegistered, casefile.ChangeEscalated, casefile.ChangeResolved, casefile.ChangeClosed}, s.changes())
	s.Equal(deadline, s.log.entries[1].Case.UpdatedAt)
	s.True(s.log.entries[1].Case.Escalated)
	s.Require().Len(s.escalations, 1)
	s.Equal(deadline, s.escalations[0].at)
	s.Equal(activities.EscalationNotice{CaseID: "WI0000000042", CaseType: "Complaint", CustomerID: "1104977710344",
		Importance: "Standard", ResolveBy: deadline}, s.escalations[0].request)
	s.True(s.result().Escalated)
}

func (s *caseWorkflowSuite) TestCaseResolvedInTimeIsNotEscalated() {
	policy := noClocks
	policy.ResolveWithin = map[string]time.Duration{"Standard": 48 * time.Hour}
	s.update(time.Hour, workflows.UpdateProgress, workflows.ProgressRequest{Editor: agent, State: casefile.StateResolved, Resolution: "quick"})
	s.update(80*time.Hour, workflows.UpdateClose, workflows.CloseRequest{Editor: agent})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, start(complaint(), policy))

	s.Empty(s.escalations)
	s.False(s.result().Escalated)
}

func (s *caseWorkflowSuite) TestOneNoticePerResolution() {
	c := complaint()
	c.CommType, c.CommReplyAddress = "Email", "ime@example.com"
	resolve := workflows.ProgressRequest{Editor: agent, State: casefile.StateResolved, Resolution: "fixed"}
	s.update(time.Hour, workflows.UpdateProgress, resolve)
	// Saying Resolved again, or changing other fields, is not a new resolution.
	s.update(2*time.Hour, workflows.UpdateProgress, workflows.ProgressRequest{Editor: agent, State: casefile.StateResolved, Resolution: "fixed, really"})
	s.update(3*time.Hour, workflows.UpdateProgress, workflows.ProgressRequest{Editor: agent, State: casefile.StateAccepted})
	s.update(4*time.Hour, workflows.UpdateProgress, resolve)
	s.update(5*time.Hour, workflows.UpdateClose, workflows.CloseRequest{Editor: agent})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, start(c, noClocks))

	s.Require().Len(s.notices, 2, "one notice for each of the two resolutions")
	s.Equal(int64(2), s.notices[0].request.Version)
	s.Equal("ime@example.com", s.notices[0].request.ReplyAddress)
	s.Equal("Email", s.notices[0].request.CommType)
	s.Equal("fixed", s.notices[0].request.Resolution)
	s.Contains(s.changes(), casefile.ChangeNoticeSent)
}

func (s *caseWorkflowSuite) TestNoNoticeWithoutAReplyAddress() {
	s.update(time.Hour, workflows.UpdateProgress, workflows.ProgressRequest{Editor: agent, State: casefile.StateResolved, Resolution: "fixed"})
	s.update(2*time.Hour, workflows.UpdateClose, workflows.CloseRequest{Editor: agent})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, start(complaint(), noClocks))

	s.Empty(s.notices)
}

func (s *caseWorkflowSuite) TestLongCaseContinuesAsNewWithItsState() {
	policy := noClocks
	policy.MaxHistoryEvents = 500
	at := t0.Add(30 * 24 * time.Hour)
	c := callbackCase(at)
	for i := range 20 {
		s.update(time.Duration(i+1)*time.Minute, workflows.UpdateAddAttachment, workflows.AddAttachmentRequest{
			Editor: agent, FileID: fmt.Sprintf("f-%d", i), FileName: "a.pdf"})
	}
	// The test environment keeps no history; say how long it has grown.
	s.env.RegisterDelayedCallback(func() { s.env.SetCurrentHistoryLength(501) }, 30*time.Minute)
	s.update(31*time.Minute, workflows.UpdateProgress, workflows.ProgressRequest{Editor: agent, Resolution: "customer asked for a month"})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, start(c, policy))

	s.True(s.env.IsWorkflowCompleted())
	var can *workflow.ContinueAsNewError
	s.Require().True(errors.As(s.env.GetWorkflowError(), &can), "%v", s.env.GetWorkflowError())
	var next workflows.Start
	s.Require().NoError(converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	s.Equal(policy, next.Policy)
	last := s.log.entries[len(s.log.entries)-1].Case
	s.Equal(last.Version, next.Case.Version, "the next run goes on from the last recorded version")
	s.Equal(len(last.Attachments), len(next.Case.Attachments))
	s.Equal(casefile.CallbackScheduled, next.Case.CallbackStatus)
	s.Equal(&at, next.Case.CallbackAt, "the pending callback is carried over")
	s.Len(next.Recent, len(s.log.entries), "the history query's changes are carried over")
	s.Empty(s.deliveries)
}

func (s *caseWorkflowSuite) TestContinuedRunKeepsCountingVersions() {
	c := complaint()
	c.State, c.Version, c.RegisteredAt, c.UpdatedAt = casefile.StateAccepted, 41, t0.Add(-time.Hour), t0.Add(-time.Minute)
	registered := s.update(0, workflows.UpdateAwaitRegistration, nil)
	s.update(time.Minute, workflows.UpdateClose, workflows.CloseRequest{Editor: agent})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, start(c, noClocks))

	s.NoError(registered.err)
	s.Equal([]casefile.Change{casefile.ChangeClosed}, s.changes(), "a continued run records no second registration")
	s.Equal(int64(42), s.log.entries[0].Case.Version)
	s.Equal(t0.Add(-time.Hour), s.result().RegisteredAt)
}

func (s *caseWorkflowSuite) TestOperatorsAddNotesAndEscalate() {
	act := func(after time.Duration, name string, action workflows.OperatorAction) *outcome {
		return s.update(after, name, action)
	}
	noted := act(time.Minute, workflows.UpdateAddNote, workflows.OperatorAction{Operator: "jane.doe", Note: "called the branch"})
	rejected := map[string]*outcome{
		"name the operator":         act(time.Minute, workflows.UpdateAddNote, workflows.OperatorAction{Note: "anonymous"}),
		"a note needs its text":     act(time.Minute, workflows.UpdateAddNote, workflows.OperatorAction{Operator: "jane.doe"}),
		"note is longer than 4000":  act(time.Minute, workflows.UpdateAddNote, workflows.OperatorAction{Operator: "jane.doe", Note: strings.Repeat("x", 4001)}),
		"operator's name is longer": act(time.Minute, workflows.UpdateEscalate, workflows.OperatorAction{Operator: strings.Repeat("x", 201)}),
		"escalated already":         act(3*time.Minute, workflows.UpdateEscalate, workflows.OperatorAction{Operator: "jane.doe"}),
	}
	escalated := act(2*time.Minute, workflows.UpdateEscalate, workflows.OperatorAction{Operator: "jane.doe", Note: "VIP customer"})
	s.update(4*time.Minute, workflows.UpdateClose, workflows.CloseRequest{Editor: agent})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, start(complaint(), noClocks))

	for reason, o := range rejected {
		s.ErrorContains(o.err, reason)
	}
	s.NoError(noted.err)
	s.Equal(workflows.Result{CaseID: "WI0000000042", Version: 2, Recorded: true}, noted.result)
	s.NoError(escalated.err)
	s.Equal(int64(3), escalated.result.Version)
	s.Equal([]casefile.Change{casefile.ChangeRegistered, casefile.ChangeNoteAdded, casefile.ChangeEscalated, casefile.ChangeClosed}, s.changes(),
		"one note, one escalation: rejected actions record nothing")
	s.Equal("called the branch", s.log.entries[1].Note)
	s.Equal("temporal-operator:jane.doe", s.log.entries[1].Case.UpdatedByID)
	s.Equal("jane.doe", s.log.entries[2].Case.UpdatedByName)
	s.Equal("VIP customer", s.log.entries[2].Note)
	s.True(s.log.entries[2].Case.Escalated)
	s.Len(s.escalations, 1, "the escalation notice went out")
}

func (s *caseWorkflowSuite) TestHistoryQueryListsRecentChanges() {
	s.update(time.Minute, workflows.UpdateProgress, workflows.ProgressRequest{Editor: agent, State: casefile.StateResolved, Resolution: "done"})
	s.env.RegisterDelayedCallback(func() {
		v, err := s.env.QueryWorkflow(workflows.QueryHistory)
		s.Require().NoError(err)
		var recent []workflows.ChangeSummary
		s.Require().NoError(v.Get(&recent))
		s.Require().Len(recent, 2)
		s.Equal(workflows.ChangeSummary{Version: 2, Change: casefile.ChangeResolved, At: t0.Add(time.Minute),
			By: "Stevan.Kostoski", State: casefile.StateResolved}, recent[1])
	}, 2*time.Minute)
	s.update(3*time.Minute, workflows.UpdateClose, workflows.CloseRequest{Editor: agent})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, start(complaint(), noClocks))
	s.NoError(s.env.GetWorkflowError())
}
