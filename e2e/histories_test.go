package e2e

import (
	"context"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"

	"github.com/bank/caseservice/casefile"
	caseworker "github.com/bank/caseservice/worker"
	"github.com/bank/caseservice/workflows"
)

var recordHistories = flag.Bool("record-histories", false,
	"write the histories of TestCaseHistoriesReplay to ../workflows/testdata, the replay test's fixtures")

// TestCaseHistoriesReplay runs one case per shape of a case's life on the
// real stack and replays each run's history against this build. With
// -record-histories it writes them as the fixtures of the workflow's replay
// test (make record-histories).
func TestCaseHistoriesReplay(t *testing.T) {
	cc, acts := startContactCentre(t)
	policy := testPolicy
	policy.ResolveWithin = map[string]time.Duration{"Critical": 2 * time.Second, "Standard": time.Hour}
	policy.CallbackMaxRetry = 2 * time.Second
	policy.MaxHistoryEvents = 60
	s := startStack(t, stackOptions{activities: acts, policy: &policy})

	complaint := func(importance string) string {
		status, body := s.call(t, "POST", "/complaints", map[string]any{
			"customer-id": "1104977710344", "customer-name": "Ime237069 Prezime23706", "importance": importance,
			"details": "card blocked", "comm-type": "Email", "comm-reply-address": "ime@example.com",
		})
		require.Equal(t, http.StatusCreated, status, body)
		return body["id"].(string)
	}
	callbackRequest := func(at time.Time) string {
		status, body := s.call(t, "POST", "/callback-requests", map[string]any{
			"callback-request-time": at.Format(time.RFC3339Nano), "categorry": "Cards", "party-id": "1104977710344",
		})
		require.Equal(t, http.StatusCreated, status, body)
		return body["id"].(string)
	}
	progress := func(id string, body map[string]any) {
		status, answer := s.call(t, "PUT", "/cases/"+id, body)
		require.Equal(t, http.StatusOK, status, answer)
	}
	reschedule := func(id string, at time.Time) {
		progress(id, map[string]any{"callback-request-time": at.Format(time.RFC3339Nano)})
	}
	closeCase := func(id string) {
		status, answer := s.call(t, "DELETE", "/cases/"+id, map[string]any{"resolution": "closed after the customer confirmed"})
		require.Equal(t, http.StatusOK, status, answer)
	}
	awaitChange := func(id string, change casefile.Change) {
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			_, history := s.call(t, "GET", "/cases/"+id+"/history", nil)
			assert.Contains(c, changesOf(history), string(change))
		}, 30*time.Second, 50*time.Millisecond, "%s: %s", id, change)
	}
	operate := func(id, name string, arg any) error { return s.operate(id, name, arg) }

	lifecycle := complaint("High")
	progress(lifecycle, map[string]any{"assignee-id": "agent-9", "assignee-name": "Ana Petrova"})
	progress(lifecycle, map[string]any{"state": "Resolved", "resolution": "card unblocked", "assignee-id": nil, "queue": "cards"})
	awaitChange(lifecycle, casefile.ChangeNoticeSent)
	progress(lifecycle, map[string]any{"state": "Accepted"})
	closeCase(lifecycle)

	soon := func(d time.Duration) time.Time { return time.Now().UTC().Add(d).Truncate(time.Millisecond) }
	delivered := callbackRequest(soon(time.Hour))
	reschedule(delivered, soon(time.Second))
	awaitChange(delivered, casefile.ChangeCallbackDelivered)
	closeCase(delivered)

	failing := callbackRequest(soon(2 * time.Second))
	cc.mu.Lock()
	cc.failFirst[failing] = 1000
	cc.mu.Unlock()
	awaitChange(failing, casefile.ChangeCallbackFailed)
	cc.mu.Lock()
	cc.failFirst[failing] = 0
	cc.mu.Unlock()
	reschedule(failing, soon(time.Second))
	awaitChange(failing, casefile.ChangeCallbackDelivered)
	closeCase(failing)

	overdue := complaint("Critical")
	awaitChange(overdue, casefile.ChangeEscalated)
	progress(overdue, map[string]any{"state": "Resolved", "resolution": "card unblocked"})
	closeCase(overdue)

	operated := callbackRequest(soon(time.Hour))
	require.NoError(t, operate(operated, workflows.UpdateAddNote, workflows.OperatorAction{Operator: "jane.doe", Note: "customer called twice"}))
	require.NoError(t, operate(operated, workflows.UpdateEscalate, workflows.OperatorAction{Operator: "jane.doe", Note: "VIP customer"}))
	require.ErrorContains(t, operate(operated, workflows.UpdateEscalate, workflows.OperatorAction{Operator: "jane.doe"}), "escalated already")
	require.ErrorContains(t, operate(operated, workflows.UpdateAddNote, workflows.OperatorAction{Note: "who?"}), "name the operator")
	require.NoError(t, operate(operated, workflows.UpdateRescheduleCallback,
		workflows.OperatorReschedule{Operator: "jane.doe", CallbackRequestTime: soon(time.Second).Format(time.RFC3339Nano)}))
	awaitChange(operated, casefile.ChangeCallbackDelivered)
	closeCase(operated)

	// A callback request whose reschedules outgrow MaxHistoryEvents: the run
	// continues as new while its callback and resolution deadline are pending.
	continued := callbackRequest(soon(time.Hour))
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		reschedule(continued, soon(time.Hour+time.Duration(time.Now().Nanosecond())))
		assert.Len(c, runsOf(t, s, continued), 2)
	}, time.Minute, 10*time.Millisecond)
	closeCase(continued)

	recorded := map[string]string{
		"complaint-assigned-resolved-reopened-closed": lifecycle,
		"callback-rescheduled-delivered":              delivered,
		"callback-failed-rescheduled":                 failing,
		"complaint-escalated-after-deadline":          overdue,
		"callback-operator-note-escalate":             operated,
		"callback-continued-with-timers-pending":      continued,
	}
	fixtures := filepath.Join("..", "workflows", "testdata")
	if *recordHistories {
		require.NoError(t, os.MkdirAll(fixtures, 0o755))
	}
	for name, id := range recorded {
		runs := runsOf(t, s, id)
		for i, runID := range runs {
			file := name
			if len(runs) > 1 {
				file += []string{"-first-run", "-continued-run"}[i]
			}
			history := awaitClosedHistory(t, s.temporal, id, runID)
			raw, err := temporalproto.CustomJSONMarshalOptions{}.Marshal(history)
			require.NoError(t, err)
			for _, secret := range customerData {
				require.NotContains(t, string(raw), secret, "%s: Temporal holds customer data in plain text", file)
			}
			replayer, err := caseworker.NewReplayer(s.opts.codec)
			require.NoError(t, err)
			require.NoError(t, replayer.ReplayWorkflowHistory(nil, history), file)
			if *recordHistories {
				out, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(history)
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(filepath.Join(fixtures, file+".json"), append(out, '\n'), 0o644))
			}
		}
	}
}

