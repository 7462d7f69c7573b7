package activities_test

import (
	"context"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/bank/caseservice/activities"
	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/delivery"
	"github.com/bank/caseservice/internal/platform/metrics"
)

type recorder struct{ entries []casefile.HistoryEntry }

func (r *recorder) Record(_ context.Context, e casefile.HistoryEntry) error {
	r.entries = append(r.entries, e)
	return nil
}

type sender struct{ messages []delivery.Message }

func (s *sender) Send(_ context.Context, m delivery.Message) error {
	s.messages = append(s.messages, m)
	return nil
}

func scrape(t *testing.T, m *metrics.Worker) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, err := io.ReadAll(rec.Body)
	require.NoError(t, err)
	return string(body)
}

func TestActivitiesDeliverAndAreMeasured(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	observed := metrics.NewWorker()
	rec, callbacks := &recorder{}, &sender{}
	acts := &activities.Activities{Recorder: rec, Callbacks: callbacks, Observe: observed}
	env.RegisterActivity(acts)

	_, err := env.ExecuteActivity(acts.RecordChange, casefile.HistoryEntry{
		Case: casefile.Case{ID: "WI0000000001", Version: 2}, Change: casefile.ChangeResolved})
	require.NoError(t, err)
	require.Len(t, rec.entries, 1)

	requested := time.Now().Add(-300 * time.Millisecond)
	_, err = env.ExecuteActivity(acts.DeliverCallback, activities.CallbackDelivery{
		CaseID: "WI0000000001", PartyID: "P1", Categorry: "Cards", RequestedAt: requested, Schedule: 2})
	require.NoError(t, err)
	require.Len(t, callbacks.messages, 1)
	msg := callbacks.messages[0]
	require.Equal(t, "WI0000000001/callback/2", msg.IdempotencyKey)
	require.Equal(t, delivery.KindCallback, msg.Kind)
	require.Contains(t, string(msg.Body), `"party-id":"P1"`)
	require.Contains(t, string(msg.Body), `"attempt":1`)

	text := scrape(t, observed)
	require.Contains(t, text, `case_changes_recorded_total{change="Resolved"} 1`)
	require.Contains(t, text, "case_callback_delivery_lateness_seconds_count 1")
}
