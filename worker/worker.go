// Package worker puts the case workflow and its activities on the task queue.
package worker

import (
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/bank/caseservice/activities"
	"github.com/bank/caseservice/workflows"
)

// New returns a worker for the case task queue with everything registered.
func New(c client.Client, acts *activities.Activities, opts worker.Options) worker.Worker {
	w := worker.New(c, workflows.TaskQueue, opts)
	Register(w, acts)
	return w
}

// Register puts the case workflow and activities on a registry; tests use it
// too, so what runs is what is tested.
func Register(r worker.Registry, acts *activities.Activities) {
	RegisterWorkflows(r)
	r.RegisterActivity(acts)
}

// RegisterWorkflows puts the workflows alone on a registry, as the replayer needs.
func RegisterWorkflows(r worker.WorkflowRegistry) {
	r.RegisterWorkflow(workflows.CaseWorkflow)
}
