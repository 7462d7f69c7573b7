// Package metrics defines the Prometheus metrics of the API and the worker.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// LatencyBuckets returns the bucket bounds, in seconds, of every latency
// histogram of the service, the Temporal SDK's timers included: fine enough
// between 1 and 5 s to tell a queueing tail from a slow commit, and the same
// everywhere so that stages of one request can be set side by side.
func LatencyBuckets() []float64 {
	return []float64{.001, .002, .005, .01, .02, .05, .1, .2, .3, .5, .75, 1, 1.5, 2, 2.5, 3, 4, 5, 10, 30, 60}
}

func newRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// API holds the API's metrics.
type API struct {
	registry *prometheus.Registry
	requests *prometheus.HistogramVec
	replays  prometheus.Counter
}

// NewAPI registers the API's metrics.
func NewAPI() *API {
	m := &API{
		registry: newRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "case_api_request_duration_seconds",
			Help:    "Case API requests by route, method and status.",
			Buckets: LatencyBuckets(),
		}, []string{"route", "method", "status"}),
		replays: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "case_api_idempotent_replays_total",
			Help: "Requests answered from a kept Idempotency-Key answer.",
		}),
	}
	m.registry.MustRegister(m.requests, m.replays)
	return m
}

// Request records one served request; route is the route pattern, not the path.
func (m *API) Request(route, method string, status int, took time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Observe(took.Seconds())
}

// Replay counts an idempotent replay.
func (m *API) Replay() { m.replays.Inc() }

// Registry is the API's registry, for the Temporal SDK's metrics too.
func (m *API) Registry() *prometheus.Registry { return m.registry }

// Handler serves the API's metrics.
func (m *API) Handler() http.Handler { return handler(m.registry) }

// handler serves a registry uncompressed: a scrape is a few KB inside the
// cluster, and the gzip writers' buffers (~3 MB) weighed on the API's RSS.
func handler(r *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(r, promhttp.HandlerOpts{DisableCompression: true})
}

// Worker holds the worker's metrics.
type Worker struct {
	registry *prometheus.Registry
	changes  *prometheus.CounterVec
	lateness prometheus.Histogram
}

// NewWorker registers the worker's metrics.
func NewWorker() *Worker {
	m := &Worker{
		registry: newRegistry(),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "case_changes_recorded_total",
			Help: "Case versions written to Postgres, by change (retries of a version count again).",
		}, []string{"change"}),
		lateness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "case_callback_delivery_lateness_seconds",
			Help:    "Time from a callback's requested time to its successful delivery.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600},
		}),
	}
	m.registry.MustRegister(m.changes, m.lateness)
	return m
}

// Recorded counts a written case version.
func (m *Worker) Recorded(change string) { m.changes.WithLabelValues(change).Inc() }

// CallbackDelivered records how late a callback was delivered.
func (m *Worker) CallbackDelivered(lateness time.Duration) { m.lateness.Observe(lateness.Seconds()) }

// Registry is the worker's registry, for the Temporal SDK's metrics too.
func (m *Worker) Registry() *prometheus.Registry { return m.registry }

// Handler serves the worker's metrics.
func (m *Worker) Handler() http.Handler {
	return handler(m.registry)
}
