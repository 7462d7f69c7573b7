package bench

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// rssWatch samples the resident set size that processes publish on their
// Prometheus /metrics and keeps the highest seen.
type rssWatch struct {
	processes map[string]remoteMetrics
	mu        sync.Mutex
	peak      map[string]float64
}

func newRSSWatch(urls map[string]string) *rssWatch {
	w := &rssWatch{processes: map[string]remoteMetrics{}, peak: map[string]float64{}}
	client := &http.Client{Timeout: 5 * time.Second}
	for name, u := range urls {
		if u != "" {
			w.processes[name] = remoteMetrics{url: u, client: client}
		}
	}
	return w
}

// metricsURL is /metrics on the API's origin.
func metricsURL(apiURL string) string {
	u, err := url.Parse(apiURL)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host + "/metrics"
}

// rssEvery is how often a watch samples. A scrape costs the API ~0.5 ms of
// a core (its process collector reads /proc), which delayed the one or two
// requests beside it; once a second that was a share of the list's p99 that
// the baselines, never scraped, did not pay (docs/BENCHMARKS.md). Under a
// steady load a process's RSS levels off within seconds, so a 20-30 s phase
// still gets its peak; Prometheus itself scrapes every 15-60 s.
const rssEvery = 5 * time.Second

// watch samples every rssEvery, and once more when the returned function is
// called.
func (w *rssWatch) watch(ctx context.Context) func() {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(rssEvery)
		defer tick.Stop()
		for {
			w.sample(ctx)
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	})
	return func() { cancel(); wg.Wait(); w.sample(context.Background()) }
}

func (w *rssWatch) sample(ctx context.Context) {
	for name, process := range w.processes {
		bytes, ok := rss(ctx, process)
		if !ok {
			continue
		}
		w.mu.Lock()
		w.peak[name] = max(w.peak[name], bytes/(1<<20))
		w.mu.Unlock()
	}
}

// rss is the resident set size a process publishes, in bytes.
func rss(ctx context.Context, process remoteMetrics) (float64, bool) {
	families, err := process.gatherContext(ctx)
	if err != nil {
		return 0, false
	}
	for _, f := range families {
		if f.GetName() == "process_resident_memory_bytes" && len(f.GetMetric()) == 1 {
			return f.GetMetric()[0].GetGauge().GetValue(), true
		}
	}
	return 0, false
}

// peaks are the highest sizes seen, in MiB.
func (w *rssWatch) peaks() map[string]float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.peak) == 0 {
		return nil
	}
	return maps.Clone(w.peak)
}
