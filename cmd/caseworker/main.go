// Command caseworker runs the Temporal worker that executes case workflows
// and writes cases to Postgres.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/bank/caseservice/activities"
	"github.com/bank/caseservice/config"
	"github.com/bank/caseservice/logging"
	"github.com/bank/caseservice/store"
	"github.com/bank/caseservice/temporalclient"
	caseworker "github.com/bank/caseservice/worker"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "caseworker:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return err
	}
	logger, err := logging.New(cfg.LogLevel, cfg.LogDevelopment)
	if err != nil {
		return err
	}
	defer logger.Sync() //nolint:errcheck // nothing to do if stderr is gone

	pool, err := store.Connect(ctx, cfg.DatabaseURL, cfg.DatabaseMaxConns)
	if err != nil {
		return err
	}
	defer pool.Close()
	tc, err := temporalclient.Dial(ctx, cfg.Temporal, logger)
	if err != nil {
		return err
	}
	defer tc.Close()

	w := caseworker.New(tc, &activities.Activities{Recorder: store.New(pool)}, worker.Options{})
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	logger.Info("Worker started", zap.String("temporal", cfg.Temporal.Address), zap.String("namespace", cfg.Temporal.Namespace))
	<-ctx.Done()
	logger.Info("Worker stopping")
	w.Stop()
	return nil
}
