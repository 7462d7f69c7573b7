// Package casefile is the vocabulary of a customer case that every part of the
// service shares.
package casefile

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"
)

// State is where a case is in its lifecycle.
type State string

const (
	StateAccepted State = "Accepted"
	StateResolved State = "Resolved"
	StateClosed   State = "Closed"
)

// States lists every state, in lifecycle order.
var States = []State{StateAccepted, StateResolved, StateClosed}

// Class says which endpoint opened a case.
type Class string

const (
	ClassComplaint       Class = "Complaint"
	ClassServiceRequest  Class = "ServiceRequest"
	ClassCallbackRequest Class = "CallbackRequest"
)

// Classes lists every class.
var Classes = []Class{ClassComplaint, ClassServiceRequest, ClassCallbackRequest}

// Importances accepted on create; ImportanceDefault applies when none is given.
var Importances = []string{"Low", "Standard", "High", "Critical"}

const ImportanceDefault = "Standard"

// CommTypes are the channels a customer may ask to be answered through.
var CommTypes = []string{"Email", "Letter", "Phone", "SMS", "Branch"}

// Categories of callback requests (the guide's "categorry").
var Categories = []string{"Cards", "Accounts", "Loans", "Deposits", "Payments", "EBanking", "Other"}

// MaxAttachments bounds the files of one case; every recorded version
// carries the whole list.
const MaxAttachments = 100

// Callback times may lie this far in the past (clock skew, slow clients) or
// this far ahead.
const (
	CallbackPastTolerance = time.Minute
	CallbackHorizon       = 366 * 24 * time.Hour
)

// ParseCallbackTime reads an RFC 3339 callback time and checks that it lies
// in the span allowed at now; the error says what is wrong in words for the
// caller.
func ParseCallbackTime(value string, now time.Time) (time.Time, error) {
	at, err := time.Parse(time.RFC3339Nano, value)
	switch {
	case err != nil:
		return time.Time{}, errors.New("must be an RFC 3339 time such as 2015-12-22T13:33:17.588Z")
	case at.Before(now.Add(-CallbackPastTolerance)):
		return at, errors.New("is in the past")
	case at.After(now.Add(CallbackHorizon)):
		return at, errors.New("is more than a year ahead")
	}
	return at.UTC(), nil
}

// Attachment is file metadata attached to a case; the file itself lives elsewhere.
type Attachment struct {
	FileID     string    `json:"file-id"`
	FileName   string    `json:"file-name"`
	CustomerID string    `json:"customer-id,omitempty"`
	AddedAt    time.Time `json:"added-at"`
}

// Case is the full current state of one case. Empty strings mean "no value".
type Case struct {
	ID               string
	Class            Class
	Type             string
	RegisteredByID   string
	RegisteredByName string
	UpdatedByID      string
	UpdatedByName    string
	CustomerID       string
	CustomerName     string
	CustomerIdentNum string
	RegisteredAt     time.Time
	State            State
	Resolution       string
	// ResolutionCode is the code from the bank's list a case was resolved
	// or closed with, for reporting; empty when none was given.
	ResolutionCode       string
	Importance           string
	Details              string
	ArrangementNum       string
	CommReason           string
	CommReplyAddress     string
	CommReplyAddressCode string
	CommType             string
	RelCaseID            string
	CallbackAt           *time.Time
	Categorry            string
	// CallbackStatus says where the callback is; empty on other classes.
	CallbackStatus CallbackStatus
	// CallbackSchedule counts how often the callback was scheduled (1 at
	// registration, +1 per reschedule); it keys deliveries for idempotency.
	CallbackSchedule int
	// ResolveBy is the resolution deadline from the importance's SLA, if any.
	ResolveBy *time.Time
	// Escalated is set once the case missed ResolveBy.
	Escalated bool
	// ResolvedAt is when the case was last resolved; the reopen window runs
	// from it. Kept by the workflow only.
	ResolvedAt  *time.Time
	Attachments []Attachment
	// Version counts recorded changes: 1 on registration, +1 per change.
	Version   int64
	UpdatedAt time.Time
	// AssigneeID and AssigneeName are the agent responsible for the case;
	// empty: nobody yet.
	AssigneeID   string
	AssigneeName string
	// Queue is the team's work queue the case sits in (routing.Rules at
	// registration, then whatever an agent sets).
	Queue string
}

// AttachmentIndex returns the position of fileID in c.Attachments, or -1.
func (c *Case) AttachmentIndex(fileID string) int {
	return slices.IndexFunc(c.Attachments, func(a Attachment) bool { return a.FileID == fileID })
}

// CallbackStatus is where a callback request's callback is.
type CallbackStatus string

const (
	CallbackScheduled CallbackStatus = "Scheduled"
	CallbackDelivered CallbackStatus = "Delivered"
	CallbackFailed    CallbackStatus = "Failed"
	CallbackCancelled CallbackStatus = "Cancelled"
)

// CallbackStatuses lists every callback status.
var CallbackStatuses = []CallbackStatus{CallbackScheduled, CallbackDelivered, CallbackFailed, CallbackCancelled}

// Change names what a recorded version did to the case.
type Change string

const (
	ChangeRegistered          Change = "Registered"
	ChangeUpdated             Change = "Updated"
	ChangeResolved            Change = "Resolved"
	ChangeReopened            Change = "Reopened"
	ChangeClosed              Change = "Closed"
	ChangeAttachmentAdded     Change = "AttachmentAdded"
	ChangeAttachmentRemoved   Change = "AttachmentRemoved"
	ChangeCallbackRescheduled Change = "CallbackRescheduled"
	ChangeCallbackDelivered   Change = "CallbackDelivered"
	ChangeCallbackFailed      Change = "CallbackFailed"
	ChangeEscalated           Change = "Escalated"
	ChangeNoticeSent          Change = "NoticeSent"
	ChangeNoticeFailed        Change = "NoticeFailed"
	ChangeNoteAdded           Change = "NoteAdded"
	ChangeAssigned            Change = "Assigned"
)

// HistoryEntry is one recorded version of a case.
type HistoryEntry struct {
	Case   Case
	Change Change
	// Note is an agent's or operator's note (ChangeNoteAdded, ChangeEscalated).
	Note string
	// NoteVisibility says who may read Note; empty is NoteInternal.
	NoteVisibility NoteVisibility
}

// NoteVisibility says who may read a note: agents only, or the customer too.
type NoteVisibility string

const (
	NoteInternal NoteVisibility = "internal"
	NoteCustomer NoteVisibility = "customer"
)

// MaxNoteLen bounds a note, in bytes.
const MaxNoteLen = 4000

// VisibleToCustomer reports whether a customer may read the note: only one the
// agent marked for them.
func (e HistoryEntry) VisibleToCustomer() bool { return e.NoteVisibility == NoteCustomer }

var idPattern = regexp.MustCompile(`^WI[0-9]{10}$`)

var queuePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidQueue reports whether name can name a queue: 1 to 64 letters,
// digits, '.', '_' or '-', starting with a letter or digit, so that it reads
// the same in a URL, a search attribute query and a log line.
func ValidQueue(name string) bool { return queuePattern.MatchString(name) }

// ValidID reports whether id has the bank's case id form: "WI" and 10 digits.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// FormatID turns a case number into a case id.
func FormatID(n int64) string { return fmt.Sprintf("WI%010d", n) }
