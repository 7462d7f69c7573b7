package e2e

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/caseops"
	"github.com/bank/caseservice/config"
	"github.com/bank/caseservice/internal/platform/temporalclient"
	"github.com/bank/caseservice/workflows"
)

// TestGuideWalkthrough follows the Case API guide from create to close,
// reading back after every write: a 2xx write must be visible at once.
func TestGuideWalkthrough(t *testing.T) {
	s := startStack(t, stackOptions{})

	// Create a complaint, a service request and a callback request.
	status, body := s.call(t, "POST", "/complaints", map[string]any{
		"registered-by-name": "Stevan.Kostoski", "customer-id": "1104977710344",
		"customer-name": "Ime237069 Prezime23706", "importance": "High", "details": "card blocked",
		"comm-type": "Email", "comm-reply-address": "ime@example.com",
	})
	require.Equal(t, http.StatusCreated, status, body)
	require.Equal(t, "Created", body["created-record-status"])
	complaint := body["id"].(string)
	require.True(t, casefile.ValidID(complaint), complaint)

	status, detail := s.call(t, "GET", "/cases/"+complaint, nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "Complaint", detail["case-class"])
	require.Equal(t, "Complaint", detail["case-type"])
	require.Equal(t, "Accepted", detail["state"])
	require.Equal(t, "High", detail["importance"])
	require.Equal(t, "Stevan.Kostoski", detail["registered-by-name"])
	require.Equal(t, "agent-7", detail["registered-by-id"])
	require.Nil(t, detail["resolution"])
	require.Equal(t, []any{}, detail["attachments"])

	status, body = s.call(t, "POST", "/service-requests", map[string]any{"customer-id": "1104977710344", "details": "new card"})
	require.Equal(t, http.StatusCreated, status, body)
	serviceRequest := body["id"].(string)
	require.NotEqual(t, complaint, serviceRequest)
	status, detail = s.call(t, "GET", "/cases/"+serviceRequest, nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "ServiceRequest", detail["case-class"])

	callbackAt := time.Now().UTC().Add(2 * time.Second).Truncate(time.Millisecond)
	status, body = s.call(t, "POST", "/callback-requests", map[string]any{
		"callback-request-time": callbackAt.Format(time.RFC3339Nano), "categorry": "Cards", "party-id": "1104977710344",
	})
	require.Equal(t, http.StatusCreated, status, body)
	callback := body["id"].(string)
	status, detail = s.call(t, "GET", "/cases/"+callback, nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "CallbackRequest", detail["case-class"])
	require.Equal(t, "Cards", detail["categorry"])
	require.Equal(t, callbackAt.Format("2006-01-02T15:04:05.000Z07:00"), detail["callback-request-time"])

	// List: all three are active.
	status, list := s.call(t, "GET", "/cases", nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, float64(3), list["total-count"])
	require.Equal(t, float64(20), list["page-size"])
	require.Equal(t, float64(1), list["page-number"])
	require.Equal(t, float64(1), list["total-pages"])
	require.Equal(t, []string{callback, serviceRequest, complaint}, caseIDs(list), "newest first")

	// Resolve the complaint.
	status, body = s.call(t, "PUT", "/cases/"+complaint, map[string]any{
		"case-type": "Complaint", "case-id": complaint, "updated-by-name": "Stevan.Kostoski",
		"resolution": "card reissued", "state": "Resolved",
	})
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, map[string]any{"id": complaint, "created-record-status": "Updated"}, body)
	_, detail = s.call(t, "GET", "/cases/"+complaint, nil)
	require.Equal(t, "Resolved", detail["state"])
	require.Equal(t, "card reissued", detail["resolution"])

	// Attach and detach a file.
	status, body = s.call(t, "POST", "/cases/"+complaint+"/attachments", map[string]any{
		"case-id": complaint, "file-id": "f-1", "file-name": "statement.pdf", "customer-id": "1104977710344",
	})
	require.Equal(t, http.StatusOK, status, body)
	_, detail = s.call(t, "GET", "/cases/"+complaint, nil)
	attachments := detail["attachments"].([]any)
	require.Len(t, attachments, 1)
	require.Equal(t, "f-1", attachments[0].(map[string]any)["file-id"])
	require.Equal(t, "statement.pdf", attachments[0].(map[string]any)["file-name"])

	status, body = s.call(t, "DELETE", "/cases/"+complaint+"/attachments/f-1", nil)
	require.Equal(t, http.StatusOK, status, body)
	_, detail = s.call(t, "GET", "/cases/"+complaint, nil)
	require.Equal(t, []any{}, detail["attachments"])
	status, _ = s.call(t, "DELETE", "/cases/"+complaint+"/attachments/f-1", nil)
	require.Equal(t, http.StatusNotFound, status)

	// Close it.
	status, body = s.call(t, "DELETE", "/cases/"+complaint, map[string]any{
		"case-type": "Complaint", "case-id": complaint, "updated-by-name": "Stevan.Kostoski", "resolution": "closed after reissue",
	})
	require.Equal(t, http.StatusOK, status, body)
	_, detail = s.call(t, "GET", "/cases/"+complaint, nil)
	require.Equal(t, "Closed", detail["state"])
	require.Equal(t, "closed after reissue", detail["resolution"])

	// History: one row per change, versions strictly increasing.
	status, history := s.call(t, "GET", "/cases/"+complaint+"/history", nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, float64(100), history["page-size"])
	items := history["Items"].([]any)
	var changes, states []string
	for i, item := range items {
		row := item.(map[string]any)
		require.Equal(t, complaint, row["case-id"])
		require.Equal(t, strconv.Itoa(i+1), row["version-num"])
		changes = append(changes, row["change"].(string))
		states = append(states, row["state"].(string))
	}
	// The customer asked for an email answer: the resolution notice (to the
	// outbox here) is recorded too, whenever it went out.
	require.Equal(t, []string{"Registered", "Resolved", "AttachmentAdded", "AttachmentRemoved", "Closed"}, without(changes, "NoticeSent"))
	require.Len(t, changes, 6)
	require.Equal(t, "Accepted", states[0])
	require.Equal(t, "Closed", states[len(states)-1])
	notices, err := s.store.Outbox(context.Background(), "notice", 10)
	require.NoError(t, err)
	require.Len(t, notices, 1)
	require.Equal(t, complaint+"/notice/2", notices[0].IdempotencyKey)

	// The default list leaves the closed case out; state=Closed finds it.
	_, list = s.call(t, "GET", "/cases", nil)
	require.NotContains(t, caseIDs(list), complaint)
	_, list = s.call(t, "GET", "/cases?state=Closed", nil)
	require.Equal(t, []string{complaint}, caseIDs(list))

	// A closed case takes no more changes.
	status, _ = s.call(t, "PUT", "/cases/"+complaint, map[string]any{"state": "Accepted"})
	require.Equal(t, http.StatusConflict, status)
	status, _ = s.call(t, "DELETE", "/cases/"+complaint, nil)
	require.Equal(t, http.StatusConflict, status)
	status, _ = s.call(t, "POST", "/cases/"+complaint+"/attachments", map[string]any{"file-id": "f-2", "file-name": "x.pdf"})
	require.Equal(t, http.StatusConflict, status)

	// Its workflow has completed, with the state visible to operators.
	desc, err := s.temporal.DescribeWorkflow(context.Background(), workflows.CaseWorkflowID(complaint), "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, desc.RawResponse.WorkflowExecutionInfo.Status)

	// The callback is delivered (to the outbox here) at its time and recorded.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, history := s.call(t, "GET", "/cases/"+callback+"/history", nil)
		items := history["Items"].([]any)
		if assert.Len(c, items, 2) {
			last := items[1].(map[string]any)
			assert.Equal(c, "CallbackDelivered", last["change"])
			assert.Equal(c, "Delivered", last["callback-status"])
			due, err := time.Parse(time.RFC3339, last["version-date"].(string))
			assert.NoError(c, err)
			assert.False(c, due.Before(callbackAt), "due at %s, requested %s", due, callbackAt)
		}
	}, 30*time.Second, 200*time.Millisecond)
}

