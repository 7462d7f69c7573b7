package e2e

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bank/caseservice/internal/platform/auth"
	"github.com/bank/caseservice/internal/platform/devissuer"
)

// TestCustomersSeeOnlyTheirOwnCases checks every endpoint with a customer
// token against another customer's case: each answers as if it did not exist.
func TestCustomersSeeOnlyTheirOwnCases(t *testing.T) {
	s := startStack(t, stackOptions{})
	_, body := s.call(t, "POST", "/complaints", map[string]any{"customer-id": "C-A"})
	mine := body["id"].(string)
	_, body = s.call(t, "POST", "/complaints", map[string]any{"customer-id": "C-B"})
	theirs := body["id"].(string)
	status, _ := s.call(t, "POST", "/cases/"+theirs+"/attachments", map[string]any{"file-id": "f-1", "file-name": "b.pdf"})
	require.Equal(t, http.StatusOK, status)

	s.token = s.mint(t, devissuer.Claims{Subject: "customer-a", Scopes: []string{auth.ScopeRead, auth.ScopeWrite},
		TTL: time.Hour, CustomerID: "C-A"})

	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/cases/" + theirs, nil},
		{"GET", "/cases/" + theirs + "/history", nil},
		{"PUT", "/cases/" + theirs, map[string]any{"state": "Resolved", "resolution": "mine now"}},
		{"DELETE", "/cases/" + theirs, nil},
		{"POST", "/cases/" + theirs + "/attachments", map[string]any{"file-id": "f-2", "file-name": "a.pdf"}},
		{"DELETE", "/cases/" + theirs + "/attachments/f-1", nil},
	} {
		status, problem := s.call(t, c.method, c.path, c.body)
		require.Equal(t, http.StatusNotFound, status, "%s %s", c.method, c.path)
		require.Equal(t, "case "+theirs+" does not exist", problem["detail"], "no existence leak")
	}
	status, _ = s.call(t, "POST", "/complaints", map[string]any{"customer-id": "C-B"})
	require.Equal(t, http.StatusForbidden, status)

	_, list := s.call(t, "GET", "/cases", nil)
	require.Equal(t, []string{mine}, caseIDs(list))
	_, list = s.call(t, "GET", "/cases?customer-id=C-B", nil)
	require.Equal(t, []string{}, caseIDs(list))
	status, _ = s.call(t, "GET", "/cases/"+mine, nil)
	require.Equal(t, http.StatusOK, status)

	// Nothing of theirs changed.
	require.Equal(t, map[int64]int{1: 1, 2: 1}, s.historyRows(t, theirs))
}

// TestConcurrentWritersCannotBothWin sends many changes conditioned on the
// same version at once: exactly one applies, the others get 412.
func TestConcurrentWritersCannotBothWin(t *testing.T) {
	s := startStack(t, stackOptions{})
	_, body := s.call(t, "POST", "/complaints", map[string]any{"customer-id": "C1"})
	id := body["id"].(string)
	etag, status := s.etag(t, id)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, `"1"`, etag)

	const writers = 10
	statuses := make([]int, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = s.callWith(t, "PUT", "/cases/"+id, map[string]any{"resolution": fmt.Sprintf("writer %d", i)},
				map[string]string{"If-Match": etag})
		}()
	}
	wg.Wait()
	counts := map[int]int{}
	for _, st := range statuses {
		counts[st]++
	}
	require.Equal(t, map[int]int{http.StatusOK: 1, http.StatusPreconditionFailed: writers - 1}, counts)
	require.Equal(t, map[int64]int{1: 1, 2: 1}, s.historyRows(t, id))

	etag, _ = s.etag(t, id)
	require.Equal(t, `"2"`, etag)
	status = s.callWith(t, "DELETE", "/cases/"+id, nil, map[string]string{"If-Match": `"1"`})
	require.Equal(t, http.StatusPreconditionFailed, status)
	status = s.callWith(t, "DELETE", "/cases/"+id, nil, map[string]string{"If-Match": strconv.Quote("2")})
	require.Equal(t, http.StatusOK, status)
}
