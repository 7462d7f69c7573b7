package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/bank/caseservice/config"
	"github.com/bank/caseservice/internal/platform/devissuer"
)

type loadOptions struct {
	apiURL     string
	mix        string
	plan       Plan
	warmup     time.Duration
	asJSON     bool
	noProgress bool
	retries    int
	timeout    time.Duration
	subjects   int
	token      string
	sample     int
	callbackIn time.Duration
	ledgerFile string
	baseline   string
	rounds     int
	workerURL  string
	timeline   string
	// listFilter, if set, is the GET /cases query of every list, in place
	// of a customer's page.
	listFilter string
}

// Bounds that keep a load run from running away.
const (
	maxLoadDuration = 2 * time.Hour
	maxLoadCount    = 10_000_000
)

func loadCommand(cfg config.Config) *cobra.Command {
	var o loadOptions
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Drive the running API with a mix of requests and report throughput and latency",
		Long: "Sends a weighted mix of operations to the Case API given by --api and nowhere else:\n" +
			"create (complaints, service and callback requests in turn), update (resolve or reopen),\n" +
			"close, attach, get (by id) and list (a customer's cases in a state). Writes touch only\n" +
			"cases this run created, each owned by one caller at a time, and carry Idempotency-Keys,\n" +
			"so --retries repeats them safely. Closed loop at --concurrency, or open loop at --rate.\n" +
			"--baseline temporal|sql|http first runs the same plan without the API (see docs/BENCHMARKS.md).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case o.plan.Duration > maxLoadDuration || o.warmup > maxLoadDuration:
				return fmt.Errorf("--duration and --warmup are at most %s", maxLoadDuration)
			case o.warmup < 0:
				return errors.New("--warmup must not be negative")
			case len(apiRoots(o.apiURL)) == 0:
				return errors.New("--api needs at least one API root")
			case o.plan.Count > maxLoadCount:
				return fmt.Errorf("--count is at most %d", maxLoadCount)
			case o.subjects < 1 || o.retries < 0 || o.sample < 0 || o.rounds < 1 || o.rounds > 10:
				return errors.New("--subjects must be positive, --rounds 1 to 10, --retries and --sample not negative")
			case o.baseline != "" && o.baseline != "temporal" && o.baseline != "sql" && o.baseline != "http" && o.baseline != "codec":
				return fmt.Errorf("--baseline %q: want temporal, sql, http or codec", o.baseline)
			}
			if err := o.plan.Validate(); err != nil {
				return err
			}
			m, err := parseMix(o.mix)
			if err != nil {
				return err
			}
			return runLoad(cmd.Context(), cfg, o, m, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.apiURL, "api", "http://127.0.0.1:8080/v1/case", "Case API root, or several separated by commas (requests take turns, a retry goes to the next); the only addresses requests go to")
	f.StringVar(&o.mix, "mix", "create=60,update=20,close=10,attach=10", "weights of create, update, close, attach, get, list")
	f.IntVar(&o.plan.Concurrency, "concurrency", 32, "callers (closed loop), or most requests in flight with --rate")
	f.Float64Var(&o.plan.Rate, "rate", 0, "requests started per second (open loop); 0 for a closed loop")
	f.DurationVar(&o.plan.Duration, "duration", 30*time.Second, "stop starting requests after this long (0: only --count)")
	f.IntVar(&o.plan.Count, "count", 0, "stop after this many requests (0: only --duration)")
	f.DurationVar(&o.warmup, "warmup", 0, "run the plan this long, unrecorded, before each measured run (new connections and cold caches stay out of the figures)")
	f.BoolVar(&o.asJSON, "json", false, "print the report as JSON")
	f.BoolVar(&o.noProgress, "no-progress", false, "no progress bar (it is off anyway when stderr is not a terminal)")
	f.IntVar(&o.retries, "retries", 0, "retry a request that got no answer, a 5xx, a 429 or a 409 with Retry-After, up to this often")
	f.DurationVar(&o.timeout, "timeout", 30*time.Second, "per-attempt request timeout")
	f.IntVar(&o.subjects, "subjects", 32, "distinct agents (token subjects) the requests come from")
	f.StringVar(&o.token, "token", os.Getenv("CASE_TOKEN"), "bearer token to use instead of dev-issuer tokens (default $CASE_TOKEN)")
	f.IntVar(&o.sample, "sample", 3000, "existing cases to sample through the API as targets of get and list")
	f.DurationVar(&o.callbackIn, "callback-in", 2*time.Minute, "how far ahead created callbacks are due")
	f.StringVar(&o.ledgerFile, "ledger", "", "write every case this run created and the state its last 2xx write set, for casectl verify")
	f.StringVar(&o.baseline, "baseline", "", "also run the plan without the API first: temporal (creates), sql (get, list on pgx) or http (get, list on pgx behind a bare HTTP server); codec runs the temporal baseline unencrypted against itself encrypted, in the API's place")
	f.StringVar(&o.listFilter, "list-filter", "", "list with this GET /cases query (e.g. queue=cards&sort=resolve-by) instead of a sampled customer's page in a state; the sql and http baselines run the store's statement for it")
	f.IntVar(&o.rounds, "rounds", 1, "run baseline and API this many times, baseline first in odd rounds and API first in even ones, and report the median ratios (state on the servers grows between phases)")
	f.StringVar(&o.timeline, "timeline", "", "write the 2xx answers and the failed attempts of every second, as JSON lines, for casectl recovery")
	f.StringVar(&o.workerURL, "worker-metrics", "", "worker /metrics URL whose RSS to report as well, e.g. http://127.0.0.1:8081/metrics")
	return cmd
}

