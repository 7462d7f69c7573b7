package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"github.com/stretchr/testify/suite"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/bank/caseservice/activities"
	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/internal/platform/logging"
	"github.com/bank/caseservice/workflows"
)

var agent = workflows.Editor{ID: "agent-7", Name: "Stevan.Kostoski"}

type caseWorkflowSuite struct {
	suite.Suite
	testsuite.WorkflowTestSuite
	env     *testsuite.TestWorkflowEnvironment
	log     *recordLog
	updates int

	// What the delivery activities were asked, with the (skipped) time of each attempt.
	deliveries  []attempt[activities.CallbackDelivery]
	escalations []attempt[activities.EscalationNotice]
	notices     []attempt[activities.ResolutionNotice]
	// deliverFails makes the callback delivery fail on the attempts it returns true for.
	deliverFails func(attempt int) bool
}

// recordLog is what one test's RecordChange saw. Each test has its own: a
// local activity that the test environment timed out (it skips time while
// one runs) can still be running when the next test starts.
type recordLog struct {
	mu      sync.Mutex
	entries []casefile.HistoryEntry
	// local counts the entries written by a local activity.
	local int
	// fails makes recording fail on the attempts it returns true for.
	fails func(info activity.Info) bool
}

type attempt[T any] struct {
	at      time.Time
	number  int
	request T
}

func TestCaseWorkflow(t *testing.T) { suite.Run(t, new(caseWorkflowSuite)) }

func (s *caseWorkflowSuite) SetupTest() {
	s.deliveries, s.escalations, s.notices, s.deliverFails = nil, nil, nil, nil
	log := &recordLog{}
	s.log = log
	s.SetLogger(logging.Temporal(zaptest.NewLogger(s.T(), zaptest.Level(zap.WarnLevel))))
	s.env = s.NewTestWorkflowEnvironment()
	s.env.SetStartTime(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	var a *activities.Activities
	s.env.RegisterActivity(a)
	s.env.OnActivity(a.RecordChange, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, e casefile.HistoryEntry) error {
			log.mu.Lock()
			defer log.mu.Unlock()
			info := activity.GetInfo(ctx)
			if log.fails != nil && log.fails(info) {
				return errors.New("postgres unavailable")
			}
			// Like the real activity, a version already recorded is not
			// recorded again. The test environment skips time while a local
			// activity runs, so one can pass its deadline and be written
			// again by the fallback activity.
			for _, r := range log.entries {
				if r.Case.Version == e.Case.Version {
					return nil
				}
			}
			if info.IsLocalActivity {
				log.local++
			}
			log.entries = append(log.entries, e)
			return nil
		})
	s.env.OnActivity(a.DeliverCallback, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, d activities.CallbackDelivery) error {
			n := int(activity.GetInfo(ctx).Attempt)
			s.deliveries = append(s.deliveries, attempt[activities.CallbackDelivery]{s.env.Now().UTC(), n, d})
			if s.deliverFails != nil && s.deliverFails(n) {
				return errors.New("contact centre unavailable")
			}
			return nil
		}).Maybe()
	s.env.OnActivity(a.SendEscalation, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, n activities.EscalationNotice) error {
			s.escalations = append(s.escalations, attempt[activities.EscalationNotice]{s.env.Now().UTC(), int(activity.GetInfo(ctx).Attempt), n})
			return nil
		}).Maybe()
	s.env.OnActivity(a.SendResolutionNotice, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, n activities.ResolutionNotice) error {
			s.notices = append(s.notices, attempt[activities.ResolutionNotice]{s.env.Now().UTC(), int(activity.GetInfo(ctx).Attempt), n})
			return nil
		}).Maybe()
}

// start is the workflow input for c under the given policy, as the API gives it.
func start(c casefile.Case, p workflows.Policy) workflows.Start {
	return workflows.Start{Case: c, Policy: p}
}

// noClocks is a policy without reopen window or deadlines.
var noClocks = workflows.Policy{CallbackMaxRetry: time.Hour, NoticeMaxRetry: time.Hour}

func (s *caseWorkflowSuite) AfterTest(string, string) { s.env.AssertExpectations(s.T()) }

func complaint() casefile.Case {
	return casefile.Case{
		ID: "WI0000000042", Class: casefile.ClassComplaint, Type: "Complaint",
		RegisteredByID: "agent-7", RegisteredByName: "Stevan.Kostoski",
		CustomerID: "1104977710344", Importance: "Standard", Details: "card blocked",
	}
}

// update sends an update at the given offset and reports its outcome to t.
type outcome struct {
	result workflows.Result
	err    error
	done   bool
}

