// Command casecodec is the operators' codec server: the Temporal UI and CLI
// send it the encrypted payloads of cases and get them back readable, for
// holders of a case:decode token only.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/bank/caseservice/config"
	"github.com/bank/caseservice/internal/codecserver"
	"github.com/bank/caseservice/internal/platform/encryption"
	"github.com/bank/caseservice/internal/platform/health"
	"github.com/bank/caseservice/internal/platform/logging"
	"github.com/bank/caseservice/internal/platform/startup"
)

func main() { startup.Main("casecodec", run) }

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
	codec, created, err := encryption.FromConfig(cfg.Temporal.Codec, encryption.Options{})
	if err != nil {
		return err
	}
	if created {
		logger.Warn("Created a dev codec key ring; set CASE_CODEC_KEYS or CASE_CODEC_KEYS_FILE in production", zap.String("file", cfg.Temporal.Codec.KeysFile))
	}
	verifier, err := startup.Verifier(ctx, cfg.Auth, logger)
	if err != nil {
		return err
	}
	if cfg.Auth.DevIssuer && len(cfg.CodecServer.Origins) > 0 {
		logger.Warn("Decoding for the dev UI without a token; never in production", zap.Strings("origins", cfg.CodecServer.Origins))
	}
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", health.Handler(nil))
	mux.Handle("GET /readyz", health.Handler(nil))
	mux.Handle("/", codecserver.New(codecserver.Options{
		Codec:            codec,
		Verifier:         verifier,
		Namespace:        cfg.Temporal.Namespace,
		Origins:          cfg.CodecServer.Origins,
		DevUI:            cfg.Auth.DevIssuer,
		DecodesPerMinute: cfg.CodecServer.DecodesPerMinute,
		Audit:            logger.Named("audit"),
		Logger:           logger,
	}))
	srv := &http.Server{Addr: cfg.CodecServer.Addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe() }()
	logger.Info("Codec server listening", zap.String("addr", cfg.CodecServer.Addr), zap.String("namespace", cfg.Temporal.Namespace))
	select {
	case err := <-served:
		return fmt.Errorf("serve codec on %s: %w", cfg.CodecServer.Addr, err)
	case <-ctx.Done():
	}
	logger.Info("Codec server stopping")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}
