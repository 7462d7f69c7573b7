package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/bank/caseservice/config"
	"github.com/bank/caseservice/internal/platform/temporalclient"
	"github.com/bank/caseservice/internal/reconcile"
	"github.com/bank/caseservice/store"
)

// withReconciler opens Postgres (as withStore) and Temporal for fn.
func withReconciler(ctx context.Context, cfg config.Config, fn func(*store.Store, *reconcile.Reconciler) error) error {
	return withStore(ctx, cfg, func(st *store.Store) error {
		tc, err := temporalclient.Dial(ctx, cfg.Temporal, temporalclient.Options{Logger: zap.NewNop()})
		if err != nil {
			return err
		}
		defer tc.Close()
		return fn(st, reconcile.New(tc, st))
	}, false, io.Discard)
}

func reconcileCommand(cfg config.Config) *cobra.Command {
	var o reconcile.Options
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "reconcile [CASE-ID...]",
		Short: "Compare every running case workflow (or the cases named) with its Postgres row; --repair restores rows that fell behind",
		Long: "The workflow owns a case's state; its activities write the row. A row missing or behind its\n" +
			"workflow (a lost write, a restored database) is drift that --repair fixes by writing the\n" +
			"workflow's snapshot as its record activity would, with the history row of that version if it\n" +
			"is missing. A row ahead of its workflow (a reset workflow) is reported, not changed.\n" +
			"Drift is checked twice, --settle apart, so a write in flight is not counted. Exits 1 while\n" +
			"unrepaired drift remains.",
		RunE: func(cmd *cobra.Command, args []string) error {
			return withReconciler(cmd.Context(), cfg, func(_ *store.Store, rec *reconcile.Reconciler) error {
				ids := args
				if len(ids) == 0 {
					var err error
					if ids, err = rec.RunningCases(cmd.Context()); err != nil {
						return err
					}
				}
				rep, err := rec.Reconcile(cmd.Context(), ids, o)
				if err != nil {
					return err
				}
				if err := printReconcile(cmd.OutOrStdout(), rep, asJSON); err != nil {
					return err
				}
				if len(rep.Drifted) > rep.Repaired || len(rep.Unchecked) > 0 {
					return fmt.Errorf("%d cases drifted, %d repaired, %d could not be checked", len(rep.Drifted), rep.Repaired, len(rep.Unchecked))
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&o.Repair, "repair", false, "write the workflow's snapshot over rows that are missing or behind")
	cmd.Flags().DurationVar(&o.Settle, "settle", 5*time.Second, "wait before checking a drifted case again")
	cmd.Flags().IntVar(&o.Concurrency, "concurrency", 8, "workflow queries in flight")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printReconcile(out io.Writer, rep reconcile.Report, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(out).Encode(rep)
	}
	fmt.Fprintf(out, "checked %d cases: %d drifted, %d repaired\n", rep.Checked, len(rep.Drifted), rep.Repaired)
	for _, id := range slices.Sorted(maps.Keys(rep.Unchecked)) {
		fmt.Fprintf(out, "could not check %s: %s\n", id, rep.Unchecked[id])
	}
	if len(rep.Drifted) == 0 {
		return nil
	}
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "CASE\tDRIFT\tWORKFLOW\tROW\tREPAIRED")
	for _, d := range rep.Drifted {
		fmt.Fprintf(w, "%s\t%s\tv%d %s\tv%d %s\t%t\n", d.CaseID, d.Kind, d.WorkflowVersion, d.WorkflowState, d.RowVersion, d.RowState, d.Repaired)
	}
	return w.Flush()
}