func (s *caseWorkflowSuite) update(after time.Duration, name string, arg any) *outcome {
	o := &outcome{}
	s.updates++
	id := fmt.Sprintf("%s-%d", name, s.updates)
	s.env.RegisterDelayedCallback(func() {
		s.env.UpdateWorkflow(name, id, &testsuite.TestUpdateCallback{
			OnReject: func(err error) { o.err, o.done = err, true },
			OnAccept: func() {},
			OnComplete: func(v any, err error) {
				o.done, o.err = true, err
				if r, ok := v.(workflows.Result); ok {
					o.result = r
				}
			},
		}, arg)
	}, after)
	return o
}

func (s *caseWorkflowSuite) changes() []casefile.Change {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	out := make([]casefile.Change, len(s.log.entries))
	for i, e := range s.log.entries {
		out[i] = e.Change
	}
	return out
}

func (s *caseWorkflowSuite) result() casefile.Case {
	s.True(s.env.IsWorkflowCompleted())
	s.NoError(s.env.GetWorkflowError())
	var c casefile.Case
	s.NoError(s.env.GetWorkflowResult(&c))
	return c
}

func rejectionType(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Type()
	}
	return ""
}

func (s *caseWorkflowSuite) TestFullLifecycleRecordsEachVersion() {
	registered := s.update(0, workflows.UpdateAwaitRegistration, nil)
	resolve := s.update(time.Minute, workflows.UpdateProgress, workflows.ProgressRequest{
		Editor: agent, State: casefile.StateResolved, Resolution: "card reissued"})
	attach := s.update(2*time.Minute, workflows.UpdateAddAttachment, workflows.AddAttachmentRequest{
		Editor: agent, FileID: "f-1", FileName: "statement.pdf"})
	detach := s.update(3*time.Minute, workflows.UpdateRemoveAttachment, workflows.RemoveAttachmentRequest{
		Editor: agent, FileID: "f-1"})
	closed := s.update(4*time.Minute, workflows.UpdateClose, workflows.CloseRequest{Editor: agent, Resolution: "done"})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, start(complaint(), noClocks))

	for _, o := range []*outcome{registered, resolve, attach, detach, closed} {
		s.True(o.done)
		s.NoError(o.err)
	}
	s.Equal(int64(1), registered.result.Version)
	s.Equal(int64(5), closed.result.Version)
	s.Equal([]casefile.Change{
		casefile.ChangeRegistered, casefile.ChangeResolved, casefile.ChangeAttachmentAdded,
		casefile.ChangeAttachmentRemoved, casefile.ChangeClosed,
	}, s.changes())
	for i, e := range s.log.entries {
		s.Equal(int64(i+1), e.Case.Version, "versions count up by one per change")
	}
	s.Equal(casefile.StateResolved, s.log.entries[1].Case.State)
	s.Equal("card reissued", s.log.entries[1].Case.Resolution)
	s.Equal(time.Date(2026, 3, 2, 9, 1, 0, 0, time.UTC), s.log.entries[1].Case.UpdatedAt)
	s.Len(s.log.entries[2].Case.Attachments, 1)
	s.Empty(s.log.entries[3].Case.Attachments)

	final := s.result()
	s.Equal(casefile.StateClosed, final.State)
	s.Equal("done", final.Resolution)
	s.Equal("Stevan.Kostoski", final.UpdatedByName)
	s.Equal(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), final.RegisteredAt)
}

func (s *caseWorkflowSuite) TestChangesAreRecordedLocally() {
	registered := s.update(0, workflows.UpdateAwaitRegistration, nil)
	closed := s.update(time.Minute, workflows.UpdateClose, workflows.CloseRequest{Editor: agent})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, start(complaint(), noClocks))

	s.NoError(registered.err)
	s.NoError(closed.err)
	s.Equal([]casefile.Change{casefile.ChangeRegistered, casefile.ChangeClosed}, s.changes())
	s.Equal(2, s.log.local)
}

// A write that does not land locally within its minute goes on as an
// activity, which keeps retrying until it lands.
func (s *caseWorkflowSuite) TestRecordFallsBackToAnActivity() {
	s.log.fails = func(info activity.Info) bool { return info.IsLocalActivity || info.Attempt < 3 }
	registered := s.update(0, workflows.UpdateAwaitRegistration, nil)

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, start(complaint(), noClocks))

	s.NoError(registered.err)
	s.True(registered.done)
	s.Equal(int64(1), registered.result.Version)
	s.Equal([]casefile.Change{casefile.ChangeRegistered}, s.changes())
	s.Zero(s.log.local)
}

