// Command caseapi serves the Customer Case API.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/bank/caseservice/api"
	"github.com/bank/caseservice/caseops"
	"github.com/bank/caseservice/config"
	"github.com/bank/caseservice/internal/platform/encryption"
	"github.com/bank/caseservice/internal/platform/health"
	"github.com/bank/caseservice/internal/platform/logging"
	"github.com/bank/caseservice/internal/platform/metrics"
	"github.com/bank/caseservice/internal/platform/startup"
	"github.com/bank/caseservice/store"
	"github.com/bank/caseservice/workflows"
)

func main() { startup.Main("caseapi", run) }

func run(ctx context.Context) error {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return err
	}
	measured := metrics.NewAPI()
	proc, err := startup.Open(ctx, cfg, startup.Options{Service: "caseapi", PprofAddr: cfg.PprofAddr, Metrics: measured.Registry()})
	if err != nil {
		return err
	}
	defer proc.Close()
	logger, pool, tc, tp := proc.Logger, proc.Pool, proc.Temporal, proc.Tracer
	accessLog, flushAccessLog, err := logging.Access(cfg.LogLevel, cfg.LogDevelopment, os.Stderr)
	if err != nil {
		return err
	}
	defer flushAccessLog() //nolint:errcheck // nothing to do if stderr is gone
	verifier, err := startup.Verifier(ctx, cfg.Auth, logger)
	if err != nil {
		return err
	}

	// Every API process with the ring signs and accepts the same page tokens.
	ring, _, err := encryption.LoadKeyRing(cfg.Temporal.Codec)
	if err != nil {
		return err
	}
	pageTokenKeys, err := ring.Derive(api.PageTokenPurpose)
	if err != nil {
		return err
	}

	st := store.New(pool)
	if cfg.DatabaseCaseReads > 0 {
		st = st.BatchReads(cfg.DatabaseCaseReads)
	}
	app := api.New(api.Options{
		Cases:           caseops.New(tc, st, policyOf(cfg.Lifecycle)),
		Idempotency:     st,
		RateLimit:       cfg.RateLimit,
		RateWindow:      cfg.RateWindow,
		CORSOrigins:     cfg.CORSOrigins,
		Metrics:         measured,
		Tracer:          tp,
		Health:          health.Handler(health.Dependencies(pool, tc)),
		Verifier:        verifier,
		Logger:          logger,
		AccessLog:       accessLog,
		RequestTimeout:  cfg.RequestTimeout,
		ResolutionCodes: cfg.ResolutionCodes,
		Routing:         cfg.Routing,
		PageTokenKeys:   pageTokenKeys,
	})
	go expireIdempotencyKeys(ctx, st, logger)
	served := make(chan error, 1)
	go func() { served <- app.Listen(cfg.HTTPAddr) }()
	logger.Info("API listening", zap.String("addr", cfg.HTTPAddr), zap.String("root", api.Root))
	select {
	case err := <-served:
		return fmt.Errorf("serve http: %w", err)
	case <-ctx.Done():
	}
	logger.Info("API stopping")
	if err := app.ShutdownWithTimeout(cfg.RequestTimeout); err != nil {
		return fmt.Errorf("shut down http: %w", err)
	}
	return nil
}

// policyOf is the policy new cases are registered under.
func policyOf(l config.Lifecycle) workflows.Policy {
	return workflows.Policy{
		AutoCloseAfter:   l.AutoCloseAfter,
		ResolveWithin:    l.ResolveWithin,
		CallbackMaxRetry: l.CallbackMaxRetry,
		NoticeMaxRetry:   l.NoticeMaxRetry,
		MaxHistoryEvents: l.MaxHistoryEvents,
	}
}

// expireIdempotencyKeys forgets kept answers past their retention, hourly.
func expireIdempotencyKeys(ctx context.Context, st *store.Store, logger *zap.Logger) {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		if n, err := st.ExpireIdempotencyKeys(ctx, api.IdempotencyRetention); err != nil && ctx.Err() == nil {
			logger.Warn("Expiring idempotency keys failed", zap.Error(err))
		} else if n > 0 {
			logger.Info("Expired idempotency keys", zap.Int64("count", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
