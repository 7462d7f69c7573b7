package bench

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.uber.org/zap"

	"github.com/bank/caseservice/api"
	"github.com/bank/caseservice/config"
	"github.com/bank/caseservice/internal/platform/temporalclient"
	"github.com/bank/caseservice/store"
	caseworker "github.com/bank/caseservice/worker"
)

// The Temporal baseline is the floor of the API's create path: a workflow
// started by Update-With-Start whose update handler waits for one activity
// doing one INSERT. It runs on its own task queue, in this process.
const (
	baselineTaskQueue = "load-baseline"
	baselineWorkflow  = "LoadBaseline"
	baselineActivity  = "LoadBaselineInsert"
	baselineUpdate    = "await-insert"
)

func loadBaselineWorkflow(ctx workflow.Context, id string) error {
	inserted := false
	if err := workflow.SetUpdateHandler(ctx, baselineUpdate, func(ctx workflow.Context) error {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
		err := workflow.ExecuteActivity(ctx, baselineActivity, id).Get(ctx, nil)
		inserted = true
		return err
	}); err != nil {
		return err
	}
	return workflow.Await(ctx, func() bool { return inserted && workflow.AllHandlersFinished(ctx) })
}

type baselineInserter struct{ pool *pgxpool.Pool }

func (b baselineInserter) insert(ctx context.Context, id string) error {
	_, err := b.pool.Exec(ctx, "INSERT INTO load_baseline (id) VALUES ($1) ON CONFLICT DO NOTHING", id)
	return err
}

// startTemporalBaseline starts the bare create path, its payloads encrypted
// as the service's are unless plain.
func startTemporalBaseline(ctx context.Context, cfg config.Config, rec *Recorder, registry *prometheus.Registry, plain bool) (Do, func(), error) {
	pool, err := store.Connect(ctx, cfg.DatabaseURL, cfg.DatabaseMaxConns, nil)
	if err != nil {
		return nil, nil, err
	}
	if _, err := pool.Exec(ctx, "CREATE TABLE IF NOT EXISTS load_baseline (id text PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now())"); err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("create load_baseline: %w", err)
	}
	tc, err := temporalclient.Dial(ctx, cfg.Temporal, temporalclient.Options{Logger: zap.NewNop(), Metrics: registry, PlainPayloads: plain})
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	// Polled as the case worker is polled, so that the two differ only in
	// what their workflows do.
	w := worker.New(tc, baselineTaskQueue, caseworker.ScaledPolling(worker.Options{}))
	w.RegisterWorkflowWithOptions(loadBaselineWorkflow, workflow.RegisterOptions{Name: baselineWorkflow})
	w.RegisterActivityWithOptions(baselineInserter{pool}.insert, activity.RegisterOptions{Name: baselineActivity})
	if err := w.Start(); err != nil {
		tc.Close()
		pool.Close()
		return nil, nil, err
	}
	var firstErr sync.Once
	runID := strconv.FormatInt(time.Now().UnixNano(), 36)
	do := func(ctx context.Context, seq int, scheduled time.Time) {
		id := "baseline-" + runID + "-" + strconv.Itoa(seq)
		op := tc.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
			ID: id, TaskQueue: baselineTaskQueue, WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		}, baselineWorkflow, id)
		handle, err := tc.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
			StartWorkflowOperation: op,
			UpdateOptions:          client.UpdateWorkflowOptions{UpdateName: baselineUpdate, WaitForStage: client.WorkflowUpdateStageCompleted},
		})
		if err == nil {
			err = handle.Get(ctx, nil)
		}
		o := Outcome{Status: 201}
		if err != nil {
			o = Outcome{Err: fmt.Errorf("update-with-start failed: %T", err)}
			firstErr.Do(func() { fmt.Fprintln(os.Stderr, "casectl: baseline:", err) })
		}
		rec.Record("create", time.Since(scheduled), o)
	}
	cleanup := func() {
		w.Stop()
		tc.Close()
		if _, err := pool.Exec(context.Background(), "DROP TABLE IF EXISTS load_baseline"); err != nil {
			fmt.Println("casectl: drop load_baseline:", err)
		}
		pool.Close()
	}
	return do, cleanup, nil
}

