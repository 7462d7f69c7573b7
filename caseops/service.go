// Package caseops sends the API's changes to each case's workflow and serves
// its reads from the store.
package caseops

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/store"
	"github.com/bank/caseservice/workflows"
)

// Service carries out case operations.
type Service struct {
	temporal client.Client
	store    *store.Store
	policy   workflows.Policy
}

// New returns a Service over a Temporal client and the case store; new cases
// are registered under policy.
func New(temporal client.Client, store *store.Store, policy workflows.Policy) *Service {
	return &Service{temporal: temporal, store: store, policy: policy}
}

// drawAttempts bounds how often Register draws a new id when a generated id
// collides with one a client chose.
const drawAttempts = 5

// NextCaseID draws a fresh case id.
func (s *Service) NextCaseID(ctx context.Context) (string, error) { return s.store.NextCaseID(ctx) }

// Register opens a new case and returns its id once the case is in Postgres.
// A case id chosen by the client must be free; otherwise one is drawn.
//
// With an operation id (from an Idempotency-Key) the case id must be given,
// reserved for that operation: a retry then finds the workflow its first
// attempt started and awaits the same registration instead of failing.
func (s *Service) Register(ctx context.Context, c casefile.Case, operationID string) (string, error) {
	if operationID != "" {
		err := s.start(ctx, c, operationID)
		if isAlreadyStarted(err) {
			return "", casefile.Reject(casefile.ErrConflict, "case id %s is already taken", c.ID)
		}
		if err != nil {
			return "", s.updateError(ctx, c.ID, workflows.UpdateAwaitRegistration, err)
		}
		return c.ID, nil
	}
	if c.ID != "" {
		if _, err := s.store.Case(ctx, c.ID); err == nil {
			return "", casefile.Reject(casefile.ErrConflict, "case id %s is already taken", c.ID)
		} else if !errors.Is(err, casefile.ErrNotFound) {
			return "", err
		}
		err := s.start(ctx, c, "")
		if isAlreadyStarted(err) {
			return "", casefile.Reject(casefile.ErrConflict, "case id %s is already taken", c.ID)
		}
		return c.ID, err
	}
	for range drawAttempts {
		id, err := s.store.NextCaseID(ctx)
		if err != nil {
			return "", err
		}
		c.ID = id
		if err := s.start(ctx, c, ""); !isAlreadyStarted(err) {
			return id, err
		}
	}
	return "", fmt.Errorf("no free case id after %d draws", drawAttempts)
}

// start runs the case workflow and waits, in the same round trip, until it
// has recorded the registration.
func (s *Service) start(ctx context.Context, c casefile.Case, operationID string) error {
	conflict := enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL
	if operationID != "" {
		// The workflow may be the one this operation's first attempt started;
		// the registration update's validator tells it from someone else's.
		conflict = enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
	}
	op := s.temporal.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID:                       workflows.CaseWorkflowID(c.ID),
		TaskQueue:                workflows.TaskQueue,
		WorkflowIDConflictPolicy: conflict,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes:    workflows.SearchAttributes(c),
		StaticSummary:            workflows.Summary(c),
	}, workflows.CaseWorkflow, workflows.Start{Case: c, Policy: s.policy, RegisteredBy: operationID})
	handle, err := s.temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: op,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateID:     operationID,
			UpdateName:   workflows.UpdateAwaitRegistration,
			Args:         []any{operationID},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err != nil {
		return fmt.Errorf("start case %s: %w", c.ID, err)
	}
	if err := handle.Get(ctx, nil); err != nil {
		return fmt.Errorf("await registration of %s: %w", c.ID, err)
	}
	return nil
}

func isAlreadyStarted(err error) bool {
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	return errors.As(err, &started)
}

// The changes below take an operation id: empty, or derived from an
// Idempotency-Key so that Temporal drops a repeat of a change it has seen.

// Progress changes a case's type, state or resolution.
func (s *Service) Progress(ctx context.Context, caseID, operationID string, req workflows.ProgressRequest) (workflows.Result, error) {
	return s.update(ctx, caseID, operationID, workflows.UpdateProgress, req)
}

// Close closes a case.
func (s *Service) Close(ctx context.Context, caseID, operationID string, req workflows.CloseRequest) (workflows.Result, error) {
	return s.update(ctx, caseID, operationID, workflows.UpdateClose, req)
}

