// Command caseworker runs the Temporal worker of the case workflows and their
// activities.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/bank/caseservice/activities"
	"github.com/bank/caseservice/config"
	"github.com/bank/caseservice/delivery"
	"github.com/bank/caseservice/internal/platform/health"
	"github.com/bank/caseservice/internal/platform/metrics"
	"github.com/bank/caseservice/internal/platform/startup"
	"github.com/bank/caseservice/store"
	caseworker "github.com/bank/caseservice/worker"
)

func main() { startup.Main("caseworker", run) }

func run(ctx context.Context) error {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return err
	}
	observed := metrics.NewWorker()
	proc, err := startup.Open(ctx, cfg, startup.Options{Service: "caseworker", PprofAddr: cfg.WorkerPprofAddr, Metrics: observed.Registry()})
	if err != nil {
		return err
	}
	defer proc.Close()
	logger, pool, tc := proc.Logger, proc.Pool, proc.Temporal

	st := store.New(pool)
	acts := newActivities(cfg.Delivery, st, logger)
	acts.Observe = observed
	// The SDK's cache is per process and must be sized before a worker exists.
	worker.SetStickyWorkflowCacheSize(cfg.WorkerCacheSize)
	opts := worker.Options{}
	if n := cfg.WorkerPollers; n > 0 {
		opts.MaxConcurrentWorkflowTaskPollers, opts.MaxConcurrentActivityTaskPollers = n, n
	}
	w := caseworker.New(tc, acts, opts)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	logger.Info("Worker started", zap.String("temporal", cfg.Temporal.Address), zap.String("namespace", cfg.Temporal.Namespace))

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", observed.Handler())
	mux.Handle("/", health.Handler(health.Dependencies(pool, tc)))
	probes := &http.Server{Addr: cfg.WorkerHTTPAddr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- probes.ListenAndServe() }()
	select {
	case err := <-served:
		w.Stop()
		return fmt.Errorf("serve health probes on %s: %w", cfg.WorkerHTTPAddr, err)
	case <-ctx.Done():
	}
	logger.Info("Worker stopping")
	w.Stop()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return probes.Shutdown(shutdownCtx)
}

// newActivities wires each kind of delivery to its webhook, or to the outbox
// where none is configured, and email notices to SMTP where a host is set.
func newActivities(cfg config.Delivery, st *store.Store, logger *zap.Logger) *activities.Activities {
	httpClient := &http.Client{Timeout: 20 * time.Second}
	outbox := &delivery.Outbox{Store: st, Logger: logger}
	sender := func(w config.Webhook) activities.Sender {
		if w.URL == "" {
			return outbox
		}
		return &delivery.Webhook{URL: w.URL, Secret: []byte(w.Secret), Client: httpClient}
	}
	acts := &activities.Activities{
		Recorder:    st,
		Callbacks:   sender(cfg.Callback),
		Escalations: sender(cfg.Escalation),
		Notices:     sender(cfg.Notice),
	}
	if cfg.SMTP.Host != "" {
		acts.Mail = &delivery.Mailer{SMTP: cfg.SMTP}
	}
	return acts
}
