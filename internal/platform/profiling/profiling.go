// Package profiling serves Go's pprof endpoints on an address of their own, off
// by default.
package profiling

import (
	"context"
	"errors"
	"net/http"
	"net/http/pprof"
	"runtime"
	"time"

	"go.uber.org/zap"
)

// Serve serves /debug/pprof/ on addr until ctx ends. An empty addr serves
// nothing and stops heap sampling, which no one could read: its table of call
// stacks held ~0.5 MB of the API's resident memory (docs/BENCHMARKS.md, P4).
// Call it first thing; what is allocated before it is sampled.
func Serve(ctx context.Context, addr string, logger *zap.Logger) {
	if addr == "" {
		runtime.MemProfileRate = 0
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	go func() {
		logger.Info("Serving pprof", zap.String("addr", addr))
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("pprof server stopped", zap.Error(err))
		}
	}()
}