// loadResult is what --json prints.
type loadResult struct {
	Runs []Report `json:"runs"`
	// Rounds are the API/baseline ratios of each round, Ratios their medians.
	Rounds []map[string]float64 `json:"rounds,omitempty"`
	Ratios map[string]float64   `json:"ratios,omitempty"`
	// RSS are the highest resident set sizes seen during the API run, in MiB.
	RSS map[string]float64 `json:"rss-mib,omitempty"`
}

func runLoad(ctx context.Context, cfg config.Config, o loadOptions, m mix, out, progressOut io.Writer) error {
	tokens, err := loadTokens(cfg, o)
	if err != nil {
		return err
	}
	api := newAPILoad(o, m, tokens)
	if m.reads() {
		if err := api.sampleTargets(ctx, o.sample); err != nil {
			return err
		}
	}
	showProgress := !o.noProgress && isTerminal(progressOut)

	var result loadResult
	rss := newRSSWatch(map[string]string{"api": metricsURL(api.bases[0]), "worker": o.workerURL})
	stages := apiStages(o, m)
	for round := 1; round <= o.rounds; round++ {
		suffix := ""
		if o.rounds > 1 {
			suffix = fmt.Sprintf(" (round %d)", round)
		}
		runAPI := func() (Report, error) {
			api.newPhase(fmt.Sprintf("w%d", round))
			if err := warmUp(ctx, o.plan, o.warmup, api.do); err != nil {
				return Report{}, err
			}
			api.newPhase(fmt.Sprintf("r%d", round))
			stopWatch := rss.watch(ctx)
			defer stopWatch()
			stages.start()
			rep, err := runPhase(ctx, "api"+suffix, o.plan, api.rec, api.do, showProgress, progressOut)
			rep.Stages = stages.report()
			return rep, err
		}
		if o.baseline == "" {
			rep, err := runAPI()
			if err != nil {
				return err
			}
			result.Runs = append(result.Runs, rep)
			continue
		}
		// Odd rounds run the baseline first, even rounds the API, so that
		// neither always meets the state the other left behind.
		var base, rep Report
		first, second := func() error {
			var err error
			base, err = runBaseline(ctx, cfg, o, m, tokens, api.targets, "baseline "+o.baseline+suffix, showProgress, progressOut)
			return err
		}, func() error {
			var err error
			if o.baseline == "codec" {
				// The codec's cost: the same bare path, encrypted, in the API's place.
				encrypted := o
				encrypted.baseline = "codec-encrypted"
				rep, err = runBaseline(ctx, cfg, encrypted, m, tokens, api.targets, "baseline encrypted"+suffix, showProgress, progressOut)
				return err
			}
			rep, err = runAPI()
			return err
		}
		if round%2 == 0 {
			first, second = second, first
		}
		if err := first(); err != nil {
			return err
		}
		if err := second(); err != nil {
			return err
		}
		if round%2 == 0 {
			result.Runs = append(result.Runs, rep, base)
		} else {
			result.Runs = append(result.Runs, base, rep)
		}
		result.Rounds = append(result.Rounds, ratios(o.baseline, base, rep))
	}
	result.RSS = rss.peaks()
	result.Ratios = medians(result.Rounds)
	if o.ledgerFile != "" {
		if err := api.ledger.save(o.ledgerFile); err != nil {
			return err
		}
	}
	if o.timeline != "" {
		if err := api.timeline.save(o.timeline); err != nil {
			return err
		}
	}
	if o.asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(result)
	}
	for _, run := range result.Runs {
		if err := run.WriteText(out); err != nil {
			return err
		}
		fmt.Fprintln(out)
	}
	for _, name := range []string{"api", "worker"} {
		if mib, ok := result.RSS[name]; ok {
			fmt.Fprintf(out, "%s peak RSS during the run: %.1f MiB\n", name, mib)
		}
	}
	if len(result.Rounds) > 1 {
		for i, r := range result.Rounds {
			fmt.Fprintf(out, "round %d:\n", i+1)
			for _, line := range ratioLines(r) {
				fmt.Fprintln(out, "  "+line)
			}
		}
		fmt.Fprintf(out, "median of %d rounds:\n", len(result.Rounds))
	}
	for _, r := range ratioLines(result.Ratios) {
		fmt.Fprintln(out, r)
	}
	if o.ledgerFile != "" {
		fmt.Fprintf(out, "ledger of %d cases written to %s\n", api.ledger.size(), o.ledgerFile)
	}
	return nil
}

