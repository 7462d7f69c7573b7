package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/bank/caseservice/config"
	"github.com/bank/caseservice/internal/platform/devissuer"
	"github.com/bank/caseservice/store"
)

// benchCallbacks schedules callbacks through the API, spread over a window,
// and reports how late each reached the outbox against its requested time.
// It needs a running stack whose callbacks go to the outbox (make dev).
func benchCommand(cfg config.Config) *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:   "bench-callbacks",
		Short: "Schedule many callbacks through a running stack and report delivery lateness",
		Long: "Creates callbacks through the API, spread over a window, waits until each is in the outbox\n" +
			"and reports how late it got there against its requested time. Needs a running make dev.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.count < 1 || o.concurrency < 1 {
				return errors.New("--count and --concurrency must be positive")
			}
			return benchCallbacks(cmd.Context(), cfg, o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.apiURL, "api", "http://127.0.0.1:8080/v1/case", "Case API root")
	f.IntVar(&o.count, "count", 1000, "callbacks to schedule")
	f.DurationVar(&o.within, "within", time.Minute, "window the callback times are spread over")
	f.DurationVar(&o.lead, "lead", 45*time.Second, "time from now to the window's start, to finish creating first")
	f.IntVar(&o.concurrency, "concurrency", 16, "creates in flight")
	f.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up after this long")
	return cmd
}

type benchOptions struct {
	apiURL      string
	count       int
	within      time.Duration
	lead        time.Duration
	concurrency int
	timeout     time.Duration
}

func benchCallbacks(ctx context.Context, cfg config.Config, o benchOptions, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	issuer, err := devissuer.Load(cfg.Auth.DevKeyFile, cfg.Auth.Issuer, cfg.Auth.Audience)
	if err != nil {
		return err
	}
	token, err := issuer.Token(devissuer.Claims{Subject: "bench", Scopes: []string{"case:write"}, TTL: o.timeout})
	if err != nil {
		return err
	}
	pool, err := store.Connect(ctx, cfg.DatabaseURL, 2, nil)
	if err != nil {
		return err
	}
	defer pool.Close()
	st := store.New(pool)

	start := time.Now().Add(o.lead).Truncate(time.Millisecond)
	requested := make(map[string]time.Time, o.count) // idempotency key -> requested time
	var mu sync.Mutex
	var failed error
	creating, stopCreating := context.WithCancel(ctx)
	defer stopCreating()
	client := &http.Client{Timeout: 30 * time.Second}
	created := time.Now()
	_, err = Run(creating, Plan{Concurrency: o.concurrency, Count: o.count}, func(ctx context.Context, i int, _ time.Time) {
		at := start.Add(time.Duration(int64(o.within) * int64(i) / int64(o.count)))
		id, err := createCallback(ctx, client, o.apiURL, token, at)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			// The first failure ends the run; creates it cut short fail after it.
			if failed == nil {
				failed = err
				stopCreating()
			}
			return
		}
		requested[id+"/callback/1"] = at
	})
	if err == nil {
		err = failed
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "created %d callbacks in %s; due from %s over %s\n", o.count, time.Since(created).Round(time.Millisecond),
		start.Format(time.RFC3339), o.within)
	if time.Now().After(start) {
		fmt.Fprintln(out, "warning: creating took longer than --lead; early callbacks were due before they existed")
	}

	keys := make([]string, 0, len(requested))
	for k := range requested {
		keys = append(keys, k)
	}
	var delivered map[string]time.Time
	for {
		if delivered, err = st.OutboxTimes(ctx, keys); err != nil {
			return err
		}
		if len(delivered) == len(keys) {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d callbacks delivered before the timeout", len(delivered), len(keys))
		case <-time.After(time.Second):
		}
	}
	lateness := make([]time.Duration, 0, len(keys))
	for k, at := range requested {
		lateness = append(lateness, delivered[k].Sub(at))
	}
	slices.Sort(lateness)
	pct := func(p float64) time.Duration { return lateness[int(p*float64(len(lateness)-1))] }
	fmt.Fprintf(out, "delivery lateness over %d callbacks: min %s  p50 %s  p99 %s  max %s\n", len(lateness),
		lateness[0].Round(time.Millisecond), pct(0.50).Round(time.Millisecond), pct(0.99).Round(time.Millisecond),
		lateness[len(lateness)-1].Round(time.Millisecond))
	return nil
}

func createCallback(ctx context.Context, client *http.Client, apiURL, token string, at time.Time) (string, error) {
	body, _ := json.Marshal(map[string]string{
		"callback-request-time": at.UTC().Format(time.RFC3339Nano), "categorry": "Cards", "party-id": "bench",
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(apiURL, "/")+"/callback-requests", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("create callback: %w", err)
	}
	defer resp.Body.Close()
	var answer struct {
		ID string `json:"id"`
	}
	if resp.StatusCode != http.StatusCreated {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return "", fmt.Errorf("create callback: %s: %s", resp.Status, raw)
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return "", fmt.Errorf("create callback: %w", err)
	}
	return answer.ID, nil
}
