package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/bank/caseservice/config"
	"github.com/bank/caseservice/internal/platform/temporalclient"
	"github.com/bank/caseservice/internal/replay"
	caseworker "github.com/bank/caseservice/worker"
)

func replayCommand(cfg config.Config) *cobra.Command {
	var query string
	var limit int
	cmd := &cobra.Command{
		Use:   "replay",
		Short: "Replay the histories of running cases from the cluster against this build; run it before every worker deploy",
		Long: "Downloads the histories of up to --limit running case workflows (those --query selects, or\n" +
			"all) and replays each against the case workflow of this build, decoding with the configured\n" +
			"key ring. A history this build does not follow (non-determinism) is listed and makes it exit 1.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 {
				return fmt.Errorf("--limit must be positive")
			}
			tc, err := temporalclient.Dial(cmd.Context(), cfg.Temporal, temporalclient.Options{Logger: zap.NewNop()})
			if err != nil {
				return err
			}
			defer tc.Close()
			replayer, err := caseworker.NewReplayer(cfg.Temporal.Codec)
			if err != nil {
				return err
			}
			results, err := replay.Running(cmd.Context(), tc, replayer, query, limit)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, r := range results {
				if r.Err != nil {
					fmt.Fprintf(out, "FAIL %s %s (%d events): %v\n", r.WorkflowID, r.RunID, r.Events, r.Err)
				}
			}
			failed := replay.Failed(results)
			fmt.Fprintf(out, "replayed %d running cases: %d ok, %d failed\n", len(results), len(results)-failed, failed)
			if failed > 0 {
				return fmt.Errorf("%d histories do not replay on this build: do not deploy it", failed)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&query, "query", "", `visibility query narrowing the cases, e.g. CaseClass="CallbackRequest"`)
	cmd.Flags().IntVar(&limit, "limit", 1000, "most cases to replay, newest first")
	return cmd
}
