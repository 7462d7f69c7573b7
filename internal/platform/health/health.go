// Package health serves the liveness and readiness probes of the API and the
// worker.
package health

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"
)

// Check is one dependency and how to ask whether it answers.
type Check struct {
	Name  string
	Probe func(ctx context.Context) error
}

// Dependencies are the checks both processes make: Postgres and Temporal.
func Dependencies(pg interface{ Ping(context.Context) error }, temporal client.Client) []Check {
	return []Check{
		{Name: "postgres", Probe: pg.Ping},
		{Name: "temporal", Probe: func(ctx context.Context) error {
			_, err := temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		}},
	}
}

// probeTimeout bounds each probe; a dependency slower than that is not ready.
const probeTimeout = 2 * time.Second

type report struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

// Handler serves GET /healthz (the process runs) and GET /readyz (every
// check answers); /readyz names the failing checks, not their errors.
func Handler(checks []Check) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		write(w, http.StatusOK, report{Status: "alive"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		out := report{Status: "ready", Checks: map[string]string{}}
		status := http.StatusOK
		for _, c := range checks {
			ctx, cancel := context.WithTimeout(r.Context(), probeTimeout)
			err := c.Probe(ctx)
			cancel()
			if err != nil {
				out.Checks[c.Name], out.Status, status = "failing", "not ready", http.StatusServiceUnavailable
				continue
			}
			out.Checks[c.Name] = "ok"
		}
		write(w, status, out)
	})
	return mux
}

func write(w http.ResponseWriter, status int, r report) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(r)
}
