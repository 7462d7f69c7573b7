package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/bank/caseservice/config"
	"github.com/bank/caseservice/internal/bulk"
	"github.com/bank/caseservice/internal/platform/temporalclient"
	"github.com/bank/caseservice/workflows"
)

func operateCommand(cfg config.Config) *cobra.Command {
	var o bulk.Options
	var operator, note, callbackAt string
	cmd := &cobra.Command{
		Use:   "operate ACTION",
		Short: "Apply one operator action (" + strings.Join(bulk.Actions, ", ") + ") to every open case a visibility query selects",
		Long: "Sends ACTION, as the Temporal UI's Update would, to each running case workflow that --query\n" +
			"selects (a Temporal visibility query over CaseState, CaseType, CaseClass, CustomerId,\n" +
			"Importance, CaseEscalated, CallbackStatus and CallbackAt). Each case's validator accepts or\n" +
			"rejects the action; a rejected action records nothing. Prints applied, rejected (with the\n" +
			"reasons) and failed; exits 1 if any failed.\n\n" +
			"  casectl operate escalate --query 'CaseState=\"Accepted\" AND Importance=\"Critical\"' \\\n" +
			"    --operator jane.doe --note \"branch outage\" --dry-run",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Action = args[0]
			switch o.Action {
			case workflows.UpdateRescheduleCallback:
				o.Input = workflows.OperatorReschedule{Operator: operator, CallbackRequestTime: callbackAt}
			default:
				o.Input = workflows.OperatorAction{Operator: operator, Note: note}
			}
			if o.Query == "" {
				return errors.New("--query: required; a query selects the cases (CaseState=\"Accepted\" for every open one)")
			}
			tc, err := temporalclient.Dial(cmd.Context(), cfg.Temporal, temporalclient.Options{Logger: zap.NewNop()})
			if err != nil {
				return err
			}
			defer tc.Close()
			progress := newProgressBar(cmd.ErrOrStderr())
			o.Progress = progress.show
			summary, err := bulk.Apply(cmd.Context(), tc, o)
			progress.end()
			if err != nil {
				return err
			}
			return printSummary(cmd.OutOrStdout(), summary, o.DryRun)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Query, "query", "", `visibility query selecting the cases, e.g. CaseState="Accepted" AND Importance="Critical"`)
	f.StringVar(&operator, "operator", "", "who acts, recorded as the change's editor")
	f.StringVar(&note, "note", "", "the note (add-note) or the reason (escalate)")
	f.StringVar(&callbackAt, "callback-request-time", "", "new callback time, RFC 3339 (reschedule-callback)")
	f.IntVar(&o.Concurrency, "concurrency", 8, "updates in flight")
	f.BoolVar(&o.DryRun, "dry-run", false, "list the selected cases and change nothing")
	return cmd
}

func printSummary(w io.Writer, s bulk.Summary, dryRun bool) error {
	if dryRun {
		fmt.Fprintf(w, "%d cases selected (dry run: nothing applied)\n", len(s.Selected))
		for _, id := range s.Selected {
			fmt.Fprintln(w, id)
		}
		return nil
	}
	fmt.Fprintf(w, "selected %d, applied %d, rejected %d, failed %d\n", len(s.Selected), len(s.Applied), len(s.Rejected), len(s.Failed))
	reasons := map[string][]string{}
	for _, o := range s.Rejected {
		reasons[o.Rejection] = append(reasons[o.Rejection], o.CaseID)
	}
	for _, reason := range slices.Sorted(maps.Keys(reasons)) {
		ids := reasons[reason]
		fmt.Fprintf(w, "rejected %d: %s (%s)\n", len(ids), reason, abbreviated(ids))
	}
	for _, o := range s.Failed {
		fmt.Fprintf(w, "failed %s: %v\n", o.CaseID, o.Err)
	}
	if len(s.Failed) > 0 {
		return fmt.Errorf("%d cases failed; run again to retry them (applied actions are rejected the second time or change nothing)", len(s.Failed))
	}
	return nil
}

// abbreviated lists a few ids and counts the rest.
func abbreviated(ids []string) string {
	const shown = 5
	if len(ids) <= shown {
		return strings.Join(ids, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(ids[:shown], ", "), len(ids)-shown)
}

// progressBar draws done/total on one line of w, at most ten times a second.
type progressBar struct {
	w     io.Writer
	mu    sync.Mutex
	last  time.Time
	drawn bool
}

func newProgressBar(w io.Writer) *progressBar { return &progressBar{w: w} }

func (p *progressBar) show(done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if done < total && time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	const width = 30
	filled := width * done / total
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d", strings.Repeat("#", filled), strings.Repeat(" ", width-filled), done, total)
	p.drawn = true
}

func (p *progressBar) end() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
