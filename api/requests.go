package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/workflows"
)

// Field length limits, in characters (documented in the README).
const (
	maxIDLen      = 64
	maxNameLen    = 200
	maxTextLen    = 4000
	maxAddressLen = 320
	maxFileIDLen  = 128
	maxFileName   = 255
)

// caseRequest is the body of POST /complaints and POST /service-requests.
type caseRequest struct {
	CaseID               string `json:"case-id"`
	RegisteredByID       string `json:"registered-by-id"`
	RegisteredByName     string `json:"registered-by-name"`
	CustomerID           string `json:"customer-id"`
	CustomerName         string `json:"customer-name"`
	CustomerIdentNum     string `json:"customer-ident-num"`
	Importance           string `json:"importance"`
	Details              string `json:"details"`
	ArrangementNum       string `json:"arrangement-num"`
	CommReason           string `json:"comm-reason"`
	CommReplyAddress     string `json:"comm-reply-address"`
	CommReplyAddressCode string `json:"comm-reply-address-code"`
	CommType             string `json:"comm-type"`
	CaseType             string `json:"case-type"`
	RelCaseID            string `json:"rel-case-id"`
}

func (r *caseRequest) validate(v *validator) {
	v.caseID("case-id", r.CaseID, false)
	v.text("registered-by-id", r.RegisteredByID, maxIDLen)
	v.text("registered-by-name", r.RegisteredByName, maxNameLen)
	v.required("customer-id", r.CustomerID)
	v.text("customer-id", r.CustomerID, maxIDLen)
	v.text("customer-name", r.CustomerName, maxNameLen)
	v.text("customer-ident-num", r.CustomerIdentNum, maxIDLen)
	oneOf(v, "importance", r.Importance, casefile.Importances)
	v.text("details", r.Details, maxTextLen)
	v.text("arrangement-num", r.ArrangementNum, maxIDLen)
	v.text("comm-reason", r.CommReason, maxNameLen)
	v.text("comm-reply-address", r.CommReplyAddress, maxAddressLen)
	v.text("comm-reply-address-code", r.CommReplyAddressCode, maxIDLen)
	oneOf(v, "comm-type", r.CommType, casefile.CommTypes)
	v.text("case-type", r.CaseType, maxIDLen)
	v.caseID("rel-case-id", r.RelCaseID, false)
}

// callbackRequest is the body of POST /callback-requests.
type callbackRequest struct {
	CallbackRequestTime string `json:"callback-request-time"`
	Categorry           string `json:"categorry"`
	PartyID             string `json:"party-id"`
}

func (r *callbackRequest) validate(v *validator, now time.Time) time.Time {
	v.required("callback-request-time", r.CallbackRequestTime)
	v.required("categorry", r.Categorry)
	oneOf(v, "categorry", r.Categorry, casefile.Categories)
	v.required("party-id", r.PartyID)
	v.text("party-id", r.PartyID, maxIDLen)
	if r.CallbackRequestTime == "" {
		return time.Time{}
	}
	return callbackTime(v, r.CallbackRequestTime, now)
}

// callbackTime parses a callback time and checks it lies in the allowed span.
func callbackTime(v *validator, value string, now time.Time) time.Time {
	at, err := casefile.ParseCallbackTime(value, now)
	if err != nil {
		v.add("callback-request-time", err.Error())
	}
	return at
}

// closeRequest is the body of DELETE /cases/{case-id}; a PUT body holds the
// same fields and more.
type closeRequest struct {
	CaseType      string `json:"case-type"`
	CaseID        string `json:"case-id"`
	UpdatedByID   string `json:"updated-by-id"`
	UpdatedByName string `json:"updated-by-name"`
	Resolution    string `json:"resolution"`
	// ResolutionCode is one of the configured codes (an extension).
	ResolutionCode string `json:"resolution-code"`
}

