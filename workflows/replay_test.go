package workflows_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/config"
	"github.com/bank/caseservice/internal/platform/encryption"
	caseworker "github.com/bank/caseservice/worker"
	"github.com/bank/caseservice/workflows"
)

// fixtureCodec is the key ring the histories were recorded with.
var fixtureCodec = config.Codec{KeysFile: "testdata/codec-keys"}

// recordedHistories are runs of the case workflow recorded from a real dev
// server by make record-histories.
func recordedHistories(t *testing.T) []string {
	files, err := filepath.Glob("testdata/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	return files
}

// TestReplayRecordedHistories replays every recorded run: a change to the
// workflow that would break a running case fails here.
func TestReplayRecordedHistories(t *testing.T) {
	for _, file := range recordedHistories(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			replayer, err := caseworker.NewReplayer(fixtureCodec)
			require.NoError(t, err)
			require.NoError(t, replayer.ReplayWorkflowHistoryFromJSONFile(nil, file))
		})
	}
}

// TestReplayCatchesANonDeterministicChange shows that the replay test can
// fail: a workflow that starts a timer before what the case workflow does
// issues its commands in another order than the recorded runs.
func TestReplayCatchesANonDeterministicChange(t *testing.T) {
	changed := func(ctx workflow.Context, start workflows.Start) (casefile.Case, error) {
		if err := workflow.Sleep(ctx, time.Second); err != nil {
			return casefile.Case{}, err
		}
		return workflows.CaseWorkflow(ctx, start)
	}
	for _, file := range recordedHistories(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			codec, _, err := encryption.FromConfig(fixtureCodec, encryption.Options{})
			require.NoError(t, err)
			data, failures := encryption.Converters(codec)
			replayer, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{DataConverter: data, FailureConverter: failures})
			require.NoError(t, err)
			replayer.RegisterWorkflowWithOptions(changed, workflow.RegisterOptions{Name: "CaseWorkflow"})
			err = replayer.ReplayWorkflowHistoryFromJSONFile(nil, file)
			require.ErrorContains(t, err, "TMPRL1100", "the SDK's code for a non-deterministic workflow")
		})
	}
}