// customerData is what the cases of TestCaseHistoriesReplay carry that
// Temporal must only ever hold encrypted: names, details, addresses,
// resolutions and notes.
var customerData = []string{"Ime237069", "Prezime23706", "card blocked", "ime@example.com", "card unblocked",
	"customer called twice", "VIP customer", "closed after the customer confirmed"}

// runsOf lists the run ids of a case's workflow, oldest first.
func runsOf(t *testing.T, s *stack, caseID string) []string {
	resp, err := s.temporal.ListWorkflow(context.Background(), listRuns(caseID))
	require.NoError(t, err)
	var runs []string
	for _, e := range resp.Executions {
		runs = append(runs, e.Execution.RunId)
	}
	slices.Reverse(runs) // newest first as listed
	return runs
}

// awaitClosedHistory waits for a run to end and returns its whole history.
func awaitClosedHistory(t *testing.T, tc client.Client, caseID, runID string) *historypb.History {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	history := &historypb.History{}
	events := tc.GetWorkflowHistory(ctx, workflows.CaseWorkflowID(caseID), runID, true, enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT)
	for events.HasNext() {
		_, err := events.Next()
		require.NoError(t, err)
	}
	events = tc.GetWorkflowHistory(ctx, workflows.CaseWorkflowID(caseID), runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for events.HasNext() {
		event, err := events.Next()
		require.NoError(t, err)
		history.Events = append(history.Events, event)
	}
	return history
}
