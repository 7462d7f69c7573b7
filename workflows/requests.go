package workflows

import (
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/bank/caseservice/casefile"
)

// Editor is who makes a change; recorded as the case's updated-by.
type Editor struct {
	ID   string
	Name string
}

// ProgressRequest changes a case's type, state or resolution. Empty fields
// leave the case as it is, except that reopening clears the resolution.
type ProgressRequest struct {
	Editor     Editor
	CaseType   string
	State      casefile.State
	Resolution string
}

// CloseRequest closes a case, optionally with a final type and resolution.
type CloseRequest struct {
	Editor     Editor
	CaseType   string
	Resolution string
}

// AddAttachmentRequest attaches file metadata; adding a file id that is already
// attached changes nothing.
type AddAttachmentRequest struct {
	Editor     Editor
	FileID     string
	FileName   string
	CustomerID string
}

// RemoveAttachmentRequest detaches a file.
type RemoveAttachmentRequest struct {
	Editor Editor
	FileID string
}

// Result is what every accepted update returns: the case and the version it is now at.
type Result struct {
	CaseID  string
	Version int64
	// Recorded is false when the request asked for what the case already had.
	Recorded bool
}

// Rejection kinds, carried as the Type of the application error a validator
// returns so that callers can tell a conflict from bad input.
const (
	RejectInvalid  = "CaseInvalidRequest"
	RejectNotFound = "CaseNotFound"
	RejectConflict = "CaseConflict"
)

func reject(kind, format string, args ...any) error {
	return temporal.NewApplicationErrorWithOptions(fmt.Sprintf(format, args...), kind, temporal.ApplicationErrorOptions{NonRetryable: true})
}
