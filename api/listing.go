package api

import (
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/store"
)

// caseListingParams are the query parameters of GET /cases.
var caseListingParams = []string{"page-number", "page-size", "page-token", "sort", "state", "importance", "case-type",
	"customer-id", "assignee-id", "queue", "case-class", "escalated", "callback-status", "registered-from", "registered-to"}

// unassigned as assignee-id lists the cases nobody handles.
const unassigned = "none"

// readCaseListing reads the filters, order and page of GET /cases.
func readCaseListing(q query) (store.CaseFilter, store.CaseOrder, store.Page) {
	page := q.page(20)
	filter := store.CaseFilter{
		States:         listOf(q, "state", casefile.States),
		Importances:    listOf(q, "importance", casefile.Importances),
		CaseType:       q.text("case-type", maxIDLen),
		CaseClass:      one(q, "case-class", casefile.Classes),
		CustomerID:     q.text("customer-id", maxIDLen),
		Queue:          q.queue("queue"),
		Escalated:      q.boolean("escalated"),
		CallbackStatus: one(q, "callback-status", casefile.CallbackStatuses),
		RegisteredFrom: q.time("registered-from"),
		RegisteredTo:   q.time("registered-to"),
	}
	if assignee := q.text("assignee-id", maxIDLen); assignee == unassigned {
		filter.Unassigned = true
	} else {
		filter.AssigneeID = assignee
	}
	if !filter.RegisteredFrom.IsZero() && !filter.RegisteredTo.IsZero() && !filter.RegisteredFrom.Before(filter.RegisteredTo) {
		q.v.add("registered-to", "must be later than registered-from")
	}
	order := one(q, "sort", store.CaseOrders)
	if order == "" {
		order = store.NewestFirst
	}
	return filter, order, page
}

// ParseCaseListing reads GET /cases's parameters as an agent's request
// would have them read, for tools that list what the API lists (the load
// tool's HTTP floor). It takes no page-token.
func ParseCaseListing(values url.Values) (store.CaseQuery, error) {
	var v validator
	for key := range values {
		if !slices.Contains(caseListingParams, key) || key == "page-token" {
			v.add(key, "is not a query parameter of this operation")
		}
	}
	filter, order, page := readCaseListing(query{get: values.Get, v: &v})
	if len(v.params) > 0 {
		return store.CaseQuery{}, errors.New(v.params[0].Name + " " + v.params[0].Reason)
	}
	return store.CaseQuery{Filter: filter, Order: order, Page: page}, nil
}

// query reads and checks query parameters, refusing ones it does not know.
type query struct {
	get func(name string) string
	v   *validator
}

func newQuery(c *fiber.Ctx, v *validator, known ...string) query {
	for key := range c.Context().QueryArgs().All() {
		if !slices.Contains(known, string(key)) {
			v.add(string(key), "is not a query parameter of this operation")
		}
	}
	return query{get: func(name string) string { return c.Query(name) }, v: v}
}

const maxPageSize = 100

func (q query) page(defaultSize int) store.Page {
	return store.Page{
		Number: q.positive("page-number", 1, 1<<20),
		Size:   q.positive("page-size", defaultSize, maxPageSize),
	}
}

func (q query) positive(name string, def, max int) int {
	raw := q.get(name)
	if raw == "" {
		return def
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > max {
		q.v.add(name, "must be a whole number from 1 to "+strconv.Itoa(max))
		return def
	}
	return n
}

func (q query) text(name string, maxLen int) string {
	s := q.get(name)
	q.v.text(name, s, maxLen)
	return s
}

// listOf reads a comma-separated list of allowed values; absent: none.
func listOf[T ~string](q query, name string, allowed []T) []T {
	raw := q.get(name)
	if raw == "" {
		return nil
	}
	var out []T
	for _, item := range strings.Split(raw, ",") {
		value := T(strings.TrimSpace(item))
		if value == "" || !slices.Contains(allowed, value) {
			oneOf(q.v, name, value, allowed)
			if value == "" {
				q.v.add(name, "has an empty item")
			}
			continue
		}
		if !slices.Contains(out, value) {
			out = append(out, value)
		}
	}
	return out
}

// one reads one of the allowed values; absent: "".
func one[T ~string](q query, name string, allowed []T) T {
	value := T(q.get(name))
	oneOf(q.v, name, value, allowed)
	if !slices.Contains(allowed, value) {
		return ""
	}
	return value
}

func (q query) queue(name string) string {
	s := q.get(name)
	if s != "" && !casefile.ValidQueue(s) {
		q.v.add(name, "must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	return s
}

func (q query) boolean(name string) *bool {
	switch q.get(name) {
	case "":
		return nil
	case "true":
		b := true
		return &b
	case "false":
		b := false
		return &b
	}
	q.v.add(name, "must be true or false")
	return nil
}

func (q query) time(name string) time.Time {
	raw := q.get(name)
	if raw == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		q.v.add(name, "must be an RFC 3339 time such as 2026-03-01T00:00:00Z")
	}
	return t.UTC()
}
