package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/internal/platform/auth"
	"github.com/bank/caseservice/routing"
	"github.com/bank/caseservice/store"
	"github.com/bank/caseservice/workflows"
)

// Cases is what the handlers need done; caseops.Service does it.
// Changes take an operation id: empty, or derived from an Idempotency-Key.
type Cases interface {
	NextCaseID(ctx context.Context) (string, error)
	Register(ctx context.Context, c casefile.Case, operationID string) (string, error)
	Progress(ctx context.Context, caseID, operationID string, req workflows.ProgressRequest) (workflows.Result, error)
	Close(ctx context.Context, caseID, operationID string, req workflows.CloseRequest) (workflows.Result, error)
	AddAttachment(ctx context.Context, caseID, operationID string, req workflows.AddAttachmentRequest) (workflows.Result, error)
	RemoveAttachment(ctx context.Context, caseID, operationID string, req workflows.RemoveAttachmentRequest) (workflows.Result, error)
	AddNote(ctx context.Context, caseID, operationID string, req workflows.OperatorAction) (workflows.Result, error)
	Case(ctx context.Context, caseID string) (casefile.Case, error)
	List(ctx context.Context, q store.CaseQuery) (store.CasePage, error)
	// History in a customer's view leaves out what is for agents only.
	History(ctx context.Context, q store.HistoryQuery) (store.HistoryPage, error)
	// Changes reads the changes feed after a position.
	Changes(ctx context.Context, after store.FeedPosition, limit int) ([]store.FeedEntry, error)
}

type handlers struct {
	cases           Cases
	keys            IdempotencyStore
	now             func() time.Time
	resolutionCodes []string
	routing         routing.Rules
	pageTokens      pageTokenKeys
}

func (h *handlers) createComplaint(c *fiber.Ctx) error {
	return h.createCase(c, casefile.ClassComplaint)
}

func (h *handlers) createServiceRequest(c *fiber.Ctx) error {
	return h.createCase(c, casefile.ClassServiceRequest)
}

func (h *handlers) createCase(c *fiber.Ctx, class casefile.Class) error {
	var req caseRequest
	if err := decodeBody(c, &req, false); err != nil {
		return err
	}
	var v validator
	req.validate(&v)
	if err := v.err(); err != nil {
		return err
	}
	who := principalOf(c)
	if err := ownCustomer(who, req.CustomerID); err != nil {
		return err
	}
	caseID, err := h.reserveCaseID(c, req.CaseID)
	if err != nil {
		return err
	}
	id, err := h.register(c, casefile.Case{
		ID:                   caseID,
		Class:                class,
		Type:                 orDefault(req.CaseType, string(class)),
		RegisteredByID:       who.Subject,
		RegisteredByName:     orDefault(req.RegisteredByName, who.DisplayName()),
		CustomerID:           req.CustomerID,
		CustomerName:         req.CustomerName,
		CustomerIdentNum:     req.CustomerIdentNum,
		Importance:           orDefault(req.Importance, casefile.ImportanceDefault),
		Details:              req.Details,
		ArrangementNum:       req.ArrangementNum,
		CommReason:           req.CommReason,
		CommReplyAddress:     req.CommReplyAddress,
		CommReplyAddressCode: req.CommReplyAddressCode,
		CommType:             req.CommType,
		RelCaseID:            req.RelCaseID,
	})
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(recordStatus{ID: id, CreatedRecordStatus: statusCreated})
}

func (h *handlers) createCallbackRequest(c *fiber.Ctx) error {
	var req callbackRequest
	if err := decodeBody(c, &req, false); err != nil {
		return err
	}
	var v validator
	at := req.validate(&v, h.now())
	if err := v.err(); err != nil {
		return err
	}
	who := principalOf(c)
	if err := ownCustomer(who, req.PartyID); err != nil {
		return err
	}
	caseID, err := h.reserveCaseID(c, "")
	if err != nil {
		return err
	}
	id, err := h.register(c, casefile.Case{
		ID:               caseID,
		Class:            casefile.ClassCallbackRequest,
		Type:             string(casefile.ClassCallbackRequest),
		RegisteredByID:   who.Subject,
		RegisteredByName: who.DisplayName(),
		CustomerID:       req.PartyID,
		Importance:       casefile.ImportanceDefault,
		CallbackAt:       &at,
		Categorry:        req.Categorry,
	})
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(recordStatus{ID: id, CreatedRecordStatus: statusCreated})
}

