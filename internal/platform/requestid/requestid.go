// Package requestid carries the API's request id through Temporal to the
// workflow and its activities.
package requestid

import (
	"context"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"
)

// header is the Temporal header that carries the id.
const header = "request-id"

type key struct{}

// With returns ctx carrying id.
func With(ctx context.Context, id string) context.Context { return context.WithValue(ctx, key{}, id) }

// From returns the id ctx carries, or "".
func From(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}

// FromWorkflow returns the id a workflow context carries, or "".
func FromWorkflow(ctx workflow.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}

// Propagator moves the id across Temporal calls; set it on the client of
// both processes.
type Propagator struct{}

var _ workflow.ContextPropagator = Propagator{}

func (Propagator) Inject(ctx context.Context, w workflow.HeaderWriter) error {
	return inject(From(ctx), w)
}

func (Propagator) InjectFromWorkflow(ctx workflow.Context, w workflow.HeaderWriter) error {
	return inject(FromWorkflow(ctx), w)
}

func (Propagator) Extract(ctx context.Context, r workflow.HeaderReader) (context.Context, error) {
	id, err := extract(r)
	if err != nil || id == "" {
		return ctx, err
	}
	return With(ctx, id), nil
}

func (Propagator) ExtractToWorkflow(ctx workflow.Context, r workflow.HeaderReader) (workflow.Context, error) {
	id, err := extract(r)
	if err != nil || id == "" {
		return ctx, err
	}
	return workflow.WithValue(ctx, key{}, id), nil
}

func inject(id string, w workflow.HeaderWriter) error {
	if id == "" {
		return nil
	}
	payload, err := converter.GetDefaultDataConverter().ToPayload(id)
	if err != nil {
		return err
	}
	w.Set(header, payload)
	return nil
}

func extract(r workflow.HeaderReader) (string, error) {
	payload, ok := r.Get(header)
	if !ok {
		return "", nil
	}
	var id string
	err := converter.GetDefaultDataConverter().FromPayload(payload, &id)
	return id, err
}
