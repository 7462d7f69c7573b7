package bench

import (
	"bufio"
	"context"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// rssWatch samples the resident set size that processes publish on their
// Prometheus /metrics and keeps the highest seen.
type rssWatch struct {
	urls   map[string]string
	client *http.Client
	mu     sync.Mutex
	peak   map[string]float64
}

func newRSSWatch(urls map[string]string) *rssWatch {
	w := &rssWatch{urls: map[string]string{}, client: &http.Client{Timeout: 5 * time.Second}, peak: map[string]float64{}}
	for name, u := range urls {
		if u != "" {
			w.urls[name] = u
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
	for name, u := range w.urls {
		bytes, ok := w.rss(ctx, u)
		if !ok {
			continue
		}
		w.mu.Lock()
		w.peak[name] = max(w.peak[name], bytes/(1<<20))
		w.mu.Unlock()
	}
}

func (w *rssWatch) rss(ctx context.Context, u string) (float64, bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, false
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		if value, ok := strings.CutPrefix(lines.Text(), "process_resident_memory_bytes "); ok {
			f, err := strconv.ParseFloat(value, 64)
			return f, err == nil
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