// register starts a new case in the queue its routing gives.
func (h *handlers) register(c *fiber.Ctx, fresh casefile.Case) (string, error) {
	fresh.Queue = h.routing.QueueFor(&fresh)
	return h.cases.Register(c.UserContext(), fresh, idempotencyOf(c).operationID())
}

func (h *handlers) getCase(c *fiber.Ctx) error {
	id, err := caseIDParam(c)
	if err != nil {
		return err
	}
	found, err := h.caseFor(c, id)
	if err != nil {
		return err
	}
	setETag(c, found.Version)
	return sendJSON(c, viewOfCase(&found, audienceOf(c)))
}

func (h *handlers) listCases(c *fiber.Ctx) error {
	var v validator
	q := newQuery(c, &v, caseListingParams...)
	filter, order, page := readCaseListing(q)
	if who := principalOf(c); who.CustomerID != "" {
		if filter.AssigneeID != "" || filter.Unassigned {
			return &clientError{status: http.StatusForbidden, detail: "Customer tokens cannot list cases by agent."}
		}
		if filter.CustomerID != "" && filter.CustomerID != who.CustomerID {
			if err := v.err(); err != nil {
				return err
			}
			return sendJSON(c, newPageView([]caseRef{}, 0, page, nil))
		}
		filter.CustomerID = who.CustomerID
	}
	listing := listingOf("cases", struct {
		Filter store.CaseFilter
		Order  store.CaseOrder
	}{filter, order})
	after := pageTokenParam[store.CaseCursor](q, h.pageTokens, listing, &page)
	if err := v.err(); err != nil {
		return err
	}
	found, err := h.cases.List(c.UserContext(), store.CaseQuery{Filter: filter, Order: order, Page: page, After: after})
	if err != nil {
		return err
	}
	items := make([]caseRef, 0, len(found.Cases))
	to := audienceOf(c)
	for i := range found.Cases {
		items = append(items, caseRef{&found.Cases[i], to})
	}
	var next *string
	if found.More {
		last := store.CursorAfter(&found.Cases[len(found.Cases)-1])
		token := seal(h.pageTokens, pageToken[store.CaseCursor]{Listing: listing, Number: page.Number + 1, After: last})
		next = &token
	}
	view := newPageView(items, found.Total, page, next)
	view.TotalCountExact = !found.TotalAtLeast
	return sendJSON(c, view)
}

func (h *handlers) caseHistory(c *fiber.Ctx) error {
	id, err := caseIDParam(c)
	if err != nil {
		return err
	}
	var v validator
	q := newQuery(c, &v, "page-number", "page-size", "page-token")
	page := q.page(100)
	to := audienceOf(c)
	listing := listingOf("history", struct {
		CaseID   string
		Customer bool
	}{id, to == forCustomer})
	var afterVersion int64
	if after := pageTokenParam[int64](q, h.pageTokens, listing, &page); after != nil {
		afterVersion = *after
	}
	if err := v.err(); err != nil {
		return err
	}
	// One lookup serves both the 404 for an unknown case and the customer check.
	if _, err := h.caseFor(c, id); err != nil {
		return err
	}
	found, err := h.cases.History(c.UserContext(), store.HistoryQuery{CaseID: id, Page: page, AfterVersion: afterVersion, CustomerView: to == forCustomer})
	if err != nil {
		return err
	}
	items := make([]historyView, 0, len(found.Entries))
	for i := range found.Entries {
		items = append(items, viewOfHistory(&found.Entries[i], to))
	}
	var next *string
	if found.More {
		token := seal(h.pageTokens, pageToken[int64]{Listing: listing, Number: page.Number + 1, After: found.Entries[len(found.Entries)-1].Case.Version})
		next = &token
	}
	return sendJSON(c, newPageView(items, found.Total, page, next))
}

// pageTokenParam reads page-token for listing: the place its page starts
// after, with page set to the token's page number; nil without a token.
func pageTokenParam[Place any](q query, keys pageTokenKeys, listing string, page *store.Page) *Place {
	raw := q.get("page-token")
	if raw == "" {
		return nil
	}
	if q.get("page-number") != "" {
		q.v.add("page-number", "goes without page-token: the token knows its page")
	}
	t, reason := openToken[Place](keys, raw, listing)
	if reason != "" {
		q.v.add("page-token", reason)
		return nil
	}
	page.Number = t.Number
	return &t.After
}

// change is what every change to an existing case starts from.
type change struct {
	caseID      string
	operationID string
	ifVersion   int64
}

