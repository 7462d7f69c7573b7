package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// A stage's figures cover only what its process observed between start and
// report, summed over the series that match it, whether read in process or
// over /metrics.
func TestStagesMeasureTheRunOnly(t *testing.T) {
	registry := prometheus.NewRegistry()
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "temporal_workflow_task_schedule_to_start_latency", Buckets: []float64{.1, .2, .5, 1, 2, 5},
	}, []string{"workflow_type", "task_queue"})
	registry.MustRegister(latency)
	server := httptest.NewServer(promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	defer server.Close()

	watched := func(workflowType string) stage {
		return stage{name: "wait", source: "worker", metric: "temporal_workflow_task_schedule_to_start_latency",
			labels: map[string]string{"workflow_type": workflowType}}
	}
	reports := map[string][]StageReport{}
	for name, source := range map[string]prometheus.Gatherer{
		"in process": registry,
		"over HTTP":  remoteMetrics{url: server.URL, client: http.DefaultClient},
	} {
		t.Run(name, func(t *testing.T) {
			latency.Reset()
			// Before the run: slow tasks that must not count.
			for range 50 {
				latency.WithLabelValues("CaseWorkflow", "a").Observe(4)
			}
			w := newStageWatch([]stage{watched("CaseWorkflow"), watched("Other")}, map[string]prometheus.Gatherer{"worker": source})
			w.start()
			// The run: 90 fast tasks on two task queues, 10 slow ones.
			for i := range 90 {
				latency.WithLabelValues("CaseWorkflow", []string{"a", "b"}[i%2]).Observe(.15)
			}
			for range 10 {
				latency.WithLabelValues("CaseWorkflow", "b").Observe(1.5)
			}
			latency.WithLabelValues("Unwatched", "a").Observe(3)

			got := w.report()
			reports[name] = got
			if len(got) != 1 {
				t.Fatalf("got %d stages, want only the one that saw tasks: %+v", len(got), got)
			}
			s := got[0]
			if s.Count != 100 {
				t.Errorf("count %d, want 100", s.Count)
			}
			if s.P50 <= 100 || s.P50 > 200 {
				t.Errorf("p50 %.1f ms, want inside the 100-200 ms bucket", s.P50)
			}
			if s.P95 <= 1000 || s.P95 > 2000 {
				t.Errorf("p95 %.1f ms, want inside the 1-2 s bucket", s.P95)
			}
		})
	}
	// Read in process or parsed from the text format, the figures agree.
	if !reflect.DeepEqual(reports["in process"], reports["over HTTP"]) {
		t.Errorf("in process %+v, over HTTP %+v", reports["in process"], reports["over HTTP"])
	}
}

// The RSS watch keeps the highest resident set size a process published.
func TestRSSWatchKeepsThePeak(t *testing.T) {
	registry := prometheus.NewRegistry()
	resident := prometheus.NewGauge(prometheus.GaugeOpts{Name: "process_resident_memory_bytes"})
	registry.MustRegister(resident)
	server := httptest.NewServer(promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	defer server.Close()

	w := newRSSWatch(map[string]string{"api": server.URL, "worker": ""})
	for _, mib := range []float64{30, 48, 41} {
		resident.Set(mib * (1 << 20))
		w.sample(context.Background())
	}
	if got := w.peaks(); !reflect.DeepEqual(got, map[string]float64{"api": 48}) {
		t.Errorf("peaks %v, want api 48 MiB and no worker", got)
	}
}

// A process that cannot be read leaves its stages out instead of failing
// the run.
func TestStagesOfAnUnreachableProcessAreLeftOut(t *testing.T) {
	server := httptest.NewServer(http.NotFoundHandler())
	defer server.Close()
	w := newStageWatch(createStages, map[string]prometheus.Gatherer{
		"api": remoteMetrics{url: server.URL, client: http.DefaultClient},
	})
	w.start()
	if got := w.report(); len(got) != 0 {
		t.Errorf("got %+v, want no stages", got)
	}
}
