package e2e

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/caseops"
	"github.com/bank/caseservice/internal/pgtest"
	"github.com/bank/caseservice/store"
	caseworker "github.com/bank/caseservice/worker"
	"github.com/bank/caseservice/workflows"
)

// TestPendingCallbacksSurviveRestarts stops the worker and the Temporal
// server while callbacks are pending, starts both again on the same file, and
// expects every callback to be delivered exactly once.
func TestPendingCallbacksSurviveRestarts(t *testing.T) {
	cc, newActivities := startContactCentre(t)
	logger := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	dbFile := filepath.Join(t.TempDir(), "temporal.db")
	hostPort := freeHostPort(t)
	pool, _ := pgtest.New(t)
	st := store.New(pool)
	acts := newActivities(st)
	startWorker := func(c client.Client) worker.Worker {
		w := worker.New(c, workflows.TaskQueue, worker.Options{})
		caseworker.Register(w, acts)
		require.NoError(t, w.Start())
		return w
	}

	first := startTemporal(t, logger, dbFile, hostPort)
	w := startWorker(first.server.Client())
	cases := caseops.New(first.server.Client(), st, testPolicy)
	at := time.Now().UTC().Add(8 * time.Second)
	var ids []string
	for range 5 {
		id, err := cases.Register(context.Background(), casefile.Case{
			Class: casefile.ClassCallbackRequest, Type: "CallbackRequest", CustomerID: "P1",
			Importance: "Standard", Categorry: "Cards", CallbackAt: &at,
		}, "")
		require.NoError(t, err)
		ids = append(ids, id)
	}

	w.Stop()
	require.NoError(t, first.server.Stop())
	second := startTemporal(t, logger, dbFile, hostPort)
	t.Cleanup(func() { _ = second.server.Stop() })
	w = startWorker(second.server.Client())
	t.Cleanup(w.Stop)

	require.EventuallyWithT(t, func(c *assert.CollectT) {
		for _, id := range ids {
			got, err := st.Case(context.Background(), id)
			if assert.NoError(c, err) {
				assert.Equal(c, casefile.CallbackDelivered, got.CallbackStatus, id)
			}
		}
	}, 60*time.Second, 200*time.Millisecond)
	for _, id := range ids {
		_, accepted := cc.snapshot(id)
		require.Len(t, accepted, 1, "callback of %s delivered exactly once", id)
	}
}