// TestOneGrepFollowsARequest checks that the API's request id reaches the
// worker's log line for the write it caused.
func TestOneGrepFollowsARequest(t *testing.T) {
	s := startStack(t, stackOptions{})
	_, body := s.call(t, "POST", "/complaints", map[string]any{"customer-id": "C1"})
	id := body["id"].(string)
	status, header, _ := s.do(t, "PUT", "/cases/"+id, map[string]any{"state": "Resolved", "resolution": "done"}, nil)
	require.Equal(t, http.StatusOK, status)
	requestID := header.Get("X-Request-Id")
	require.NotEmpty(t, requestID)

	var found bool
	for _, entry := range s.logs.FilterMessage("Recorded case change").All() {
		fields := entry.ContextMap()
		if fields["request-id"] == requestID {
			require.Equal(t, id, fields["case-id"])
			require.EqualValues(t, 2, fields["version"])
			require.Equal(t, workflows.CaseWorkflowID(id), fields["WorkflowID"])
			found = true
		}
	}
	require.True(t, found, "the worker logged the write with the API's request id")
}

func TestUnknownCaseAnswers404(t *testing.T) {
	s := startStack(t, stackOptions{})
	for _, c := range []struct{ method, path string }{
		{"GET", "/cases/WI0000009999"},
		{"GET", "/cases/WI0000009999/history"},
		{"PUT", "/cases/WI0000009999"},
		{"DELETE", "/cases/WI0000009999"},
		{"POST", "/cases/WI0000009999/attachments"},
		{"DELETE", "/cases/WI0000009999/attachments/f-1"},
	} {
		var body any
		switch c.method {
		case "PUT":
			body = map[string]any{"state": "Accepted"}
		case "POST":
			body = map[string]any{"file-id": "f", "file-name": "f.pdf"}
		}
		status, problem := s.call(t, c.method, c.path, body)
		require.Equal(t, http.StatusNotFound, status, "%s %s: %v", c.method, c.path, problem)
		require.Equal(t, "case WI0000009999 does not exist", problem["detail"])
	}
}