func (s *caseWorkflowSuite) TestReopenClearsResolution() {
	s.update(time.Minute, workflows.UpdateProgress, workflows.ProgressRequest{
		Editor: agent, State: casefile.StateResolved, Resolution: "fixed"})
	reopen := s.update(2*time.Minute, workflows.UpdateProgress, workflows.ProgressRequest{
		Editor: agent, State: casefile.StateAccepted})
	s.update(3*time.Minute, workflows.UpdateClose, workflows.CloseRequest{Editor: agent})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, start(complaint(), noClocks))

	s.NoError(reopen.err)
	s.Equal([]casefile.Change{casefile.ChangeRegistered, casefile.ChangeResolved, casefile.ChangeReopened, casefile.ChangeClosed}, s.changes())
	s.Equal(casefile.StateAccepted, s.log.entries[2].Case.State)
	s.Empty(s.log.entries[2].Case.Resolution)
}

func (s *caseWorkflowSuite) TestValidatorsRejectWithoutRecording() {
	cases := []struct {
		name string
		arg  any
		want string
	}{
		{workflows.UpdateProgress, workflows.ProgressRequest{Editor: agent, State: casefile.StateResolved}, workflows.RejectInvalid},
		{workflows.UpdateProgress, workflows.ProgressRequest{Editor: agent, State: casefile.StateClosed}, workflows.RejectInvalid},
		{workflows.UpdateProgress, workflows.ProgressRequest{Editor: agent, State: "Pending"}, workflows.RejectInvalid},
		{workflows.UpdateRemoveAttachment, workflows.RemoveAttachmentRequest{Editor: agent, FileID: "missing"}, workflows.RejectNotFound},
		{workflows.UpdateAddAttachment, workflows.AddAttachmentRequest{Editor: agent, FileID: "f-1"}, workflows.RejectInvalid},
	}
	outcomes := make([]*outcome, len(cases))
	for i, c := range cases {
		outcomes[i] = s.update(time.Duration(i+1)*time.Minute, c.name, c.arg)
	}
	s.update(time.Hour, workflows.UpdateClose, workflows.CloseRequest{Editor: agent})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, start(complaint(), noClocks))

	for i, c := range cases {
		s.True(outcomes[i].done, c.name)
		s.Equal(c.want, rejectionType(outcomes[i].err), "%s %+v", c.name, c.arg)
	}
	s.Equal([]casefile.Change{casefile.ChangeRegistered, casefile.ChangeClosed}, s.changes())
}

func (s *caseWorkflowSuite) TestClosedCaseRefusesChanges() {
	s.update(time.Minute, workflows.UpdateClose, workflows.CloseRequest{Editor: agent})
	// Sent in the same instant as the close, after it: the validator sees Closed.
	again := s.update(time.Minute, workflows.UpdateClose, workflows.CloseRequest{Editor: agent})
	attach := s.update(time.Minute, workflows.UpdateAddAttachment, workflows.AddAttachmentRequest{Editor: agent, FileID: "f", FileName: "f.pdf"})
	escalate := s.update(time.Minute, workflows.UpdateEscalate, workflows.OperatorAction{Operator: "jane.doe"})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, start(complaint(), noClocks))

	s.Equal(workflows.RejectConflict, rejectionType(again.err))
	s.Equal(workflows.RejectConflict, rejectionType(attach.err))
	s.ErrorContains(escalate.err, "case WI0000000042 is closed")
	s.Equal([]casefile.Change{casefile.ChangeRegistered, casefile.ChangeClosed}, s.changes())
}

func (s *caseWorkflowSuite) TestAddingTheSameFileTwiceRecordsOnce() {
	first := s.update(time.Minute, workflows.UpdateAddAttachment, workflows.AddAttachmentRequest{Editor: agent, FileID: "f-1", FileName: "a.pdf"})
	same := s.update(2*time.Minute, workflows.UpdateAddAttachment, workflows.AddAttachmentRequest{Editor: agent, FileID: "f-1", FileName: "a.pdf"})
	renamed := s.update(3*time.Minute, workflows.UpdateAddAttachment, workflows.AddAttachmentRequest{Editor: agent, FileID: "f-1", FileName: "b.pdf"})
	s.update(4*time.Minute, workflows.UpdateClose, workflows.CloseRequest{Editor: agent})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, start(complaint(), noClocks))

	s.True(first.result.Recorded)
	s.NoError(same.err)
	s.False(same.result.Recorded)
	s.Equal(workflows.RejectConflict, rejectionType(renamed.err))
	s.Equal([]casefile.Change{casefile.ChangeRegistered, casefile.ChangeAttachmentAdded, casefile.ChangeClosed}, s.changes())
}