// apiStages watches the stages of the API's creates, when the mix has them,
// on the API's /metrics and the worker's, if given.
func apiStages(o loadOptions, m mix) *stageWatch {
	sources := map[string]prometheus.Gatherer{}
	if m.has("create") {
		client := &http.Client{Timeout: 5 * time.Second}
		sources["api"] = remoteMetrics{url: metricsURL(apiRoots(o.apiURL)[0]), client: client}
		if o.workerURL != "" {
			sources["worker"] = remoteMetrics{url: o.workerURL, client: client}
		}
	}
	return newStageWatch(createStages, sources)
}

// runBaseline runs the plan once without the API.
func runBaseline(ctx context.Context, cfg config.Config, o loadOptions, m mix, tokens []string, targets *readTargets, name string, showProgress bool, progressOut io.Writer) (Report, error) {
	rec := NewRecorder()
	var do Do
	var cleanup func()
	var err error
	stages := newStageWatch(nil, nil)
	switch o.baseline {
	case "temporal", "codec", "codec-encrypted":
		registry := prometheus.NewRegistry()
		stages = newStageWatch(baselineStages, map[string]prometheus.Gatherer{"baseline": registry})
		do, cleanup, err = startTemporalBaseline(ctx, cfg, rec, registry, o.baseline == "codec")
	case "sql":
		do, cleanup, err = startSQLBaseline(ctx, cfg, o.listFilter, m, targets, rec)
	case "http":
		do, cleanup, err = startHTTPBaseline(o, m, tokens, targets, rec)
	}
	if err != nil {
		return Report{}, err
	}
	defer cleanup()
	if err := warmUp(ctx, o.plan, o.warmup, do); err != nil {
		return Report{}, err
	}
	rec.Reset()
	stages.start()
	rep, err := runPhase(ctx, name, o.plan, rec, do, showProgress, progressOut)
	rep.Stages = stages.report()
	return rep, err
}

// warmUp runs the plan's arrivals for d before a measured run: the first
// second of a run pays for new connections (TLS handshakes, new Postgres
// backends, token checks) and would otherwise set the p99 of a short run.
func warmUp(ctx context.Context, plan Plan, d time.Duration, do Do) error {
	if d <= 0 {
		return nil
	}
	plan.Duration, plan.Count = d, 0
	_, err := Run(ctx, plan, do)
	return err
}

func runPhase(ctx context.Context, name string, plan Plan, rec *Recorder, do Do, showProgress bool, progressOut io.Writer) (Report, error) {
	stop := func() {}
	if showProgress {
		stop = showBar(name, plan, rec, progressOut)
	}
	if plan.Rate > 0 { // only an open loop has a schedule to fall behind
		run := do
		do = func(ctx context.Context, seq int, due time.Time) {
			rec.Started(time.Since(due))
			run(ctx, seq, due)
		}
	}
	elapsed, err := Run(ctx, plan, do)
	stop()
	if err != nil {
		return Report{}, err
	}
	rep := rec.Report(name, elapsed)
	rep.Concurrency, rep.Rate = plan.Concurrency, plan.Rate
	return rep, nil
}

