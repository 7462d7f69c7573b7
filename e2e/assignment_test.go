package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/bank/caseservice/internal/platform/auth"
	"github.com/bank/caseservice/internal/platform/devissuer"
)

// TestAssignment: a new case lands in its routed queue; assigning it is one
// Assigned history row with the new values, shown in the detail, the list
// and Temporal's visibility; null unassigns; customers see the queue and the
// agent's name but never the agent's id, and cannot assign.
func TestAssignment(t *testing.T) {
	s := startStack(t, stackOptions{})
	_, body := s.call(t, "POST", "/complaints", map[string]any{"customer-id": "C-AS", "importance": "Critical"})
	id := body["id"].(string)
	_, detail := s.call(t, "GET", "/cases/"+id, nil)
	require.Equal(t, "complaints-urgent", detail["queue"], "routed by the default rules")
	require.Nil(t, detail["assignee-id"])

	status, problem := s.call(t, "PUT", "/cases/"+id, map[string]any{"assignee-name": "Ana Petrova"})
	require.Equal(t, http.StatusBadRequest, status, problem)
	require.Equal(t, map[int64]int{1: 1}, s.historyRows(t, id), "a refused assignment changes nothing")

	status, _ = s.call(t, "PUT", "/cases/"+id, map[string]any{"assignee-id": "agent-9", "assignee-name": "Ana Petrova", "queue": "cards"})
	require.Equal(t, http.StatusOK, status)
	_, detail = s.call(t, "GET", "/cases/"+id, nil)
	require.Equal(t, "agent-9", detail["assignee-id"])
	require.Equal(t, "Ana Petrova", detail["assignee-name"])
	require.Equal(t, "cards", detail["queue"])
	_, list := s.call(t, "GET", "/cases?customer-id=C-AS", nil)
	item := list["Items"].([]any)[0].(map[string]any)
	require.Equal(t, "agent-9", item["assignee-id"])
	require.Equal(t, "/v1/case/cases/"+id, item["href"])

	ctx := context.Background()
	require.Eventually(t, func() bool {
		found, err := s.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: `CaseAssignee = "agent-9" AND CaseQueue = "cards" AND CustomerId = "C-AS"`})
		return err == nil && len(found.Executions) == 1
	}, 10*time.Second, 100*time.Millisecond, "operators find the case by assignee and queue")

	status, _ = s.call(t, "PUT", "/cases/"+id, map[string]any{"assignee-id": nil, "state": "Resolved", "resolution": "refunded"})
	require.Equal(t, http.StatusOK, status)
	_, history := s.call(t, "GET", "/cases/"+id+"/history", nil)
	type row struct{ change, assignee, queue any }
	var rows []row
	for _, item := range history["Items"].([]any) {
		h := item.(map[string]any)
		rows = append(rows, row{h["change"], h["assignee-id"], h["queue"]})
	}
	require.Equal(t, []row{{"Registered", nil, "complaints-urgent"}, {"Assigned", "agent-9", "cards"},
		{"Assigned", nil, "cards"}, {"Resolved", nil, "cards"}}, rows)
	require.Eventually(t, func() bool {
		found, err := s.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: `CaseAssignee IS NULL AND CaseQueue = "cards" AND CustomerId = "C-AS"`})
		return err == nil && len(found.Executions) == 1
	}, 10*time.Second, 100*time.Millisecond, "unassigning removes the attribute")

	status, _ = s.call(t, "PUT", "/cases/"+id, map[string]any{"assignee-id": "agent-9", "assignee-name": "Ana Petrova"})
	require.Equal(t, http.StatusOK, status)
	agentToken := s.token
	s.token = s.mint(t, devissuer.Claims{Subject: "cust", Scopes: []string{auth.ScopeRead, auth.ScopeWrite}, TTL: time.Hour, CustomerID: "C-AS"})
	_, detail = s.call(t, "GET", "/cases/"+id, nil)
	require.Nil(t, detail["assignee-id"], "customers never see an agent's id")
	require.Equal(t, "Ana Petrova", detail["assignee-name"])
	require.Equal(t, "cards", detail["queue"])
	_, history = s.call(t, "GET", "/cases/"+id+"/history", nil)
	for _, item := range history["Items"].([]any) {
		require.Nil(t, item.(map[string]any)["assignee-id"])
	}
	status, _ = s.call(t, "PUT", "/cases/"+id, map[string]any{"queue": "vip"})
	require.Equal(t, http.StatusForbidden, status)
	s.token = agentToken
	_, detail = s.call(t, "GET", "/cases/"+id, nil)
	require.Equal(t, "cards", detail["queue"])
}
