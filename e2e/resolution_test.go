package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
)

// TestResolutionCodes: a code from the list goes with resolving and closing
// and shows in the detail, the list, the history and Temporal's visibility;
// reopening clears it, and a code not on the list changes nothing.
func TestResolutionCodes(t *testing.T) {
	s := startStack(t, stackOptions{})
	_, body := s.call(t, "POST", "/complaints", map[string]any{"customer-id": "C-RC"})
	id := body["id"].(string)

	status, problem := s.call(t, "PUT", "/cases/"+id, map[string]any{"state": "Resolved", "resolution": "x", "resolution-code": "Fixed"})
	require.Equal(t, http.StatusBadRequest, status, problem)
	status, problem = s.call(t, "PUT", "/cases/"+id, map[string]any{"resolution": "looked", "resolution-code": "Explained"})
	require.Equal(t, http.StatusBadRequest, status, "a code goes with resolving: %v", problem)
	require.Equal(t, map[int64]int{1: 1}, s.historyRows(t, id))

	status, _ = s.call(t, "PUT", "/cases/"+id, map[string]any{"state": "Resolved", "resolution": "refunded", "resolution-code": "ComplaintUpheld"})
	require.Equal(t, http.StatusOK, status)
	_, detail := s.call(t, "GET", "/cases/"+id, nil)
	require.Equal(t, "ComplaintUpheld", detail["resolution-code"])
	_, list := s.call(t, "GET", "/cases?state=Resolved&customer-id=C-RC", nil)
	require.Equal(t, "ComplaintUpheld", list["Items"].([]any)[0].(map[string]any)["resolution-code"])

	ctx := context.Background()
	require.Eventually(t, func() bool {
		found, err := s.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: `CaseResolutionCode = "ComplaintUpheld" AND CustomerId = "C-RC"`})
		return err == nil && len(found.Executions) == 1
	}, 10*time.Second, 100*time.Millisecond, "operators find the case by its code")

	status, _ = s.call(t, "PUT", "/cases/"+id, map[string]any{"state": "Accepted"})
	require.Equal(t, http.StatusOK, status)
	_, detail = s.call(t, "GET", "/cases/"+id, nil)
	require.Nil(t, detail["resolution-code"], "reopening clears the code")

	status, _ = s.call(t, "DELETE", "/cases/"+id, map[string]any{"resolution": "customer withdrew", "resolution-code": "Withdrawn"})
	require.Equal(t, http.StatusOK, status)
	_, history := s.call(t, "GET", "/cases/"+id+"/history", nil)
	var codes []any
	for _, item := range history["Items"].([]any) {
		codes = append(codes, item.(map[string]any)["resolution-code"])
	}
	require.Equal(t, []any{nil, "ComplaintUpheld", nil, "Withdrawn"}, codes)
}