func TestChosenCaseIDMustBeFree(t *testing.T) {
	s := startStack(t, stackOptions{})
	req := map[string]any{"case-id": "WI0000500000", "customer-id": "C1"}
	status, body := s.call(t, "POST", "/complaints", req)
	require.Equal(t, http.StatusCreated, status, body)
	require.Equal(t, "WI0000500000", body["id"])

	status, body = s.call(t, "POST", "/service-requests", req)
	require.Equal(t, http.StatusConflict, status, body)
	_, detail := s.call(t, "GET", "/cases/WI0000500000", nil)
	require.Equal(t, "Complaint", detail["case-class"], "the refused request changed nothing")
}

func TestGzippedTemporalRequestsServeCases(t *testing.T) {
	s := startStack(t, stackOptions{gzipTemporal: true})
	status, body := s.call(t, "POST", "/complaints", map[string]any{"customer-id": "C1"})
	require.Equal(t, http.StatusCreated, status, body)
	id := body["id"].(string)
	status, body = s.call(t, "PUT", "/cases/"+id, map[string]any{"state": "Resolved", "resolution": "Refunded"})
	require.Equal(t, http.StatusOK, status, body)
	_, body = s.call(t, "GET", "/cases/"+id, nil)
	require.Equal(t, "Resolved", body["state"])
}

func TestRejectedUpdateLeavesNoHistory(t *testing.T) {
	s := startStack(t, stackOptions{})
	_, body := s.call(t, "POST", "/complaints", map[string]any{"customer-id": "C1"})
	id := body["id"].(string)

	status, problem := s.call(t, "PUT", "/cases/"+id, map[string]any{"state": "Resolved"})
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "resolving case "+id+" needs a resolution", problem["detail"])

	_, history := s.call(t, "GET", "/cases/"+id+"/history", nil)
	require.Equal(t, float64(1), history["total-count"])
	require.Equal(t, map[int64]int{1: 1}, s.historyRows(t, id))
}

