// Package startup opens what the API and the worker both run on: logs,
// profiling, traces, Postgres and Temporal.
package startup

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/bank/caseservice/config"
	"github.com/bank/caseservice/internal/platform/logging"
	"github.com/bank/caseservice/internal/platform/profiling"
	"github.com/bank/caseservice/internal/platform/temporalclient"
	"github.com/bank/caseservice/internal/platform/tracing"
	"github.com/bank/caseservice/store"
)

// Process is a started service process's shared dependencies.
type Process struct {
	Logger   *zap.Logger
	Tracer   trace.TracerProvider
	Pool     *pgxpool.Pool
	Temporal client.Client
	closers  []func()
}

// Options say what differs between the processes.
type Options struct {
	// Service names the process in traces.
	Service string
	// PprofAddr serves net/http/pprof there; empty: not at all.
	PprofAddr string
	// Metrics receives the Temporal SDK's metrics.
	Metrics *prometheus.Registry
}

// Open starts logging, profiling and tracing and connects to Postgres and
// Temporal. On error, what it opened is closed again.
func Open(ctx context.Context, cfg config.Config, opts Options) (_ *Process, err error) {
	p := &Process{}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	if p.Logger, err = logging.New(cfg.LogLevel, cfg.LogDevelopment); err != nil {
		return nil, err
	}
	p.closers = append(p.closers, func() { _ = p.Logger.Sync() }) // nothing to do if stderr is gone
	profiling.Serve(ctx, opts.PprofAddr, p.Logger)

	tp, flushTraces, err := tracing.Provider(ctx, os.Getenv, opts.Service)
	if err != nil {
		return nil, err
	}
	p.Tracer = tp
	p.closers = append(p.closers, func() { _ = flushTraces(context.Background()) }) // best effort at exit
	if p.Pool, err = store.Connect(ctx, cfg.DatabaseURL, cfg.DatabaseMaxConns, tracing.SQL(tp)); err != nil {
		return nil, err
	}
	p.closers = append(p.closers, p.Pool.Close)
	p.Temporal, err = temporalclient.Dial(ctx, cfg.Temporal, temporalclient.Options{Logger: p.Logger, Metrics: opts.Metrics, Tracer: tp})
	if err != nil {
		return nil, err
	}
	p.closers = append(p.closers, p.Temporal.Close)
	return p, nil
}

// Close closes what Open opened, last first.
func (p *Process) Close() {
	for i := len(p.closers) - 1; i >= 0; i-- {
		p.closers[i]()
	}
}

// Main runs run until SIGINT or SIGTERM cancels its context, and exits 1 with
// run's error, prefixed by the command's name.
func Main(name string, run func(context.Context) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}