// AddAttachment attaches file metadata to a case.
func (s *Service) AddAttachment(ctx context.Context, caseID, operationID string, req workflows.AddAttachmentRequest) (workflows.Result, error) {
	return s.update(ctx, caseID, operationID, workflows.UpdateAddAttachment, req)
}

// RemoveAttachment detaches a file from a case.
func (s *Service) RemoveAttachment(ctx context.Context, caseID, operationID string, req workflows.RemoveAttachmentRequest) (workflows.Result, error) {
	return s.update(ctx, caseID, operationID, workflows.UpdateRemoveAttachment, req)
}

// AddNote adds an agent's note, through the same update as an operator's.
func (s *Service) AddNote(ctx context.Context, caseID, operationID string, req workflows.OperatorAction) (workflows.Result, error) {
	return s.update(ctx, caseID, operationID, workflows.UpdateAddNote, req)
}

// update sends an update to the case's workflow and waits until the change is
// recorded, so that the next read shows it.
func (s *Service) update(ctx context.Context, caseID, operationID, name string, req any) (workflows.Result, error) {
	for {
		var result workflows.Result
		handle, err := s.temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			UpdateID:     operationID,
			WorkflowID:   workflows.CaseWorkflowID(caseID),
			UpdateName:   name,
			Args:         []any{req},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err == nil {
			err = handle.Get(ctx, &result)
		}
		if err == nil {
			return result, nil
		}
		if !isBusy(err) {
			return result, s.updateError(ctx, caseID, name, err)
		}
		// The case is moving to a new run; the update left no trace, so
		// sending it again is safe. The request's deadline bounds the wait.
		select {
		case <-ctx.Done():
			return result, fmt.Errorf("%s on case %s: %w", name, caseID, ctx.Err())
		case <-time.After(busyRetryDelay):
		}
	}
}

// busyRetryDelay spaces out retries of updates turned away during continue-as-new.
const busyRetryDelay = 20 * time.Millisecond

func isBusy(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == workflows.RejectBusy
}

// updateError turns a failed update into a rejection the client can act on
// where the failure was the case's rules or the case's absence.
func (s *Service) updateError(ctx context.Context, caseID, name string, err error) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		switch appErr.Type() {
		case workflows.RejectInvalid:
			rejection := &casefile.Rejection{Kind: casefile.ErrInvalid, Detail: appErr.Message()}
			if appErr.HasDetails() {
				// The field at fault; a detail that does not decode leaves it unnamed.
				_ = appErr.Details(&rejection.Field)
			}
			return rejection
		case workflows.RejectNotFound:
			return casefile.Reject(casefile.ErrNotFound, "%s", appErr.Message())
		case workflows.RejectConflict:
			return casefile.Reject(casefile.ErrConflict, "%s", appErr.Message())
		case workflows.RejectStale:
			return casefile.Reject(casefile.ErrStale, "%s", appErr.Message())
		}
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		// No running workflow: either no such case, or it is closed and done.
		c, lookupErr := s.store.Case(ctx, caseID)
		switch {
		case errors.Is(lookupErr, casefile.ErrNotFound):
			return casefile.NotFound(caseID)
		case lookupErr != nil:
			return lookupErr
		case c.State == casefile.StateClosed:
			return casefile.Reject(casefile.ErrConflict, "case %s is closed", caseID)
		default:
			// Recorded but without a running workflow: seeded data, or a
			// workflow an operator terminated.
			return casefile.Reject(casefile.ErrConflict, "case %s has no running workflow to change it", caseID)
		}
	}
	return fmt.Errorf("%s on case %s: %w", name, caseID, err)
}

// Case returns a case as last recorded.
func (s *Service) Case(ctx context.Context, caseID string) (casefile.Case, error) {
	return s.store.Case(ctx, caseID)
}

// List returns a page of cases.
func (s *Service) List(ctx context.Context, q store.CaseQuery) (store.CasePage, error) {
	return s.store.Cases(ctx, q)
}

// History returns a page of a case's recorded changes.
// An unknown case has an empty history; callers that must answer 404 look
// the case up first (the API does, for access control too).
func (s *Service) History(ctx context.Context, q store.HistoryQuery) (store.HistoryPage, error) {
	return s.store.History(ctx, q)
}

// Changes reads the changes feed: history rows of every case after a position.
func (s *Service) Changes(ctx context.Context, after store.FeedPosition, limit int) ([]store.FeedEntry, error) {
	return s.store.ChangesAfter(ctx, after, limit)
}
