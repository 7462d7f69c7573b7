package e2e

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bank/caseservice/internal/platform/auth"
	"github.com/bank/caseservice/internal/platform/devissuer"
)

func (s *stack) countCases(t *testing.T) int {
	t.Helper()
	var n int
	require.NoError(t, s.pool.QueryRow(context.Background(), "SELECT count(*) FROM cases").Scan(&n))
	return n
}

func TestIdempotencyKeyReplaysTheFirstAnswer(t *testing.T) {
	s := startStack(t, stackOptions{})
	key := map[string]string{"Idempotency-Key": "create-7f3a"}
	complaint := map[string]any{"customer-id": "C1", "details": "card blocked"}

	status, _, first := s.do(t, "POST", "/complaints", complaint, key)
	require.Equal(t, http.StatusCreated, status, first)
	status, header, again := s.do(t, "POST", "/complaints", complaint, key)
	require.Equal(t, http.StatusCreated, status)
	require.Equal(t, first, again, "the same case id, not a second case")
	require.Equal(t, "true", header.Get("Idempotent-Replayed"))
	require.Equal(t, 1, s.countCases(t))

	status, _, problem := s.do(t, "POST", "/complaints", map[string]any{"customer-id": "C2"}, key)
	require.Equal(t, http.StatusUnprocessableEntity, status, problem)

	// A change replays too, without a second version.
	id := first["id"].(string)
	resolve := map[string]any{"state": "Resolved", "resolution": "done"}
	putKey := map[string]string{"Idempotency-Key": "resolve-1"}
	status, header, _ = s.do(t, "PUT", "/cases/"+id, resolve, putKey)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, `"2"`, header.Get("ETag"))
	status, header, _ = s.do(t, "PUT", "/cases/"+id, resolve, putKey)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "true", header.Get("Idempotent-Replayed"))
	require.Equal(t, `"2"`, header.Get("ETag"), "a replay names the version the change made (found by make chaos)")
	require.Equal(t, map[int64]int{1: 1, 2: 1}, s.historyRows(t, id))

	status, _, _ = s.do(t, "POST", "/complaints", complaint, map[string]string{"Idempotency-Key": strings.Repeat("k", 256)})
	require.Equal(t, http.StatusBadRequest, status)

	// Keys belong to a token subject: another client's identical key is another request.
	s.token = s.mint(t, devissuer.Claims{Subject: "other-client", Scopes: []string{auth.ScopeWrite}, TTL: time.Hour})
	status, _, other := s.do(t, "POST", "/complaints", complaint, key)
	require.Equal(t, http.StatusCreated, status)
	require.NotEqual(t, first["id"], other["id"])
}

func TestConcurrentCreatesWithOneKeyMakeOneCase(t *testing.T) {
	s := startStack(t, stackOptions{})
	const callers = 50
	key := map[string]string{"Idempotency-Key": "burst-1"}
	type answer struct {
		status     int
		id         any
		retryAfter string
	}
	answers := make([]answer, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, header, body := s.do(t, "POST", "/service-requests", map[string]any{"customer-id": "C1"}, key)
			answers[i] = answer{status, body["id"], header.Get("Retry-After")}
		}()
	}
	wg.Wait()
	require.Equal(t, 1, s.countCases(t), "exactly one case")
	ids := map[any]bool{}
	for _, a := range answers {
		require.Contains(t, []int{http.StatusCreated, http.StatusConflict}, a.status)
		if a.status == http.StatusCreated {
			ids[a.id] = true
		} else {
			require.NotEmpty(t, a.retryAfter, "a conflict with a request in flight says when to retry")
		}
	}
	require.Len(t, ids, 1, "every success names the same case")
}

// TestRetryAfterACrashRegistersTheSameCase makes the first attempt look as if
// its process died after starting the workflow but before keeping the
// answer: the retry takes the claim over and Temporal hands back the same case.
func TestRetryAfterACrashRegistersTheSameCase(t *testing.T) {
	s := startStack(t, stackOptions{})
	key := map[string]string{"Idempotency-Key": "crash-1"}
	status, _, first := s.do(t, "POST", "/complaints", map[string]any{"customer-id": "C1"}, key)
	require.Equal(t, http.StatusCreated, status, first)
	_, err := s.pool.Exec(context.Background(),
		"UPDATE idempotency_keys SET status = NULL, response = NULL, created_at = now() - interval '1 hour' WHERE key = 'crash-1'")
	require.NoError(t, err)

	status, header, again := s.do(t, "POST", "/complaints", map[string]any{"customer-id": "C1"}, key)
	require.Equal(t, http.StatusCreated, status, again)
	require.Empty(t, header.Get("Idempotent-Replayed"), "served anew, not replayed")
	require.Equal(t, first["id"], again["id"])
	require.Equal(t, 1, s.countCases(t))
	require.Equal(t, map[int64]int{1: 1}, s.historyRows(t, first["id"].(string)))
}
