package bench

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func recoveryCommand() *cobra.Command {
	var timelineFile, faultsFile string
	var window int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "recovery",
		Short: "Report, per fault, how long requests took to succeed again and the throughput before and after",
		Long: "Reads a timeline written by casectl load --timeline and a faults file (one fault a line:\n" +
			"unix-seconds, a space, its name). A fault counts as recovered from at the first of three\n" +
			"seconds in a row without a failed attempt, each answering at least half the 2xx a second\n" +
			"of the window before the fault.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if window < 1 {
				return errors.New("--window must be at least 1")
			}
			seconds, err := loadTimeline(timelineFile)
			if err != nil {
				return err
			}
			faults, err := loadFaults(faultsFile)
			if err != nil {
				return err
			}
			recoveries := recoveriesFrom(seconds, faults, window)
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(recoveries)
			}
			return writeRecoveries(cmd.OutOrStdout(), recoveries)
		},
	}
	f := cmd.Flags()
	f.StringVar(&timelineFile, "timeline", "", "timeline written by casectl load --timeline")
	f.StringVar(&faultsFile, "faults", "", "faults, one a line: unix-seconds name")
	f.IntVar(&window, "window", 10, "seconds over which throughput before and after a fault is averaged")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	_ = cmd.MarkFlagRequired("timeline")
	_ = cmd.MarkFlagRequired("faults")
	return cmd
}

type fault struct {
	unix int64
	name string
}

func loadFaults(path string) ([]fault, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var faults []fault
	lines := bufio.NewScanner(f)
	for n := 1; lines.Scan(); n++ {
		at, name, ok := strings.Cut(strings.TrimSpace(lines.Text()), " ")
		unix, err := strconv.ParseInt(at, 10, 64)
		if !ok || err != nil || (len(faults) > 0 && unix < faults[len(faults)-1].unix) {
			return nil, fmt.Errorf("%s:%d: want unix-seconds (not earlier than the line before), a space, a name", path, n)
		}
		faults = append(faults, fault{unix: unix, name: strings.TrimSpace(name)})
	}
	return faults, lines.Err()
}

// recovery is what one fault did to the load.
type recovery struct {
	Fault string `json:"fault"`
	// At is the fault's second, counted from the timeline's first.
	At int64 `json:"at-s"`
	// FailedAttempts are those between this fault and the next.
	FailedAttempts int `json:"failed-attempts"`
	// RecoveredAfter is nil when the load had not recovered by the next
	// fault (or the end).
	RecoveredAfter *int64   `json:"recovered-after-s"`
	Before         float64  `json:"before-per-s"`
	After          *float64 `json:"after-per-s"`
}

// steadySeconds is how many seconds in a row recovery takes: each without a
// failed attempt and with at least half the throughput before the fault.
// The fault's own second counts too, but it alone cannot pass for recovery:
// it also holds what was answered before the fault.
const steadySeconds = 3

func recoveriesFrom(seconds []second, faults []fault, window int) []recovery {
	if len(seconds) == 0 {
		return nil
	}
	first, end := seconds[0].Unix, seconds[len(seconds)-1].Unix+1
	at := func(unix int64) second { return seconds[unix-first] }
	mean := func(from, to int64) float64 {
		from, to = max(from, first), min(to, end)
		if to <= from {
			return 0
		}
		sum := 0
		for s := from; s < to; s++ {
			sum += at(s).OK
		}
		return float64(sum) / float64(to-from)
	}
	var out []recovery
	for i, f := range faults {
		until := end
		if i+1 < len(faults) {
			until = min(end, faults[i+1].unix)
		}
		r := recovery{Fault: f.name, At: f.unix - first, Before: mean(f.unix-int64(window), f.unix)}
		for s := max(f.unix, first); s < until; s++ {
			r.FailedAttempts += at(s).Failed
		}
		steady := func(s int64) bool { return at(s).Failed == 0 && at(s).OK > 0 && float64(at(s).OK) >= r.Before/2 }
		for s := max(f.unix, first); s+steadySeconds <= until && r.RecoveredAfter == nil; s++ {
			ok := true
			for q := s; q < s+steadySeconds; q++ {
				ok = ok && steady(q)
			}
			if ok {
				after, avg := s-f.unix, mean(s, min(s+int64(window), until))
				r.RecoveredAfter, r.After = &after, &avg
			}
		}
		out = append(out, r)
	}
	return out
}

func writeRecoveries(out io.Writer, recoveries []recovery) error {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "fault\tat s\tfailed attempts\trecovered after s\t2xx/s before\t2xx/s after")
	for _, r := range recoveries {
		recovered, after := "not before the next fault", "-"
		if r.RecoveredAfter != nil {
			recovered, after = strconv.FormatInt(*r.RecoveredAfter, 10), fmt.Sprintf("%.1f", *r.After)
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%s\t%.1f\t%s\n", r.Fault, r.At, r.FailedAttempts, recovered, r.Before, after)
	}
	return w.Flush()
}
