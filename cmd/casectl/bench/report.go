package bench

// The load engine drives a bounded load (closed-loop at a concurrency, or
// open-loop at an arrival rate) and reports throughput and latency per
// operation; what each operation does is the caller's business.

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"
)

// Recorder collects the outcome of every operation. It is safe for
// concurrent use.
type Recorder struct {
	mu     sync.Mutex
	ops    map[string]*opStats
	starts []time.Duration // how late each operation started
}

type opStats struct {
	latencies []time.Duration
	statuses  map[int]int
	errors    map[string]int
	retried   int
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder { return &Recorder{ops: map[string]*opStats{}} }

// Reset forgets every outcome recorded so far, e.g. a warm-up's.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops = map[string]*opStats{}
	r.starts = nil
}

// Started notes how late an operation started against its schedule: in an
// open loop, the generator's own lateness and any wait for a free slot, both
// of which are in the operation's latency.
func (r *Recorder) Started(late time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.starts = append(r.starts, late)
}

// Outcome is how one operation ended, after any retries.
type Outcome struct {
	// Status is the last HTTP status, 0 when no answer came.
	Status int
	// Err is set when the operation did not get the answer it wanted; its
	// text is counted, so it should not carry ids.
	Err error
	// Retries counts the attempts after the first.
	Retries int
}

// Record notes one operation that took latency.
func (r *Recorder) Record(op string, latency time.Duration, o Outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.ops[op]
	if s == nil {
		s = &opStats{statuses: map[int]int{}, errors: map[string]int{}}
		r.ops[op] = s
	}
	s.latencies = append(s.latencies, latency)
	s.statuses[o.Status]++
	if o.Err != nil {
		s.errors[o.Err.Error()]++
	}
	if o.Retries > 0 {
		s.retried++
	}
}

// Counts says how many operations finished and how many of them failed.
func (r *Recorder) Counts() (done, failed int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.ops {
		done += len(s.latencies)
		for _, n := range s.errors {
			failed += n
		}
	}
	return done, failed
}

// Report is the summary of a run, per operation and in total.
type Report struct {
	Name        string     `json:"name"`
	Elapsed     Millis     `json:"elapsed-ms"`
	Concurrency int        `json:"concurrency,omitempty"`
	Rate        float64    `json:"rate,omitempty"`
	Total       OpReport   `json:"total"`
	Ops         []OpReport `json:"operations"`
	// StartedLate is how late operations started, when that was noted.
	StartedLate *Lateness `json:"started-late,omitempty"`
	// Stages are the latencies, from the processes' own metrics, of the steps
	// a create takes, when they could be read.
	Stages []StageReport `json:"stages,omitempty"`
}

// Lateness summarises how late operations started.
type Lateness struct {
	P50 Millis `json:"p50-ms"`
	P99 Millis `json:"p99-ms"`
	Max Millis `json:"max-ms"`
}

// OpReport summarises one kind of operation.
type OpReport struct {
	Op         string         `json:"op"`
	Count      int            `json:"count"`
	OK         int            `json:"ok"`
	Retried    int            `json:"retried"`
	Throughput float64        `json:"throughput-per-s"`
	P50        Millis         `json:"p50-ms"`
	P95        Millis         `json:"p95-ms"`
	P99        Millis         `json:"p99-ms"`
	Max        Millis         `json:"max-ms"`
	Statuses   map[string]int `json:"statuses"`
	Errors     map[string]int `json:"errors,omitempty"`
}

// Millis is a duration shown in milliseconds.
type Millis float64

func millis(d time.Duration) Millis { return Millis(float64(d.Microseconds()) / 1000) }

// Report summarises what was recorded over elapsed.
func (r *Recorder) Report(name string, elapsed time.Duration) Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := Report{Name: name, Elapsed: millis(elapsed)}
	all := &opStats{statuses: map[int]int{}, errors: map[string]int{}}
	for _, op := range slices.Sorted(maps.Keys(r.ops)) {
		s := r.ops[op]
		rep.Ops = append(rep.Ops, s.report(op, elapsed))
		all.latencies = append(all.latencies, s.latencies...)
		for k, v := range s.statuses {
			all.statuses[k] += v
		}
		for k, v := range s.errors {
			all.errors[k] += v
		}
		all.retried += s.retried
	}
	rep.Total = all.report("total", elapsed)
	if len(r.starts) > 0 {
		late := slices.Sorted(slices.Values(r.starts))
		rep.StartedLate = &Lateness{P50: millis(quantile(late, 0.50)), P99: millis(quantile(late, 0.99)), Max: millis(late[len(late)-1])}
	}
	return rep
}

func (s *opStats) report(op string, elapsed time.Duration) OpReport {
	lat := slices.Clone(s.latencies)
	slices.Sort(lat)
	out := OpReport{Op: op, Count: len(lat), Retried: s.retried, Statuses: map[string]int{}, Errors: maps.Clone(s.errors)}
	for status, n := range s.statuses {
		label := strconv.Itoa(status)
		if status == 0 {
			label = "no answer"
		}
		out.Statuses[label] = n
		if status >= 200 && status < 300 {
			out.OK += n
		}
	}
	if elapsed > 0 {
		out.Throughput = float64(out.OK) / elapsed.Seconds()
	}
	if len(lat) > 0 {
		out.P50, out.P95, out.P99 = millis(quantile(lat, 0.50)), millis(quantile(lat, 0.95)), millis(quantile(lat, 0.99))
		out.Max = millis(lat[len(lat)-1])
	}
	return out
}

// quantile is the nearest-rank quantile of sorted values.
func quantile(sorted []time.Duration, q float64) time.Duration {
	rank := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(rank, len(sorted)-1))]
}

// WriteText prints the report as a table.
func (rep Report) WriteText(w io.Writer) error {
	shape := fmt.Sprintf("concurrency %d", rep.Concurrency)
	if rep.Rate > 0 {
		shape = fmt.Sprintf("open loop at %.1f/s", rep.Rate)
	}
	fmt.Fprintf(w, "%s: %d requests in %.1f s, %s\n", rep.Name, rep.Total.Count, float64(rep.Elapsed)/1000, shape)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "op\tcount\t2xx\tretried\t2xx/s\tp50 ms\tp95 ms\tp99 ms\tmax ms\tstatuses\t")
	for _, op := range append(slices.Clone(rep.Ops), rep.Total) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%s\t\n", op.Op, op.Count, op.OK, op.Retried,
			op.Throughput, op.P50, op.P95, op.P99, op.Max, counts(op.Statuses))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := writeStages(w, rep.Stages); err != nil {
		return err
	}
	if l := rep.StartedLate; l != nil && rep.Rate > 0 {
		fmt.Fprintf(w, "started behind schedule: p50 %.3f ms, p99 %.3f ms, max %.1f ms (in the latencies above)\n", l.P50, l.P99, l.Max)
	}
	if len(rep.Total.Errors) > 0 {
		fmt.Fprintln(w, "errors:")
		for _, msg := range slices.Sorted(maps.Keys(rep.Total.Errors)) {
			fmt.Fprintf(w, "  %6d  %s\n", rep.Total.Errors[msg], msg)
		}
	}
	return nil
}

func counts(m map[string]int) string {
	out := ""
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if out != "" {
			out += " "
		}
		out += fmt.Sprintf("%s:%d", k, m[k])
	}
	return out
}
