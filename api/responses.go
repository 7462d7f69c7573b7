package api

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/store"
)

// timestamp renders times as RFC 3339 in UTC with milliseconds; the guide's
// examples carry no zone, which is ambiguous for a bank spanning zones.
type timestamp time.Time

const timestampLayout = "2006-01-02T15:04:05.000Z07:00"

// AppendText lets the JSON encoder quote the time into its own buffer; a
// MarshalJSON result is allocated and then validated again by the encoder.
func (t timestamp) AppendText(b []byte) ([]byte, error) {
	return time.Time(t).UTC().AppendFormat(b, timestampLayout), nil
}

func (t timestamp) MarshalText() ([]byte, error) { return t.AppendText(nil) }

// timestampOf and null point into the case a view shows rather than copying
// each field to the heap: a page of 20 cases made ~300 small allocations.
func timestampOf(t *time.Time) *timestamp { return (*timestamp)(t) }

// null renders an empty string as JSON null, as the guide does for absent values.
func null(s *string) *string {
	if *s == "" {
		return nil
	}
	return s
}

// recordStatus is the guide's answer to every write.
type recordStatus struct {
	ID                  string `json:"id"`
	CreatedRecordStatus string `json:"created-record-status"`
}

// Values of created-record-status.
const (
	statusCreated   = "Created"
	statusUpdated   = "Updated"
	statusClosed    = "Closed"
	statusDeleted   = "Deleted"
	statusUnchanged = "Unchanged"
)

type attachmentView struct {
	FileID     string    `json:"file-id"`
	FileName   string    `json:"file-name"`
	CustomerID *string   `json:"customer-id"`
	AddedAt    timestamp `json:"added-at"`
}

// caseCore is what a case and each row of its history both show, in the
// guide's order; embedded, its fields are the view's own in JSON.
type caseCore struct {
	UpdatedByID      *string   `json:"updated-by-id"`
	UpdatedByName    *string   `json:"updated-by-name"`
	CustomerID       string    `json:"customer-id"`
	CustomerName     *string   `json:"customer-name"`
	CustomerIdentNum *string   `json:"customer-ident-num"`
	RegistrationDate timestamp `json:"registration-date"`
	State            string    `json:"state"`
	Resolution       *string   `json:"resolution"`
	Importance       string    `json:"importance"`
}

func coreOf(c *casefile.Case) caseCore {
	return caseCore{
		UpdatedByID:      null(&c.UpdatedByID),
		UpdatedByName:    null(&c.UpdatedByName),
		CustomerID:       c.CustomerID,
		CustomerName:     null(&c.CustomerName),
		CustomerIdentNum: null(&c.CustomerIdentNum),
		RegistrationDate: timestamp(c.RegisteredAt),
		State:            string(c.State),
		Resolution:       null(&c.Resolution),
		Importance:       c.Importance,
	}
}

// caseView is the guide's case shape; the fields after attachments are additive.
type caseView struct {
	CaseID           string  `json:"case-id"`
	CaseType         string  `json:"case-type"`
	CaseClass        string  `json:"case-class"`
	RegisteredByID   *string `json:"registered-by-id"`
	RegisteredByName *string `json:"registered-by-name"`
	caseCore
	Title                *string          `json:"title"` // in the guide's shape; nothing in the API sets it
	Details              *string          `json:"details"`
	ArrangementNum       *string          `json:"arrangement-num"`
	Attachments          []attachmentView `json:"attachments"`
	CommReason           *string          `json:"comm-reason"`
	CommReplyAddress     *string          `json:"comm-reply-address"`
	CommReplyAddressCode *string          `json:"comm-reply-address-code"`
	CommType             *string          `json:"comm-type"`
	RelCaseID            *string          `json:"rel-case-id"`
	CallbackRequestTime  *timestamp       `json:"callback-request-time"`
	Categorry            *string          `json:"categorry"`
	CallbackStatus       *string          `json:"callback-status"`
	ResolveBy            *timestamp       `json:"resolve-by"`
	Escalated            bool             `json:"escalated"`
	VersionNum           string           `json:"version-num"`
	UpdatedAt            timestamp        `json:"updated-at"`
	ResolutionCode       *string          `json:"resolution-code"`
	assignment
	// Href is where the case's details are.
	Href string `json:"href"`
}

// assignment is who handles a case and its queue, on a case and on each
// history row.
type assignment struct {
	AssigneeID   *string `json:"assignee-id"`
	AssigneeName *string `json:"assignee-name"`
	Queue        *string `json:"queue"`
}

// audience is who a view is for: customers never see an agent's id.
type audience bool

const (
	forAgent    audience = false
	forCustomer audience = true
)

func assignmentOf(c *casefile.Case, to audience) assignment {
	a := assignment{AssigneeID: null(&c.AssigneeID), AssigneeName: null(&c.AssigneeName), Queue: null(&c.Queue)}
	if to == forCustomer {
		a.AssigneeID = nil
	}
	return a
}