func (r *closeRequest) validate(v *validator, pathID string, checks rules) {
	v.sameCase("case-id", r.CaseID, pathID)
	v.text("case-type", r.CaseType, maxIDLen)
	v.text("updated-by-id", r.UpdatedByID, maxIDLen)
	v.text("updated-by-name", r.UpdatedByName, maxNameLen)
	v.text("resolution", r.Resolution, maxTextLen)
	if r.ResolutionCode != "" && !slices.Contains(checks.resolutionCodes, r.ResolutionCode) {
		v.add("resolution-code", "is not one of the bank's resolution codes: "+strings.Join(checks.resolutionCodes, ", "))
	}
}

// rules are what a change is checked against besides its own fields.
type rules struct {
	now             time.Time
	resolutionCodes []string
}

// progressRequest is the body of PUT /cases/{case-id}.
type progressRequest struct {
	closeRequest
	State string `json:"state"`
	// CallbackRequestTime reschedules a callback request (an extension).
	CallbackRequestTime string `json:"callback-request-time"`
	// callbackAt is CallbackRequestTime parsed by validate.
	callbackAt *time.Time
	// AssigneeID, AssigneeName and Queue assign the case (extensions);
	// null clears them.
	AssigneeID   nullableText `json:"assignee-id"`
	AssigneeName nullableText `json:"assignee-name"`
	Queue        nullableText `json:"queue"`
	// assignment is what they ask for, read by validate.
	assignment workflows.Assignment
}

// nullableText is a body field where absent keeps a value, null clears it
// and a string sets it. It keeps the raw JSON for validate to read, so that
// a value of the wrong type is reported with its field's name.
type nullableText struct {
	present bool
	raw     []byte
}

func (t *nullableText) UnmarshalJSON(b []byte) error {
	t.present, t.raw = true, bytes.Clone(b)
	return nil
}

// read reports whether the field was given, and its value ("" for null).
func (t *nullableText) read(v *validator, name string, maxLen int) (string, bool) {
	if !t.present || string(t.raw) == "null" {
		return "", t.present
	}
	var s string
	if err := json.Unmarshal(t.raw, &s); err != nil {
		v.add(name, "must be a string or null")
		return "", true
	}
	if strings.TrimSpace(s) == "" {
		v.add(name, "must not be blank; null clears it")
	}
	v.text(name, s, maxLen)
	return s, true
}

// assigns reports whether the request changes who handles the case.
func (r *progressRequest) assigns() bool {
	return r.AssigneeID.present || r.AssigneeName.present || r.Queue.present
}

