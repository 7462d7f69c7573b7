package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestATraceFollowsAChange checks that one trace runs from the API request
// through the Temporal update to the activity and its SQL.
func TestATraceFollowsAChange(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	t.Cleanup(func() { _ = tp.Shutdown(t.Context()) })
	s := startStack(t, stackOptions{tracer: tp})
	_, body := s.call(t, "POST", "/complaints", map[string]any{"customer-id": "C1"})
	id := body["id"].(string)
	spans.Reset()

	status, _ := s.call(t, "PUT", "/cases/"+id, map[string]any{"state": "Resolved", "resolution": "done"})
	require.Equal(t, http.StatusOK, status)

	var request *tracetest.SpanStub
	got := spans.GetSpans()
	for i := range got {
		if got[i].Name == "PUT /v1/case/cases/:caseID" {
			request = &got[i]
		}
	}
	require.NotNil(t, request, "the API's span")
	inTrace := map[string]bool{}
	for _, span := range got {
		if span.SpanContext.TraceID() == request.SpanContext.TraceID() {
			inTrace[span.Name] = true
		}
	}
	var names []string
	for name := range inTrace {
		names = append(names, name)
	}
	require.True(t, inTrace["UpdateWorkflow:update-progress"], "client update span in %v", names)
	require.True(t, inTrace["RunActivity:RecordChange"], "activity span in %v", names)
	var sql bool
	for name := range inTrace {
		sql = sql || strings.HasPrefix(name, "db.query")
	}
	require.True(t, sql, "the activity's SQL in %v", names)
}
