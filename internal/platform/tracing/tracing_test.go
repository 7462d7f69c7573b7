package tracing_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/bank/caseservice/internal/pgtest"
	"github.com/bank/caseservice/internal/platform/tracing"
	"github.com/bank/caseservice/store"
)

func TestSQLSpansQueriesAndBatches(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	_, url := pgtest.New(t)
	pool, err := store.Connect(context.Background(), url, 2, tracing.SQL(tp))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	ctx, parent := tp.Tracer("test").Start(context.Background(), "request")

	var one int
	require.NoError(t, pool.QueryRow(ctx, "SELECT 1").Scan(&one))
	var batch pgx.Batch
	batch.Queue("SELECT 2")
	batch.Queue("SELECT 1/0")
	require.Error(t, pool.SendBatch(ctx, &batch).Close())
	parent.End()

	byName := map[string]tracetest.SpanStub{}
	for _, s := range spans.GetSpans() {
		if s.Name == "db.query" && s.Attributes[1].Value.AsString() != "SELECT 1" {
			continue // the pool's own ping
		}
		byName[s.Name] = s
	}
	query, batched := byName["db.query"], byName["db.batch"]
	for _, s := range []tracetest.SpanStub{query, batched} {
		assert.Equal(t, parent.SpanContext().SpanID(), s.Parent.SpanID(), s.Name)
	}
	var queries []sdktrace.Event
	for _, e := range batched.Events {
		if e.Name == "db.query" {
			queries = append(queries, e)
		}
	}
	require.Len(t, queries, 2, "a query event each")
	assert.Equal(t, "SELECT 2", queries[0].Attributes[0].Value.AsString())
	assert.Equal(t, "SELECT 1/0", queries[1].Attributes[0].Value.AsString())
	assert.Len(t, queries[1].Attributes, 2, "the failed query's error")
	assert.Equal(t, "batch failed", batched.Status.Description)
}
