package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// A stage is one step of a request's way through the service, read from a
// latency histogram of the process that takes it: the API's request, its
// Update-With-Start call, the workflow task's wait in the task queue, its
// run on the worker, the record written inside it. Set side by side, the
// stages of a run show where its tail is spent.
type stage struct {
	name   string
	source string // key of the process's gatherer
	metric string
	labels map[string]string
	// anyOf, if set, is a label whose value must be one of these.
	anyOf map[string][]string
}

// createStages are the stages of the API's create, from the API's and the
// worker's /metrics.
var createStages = []stage{
	{name: "API create request", source: "api", metric: "case_api_request_duration_seconds",
		labels: map[string]string{"method": "POST"},
		anyOf:  map[string][]string{"route": {"/v1/case/complaints", "/v1/case/service-requests", "/v1/case/callback-requests"}}},
	{name: "Update-With-Start call", source: "api", metric: "temporal_long_request_latency",
		labels: map[string]string{"operation": "ExecuteMultiOperation"}},
	{name: "workflow task schedule-to-start", source: "worker", metric: "temporal_workflow_task_schedule_to_start_latency",
		labels: map[string]string{"workflow_type": "CaseWorkflow"}},
	{name: "workflow task execution", source: "worker", metric: "temporal_workflow_task_execution_latency",
		labels: map[string]string{"workflow_type": "CaseWorkflow"}},
	{name: "record (local activity)", source: "worker", metric: "temporal_local_activity_execution_latency",
		labels: map[string]string{"activity_type": "RecordChange"}},
	{name: "workflow task completion call", source: "worker", metric: "temporal_request_latency",
		labels: map[string]string{"operation": "RespondWorkflowTaskCompleted", "workflow_type": "CaseWorkflow"}},
}

// baselineStages are the same steps of the Temporal baseline, whose client
// and worker run in this process.
var baselineStages = []stage{
	{name: "Update-With-Start call", source: "baseline", metric: "temporal_long_request_latency",
		labels: map[string]string{"operation": "ExecuteMultiOperation"}},
	{name: "workflow task schedule-to-start", source: "baseline", metric: "temporal_workflow_task_schedule_to_start_latency",
		labels: map[string]string{"workflow_type": baselineWorkflow}},
	{name: "workflow task execution", source: "baseline", metric: "temporal_workflow_task_execution_latency",
		labels: map[string]string{"workflow_type": baselineWorkflow}},
	{name: "activity schedule-to-start", source: "baseline", metric: "temporal_activity_schedule_to_start_latency",
		labels: map[string]string{"activity_type": baselineActivity}},
	{name: "insert (activity)", source: "baseline", metric: "temporal_activity_execution_latency",
		labels: map[string]string{"activity_type": baselineActivity}},
	{name: "workflow task completion call", source: "baseline", metric: "temporal_request_latency",
		labels: map[string]string{"operation": "RespondWorkflowTaskCompleted", "workflow_type": baselineWorkflow}},
}

// StageReport is one stage's latency over a measured run.
type StageReport struct {
	Name  string `json:"name"`
	Count uint64 `json:"count"`
	P50   Millis `json:"p50-ms"`
	P95   Millis `json:"p95-ms"`
	P99   Millis `json:"p99-ms"`
}

// stageWatch reads the stages' histograms before and after a run.
type stageWatch struct {
	stages  []stage
	sources map[string]prometheus.Gatherer
	before  map[string][]*dto.MetricFamily
}

func newStageWatch(stages []stage, sources map[string]prometheus.Gatherer) *stageWatch {
	return &stageWatch{stages: stages, sources: sources}
}

// start takes the counts the run's figures are measured from.
func (w *stageWatch) start() { w.before = w.gather() }

// report is each stage's latency since start; stages whose process could not
// be read, or that saw nothing, are left out.
func (w *stageWatch) report() []StageReport {
	after := w.gather()
	var out []StageReport
	for _, s := range w.stages {
		now, ok := after[s.source]
		if !ok {
			continue
		}
		delta := s.buckets(now)
		delta.subtract(s.buckets(w.before[s.source]))
		if delta.count == 0 {
			continue
		}
		out = append(out, StageReport{Name: s.name, Count: delta.count,
			P50: seconds(delta.quantile(.5)), P95: seconds(delta.quantile(.95)), P99: seconds(delta.quantile(.99))})
	}
	return out
}