// The guide's PUT and DELETE name the case by case-id and case-type: a type
// that is not the case's is refused like a foreign case-id, and changes nothing.
func TestCaseTypeIdentifiesTheCase(t *testing.T) {
	s := startStack(t, stackOptions{})
	_, body := s.call(t, "POST", "/complaints", map[string]any{"customer-id": "C1"})
	id := body["id"].(string)
	before, _ := s.etag(t, id)

	for _, method := range []string{"PUT", "DELETE"} {
		for field, value := range map[string]string{"case-id": "WI0000000999", "case-type": "ServiceRequest"} {
			request := map[string]any{field: value, "resolution": "done"}
			if method == "PUT" {
				request["state"] = "Resolved"
			}
			status, problem := s.call(t, method, "/cases/"+id, request)
			require.Equal(t, http.StatusBadRequest, status, "%s %s: %v", method, field, problem)
			params := problem["invalid-params"].([]any)
			require.Len(t, params, 1)
			require.Equal(t, field, params[0].(map[string]any)["name"])
		}
	}
	_, detail := s.call(t, "GET", "/cases/"+id, nil)
	require.Equal(t, "Accepted", detail["state"])
	require.Equal(t, "Complaint", detail["case-type"])
	after, _ := s.etag(t, id)
	require.Equal(t, before, after)
	require.Equal(t, map[int64]int{1: 1}, s.historyRows(t, id))

	// The case's own type is accepted.
	status, answer := s.call(t, "PUT", "/cases/"+id, map[string]any{"case-type": "Complaint", "state": "Resolved", "resolution": "done"})
	require.Equal(t, http.StatusOK, status, answer)
	require.Equal(t, "Updated", answer["created-record-status"])
}

func TestPutThatChangesNothingRecordsNothing(t *testing.T) {
	s := startStack(t, stackOptions{})
	_, body := s.call(t, "POST", "/complaints", map[string]any{"customer-id": "C1"})
	id := body["id"].(string)
	status, answer := s.call(t, "PUT", "/cases/"+id, map[string]any{"state": "Resolved", "resolution": "card reissued"})
	require.Equal(t, http.StatusOK, status, answer)
	require.Equal(t, "Updated", answer["created-record-status"])
	before, _ := s.etag(t, id)
	require.Equal(t, `"2"`, before)

	for _, request := range []any{nil, map[string]any{},
		map[string]any{"case-id": id, "case-type": "Complaint", "state": "Resolved", "resolution": "card reissued"}} {
		status, header, answer := s.do(t, "PUT", "/cases/"+id, request, nil)
		require.Equal(t, http.StatusOK, status, answer)
		require.Equal(t, "Unchanged", answer["created-record-status"], "%v", request)
		require.Equal(t, before, header.Get("ETag"))
	}
	after, _ := s.etag(t, id)
	require.Equal(t, before, after)
	_, detail := s.call(t, "GET", "/cases/"+id, nil)
	require.Equal(t, "2", detail["version-num"])
	require.Equal(t, map[int64]int{1: 1, 2: 1}, s.historyRows(t, id))
}

func without(list []string, drop string) []string {
	out := []string{}
	for _, s := range list {
		if s != drop {
			out = append(out, s)
		}
	}
	return out
}

func caseIDs(list map[string]any) []string {
	ids := []string{}
	for _, item := range list["Items"].([]any) {
		ids = append(ids, item.(map[string]any)["case-id"].(string))
	}
	return ids
}

// TestTemporalSDKMetricsReachTheRegistry dials as the processes do, with a
// registry, and finds the SDK's request metrics on it.
func TestTemporalSDKMetricsReachTheRegistry(t *testing.T) {
	s := startStack(t, stackOptions{})
	registry := prometheus.NewRegistry()
	tc, err := temporalclient.Dial(context.Background(), config.Temporal{Address: s.temporalAddress, Namespace: "default", Codec: s.opts.codec}, temporalclient.Options{Logger: s.logger, Metrics: registry})
	require.NoError(t, err)
	defer tc.Close()
	_, err = caseops.New(tc, s.store, testPolicy).Register(context.Background(),
		casefile.Case{Class: casefile.ClassComplaint, Type: "Complaint", CustomerID: "C1", Importance: "Standard"}, "")
	require.NoError(t, err)

	require.EventuallyWithT(t, func(c *assert.CollectT) {
		families, err := registry.Gather()
		assert.NoError(c, err)
		var names []string
		for _, f := range families {
			names = append(names, f.GetName())
		}
		assert.Contains(c, names, "temporal_request")
	}, 10*time.Second, 200*time.Millisecond)
}