// The SQL baseline runs the reads the API serves straight on pgx: a case by
// primary key, and a customer's cases in a state, newest first, with the
// total count in the same query.
const (
	baselineGetSQL  = "SELECT * FROM cases WHERE case_id = $1"
	baselineListSQL = `SELECT *, count(*) OVER () AS total_count FROM cases
WHERE state = $1 AND customer_id = $2
ORDER BY registration_date DESC, case_id DESC LIMIT 20 OFFSET 0`
)

// baselineQuery is the SQL and arguments of read op ("get" or "list") of
// t, or for a list of filtered, the statement of the filtered listing.
func baselineQuery(op string, t readTarget, filtered *statement) (string, []any) {
	switch {
	case op == "list" && filtered != nil:
		return filtered.sql, filtered.args
	case op == "list":
		return baselineListSQL, []any{string(t.state), t.customer}
	}
	return baselineGetSQL, []any{t.id}
}

// statement is a prepared listing's SQL and arguments.
type statement struct {
	sql  string
	args []any
}

// listingStatement is the statement the API's store runs for the first page
// of a GET /cases query; nil for none.
func listingStatement(listFilter string) (*statement, error) {
	if listFilter == "" {
		return nil, nil
	}
	values, err := url.ParseQuery(listFilter)
	if err != nil {
		return nil, fmt.Errorf("--list-filter: %w", err)
	}
	q, err := api.ParseCaseListing(values)
	if err != nil {
		return nil, fmt.Errorf("--list-filter: %w", err)
	}
	sql, args := store.ListingStatement(q)
	return &statement{sql: sql, args: args}, nil
}

func startSQLBaseline(ctx context.Context, cfg config.Config, listFilter string, m mix, targets *readTargets, rec *Recorder) (Do, func(), error) {
	reads, err := readsOf(m, targets)
	if err != nil {
		return nil, nil, err
	}
	filtered, err := listingStatement(listFilter)
	if err != nil {
		return nil, nil, err
	}
	// The same pool size as the API's.
	pool, err := store.Connect(ctx, cfg.DatabaseURL, cfg.DatabaseMaxConns, nil)
	if err != nil {
		return nil, nil, err
	}
	do := func(ctx context.Context, _ int, scheduled time.Time) {
		op := reads.pick()
		t, _ := targets.pick()
		sql, args := baselineQuery(op, t, filtered)
		o := Outcome{Status: 200}
		rows, err := pool.Query(ctx, sql, args...)
		if err == nil {
			found := 0
			for rows.Next() {
				if _, err = rows.Values(); err != nil {
					break
				}
				found++
			}
			rows.Close()
			if err == nil {
				err = rows.Err()
			}
			if err == nil && op == "get" && found == 0 {
				o.Status = 404
				err = errors.New("404 Not Found")
			}
		}
		if err != nil && o.Status == 200 {
			o.Status = 0
		}
		if err != nil {
			o.Err = err
		}
		rec.Record(op, time.Since(scheduled), o)
	}
	return do, pool.Close, nil
}

// readsOf is the get and list part of m, which the read baselines run; there
// must be cases to read.
func readsOf(m mix, targets *readTargets) (mix, error) {
	if !m.reads() {
		return mix{}, errors.New("a read baseline needs get or list in --mix")
	}
	if _, ok := targets.pick(); !ok {
		return mix{}, errors.New("a read baseline found no cases to read; seed some (casectl seed)")
	}
	reads := mix{}
	for i, op := range m.ops {
		if op == "get" || op == "list" {
			reads.ops, reads.weights, reads.total = append(reads.ops, op), append(reads.weights, m.weights[i]), reads.total+m.weights[i]
		}
	}
	return reads, nil
}
