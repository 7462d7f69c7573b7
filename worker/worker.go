// Package worker puts the case workflow and its activities on the task queue.
package worker

import (
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/bank/caseservice/activities"
	"github.com/bank/caseservice/config"
	"github.com/bank/caseservice/internal/platform/encryption"
	"github.com/bank/caseservice/workflows"
)

// New returns a worker for the case task queue with everything registered,
// polling as ScaledPolling does unless opts set how.
func New(c client.Client, acts *activities.Activities, opts worker.Options) worker.Worker {
	w := worker.New(c, workflows.TaskQueue, ScaledPolling(opts))
	Register(w, acts)
	return w
}

// ScaledPolling lets the number of task pollers follow the backlog the
// server reports, unless opts fix them. Two fixed workflow task pollers (the
// SDK's default) take tasks one round trip at a time each: under a burst of
// new cases, tasks then wait seconds in the queue while the worker idles
// (docs/BENCHMARKS.md, the create breakdown).
func ScaledPolling(opts worker.Options) worker.Options {
	if opts.WorkflowTaskPollerBehavior == nil && opts.MaxConcurrentWorkflowTaskPollers == 0 {
		opts.WorkflowTaskPollerBehavior = worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{})
	}
	if opts.ActivityTaskPollerBehavior == nil && opts.MaxConcurrentActivityTaskPollers == 0 {
		opts.ActivityTaskPollerBehavior = worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{})
	}
	return opts
}

// Register puts the case workflow and activities on a registry; tests use it
// too, so what runs is what is tested.
func Register(r worker.Registry, acts *activities.Activities) {
	RegisterWorkflows(r)
	r.RegisterActivity(acts)
}

// NewReplayer returns a replayer of the case workflow that reads histories
// written with the codec of ring.
func NewReplayer(ring config.Codec) (worker.WorkflowReplayer, error) {
	codec, _, err := encryption.FromConfig(ring, encryption.Options{})
	if err != nil {
		return nil, err
	}
	data, failures := encryption.Converters(codec)
	r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{DataConverter: data, FailureConverter: failures})
	if err != nil {
		return nil, err
	}
	RegisterWorkflows(r)
	return r, nil
}

// RegisterWorkflows puts the workflows alone on a registry, as the replayer needs.
func RegisterWorkflows(r worker.WorkflowRegistry) {
	r.RegisterWorkflow(workflows.CaseWorkflow)
}
