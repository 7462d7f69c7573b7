package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/internal/reconcile"
	"github.com/bank/caseservice/store"
)

// verification counts what casectl verify found; every field but the first
// four must be zero for the run to pass.
type verification struct {
	Cases           int `json:"cases"`
	Unsure          int `json:"unsure"`
	HistoryRows     int `json:"history-rows"`
	CallbacksDue    int `json:"callbacks-due"`
	Lost            int `json:"lost"`
	WrongState      int `json:"wrong-state"`
	Duplicated      int `json:"duplicated-history-rows"`
	Gaps            int `json:"cases-with-history-gaps"`
	Drifted         int `json:"drifted"`
	CallbacksLost   int `json:"callbacks-lost"`
	CallbacksFailed int `json:"callbacks-failed"`
	problems        []string
}

func (v verification) failed() bool {
	return v.Lost+v.WrongState+v.Duplicated+v.Gaps+v.Drifted+v.CallbacksLost+v.CallbacksFailed > 0
}

func verifyCommand(withReconciler OpenReconciler) *cobra.Command {
	var ledgerFile string
	var grace, wait time.Duration
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Hold the service to a load run's ledger: nothing lost, no history duplicated or missing, no drift, every due callback delivered",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := loadLedger(ledgerFile)
			if err != nil {
				return err
			}
			return withReconciler(cmd.Context(), func(st *store.Store, rec *reconcile.Reconciler) error {
				v, err := verify(cmd.Context(), st, rec, l, grace, wait)
				if err != nil {
					return err
				}
				if asJSON {
					if err := json.NewEncoder(cmd.OutOrStdout()).Encode(v); err != nil {
						return err
					}
				} else {
					printVerification(cmd.OutOrStdout(), v)
				}
				if v.failed() {
					return errors.New("verification failed")
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&ledgerFile, "ledger", "", "ledger written by casectl load --ledger")
	cmd.Flags().DurationVar(&grace, "callback-grace", 30*time.Second, "how late a callback may reach its receiver")
	cmd.Flags().DurationVar(&wait, "wait", 5*time.Minute, "longest wait for callbacks to come due and be delivered")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	_ = cmd.MarkFlagRequired("ledger")
	return cmd
}

func verify(ctx context.Context, st *store.Store, rec *reconcile.Reconciler, l *ledger, grace, wait time.Duration) (verification, error) {
	ids := slices.Sorted(maps.Keys(l.Cases))
	v := verification{Cases: len(ids)}
	if err := waitForCallbacks(ctx, st, l, ids, grace, wait); err != nil {
		return v, err
	}
	rows, err := st.CasesByID(ctx, ids)
	if err != nil {
		return v, err
	}
	shapes, err := st.HistoryShapes(ctx, ids)
	if err != nil {
		return v, err
	}
	now := time.Now()
	for _, id := range ids {
		want := l.Cases[id]
		row, ok := rows[id]
		if !ok {
			v.Lost++
			v.problems = append(v.problems, id+": created (2xx) but not in Postgres")
			continue
		}
		if want.Unsure {
			v.Unsure++
		} else if row.State != want.State || row.Version < want.Version {
			v.WrongState++
			v.problems = append(v.problems, fmt.Sprintf("%s: last 2xx set %s at v%d, row has %s at v%d", id, want.State, want.Version, row.State, row.Version))
		}
		shape := shapes[id]
		v.HistoryRows += int(shape.Rows)
		v.Duplicated += int(shape.Rows - shape.Versions)
		if !shape.Gapless() || shape.Last != row.Version {
			v.Gaps++
			v.problems = append(v.problems, fmt.Sprintf("%s: history has %d rows for versions %d..%d, row at v%d", id, shape.Rows, shape.First, shape.Last, row.Version))
		}
		if want.CallbackAt != nil && want.CallbackAt.Add(grace).Before(now) {
			v.CallbacksDue++
			switch row.CallbackStatus {
			case casefile.CallbackDelivered:
			case casefile.CallbackCancelled:
				if row.State != casefile.StateClosed {
					v.CallbacksLost++
					v.problems = append(v.problems, id+": callback cancelled on a case that is not closed")
				}
			case casefile.CallbackFailed:
				v.CallbacksFailed++
				v.problems = append(v.problems, id+": callback delivery failed")
			default:
				v.CallbacksLost++
				v.problems = append(v.problems, fmt.Sprintf("%s: callback due %s is %s", id, want.CallbackAt.Format(time.RFC3339), row.CallbackStatus))
			}
		}
	}
	rep, err := rec.Reconcile(ctx, slices.Collect(maps.Keys(rows)), reconcile.Options{Settle: 5 * time.Second, Concurrency: 8})
	if err != nil {
		return v, err
	}
	v.Drifted = len(rep.Drifted) + len(rep.Unchecked)
	for id, why := range rep.Unchecked {
		v.problems = append(v.problems, fmt.Sprintf("%s: could not ask its workflow: %s", id, why))
	}
	for _, d := range rep.Drifted {
		v.problems = append(v.problems, fmt.Sprintf("%s: %s (workflow v%d %s, row v%d %s)", d.CaseID, d.Kind, d.WorkflowVersion, d.WorkflowState, d.RowVersion, d.RowState))
	}
	return v, nil
}

// waitForCallbacks waits until every callback of the ledger that is due has
// left Scheduled, or wait has passed.
func waitForCallbacks(ctx context.Context, st *store.Store, l *ledger, ids []string, grace, wait time.Duration) error {
	var last time.Time
	var callbackIDs []string
	for _, id := range ids {
		if at := l.Cases[id].CallbackAt; at != nil {
			callbackIDs = append(callbackIDs, id)
			if at.After(last) {
				last = *at
			}
		}
	}
	if len(callbackIDs) == 0 {
		return nil
	}
	deadline := time.Now().Add(wait)
	for {
		rows, err := st.CasesByID(ctx, callbackIDs)
		if err != nil {
			return err
		}
		pending := 0
		for _, c := range rows {
			if c.CallbackStatus == casefile.CallbackScheduled {
				pending++
			}
		}
		if (pending == 0 && time.Now().After(last.Add(grace))) || time.Now().After(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

func printVerification(out io.Writer, v verification) {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for _, line := range []struct {
		name string
		n    int
	}{
		{"cases created (2xx)", v.Cases}, {"  of them last write unanswered", v.Unsure}, {"history rows", v.HistoryRows},
		{"callbacks due", v.CallbacksDue}, {"lost", v.Lost}, {"wrong state", v.WrongState},
		{"duplicated history rows", v.Duplicated}, {"cases with history gaps", v.Gaps},
		{"workflow/row drift", v.Drifted}, {"callbacks lost", v.CallbacksLost}, {"callbacks failed", v.CallbacksFailed},
	} {
		fmt.Fprintf(w, "%s\t%d\n", line.name, line.n)
	}
	_ = w.Flush()
	for i, p := range v.problems {
		if i == 20 {
			fmt.Fprintf(out, "... and %d more\n", len(v.problems)-20)
			break
		}
		fmt.Fprintln(out, "  ", p)
	}
	if v.failed() {
		fmt.Fprintln(out, "FAILED")
	} else {
		fmt.Fprintln(out, "OK")
	}
}
