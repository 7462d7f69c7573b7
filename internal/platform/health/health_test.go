package health_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bank/caseservice/internal/platform/health"
)

func get(t *testing.T, h http.Handler, path string) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	var body map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	return rec.Code, body
}

func TestReadyOnlyWhenEveryCheckAnswers(t *testing.T) {
	var dbDown error
	h := health.Handler([]health.Check{
		{Name: "postgres", Probe: func(context.Context) error { return dbDown }},
		{Name: "temporal", Probe: func(context.Context) error { return nil }},
	})
	status, body := get(t, h, "/readyz")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, map[string]any{"postgres": "ok", "temporal": "ok"}, body["checks"])

	dbDown = errors.New("dial tcp 10.1.2.3:5432: connection refused")
	status, body = get(t, h, "/readyz")
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Equal(t, "failing", body["checks"].(map[string]any)["postgres"])
	require.NotContains(t, body, "error", "no internal detail")

	status, body = get(t, h, "/healthz")
	require.Equal(t, http.StatusOK, status, "alive even when a dependency is down")
	require.Equal(t, "alive", body["status"])
}