// beginChange reads the case id, the body (nil: none), If-Match, and checks
// the token may touch the case: everything before the workflow is asked.
func (h *handlers) beginChange(c *fiber.Ctx, body changeBody, bodyOptional bool) (change, error) {
	id, err := caseIDParam(c)
	if err != nil {
		return change{}, err
	}
	if body != nil {
		if err := decodeBody(c, body, bodyOptional); err != nil {
			return change{}, err
		}
		var v validator
		body.validate(&v, id, rules{now: h.now(), resolutionCodes: h.resolutionCodes})
		if err := v.err(); err != nil {
			return change{}, err
		}
	}
	version, err := ifMatch(c)
	if err != nil {
		return change{}, err
	}
	if err := h.checkAccess(c, id); err != nil {
		return change{}, err
	}
	return change{caseID: id, operationID: idempotencyOf(c).operationID(), ifVersion: version}, nil
}

// answerChange answers a change in the guide's shape, with the new ETag.
func answerChange(c *fiber.Ctx, result workflows.Result, recordID, status string) error {
	setETag(c, result.Version)
	return c.JSON(recordStatus{ID: recordID, CreatedRecordStatus: status})
}

func (h *handlers) updateCase(c *fiber.Ctx) error {
	var req progressRequest
	// An empty body asks for nothing: Unchanged.
	ch, err := h.beginChange(c, &req, true)
	if err != nil {
		return err
	}
	if req.assigns() && principalOf(c).CustomerID != "" {
		return &clientError{status: http.StatusForbidden, detail: "Cases are assigned by agents."}
	}
	result, err := h.cases.Progress(c.UserContext(), ch.caseID, ch.operationID, workflows.ProgressRequest{
		IfVersion:      ch.ifVersion,
		Editor:         editorOf(c, req.UpdatedByName),
		CaseType:       req.CaseType,
		State:          casefile.State(req.State),
		Resolution:     req.Resolution,
		ResolutionCode: req.ResolutionCode,
		CallbackAt:     req.callbackAt,
		Assignment:     req.assignment,
	})
	if err != nil {
		return err
	}
	status := statusUpdated
	if !result.Recorded {
		status = statusUnchanged
	}
	return answerChange(c, result, ch.caseID, status)
}

func (h *handlers) closeCase(c *fiber.Ctx) error {
	var req closeRequest
	ch, err := h.beginChange(c, &req, true)
	if err != nil {
		return err
	}
	result, err := h.cases.Close(c.UserContext(), ch.caseID, ch.operationID, workflows.CloseRequest{
		IfVersion:      ch.ifVersion,
		Editor:         editorOf(c, req.UpdatedByName),
		CaseType:       req.CaseType,
		Resolution:     req.Resolution,
		ResolutionCode: req.ResolutionCode,
	})
	if err != nil {
		return err
	}
	return answerChange(c, result, ch.caseID, statusClosed)
}

func (h *handlers) addAttachment(c *fiber.Ctx) error {
	var req attachmentRequest
	ch, err := h.beginChange(c, &req, false)
	if err != nil {
		return err
	}
	result, err := h.cases.AddAttachment(c.UserContext(), ch.caseID, ch.operationID, workflows.AddAttachmentRequest{
		IfVersion:  ch.ifVersion,
		Editor:     editorOf(c, ""),
		FileID:     req.FileID,
		FileName:   req.FileName,
		CustomerID: req.CustomerID,
	})
	if err != nil {
		return err
	}
	status := statusCreated
	if !result.Recorded {
		status = statusUnchanged
	}
	return answerChange(c, result, req.FileID, status)
}

// addNote adds a note to the case's history, for agents only or for the
// customer too; it goes through the workflow's add-note update, the one an
// operator uses in the Temporal UI. Customer tokens may not add notes.
func (h *handlers) addNote(c *fiber.Ctx) error {
	if principalOf(c).CustomerID != "" {
		return &clientError{status: http.StatusForbidden, detail: "Notes are added by agents."}
	}
	var req noteRequest
	ch, err := h.beginChange(c, &req, false)
	if err != nil {
		return err
	}
	editor := editorOf(c, "")
	result, err := h.cases.AddNote(c.UserContext(), ch.caseID, ch.operationID, workflows.OperatorAction{
		Note:       req.Note,
		Visibility: casefile.NoteVisibility(req.Visibility),
		Editor:     &editor,
		IfVersion:  ch.ifVersion,
	})
	if err != nil {
		return err
	}
	setETag(c, result.Version)
	return c.Status(http.StatusCreated).JSON(recordStatus{ID: ch.caseID, CreatedRecordStatus: statusCreated})
}