func (w *stageWatch) gather() map[string][]*dto.MetricFamily {
	got := map[string][]*dto.MetricFamily{}
	for name, g := range w.sources {
		if families, err := g.Gather(); err == nil {
			got[name] = families
		}
	}
	return got
}

func seconds(s float64) Millis { return millis(time.Duration(s * float64(time.Second))) }

// histogram is a cumulative bucket histogram summed over matching series.
type histogram struct {
	bounds []float64 // upper bounds, ascending, the last +Inf
	counts []uint64  // cumulative
	count  uint64
}

// buckets sums the stage's matching series in families.
func (s stage) buckets(families []*dto.MetricFamily) histogram {
	var h histogram
	for _, f := range families {
		if f.GetName() != s.metric || f.GetType() != dto.MetricType_HISTOGRAM {
			continue
		}
		for _, m := range f.GetMetric() {
			if s.matches(m.GetLabel()) {
				h.add(m.GetHistogram())
			}
		}
	}
	return h
}

func (s stage) matches(labels []*dto.LabelPair) bool {
	value := func(name string) string {
		for _, l := range labels {
			if l.GetName() == name {
				return l.GetValue()
			}
		}
		return ""
	}
	for name, want := range s.labels {
		if value(name) != want {
			return false
		}
	}
	for name, allowed := range s.anyOf {
		if !slices.Contains(allowed, value(name)) {
			return false
		}
	}
	return true
}

func (h *histogram) add(p *dto.Histogram) {
	// The text format lists the +Inf bucket and a Gatherer leaves it out;
	// the sample count stands for it either way, so bounds end in one +Inf.
	buckets := p.GetBucket()
	if n := len(buckets); n > 0 && math.IsInf(buckets[n-1].GetUpperBound(), 1) {
		buckets = buckets[:n-1]
	}
	if h.bounds == nil {
		for _, b := range buckets {
			h.bounds = append(h.bounds, b.GetUpperBound())
		}
		h.bounds = append(h.bounds, math.Inf(1))
		h.counts = make([]uint64, len(h.bounds))
	}
	if len(buckets)+1 != len(h.bounds) {
		return // other bounds: not comparable, and not ours
	}
	for i, b := range buckets {
		h.counts[i] += b.GetCumulativeCount()
	}
	h.counts[len(buckets)] += p.GetSampleCount()
	h.count += p.GetSampleCount()
}

// subtract takes an earlier reading of the same series off h.
func (h *histogram) subtract(earlier histogram) {
	if len(earlier.counts) != len(h.counts) {
		return
	}
	for i := range h.counts {
		h.counts[i] -= earlier.counts[i]
	}
	h.count -= earlier.count
}

// quantile interpolates linearly inside the bucket that holds q, as
// Prometheus's histogram_quantile does.
func (h histogram) quantile(q float64) float64 {
	rank := q * float64(h.count)
	lower, below := 0.0, uint64(0)
	for i, upper := range h.bounds {
		if float64(h.counts[i]) >= rank {
			if math.IsInf(upper, 1) {
				return lower // past the last bound: its lower edge is all we know
			}
			inBucket := float64(h.counts[i] - below)
			if inBucket == 0 {
				return upper
			}
			return lower + (upper-lower)*(rank-float64(below))/inBucket
		}
		lower, below = upper, h.counts[i]
	}
	return lower
}

// remoteMetrics gathers a process's /metrics over HTTP.
type remoteMetrics struct {
	url    string
	client *http.Client
}

func (r remoteMetrics) Gather() ([]*dto.MetricFamily, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return r.gatherContext(ctx)
}

func (r remoteMetrics) gatherContext(ctx context.Context) ([]*dto.MetricFamily, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", r.url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	byName, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, err
	}
	families := make([]*dto.MetricFamily, 0, len(byName))
	for _, f := range byName {
		families = append(families, f)
	}
	return families, nil
}

// writeStages prints a run's stages under its table.
func writeStages(w io.Writer, stages []StageReport) error {
	if len(stages) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stage\tcount\tp50 ms\tp95 ms\tp99 ms\t")
	for _, s := range stages {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t\n", s.Name, s.Count, s.P50, s.P95, s.P99)
	}
	return tw.Flush()
}