// showBar draws a progress bar over the run's count, or its duration, until
// the returned function is called.
func showBar(name string, plan Plan, rec *Recorder, w io.Writer) func() {
	total := int64(plan.Count)
	byTime := plan.Count == 0
	if byTime {
		total = plan.Duration.Milliseconds()
	}
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(name),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	start := time.Now()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				_ = bar.Finish()
				return
			case <-tick.C:
				n, failed := rec.Counts()
				bar.Describe(fmt.Sprintf("%s  %d req  %d failed  %.0f/s", name, n, failed, float64(n)/time.Since(start).Seconds()))
				if byTime {
					_ = bar.Set64(min(total, time.Since(start).Milliseconds()))
				} else {
					_ = bar.Set64(int64(n))
				}
			}
		}
	})
	return func() { close(done); wg.Wait(); fmt.Fprintln(w) }
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// loadTokens mints one dev-issuer token per subject, or uses the given one.
func loadTokens(cfg config.Config, o loadOptions) ([]string, error) {
	if o.token != "" {
		return []string{o.token}, nil
	}
	issuer, err := devissuer.Load(cfg.Auth.DevKeyFile, cfg.Auth.Issuer, cfg.Auth.Audience)
	if err != nil {
		return nil, fmt.Errorf("dev issuer (or pass --token): %w", err)
	}
	ttl := o.plan.Duration + time.Hour
	tokens := make([]string, o.subjects)
	for i := range tokens {
		tokens[i], err = issuer.Token(devissuer.Claims{
			Subject: fmt.Sprintf("load-agent-%02d", i+1), Name: fmt.Sprintf("Load Agent %d", i+1),
			Scopes: []string{"case:read", "case:write"}, TTL: ttl,
		})
		if err != nil {
			return nil, err
		}
	}
	return tokens, nil
}

// mix is a weighted choice of operations.
type mix struct {
	ops     []string
	weights []int
	total   int
}

var loadOps = []string{"create", "update", "close", "attach", "get", "list"}

func parseMix(s string) (mix, error) {
	var m mix
	seen := map[string]bool{}
	for part := range strings.SplitSeq(s, ",") {
		name, weight, ok := strings.Cut(strings.TrimSpace(part), "=")
		w, err := strconv.Atoi(weight)
		if !ok || err != nil || w < 0 {
			return mix{}, fmt.Errorf("--mix %q: want op=weight,... with weights 0 or more", s)
		}
		if !slices.Contains(loadOps, name) || seen[name] {
			return mix{}, fmt.Errorf("--mix: %q is not one of %s, or is named twice", name, strings.Join(loadOps, ", "))
		}
		seen[name] = true
		if w > 0 {
			m.ops, m.weights, m.total = append(m.ops, name), append(m.weights, w), m.total+w
		}
	}
	if m.total == 0 {
		return mix{}, errors.New("--mix has no operation with a positive weight")
	}
	return m, nil
}

func (m mix) pick() string {
	n := rand.IntN(m.total)
	for i, w := range m.weights {
		if n < w {
			return m.ops[i]
		}
		n -= w
	}
	return m.ops[len(m.ops)-1]
}

func (m mix) has(op string) bool { return slices.Contains(m.ops, op) }

func (m mix) reads() bool { return m.has("get") || m.has("list") }

// medians are the middle ratios over rounds (the lower middle of an even count).
func medians(rounds []map[string]float64) map[string]float64 {
	if len(rounds) == 0 {
		return nil
	}
	out := map[string]float64{}
	for key := range rounds[0] {
		var values []float64
		for _, r := range rounds {
			values = append(values, r[key])
		}
		slices.Sort(values)
		out[key] = values[(len(values)-1)/2]
	}
	return out
}

// ratios compare the API run with its baseline: throughput as API/baseline
// (higher is better), latency as API/baseline (lower is better).
func ratios(baseline string, base, api Report) map[string]float64 {
	op := func(rep Report, name string) (OpReport, bool) {
		for _, o := range rep.Ops {
			if o.Op == name {
				return o, true
			}
		}
		return OpReport{}, false
	}
	out := map[string]float64{}
	names := []string{"create"}
	if baseline == "sql" || baseline == "http" {
		names = []string{"get", "list"}
	}
	for _, name := range names {
		b, okB := op(base, name)
		a, okA := op(api, name)
		if !okA || !okB || b.Throughput == 0 || b.P99 == 0 {
			continue
		}
		out[name+"-throughput"] = a.Throughput / b.Throughput
		out[name+"-p99"] = float64(a.P99 / b.P99)
	}
	return out
}

func ratioLines(r map[string]float64) []string {
	var lines []string
	for _, key := range []string{"create-throughput", "create-p99", "get-throughput", "get-p99", "list-throughput", "list-p99"} {
		if v, ok := r[key]; ok {
			lines = append(lines, fmt.Sprintf("API / baseline %-17s %.2f", key+":", v))
		}
	}
	return lines
}
