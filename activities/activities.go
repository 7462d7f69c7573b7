// Package activities holds the side effects of the case workflow.
package activities

import (
	"context"
	"fmt"

	"github.com/bank/caseservice/casefile"
)

// Recorder persists case history entries; store.Store is the real one.
type Recorder interface {
	Record(ctx context.Context, entry casefile.HistoryEntry) error
}

// Activities carries the dependencies of the case activities.
type Activities struct {
	Recorder Recorder
}

// RecordChange writes the case's current row and its history row for this
// version. Idempotent on (case id, version): a retry changes nothing twice.
func (a *Activities) RecordChange(ctx context.Context, entry casefile.HistoryEntry) error {
	if err := a.Recorder.Record(ctx, entry); err != nil {
		return fmt.Errorf("record %s version %d: %w", entry.Case.ID, entry.Case.Version, err)
	}
	return nil
}