func (r *progressRequest) validateAssignment(v *validator) {
	a := &r.assignment
	a.AssigneeID, a.SetAssignee = r.AssigneeID.read(v, "assignee-id", maxIDLen)
	var named bool
	a.AssigneeName, named = r.AssigneeName.read(v, "assignee-name", maxNameLen)
	switch {
	case named && !a.SetAssignee:
		v.add("assignee-name", "goes with an assignee-id")
	case named && a.AssigneeID == "" && a.AssigneeName != "":
		v.add("assignee-name", "cannot name an agent while assignee-id is null")
	}
	a.Queue, a.SetQueue = r.Queue.read(v, "queue", maxIDLen)
	if a.Queue != "" && !casefile.ValidQueue(a.Queue) {
		v.add("queue", "must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
}

// changeBody is the body of a change to an existing case.
type changeBody interface {
	validate(v *validator, pathID string, checks rules)
}

func (r *progressRequest) validate(v *validator, pathID string, checks rules) {
	r.closeRequest.validate(v, pathID, checks)
	now := checks.now
	oneOf(v, "state", casefile.State(r.State), []casefile.State{casefile.StateAccepted, casefile.StateResolved})
	if r.CallbackRequestTime != "" {
		at := callbackTime(v, r.CallbackRequestTime, now)
		r.callbackAt = &at
	}
	r.validateAssignment(v)
}

// attachmentRequest is the body of POST /cases/{case-id}/attachments.
type attachmentRequest struct {
	CaseID     string `json:"case-id"`
	FileID     string `json:"file-id"`
	FileName   string `json:"file-name"`
	CustomerID string `json:"customer-id"`
}

func (r *attachmentRequest) validate(v *validator, pathID string, _ rules) {
	v.sameCase("case-id", r.CaseID, pathID)
	v.required("file-id", r.FileID)
	v.text("file-id", r.FileID, maxFileIDLen)
	v.required("file-name", r.FileName)
	v.text("file-name", r.FileName, maxFileName)
	v.text("customer-id", r.CustomerID, maxIDLen)
}

// noteRequest is the body of POST /cases/{case-id}/notes.
type noteRequest struct {
	Note       string `json:"note"`
	Visibility string `json:"visibility"`
}

func (r *noteRequest) validate(v *validator, _ string, _ rules) {
	v.required("note", r.Note)
	v.text("note", r.Note, casefile.MaxNoteLen)
	if len(r.Note) > casefile.MaxNoteLen && utf8.RuneCountInString(r.Note) <= casefile.MaxNoteLen {
		v.add("note", fmt.Sprintf("is %d bytes long; at most %d are allowed", len(r.Note), casefile.MaxNoteLen))
	}
	switch casefile.NoteVisibility(r.Visibility) {
	case "", casefile.NoteInternal, casefile.NoteCustomer:
	default:
		v.add("visibility", `must be "internal" or "customer"`)
	}
}

// validator collects every problem of a request before answering.
type validator struct{ params []invalidParam }

func (v *validator) add(name, reason string) {
	v.params = append(v.params, invalidParam{Name: name, Reason: reason})
}

func (v *validator) err() error {
	if len(v.params) == 0 {
		return nil
	}
	return &validationError{params: v.params}
}

func (v *validator) required(name, value string) {
	if strings.TrimSpace(value) == "" {
		v.add(name, "is required")
	}
}

func (v *validator) text(name, value string, maxLen int) {
	if n := utf8.RuneCountInString(value); n > maxLen {
		v.add(name, fmt.Sprintf("is %d characters long; at most %d are allowed", n, maxLen))
	}
	if strings.ContainsFunc(value, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' && r != '\r' }) {
		v.add(name, "contains control characters")
	}
}

// oneOf accepts an empty value or one of allowed.
func oneOf[T ~string](v *validator, name string, value T, allowed []T) {
	if value == "" || slices.Contains(allowed, value) {
		return
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	v.add(name, "must be one of "+strings.Join(names, ", "))
}

func (v *validator) caseID(name, value string, required bool) {
	if value == "" {
		if required {
			v.add(name, "is required")
		}
		return
	}
	if !casefile.ValidID(value) {
		v.add(name, `must be "WI" followed by 10 digits`)
	}
}

func (v *validator) sameCase(name, value, pathID string) {
	if value != "" && value != pathID {
		v.add(name, "must match the case id in the path")
	}
}

// decodeBody reads a JSON object into dst strictly: unknown fields, wrong
// types and trailing data are refused. An empty body is allowed only if optional.
func decodeBody(c *fiber.Ctx, dst any, optional bool) error {
	body := c.Body()
	if len(bytes.TrimSpace(body)) == 0 {
		if optional {
			return nil
		}
		return badRequest("A JSON request body is required.")
	}
	mediaType, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || (mediaType != fiber.MIMEApplicationJSON && !strings.HasSuffix(mediaType, "+json")) {
		return &clientError{status: fiber.StatusUnsupportedMediaType, detail: "The request body must be application/json."}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return badRequest(describeDecodeError(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("The request body must hold a single JSON object.")
	}
	return nil
}

// describeDecodeError says what is wrong with a body without echoing it.
func describeDecodeError(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return fmt.Sprintf("Field %q must be a %s.", typeErr.Field, typeErr.Type.Kind())
	case errors.As(err, &typeErr):
		return "The request body must be a JSON object."
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("The request body is not valid JSON (at byte %d).", syntaxErr.Offset)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Sprintf("Field %s is not part of this request.", strings.TrimPrefix(err.Error(), "json: unknown field "))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "The request body ends before the JSON object does."
	default:
		return "The request body is not a valid JSON object for this request."
	}
}