// caseRef is a case written as its caseView when the page is written: a
// page of them points into the store's cases instead of holding a ~0.4 KB
// view per item (a request for a 20-case page: 8.8 KB allocated -> 2.1 KB).
type caseRef struct {
	c  *casefile.Case
	to audience
}

func (r caseRef) appendJSON(b []byte) []byte { return viewOfCase(r.c, r.to).appendJSON(b) }

// MarshalJSON is the view's encoding/json form, which appendJSON is held to.
func (r caseRef) MarshalJSON() ([]byte, error) { return json.Marshal(viewOfCase(r.c, r.to)) }

// casePath is where a case's details are served.
func casePath(id string) string { return Root + "/cases/" + id }

func viewOfCase(c *casefile.Case, to audience) caseView {
	attachments := make([]attachmentView, 0, len(c.Attachments))
	for i := range c.Attachments {
		a := &c.Attachments[i]
		attachments = append(attachments, attachmentView{
			FileID: a.FileID, FileName: a.FileName, CustomerID: null(&a.CustomerID), AddedAt: timestamp(a.AddedAt),
		})
	}
	return caseView{
		CaseID:               c.ID,
		CaseType:             c.Type,
		CaseClass:            string(c.Class),
		RegisteredByID:       null(&c.RegisteredByID),
		RegisteredByName:     null(&c.RegisteredByName),
		caseCore:             coreOf(c),
		Details:              null(&c.Details),
		ArrangementNum:       null(&c.ArrangementNum),
		Attachments:          attachments,
		CommReason:           null(&c.CommReason),
		CommReplyAddress:     null(&c.CommReplyAddress),
		CommReplyAddressCode: null(&c.CommReplyAddressCode),
		CommType:             null(&c.CommType),
		RelCaseID:            null(&c.RelCaseID),
		CallbackRequestTime:  timestampOf(c.CallbackAt),
		Categorry:            null(&c.Categorry),
		CallbackStatus:       null((*string)(&c.CallbackStatus)),
		ResolveBy:            timestampOf(c.ResolveBy),
		Escalated:            c.Escalated,
		ResolutionCode:       null(&c.ResolutionCode),
		VersionNum:           strconv.FormatInt(c.Version, 10),
		UpdatedAt:            timestamp(c.UpdatedAt),
		assignment:           assignmentOf(c, to),
		Href:                 casePath(c.ID),
	}
}

// historyView is the guide's history row; change is additive.
type historyView struct {
	CaseID   string `json:"case-id"`
	CaseType string `json:"case-type"`
	caseCore
	Details        *string   `json:"details"`
	ArrangementNum *string   `json:"arrangement-num"`
	VersionNum     string    `json:"version-num"`
	VersionDate    timestamp `json:"version-date"`
	Change         string    `json:"change"`
	CallbackStatus *string   `json:"callback-status"`
	Escalated      bool      `json:"escalated"`
	Note           *string   `json:"note"`
	// NoteVisibility is "internal" or "customer" where there is a note.
	NoteVisibility *string `json:"note-visibility"`
	ResolutionCode *string `json:"resolution-code"`
	assignment
}

func viewOfHistory(e *casefile.HistoryEntry, to audience) historyView {
	c := &e.Case
	return historyView{
		CaseID:         c.ID,
		CaseType:       c.Type,
		caseCore:       coreOf(c),
		Details:        null(&c.Details),
		ArrangementNum: null(&c.ArrangementNum),
		VersionNum:     strconv.FormatInt(c.Version, 10),
		VersionDate:    timestamp(c.UpdatedAt),
		Change:         string(e.Change),
		CallbackStatus: null((*string)(&c.CallbackStatus)),
		Escalated:      c.Escalated,
		Note:           null(&e.Note),
		NoteVisibility: noteVisibilityOf(e),
		ResolutionCode: null(&c.ResolutionCode),
		assignment:     assignmentOf(c, to),
	}
}

// noteVisibilityOf is null when the row shows no note.
func noteVisibilityOf(e *casefile.HistoryEntry) *string {
	if e.Note == "" {
		return nil
	}
	v := string(e.NoteVisibility)
	return &v
}

// pageView is the guide's paging wrapper; next-page-token is additive.
type pageView[T jsonAppender] struct {
	TotalCount int64 `json:"total-count"`
	PageSize   int   `json:"page-size"`
	PageNumber int   `json:"page-number"`
	TotalPages int64 `json:"total-pages"`
	Items      []T   `json:"Items"`
	// NextPageToken fetches the page after this one; null on the last page.
	NextPageToken *string `json:"next-page-token"`
	// TotalCountExact is false when total-count is a lower bound: a
	// registration range is counted up to store.CountLimit cases.
	TotalCountExact bool `json:"total-count-exact"`
}

func newPageView[T jsonAppender](items []T, total int64, page store.Page, next *string) pageView[T] {
	return pageView[T]{
		TotalCount:      total,
		PageSize:        page.Size,
		PageNumber:      page.Number,
		TotalPages:      (total + int64(page.Size) - 1) / int64(page.Size),
		Items:           items,
		NextPageToken:   next,
		TotalCountExact: true,
	}
}