func (h *handlers) removeAttachment(c *fiber.Ctx) error {
	fileID := c.Params("fileID")
	var v validator
	v.text("file-id", fileID, maxFileIDLen)
	if err := v.err(); err != nil {
		return err
	}
	ch, err := h.beginChange(c, nil, true)
	if err != nil {
		return err
	}
	result, err := h.cases.RemoveAttachment(c.UserContext(), ch.caseID, ch.operationID, workflows.RemoveAttachmentRequest{
		IfVersion: ch.ifVersion,
		Editor:    editorOf(c, ""),
		FileID:    fileID,
	})
	if err != nil {
		return err
	}
	return answerChange(c, result, fileID, statusDeleted)
}

// audienceOf says whom the answer is for: a customer token's customer, or the bank.
func audienceOf(c *fiber.Ctx) audience {
	if principalOf(c).CustomerID != "" {
		return forCustomer
	}
	return forAgent
}

func caseIDParam(c *fiber.Ctx) (string, error) {
	id := c.Params("caseID")
	if !casefile.ValidID(id) {
		return "", &validationError{params: []invalidParam{{Name: "case-id", Reason: `must be "WI" followed by 10 digits`}}}
	}
	return id, nil
}

// editorOf is who makes a change: always the token's subject, with the
// body's display name where one is given.
func editorOf(c *fiber.Ctx, name string) workflows.Editor {
	who := principalOf(c)
	return workflows.Editor{ID: who.Subject, Name: orDefault(name, who.DisplayName())}
}

// caseFor reads a case the principal may see. A customer token sees its own
// customer's cases only; another's answers exactly as a missing case does.
func (h *handlers) caseFor(c *fiber.Ctx, id string) (casefile.Case, error) {
	found, err := h.cases.Case(c.UserContext(), id)
	if err != nil {
		return casefile.Case{}, err
	}
	if who := principalOf(c); who.CustomerID != "" && found.CustomerID != who.CustomerID {
		return casefile.Case{}, casefile.NotFound(id)
	}
	return found, nil
}

// checkAccess refuses a customer token another customer's case; agent tokens
// need no lookup.
func (h *handlers) checkAccess(c *fiber.Ctx, id string) error {
	if principalOf(c).CustomerID == "" {
		return nil
	}
	_, err := h.caseFor(c, id)
	return err
}

// reserveCaseID is the id a create registers. Without an Idempotency-Key it
// is the body's (or empty: the service draws one). With one, the id is
// recorded under the key before the workflow starts, so a retry after a crash
// registers the same case rather than a second one.
func (h *handlers) reserveCaseID(c *fiber.Ctx, requested string) (string, error) {
	idem := idempotencyOf(c)
	if idem == nil {
		return requested, nil
	}
	if idem.caseID != "" {
		return idem.caseID, nil
	}
	candidate := requested
	if candidate == "" {
		var err error
		if candidate, err = h.cases.NextCaseID(c.UserContext()); err != nil {
			return "", err
		}
	}
	return h.keys.ReserveIdempotentCaseID(c.UserContext(), idem.subject, idem.key, candidate)
}

// ownCustomer refuses a customer token a case for someone else.
func ownCustomer(who auth.Principal, customerID string) error {
	if who.CustomerID != "" && customerID != who.CustomerID {
		return &clientError{status: http.StatusForbidden, detail: "A customer token opens cases for its own customer only."}
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// setETag names the case version a response reflects, for If-Match.
func setETag(c *fiber.Ctx, version int64) {
	c.Set(fiber.HeaderETag, `"`+strconv.FormatInt(version, 10)+`"`)
}

// ifMatch reads If-Match: absent or * means any version (0); otherwise the
// strong ETag of GET /cases/{case-id}. A weak or foreign tag can never match.
func ifMatch(c *fiber.Ctx) (int64, error) {
	raw := strings.TrimSpace(c.Get(fiber.HeaderIfMatch))
	if raw == "" || raw == "*" {
		return 0, nil
	}
	unquoted, ok := strings.CutPrefix(raw, `"`)
	if ok {
		unquoted, ok = strings.CutSuffix(unquoted, `"`)
	}
	version, err := strconv.ParseInt(unquoted, 10, 64)
	if !ok || err != nil || version < 1 {
		return 0, &clientError{status: http.StatusPreconditionFailed,
			detail: `If-Match must be one strong ETag as GET /cases/{case-id} returns it, such as "3".`}
	}
	return version, nil
}