func (s *caseWorkflowSuite) TestStateQueryShowsCurrentCase() {
	s.update(time.Minute, workflows.UpdateProgress, workflows.ProgressRequest{Editor: agent, Resolution: "card on its way"})
	s.env.RegisterDelayedCallback(func() {
		v, err := s.env.QueryWorkflow(workflows.QueryState)
		s.Require().NoError(err)
		var c casefile.Case
		s.Require().NoError(v.Get(&c))
		s.Equal("card on its way", c.Resolution)
		s.Equal(casefile.StateAccepted, c.State)
		s.Equal(int64(2), c.Version)
	}, 2*time.Minute)
	s.update(3*time.Minute, workflows.UpdateClose, workflows.CloseRequest{Editor: agent})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, start(complaint(), noClocks))
	s.Equal("card on its way", s.result().Resolution)
}

// The case type identifies the case, as its id does: a request naming
// another type is refused, with the field named, and no request changes it.
func (s *caseWorkflowSuite) TestCaseTypeIsAnIdentityField() {
	otherType := s.update(time.Minute, workflows.UpdateProgress, workflows.ProgressRequest{
		Editor: agent, CaseType: "CardComplaint", State: casefile.StateResolved, Resolution: "fixed"})
	sameType := s.update(2*time.Minute, workflows.UpdateProgress, workflows.ProgressRequest{
		Editor: agent, CaseType: "Complaint", State: casefile.StateResolved, Resolution: "fixed"})
	closeOther := s.update(3*time.Minute, workflows.UpdateClose, workflows.CloseRequest{Editor: agent, CaseType: "CardComplaint"})
	closeSame := s.update(4*time.Minute, workflows.UpdateClose, workflows.CloseRequest{Editor: agent, CaseType: "Complaint"})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, start(complaint(), noClocks))

	for _, refused := range []*outcome{otherType, closeOther} {
		s.Equal(workflows.RejectInvalid, rejectionType(refused.err))
		var appErr *temporal.ApplicationError
		s.Require().True(errors.As(refused.err, &appErr))
		var field string
		s.Require().NoError(appErr.Details(&field))
		s.Equal(workflows.FieldCaseType, field)
		s.Contains(appErr.Message(), `"Complaint"`)
	}
	s.NoError(sameType.err)
	s.NoError(closeSame.err)
	s.Equal([]casefile.Change{casefile.ChangeRegistered, casefile.ChangeResolved, casefile.ChangeClosed}, s.changes())
	s.Equal("Complaint", s.result().Type)
}

// A progress request that asks only for what the case already has is
// answered without a new version or a history entry.
func (s *caseWorkflowSuite) TestProgressThatChangesNothingRecordsNothing() {
	c := callbackCase(t0.Add(5 * time.Hour))
	at := *c.CallbackAt
	empty := s.update(time.Minute, workflows.UpdateProgress, workflows.ProgressRequest{Editor: agent})
	same := s.update(2*time.Minute, workflows.UpdateProgress, workflows.ProgressRequest{
		Editor: agent, CaseType: "CallbackRequest", State: casefile.StateAccepted, CallbackAt: &at})
	resolve := s.update(3*time.Minute, workflows.UpdateProgress, workflows.ProgressRequest{
		Editor: agent, State: casefile.StateResolved, Resolution: "called back"})
	resolvedAgain := s.update(4*time.Minute, workflows.UpdateProgress, workflows.ProgressRequest{
		Editor: agent, State: casefile.StateResolved, Resolution: "called back"})
	newResolution := s.update(5*time.Minute, workflows.UpdateProgress, workflows.ProgressRequest{
		Editor: agent, Resolution: "called back twice"})
	s.update(6*time.Minute, workflows.UpdateClose, workflows.CloseRequest{Editor: agent})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, start(c, noClocks))

	for _, unchanged := range []*outcome{empty, same, resolvedAgain} {
		s.NoError(unchanged.err)
		s.False(unchanged.result.Recorded)
	}
	s.Equal(int64(1), empty.result.Version)
	s.Equal(int64(1), same.result.Version)
	s.Equal(int64(2), resolvedAgain.result.Version)
	s.True(resolve.result.Recorded)
	s.True(newResolution.result.Recorded)
	s.Equal(int64(3), newResolution.result.Version)
	s.Equal([]casefile.Change{casefile.ChangeRegistered, casefile.ChangeResolved, casefile.ChangeUpdated, casefile.ChangeClosed}, s.changes())
}

