// Command caseapi serves the Customer Case API.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/lestrrat-go/httprc/v3"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"go.uber.org/zap"

	"github.com/bank/caseservice/api"
	"github.com/bank/caseservice/caseops"
	"github.com/bank/caseservice/config"
	"github.com/bank/caseservice/devissuer"
	"github.com/bank/caseservice/logging"
	"github.com/bank/caseservice/store"
	"github.com/bank/caseservice/temporalclient"
	"github.com/bank/caseservice/workflows"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "caseapi:", err)
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

	keys, err := tokenKeys(ctx, cfg.Auth)
	if err != nil {
		return err
	}
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

	app := api.New(api.Options{
		Cases:          caseops.New(tc, store.New(pool), policyOf(cfg.Lifecycle)),
		Verifier:       api.NewTokenVerifier(keys, cfg.Auth.Issuer, cfg.Auth.Audience),
		Logger:         logger,
		RequestTimeout: cfg.RequestTimeout,
	})
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

// tokenKeys is the key set bearer tokens are checked against: the identity
// provider's JWKS, refreshed in the background, or the dev issuer's key.
func tokenKeys(ctx context.Context, auth config.Auth) (jwk.Set, error) {
	if auth.JWKSURL == "" {
		issuer, err := devissuer.Load(auth.DevKeyFile, auth.Issuer, auth.Audience)
		if err != nil {
			return nil, err
		}
		return issuer.PublicKeys()
	}
	cache, err := jwk.NewCache(ctx, httprc.NewClient())
	if err != nil {
		return nil, fmt.Errorf("jwks cache: %w", err)
	}
	registerCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := cache.Register(registerCtx, auth.JWKSURL, jwk.WithMinInterval(time.Minute)); err != nil {
		return nil, fmt.Errorf("fetch jwks %s: %w", auth.JWKSURL, err)
	}
	set, err := cache.CachedSet(auth.JWKSURL)
	if err != nil {
		return nil, errors.Join(errors.New("jwks cache"), err)
	}
	return set, nil
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
