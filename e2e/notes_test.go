package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bank/caseservice/internal/platform/auth"
	"github.com/bank/caseservice/internal/platform/devissuer"
	"github.com/bank/caseservice/workflows"
)

// TestNotesByVisibility: agents add notes through the API and operators
// through the workflow's add-note update, one path; the customer reads only
// the notes marked for them, and a closed case takes no more.
func TestNotesByVisibility(t *testing.T) {
	s := startStack(t, stackOptions{})
	_, body := s.call(t, "POST", "/complaints", map[string]any{"customer-id": "C-N", "details": "card blocked"})
	id := body["id"].(string)

	status, body := s.call(t, "POST", "/cases/"+id+"/notes", map[string]any{"note": "called the branch"})
	require.Equal(t, http.StatusCreated, status, body)
	require.Equal(t, map[string]any{"id": id, "created-record-status": "Created"}, body)
	status, _ = s.call(t, "POST", "/cases/"+id+"/notes", map[string]any{"note": "a new card is on its way", "visibility": "customer"})
	require.Equal(t, http.StatusCreated, status)
	require.NoError(t, s.operate(id, workflows.UpdateAddNote, workflows.OperatorAction{Operator: "jane.doe", Note: "checked the card's limits"}))
	status, _ = s.call(t, "POST", "/cases/"+id+"/notes", map[string]any{"note": ""})
	require.Equal(t, http.StatusBadRequest, status)

	_, history := s.call(t, "GET", "/cases/"+id+"/history", nil)
	type row struct{ version, change, note, visibility, by any }
	rows := func(history map[string]any) []row {
		var out []row
		for _, item := range history["Items"].([]any) {
			r := item.(map[string]any)
			out = append(out, row{r["version-num"], r["change"], r["note"], r["note-visibility"], r["updated-by-id"]})
		}
		return out
	}
	require.Equal(t, []row{
		{"1", "Registered", nil, nil, "agent-7"},
		{"2", "NoteAdded", "called the branch", "internal", "agent-7"},
		{"3", "NoteAdded", "a new card is on its way", "customer", "agent-7"},
		{"4", "NoteAdded", "checked the card's limits", "internal", "temporal-operator:jane.doe"},
	}, rows(history))

	agent := s.token
	s.token = s.mint(t, devissuer.Claims{Subject: "customer-n", Scopes: []string{auth.ScopeRead, auth.ScopeWrite},
		TTL: time.Hour, CustomerID: "C-N"})
	_, history = s.call(t, "GET", "/cases/"+id+"/history", nil)
	require.Equal(t, []row{
		{"1", "Registered", nil, nil, "agent-7"},
		{"3", "NoteAdded", "a new card is on its way", "customer", "agent-7"},
	}, rows(history))
	require.EqualValues(t, 2, history["total-count"])
	status, _ = s.call(t, "POST", "/cases/"+id+"/notes", map[string]any{"note": "from the customer"})
	require.Equal(t, http.StatusForbidden, status)

	s.token = agent
	status, _ = s.call(t, "DELETE", "/cases/"+id, map[string]any{"resolution": "done"})
	require.Equal(t, http.StatusOK, status)
	status, problem := s.call(t, "POST", "/cases/"+id+"/notes", map[string]any{"note": "too late"})
	require.Equal(t, http.StatusConflict, status, problem)
	require.Equal(t, map[int64]int{1: 1, 2: 1, 3: 1, 4: 1, 5: 1}, s.historyRows(t, id))
}
