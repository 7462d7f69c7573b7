// Package startup opens what the API and the worker both run on: logs,
// profiling, traces, Postgres and Temporal.
package startup

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/bank/caseservice/config"
	"github.com/bank/caseservice/internal/platform/auth"
	"github.com/bank/caseservice/internal/platform/devissuer"
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

// Verifier checks bearer tokens as configured, the same way in every
// process that takes them (the API and the codec server).
func Verifier(ctx context.Context, cfg config.Auth, logger *zap.Logger) (*auth.Verifier, error) {
	keys, err := tokenKeys(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	return auth.NewVerifier(auth.Options{
		Keys: keys, Issuer: cfg.Issuer, Audience: cfg.Audience,
		Algorithms: cfg.Algorithms, Leeway: cfg.Leeway,
		CacheSize: cfg.CacheSize, CacheMaxAge: cfg.CacheMaxAge,
	}), nil
}

// tokenKeys is what bearer tokens are checked against: the dev issuer's key,
// or the identity provider's JWKS (named, or found by OpenID discovery).
func tokenKeys(ctx context.Context, cfg config.Auth, logger *zap.Logger) (auth.Keys, error) {
	if cfg.DevIssuer {
		logger.Warn("Trusting the dev token issuer; set AUTH_ISSUER and leave AUTH_DEV_ISSUER unset in production",
			zap.String("key-file", cfg.DevKeyFile))
		issuer, err := devissuer.Load(cfg.DevKeyFile, cfg.Issuer, cfg.Audience)
		if err != nil {
			return nil, err
		}
		set, err := issuer.PublicKeys()
		return auth.StaticKeys{Keys: set}, err
	}
	fetchCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	url := cfg.JWKSURL
	if url == "" {
		var err error
		if url, err = auth.Discover(fetchCtx, &http.Client{Timeout: 10 * time.Second}, cfg.Issuer); err != nil {
			return nil, err
		}
	}
	return auth.NewRemoteKeys(ctx, url, cfg.KeyRefreshMin)
}
