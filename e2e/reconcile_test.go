package e2e

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/internal/reconcile"
	"github.com/bank/caseservice/store"
)

// TestReconcileFindsAndRepairsDrift restores "a backup" under running cases:
// one row behind its workflow, one row gone with its last history row, one
// row ahead. The reconciler reports each, repairs the first two from the
// workflow (history row included) and leaves the third.
func TestReconcileFindsAndRepairsDrift(t *testing.T) {
	s := startStack(t, stackOptions{})
	ctx := context.Background()
	var ids []string
	for _, customer := range []string{"C-1", "C-2", "C-3", "C-4"} {
		status, body := s.call(t, "POST", "/complaints", map[string]any{"customer-id": customer})
		require.Equal(t, http.StatusCreated, status, body)
		ids = append(ids, body["id"].(string))
	}
	status, body := s.call(t, "PUT", "/cases/"+ids[0], map[string]any{"state": "Resolved", "resolution": "refunded"})
	require.Equal(t, http.StatusOK, status, body)
	status, body = s.call(t, "DELETE", "/cases/"+ids[3], map[string]any{"resolution": "withdrawn"})
	require.Equal(t, http.StatusOK, status, body)

	rec := reconcile.New(s.temporal, s.store)
	require.Eventually(t, func() bool {
		running, err := rec.RunningCases(ctx)
		require.NoError(t, err)
		return slices.Contains(running, ids[0]) && slices.Contains(running, ids[1]) && slices.Contains(running, ids[2])
	}, 10*time.Second, 100*time.Millisecond, "visibility lists the running case workflows")

	rep, err := rec.Reconcile(ctx, ids, reconcile.Options{Concurrency: 2})
	require.NoError(t, err)
	require.Empty(t, rep.Drifted, "a closed case whose workflow finished is no drift either")
	require.Equal(t, 4, rep.Checked)

	_, err = s.pool.Exec(ctx, "UPDATE cases SET version = 1, state = 'Accepted' WHERE case_id = $1", ids[0])
	require.NoError(t, err)
	_, err = s.pool.Exec(ctx, "DELETE FROM cases WHERE case_id = $1", ids[1])
	require.NoError(t, err)
	_, err = s.pool.Exec(ctx, "DELETE FROM case_history WHERE case_id = $1", ids[1])
	require.NoError(t, err)
	_, err = s.pool.Exec(ctx, "UPDATE cases SET version = 9 WHERE case_id = $1", ids[2])
	require.NoError(t, err)

	kinds := func(rep reconcile.Report) map[string]string {
		out := map[string]string{}
		for _, d := range rep.Drifted {
			out[d.CaseID] = d.Kind
		}
		return out
	}
	rep, err = rec.Reconcile(ctx, ids, reconcile.Options{Concurrency: 2, Settle: 100 * time.Millisecond})
	require.NoError(t, err)
	want := map[string]string{ids[0]: reconcile.RowBehind, ids[1]: reconcile.RowMissing, ids[2]: reconcile.RowAhead}
	require.Equal(t, want, kinds(rep))
	require.Zero(t, rep.Repaired, "nothing is written without --repair")

	rep, err = rec.Reconcile(ctx, ids, reconcile.Options{Concurrency: 2, Repair: true})
	require.NoError(t, err)
	require.Equal(t, want, kinds(rep))
	require.Equal(t, 2, rep.Repaired)
	restored, err := s.store.CasesByID(ctx, ids[:2])
	require.NoError(t, err)
	require.Equal(t, casefile.StateResolved, restored[ids[0]].State)
	require.EqualValues(t, 2, restored[ids[0]].Version)
	require.Equal(t, "C-2", restored[ids[1]].CustomerID)
	require.Equal(t, map[int64]int{1: 1}, s.historyRows(t, ids[1]), "the lost history row is written back")
	entries, err := s.store.History(ctx, store.HistoryQuery{CaseID: ids[1], Page: store.Page{Number: 1, Size: 10}})
	require.NoError(t, err)
	require.Equal(t, casefile.ChangeRegistered, entries.Entries[0].Change)
	require.Equal(t, map[int64]int{1: 1, 2: 1}, s.historyRows(t, ids[0]), "existing history rows are left alone")

	rep, err = rec.Reconcile(ctx, ids, reconcile.Options{Concurrency: 2})
	require.NoError(t, err)
	require.Equal(t, map[string]string{ids[2]: reconcile.RowAhead}, kinds(rep), "a row ahead of its workflow is left for an operator")
}
