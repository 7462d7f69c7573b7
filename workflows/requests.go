package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/bank/caseservice/casefile"
)

// Editor is who makes a change; recorded as the case's updated-by.
type Editor struct {
	ID   string
	Name string
}

// ProgressRequest changes a case's state or resolution, or reschedules its
// callback. Empty fields leave the case as it is, except that reopening
// clears the resolution.
type ProgressRequest struct {
	Editor Editor
	// IfVersion, when not 0, applies the change only at that case version.
	IfVersion int64
	// CaseType, when given, must be the case's type; it changes nothing.
	CaseType   string
	State      casefile.State
	Resolution string
	// ResolutionCode goes with resolving, or with a resolved case.
	ResolutionCode string
	// CallbackAt reschedules the callback of a callback request.
	CallbackAt *time.Time
	// Assignment changes who handles the case or its queue; it is recorded
	// as an Assigned version of its own, before the rest of the request.
	Assignment Assignment
}

// Assignment names the agent responsible for a case and its queue. A field
// left unset keeps what the case has; set to empty, it clears it.
type Assignment struct {
	SetAssignee  bool
	AssigneeID   string
	AssigneeName string
	SetQueue     bool
	Queue        string
}

// changes reports whether applying a to c would change anything.
func (a Assignment) changes(c *casefile.Case) bool {
	return a.SetAssignee && (a.AssigneeID != c.AssigneeID || a.AssigneeName != c.AssigneeName) ||
		a.SetQueue && a.Queue != c.Queue
}

func (a Assignment) applyTo(c *casefile.Case) {
	if a.SetAssignee {
		c.AssigneeID, c.AssigneeName = a.AssigneeID, a.AssigneeName
	}
	if a.SetQueue {
		c.Queue = a.Queue
	}
}

// CloseRequest closes a case, optionally with a final resolution.
type CloseRequest struct {
	Editor    Editor
	IfVersion int64
	// CaseType, when given, must be the case's type; it changes nothing.
	CaseType       string
	Resolution     string
	ResolutionCode string
}

// AddAttachmentRequest attaches file metadata; adding a file id that is already
// attached changes nothing.
type AddAttachmentRequest struct {
	Editor     Editor
	IfVersion  int64
	FileID     string
	FileName   string
	CustomerID string
}

// RemoveAttachmentRequest detaches a file.
type RemoveAttachmentRequest struct {
	Editor    Editor
	IfVersion int64
	FileID    string
}

// Result is what every accepted update returns: the case and the version it is now at.
type Result struct {
	CaseID  string
	Version int64
	// Recorded is false when the request asked for what the case already
	// had: no version was added.
	Recorded bool
}

// Rejection kinds, carried as the Type of the application error a validator
// returns so that callers can tell a conflict from bad input.
const (
	RejectInvalid  = "CaseInvalidRequest"
	RejectNotFound = "CaseNotFound"
	RejectConflict = "CaseConflict"
	// RejectStale refuses a change conditioned on a version the case has left.
	RejectStale = "CaseVersionMismatch"
	// RejectBusy turns an update away while the run continues as new; the
	// caller sends it again and it lands on the next run.
	RejectBusy = "CaseBusy"
)

func reject(kind, format string, args ...any) error {
	return temporal.NewApplicationErrorWithOptions(fmt.Sprintf(format, args...), kind, temporal.ApplicationErrorOptions{NonRetryable: true})
}

// FieldCaseType and FieldResolutionCode name the request field a
// RejectInvalid is about, carried as the application error's details so
// that the API can point at the field.
const (
	FieldCaseType       = "case-type"
	FieldResolutionCode = "resolution-code"
)

func rejectField(field, format string, args ...any) error {
	return temporal.NewApplicationErrorWithOptions(fmt.Sprintf(format, args...), RejectInvalid,
		temporal.ApplicationErrorOptions{NonRetryable: true, Details: []any{field}})
}

// OperatorAction is the input of the escalate and add-note updates, as an
// operator types it in the Temporal UI: {"operator": "jane.doe", "note": "..."},
// with "visibility": "customer" for a note the customer may read. The API's
// POST /cases/{case-id}/notes sends the same, naming its agent as Editor.
type OperatorAction struct {
	Operator string `json:"operator,omitempty"`
	Note     string `json:"note"`
	// Visibility of an added note: internal (the default) or customer.
	Visibility casefile.NoteVisibility `json:"visibility,omitempty"`
	Editor     *Editor                 `json:"editor,omitempty"`
	// IfVersion, when not 0, is the version the case must be at (If-Match).
	IfVersion int64 `json:"if-version,omitempty"`
}

// OperatorReschedule is the input of the reschedule-callback update:
// {"operator": "jane.doe", "callback-request-time": "2026-12-24T10:00:00Z"}.
type OperatorReschedule struct {
	Operator            string `json:"operator"`
	CallbackRequestTime string `json:"callback-request-time"`
}

// Start is what a case workflow run begins with. A first run gets the case
// as the API registers it; a continued run gets the case as the previous run
// left it, with its version, clocks and recent changes.
type Start struct {
	Case casefile.Case
	// Policy holds the case's time rules, fixed at registration.
	Policy Policy
	// RegisteredBy is the operation id of the request that registered the
	// case; a retry of that request may await the registration again, others not.
	RegisteredBy string
	// Recent are the latest changes, for the history query.
	Recent []ChangeSummary
}

// RecentChanges bounds the changes the history query keeps; the full
// history is in Postgres (GET /cases/{case-id}/history).
const RecentChanges = 100

// ChangeSummary is one line of the history query.
type ChangeSummary struct {
	Version int64           `json:"version"`
	Change  casefile.Change `json:"change"`
	At      time.Time       `json:"at"`
	By      string          `json:"by"`
	State   casefile.State  `json:"state"`
	Note    string          `json:"note,omitempty"`
}

// Policy holds the time rules of a case, fixed at registration.
type Policy struct {
	// AutoCloseAfter closes a Resolved case that is not reopened within it; 0: never.
	AutoCloseAfter time.Duration
	// ResolveWithin is the resolution deadline by importance; a missing one: no SLA.
	ResolveWithin map[string]time.Duration
	// CallbackMaxRetry bounds the retries of one callback delivery.
	CallbackMaxRetry time.Duration
	// NoticeMaxRetry bounds the retries of an escalation or customer notice.
	NoticeMaxRetry time.Duration
	// MaxHistoryEvents continues the run as new past this history length,
	// even before the server suggests it; 0: only when suggested.
	MaxHistoryEvents int
}