// A resolution code goes with resolving or closing: refused on a case that
// stays Accepted, kept through close, and cleared when the case reopens.
func (s *caseWorkflowSuite) TestResolutionCodeFollowsTheResolution() {
	early := s.update(time.Minute, workflows.UpdateProgress, workflows.ProgressRequest{
		Editor: agent, Resolution: "looked at it", ResolutionCode: "Explained"})
	resolved := s.update(2*time.Minute, workflows.UpdateProgress, workflows.ProgressRequest{
		Editor: agent, State: casefile.StateResolved, Resolution: "refunded", ResolutionCode: "ComplaintUpheld"})
	reopened := s.update(3*time.Minute, workflows.UpdateProgress, workflows.ProgressRequest{Editor: agent, State: casefile.StateAccepted})
	closed := s.update(4*time.Minute, workflows.UpdateClose, workflows.CloseRequest{Editor: agent, ResolutionCode: "Withdrawn"})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, start(complaint(), noClocks))

	var appErr *temporal.ApplicationError
	s.Require().True(errors.As(early.err, &appErr))
	var field string
	s.Require().NoError(appErr.Details(&field))
	s.Equal(workflows.FieldResolutionCode, field)
	s.NoError(resolved.err)
	s.NoError(reopened.err)
	s.NoError(closed.err)
	s.log.mu.Lock()
	var codes []string
	for _, e := range s.log.entries {
		codes = append(codes, e.Case.ResolutionCode)
	}
	s.log.mu.Unlock()
	s.Equal([]string{"", "ComplaintUpheld", "", "Withdrawn"}, codes)
	s.Equal("Withdrawn", s.result().ResolutionCode)
}

func TestCaseWorkflowIDAndSummary(t *testing.T) {
	c := complaint()
	require.Equal(t, "case-WI0000000042", workflows.CaseWorkflowID(c.ID))
	require.Equal(t, "Complaint WI0000000042 — customer 1104977710344", workflows.Summary(c))
}

func (s *caseWorkflowSuite) TestAssignmentIsAVersionOfItsOwn() {
	c := complaint()
	c.Queue = "complaints"
	assignAndResolve := s.update(time.Minute, workflows.UpdateProgress, workflows.ProgressRequest{
		Editor: agent, State: casefile.StateResolved, Resolution: "refunded",
		Assignment: workflows.Assignment{SetAssignee: true, AssigneeID: "agent-9", AssigneeName: "Ana Petrova", SetQueue: true, Queue: "cards"}})
	again := s.update(2*time.Minute, workflows.UpdateProgress, workflows.ProgressRequest{
		Editor: agent, Assignment: workflows.Assignment{SetAssignee: true, AssigneeID: "agent-9", AssigneeName: "Ana Petrova"}})
	unassign := s.update(3*time.Minute, workflows.UpdateProgress, workflows.ProgressRequest{
		Editor: agent, Assignment: workflows.Assignment{SetAssignee: true}})
	closed := s.update(4*time.Minute, workflows.UpdateClose, workflows.CloseRequest{Editor: agent})

	s.env.ExecuteWorkflow(workflows.CaseWorkflow, start(c, noClocks))

	for _, o := range []*outcome{assignAndResolve, again, unassign, closed} {
		s.True(o.done)
		s.NoError(o.err)
	}
	s.Equal(workflows.Result{CaseID: c.ID, Version: 3, Recorded: true}, assignAndResolve.result)
	s.Equal(workflows.Result{CaseID: c.ID, Version: 3}, again.result, "the same assignment records nothing")
	s.Equal(workflows.Result{CaseID: c.ID, Version: 4, Recorded: true}, unassign.result)
	s.Equal([]casefile.Change{casefile.ChangeRegistered, casefile.ChangeAssigned, casefile.ChangeResolved,
		casefile.ChangeAssigned, casefile.ChangeClosed}, s.changes())
	type assigned struct{ id, name, queue string }
	var got []assigned
	for _, e := range s.log.entries {
		got = append(got, assigned{e.Case.AssigneeID, e.Case.AssigneeName, e.Case.Queue})
	}
	s.Equal([]assigned{{"", "", "complaints"}, {"agent-9", "Ana Petrova", "cards"}, {"agent-9", "Ana Petrova", "cards"},
		{"", "", "cards"}, {"", "", "cards"}}, got)
	s.Equal(casefile.StateAccepted, s.log.entries[1].Case.State, "assigned first, then resolved")
}
