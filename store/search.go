package store

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/bank/caseservice/casefile"
)

// CaseFilter narrows a case listing; a zero field does not narrow it.
type CaseFilter struct {
	// States are the states listed; none: every state but Closed.
	States      []casefile.State
	Importances []string
	CaseType    string
	CaseClass   casefile.Class
	CustomerID  string
	// AssigneeID lists one agent's cases; Unassigned the cases of nobody.
	AssigneeID string
	Unassigned bool
	Queue      string
	// Escalated, if set, lists only escalated cases (true) or only others.
	Escalated      *bool
	CallbackStatus casefile.CallbackStatus
	// RegisteredFrom (inclusive) and RegisteredTo (exclusive) bound the
	// registration date.
	RegisteredFrom, RegisteredTo time.Time
}

// CaseOrder is the order of a listing, named as GET /cases's sort names
// it; each ends with the case id, so that the order is total.
type CaseOrder string

const (
	NewestFirst        CaseOrder = "-registration-date"
	OldestFirst        CaseOrder = "registration-date"
	DeadlineFirst      CaseOrder = "resolve-by"
	MostImportantFirst CaseOrder = "-importance"
)

// CaseOrders lists every order; the first is the default.
var CaseOrders = []CaseOrder{NewestFirst, OldestFirst, DeadlineFirst, MostImportantFirst}

// CaseCursor is the place just after a case in a listing's order: a
// cursor page starts there, however many cases arrived before it since.
type CaseCursor struct {
	CaseID       string
	RegisteredAt time.Time
	// ResolveBy nil sorts after every deadline.
	ResolveBy  *time.Time
	Importance string
}

// CursorAfter is the cursor just after c.
func CursorAfter(c *casefile.Case) CaseCursor {
	return CaseCursor{CaseID: c.ID, RegisteredAt: c.RegisteredAt, ResolveBy: c.ResolveBy, Importance: c.Importance}
}

// CaseQuery is one page of a case listing: Page.Number's page, or with
// After the page that follows that cursor.
type CaseQuery struct {
	Filter CaseFilter
	// Order "" is NewestFirst.
	Order CaseOrder
	Page  Page
	After *CaseCursor
}

// CasePage is one page of cases.
type CasePage struct {
	Cases []casefile.Case
	Total int64
	// More says whether cases follow the page's last.
	More bool
	// TotalAtLeast says that Total is CountLimit and more cases match.
	TotalAtLeast bool
}

// Cases returns a page of the cases that match the query's filter, in its
// order. One customer's cases are a few rows, read from the customer index
// and numbered, with their count riding on every row; other listings walk
// an index in the listing's order (migrations/00006_case_search.sql), with
// the count in the same statement (countSQL).
func (s *Store) Cases(ctx context.Context, q CaseQuery) (CasePage, error) {
	offset := q.Page.offset()
	if q.After != nil {
		offset = 0
	}
	// One row more than the page tells whether another page follows.
	limit := q.Page.Size + 1
	sql, args := listingSQL(q, offset, limit)
	var out CasePage
	var err error
	if q.Filter.CustomerID != "" {
		out, err = s.customerPage(ctx, caseQuery{sql: sql, capacity: limit, args: args})
	} else {
		out.Cases, out.Total, err = s.readCases(ctx, limit, sql, args...)
	}
	if err != nil {
		return CasePage{}, mapError("list cases", err)
	}
	if len(out.Cases) > q.Page.Size {
		out.Cases, out.More = out.Cases[:q.Page.Size], true
	}
	if len(out.Cases) == 0 && (offset > 0 || q.After != nil) {
		// Past the last page the count has no row to ride on.
		var args sqlArgs
		sql := countSQL(&args, q)
		if err := s.pool.QueryRow(ctx, sql, args...).Scan(&out.Total); err != nil {
			return CasePage{}, mapError("count cases", err)
		}
	}
	if out.Total > CountLimit && q.Filter.countedUpToLimit() {
		out.Total, out.TotalAtLeast = CountLimit, true
	}
	return out, nil
}

// narrowsByAssigneeAndStateOnly says whether case_assignee_counts can count f's cases.
func (f CaseFilter) narrowsByAssigneeAndStateOnly() bool {
	other := f
	other.AssigneeID, other.States = "", nil
	return f.AssigneeID != "" && other.narrowsByStateAndTypeOnly() && other.CaseType == ""
}

// countedUpToLimit says whether f's cases are counted up to CountLimit:
// a registration range across customers. One customer's cases are few and
// always counted.
func (f CaseFilter) countedUpToLimit() bool {
	return f.registrationRange() && f.CustomerID == ""
}

// registrationRange says whether f bounds the registration date.
func (f CaseFilter) registrationRange() bool {
	return !f.RegisteredFrom.IsZero() || !f.RegisteredTo.IsZero()
}

// ListingStatement is the statement, and its arguments, that Cases runs
// for q's first page, for tools that measure it without the store (the
// load tool's floors).
func ListingStatement(q CaseQuery) (string, []any) {
	sql, args := listingSQL(q, 0, q.Page.Size+1)
	return sql, args
}

// listingSQL is the statement of a page of q, from offset, of at most limit rows.
func listingSQL(q CaseQuery, offset, limit int) (string, sqlArgs) {
	var args sqlArgs
	if q.Filter.CustomerID != "" {
		return customerPageSQL(&args, q, offset, limit), args
	}
	var b strings.Builder
	b.WriteString("SELECT c.*, (")
	b.WriteString(countSQL(&args, q))
	b.WriteString(")::bigint AS total_count FROM cases AS c WHERE ")
	conditions := filterConditions(&args, q.Filter, "c")
	if q.After != nil {
		conditions = append(conditions, keysetCondition(&args, q.Order, *q.After, "c"))
	}
	b.WriteString(strings.Join(conditions, " AND "))
	b.WriteString(" ORDER BY ")
	b.WriteString(orderBy(q.Order, "c"))
	b.WriteString(" LIMIT " + args.add(int32(limit)) + " OFFSET " + args.add(int32(offset)))
	return b.String(), args
}

// customerPageMark begins every customer page's statement, so that tests
// can tell them apart.
const customerPageMark = "/* customer page */ "

// customerPageSQL numbers the customer's matching cases in the listing's
// order and cuts the page by row number rather than OFFSET: with OFFSET as
// a parameter the planner costs the cached generic plan above a fresh one
// and plans every execution again (2x Postgres CPU per page). The numbered
// rows carry every column, so the page needs no second lookup by key.
func customerPageSQL(args *sqlArgs, q CaseQuery, offset, limit int) string {
	var b strings.Builder
	b.WriteString(customerPageMark)
	b.WriteString("SELECT page.* FROM (SELECT c.*, count(*) OVER () AS total_count, row_number() OVER (ORDER BY ")
	b.WriteString(orderBy(q.Order, "c"))
	b.WriteString(") AS position FROM cases AS c WHERE ")
	b.WriteString(strings.Join(filterConditions(args, q.Filter, "c"), " AND "))
	b.WriteString(") AS page WHERE page.position > " + args.add(int64(offset)))
	if q.After != nil {
		b.WriteString(" AND " + keysetCondition(args, q.Order, *q.After, "page"))
	}
	b.WriteString(" ORDER BY page.position LIMIT " + args.add(int32(limit)))
	return b.String()
}

// countSQL counts the cases that match q's filter: from case_counts,
// case_tallies or case_assignee_counts where the filter is one of theirs,
// one agent's cases with other filters from the assignee index, and a
// registration range up to CountLimit cases along the listing's own index.
func countSQL(args *sqlArgs, q CaseQuery) string {
	f := q.Filter
	switch {
	case f.narrowsByStateAndTypeOnly():
		conditions := []string{stateCondition(args, f.States, "k")}
		if f.CaseType != "" {
			conditions = append(conditions, "k.case_type = "+args.add(f.CaseType))
		}
		return "SELECT COALESCE(sum(k.n), 0) FROM case_counts AS k WHERE " + strings.Join(conditions, " AND ")
	case !f.registrationRange() && f.CustomerID == "" && f.AssigneeID == "":
		return "SELECT COALESCE(sum(k.n), 0) FROM case_tallies AS k WHERE " + strings.Join(tallyConditions(args, f), " AND ")
	case f.narrowsByAssigneeAndStateOnly():
		return "SELECT COALESCE(sum(k.n), 0) FROM case_assignee_counts AS k WHERE k.assignee_id = " + args.add(f.AssigneeID) +
			" AND " + stateCondition(args, f.States, "k")
	case !f.countedUpToLimit():
		return "SELECT count(*) FROM cases AS c WHERE " + strings.Join(filterConditions(args, f, "c"), " AND ")
	default:
		return "SELECT count(*) FROM (SELECT FROM cases AS c WHERE " + strings.Join(filterConditions(args, f, "c"), " AND ") +
			" ORDER BY " + orderBy(q.Order, "c") + " LIMIT " + strconv.Itoa(CountLimit+1) + ") AS counted"
	}
}

// CountLimit bounds the count of a listing by registration range: counting
// every case of a wide range would read them all. Past it, CasePage says
// only that more cases match.
const CountLimit = 1000

// tallyConditions are f's conditions on case_tallies' columns.
func tallyConditions(args *sqlArgs, f CaseFilter) []string {
	conditions := []string{stateCondition(args, f.States, "k")}
	equal := func(column, value string) {
		if value != "" {
			conditions = append(conditions, "k."+column+" = "+args.add(value))
		}
	}
	equal("case_type", f.CaseType)
	equal("case_class", string(f.CaseClass))
	equal("queue", f.Queue)
	equal("callback_status", string(f.CallbackStatus))
	if len(f.Importances) > 0 {
		conditions = append(conditions, "k.importance = ANY("+args.add(f.Importances)+")")
	}
	if f.Unassigned {
		conditions = append(conditions, "NOT k.assigned")
	}
	if f.Escalated != nil {
		conditions = append(conditions, "k.escalated = "+args.add(*f.Escalated))
	}
	return conditions
}

// narrowsByStateAndTypeOnly says whether case_counts can count f's cases.
func (f CaseFilter) narrowsByStateAndTypeOnly() bool {
	return len(f.Importances) == 0 && f.CaseClass == "" && f.CustomerID == "" && f.AssigneeID == "" && !f.Unassigned &&
		f.Queue == "" && f.Escalated == nil && f.CallbackStatus == "" && !f.registrationRange()
}

// sqlArgs collects a statement's parameters.
type sqlArgs []any

// add appends a parameter and returns its placeholder.
func (a *sqlArgs) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

func stateCondition(args *sqlArgs, states []casefile.State, alias string) string {
	column := alias + ".state"
	closed := slices.Contains(states, casefile.StateClosed)
	switch {
	case len(states) == 0:
		return column + " <> 'Closed'"
	case len(states) == 1:
		return column + " = " + args.add(string(states[0]))
	case !closed:
		// The redundant <> lets the planner use the indexes of active cases.
		return column + " = ANY(" + args.add(stateNames(states)) + ") AND " + column + " <> 'Closed'"
	default:
		return column + " = ANY(" + args.add(stateNames(states)) + ")"
	}
}

func stateNames(states []casefile.State) []string {
	out := make([]string, len(states))
	for i, s := range states {
		out[i] = string(s)
	}
	return out
}

func filterConditions(args *sqlArgs, f CaseFilter, alias string) []string {
	col := func(name string) string { return alias + "." + name }
	conditions := []string{stateCondition(args, f.States, alias)}
	equal := func(column, value string) {
		if value != "" {
			conditions = append(conditions, col(column)+" = "+args.add(value))
		}
	}
	equal("customer_id", f.CustomerID)
	equal("case_type", f.CaseType)
	equal("case_class", string(f.CaseClass))
	equal("assignee_id", f.AssigneeID)
	equal("queue", f.Queue)
	if f.CallbackStatus != "" {
		// Only callback requests have one; saying so lets cases_callbacks
		// serve, and another class matches nothing.
		conditions = append(conditions, col("callback_status")+" = "+args.add(string(f.CallbackStatus)),
			col("case_class")+" = 'CallbackRequest'")
		if f.CaseClass != "" && f.CaseClass != casefile.ClassCallbackRequest {
			conditions = append(conditions, "false")
		}
	}
	switch len(f.Importances) {
	case 0:
	case 1:
		equal("importance", f.Importances[0])
	default:
		conditions = append(conditions, col("importance")+" = ANY("+args.add(f.Importances)+")")
	}
	if f.Unassigned {
		conditions = append(conditions, col("assignee_id")+" IS NULL")
	}
	if f.Escalated != nil {
		if *f.Escalated {
			conditions = append(conditions, col("escalated"))
		} else {
			conditions = append(conditions, "NOT "+col("escalated"))
		}
	}
	if !f.RegisteredFrom.IsZero() {
		conditions = append(conditions, col("registration_date")+" >= "+args.add(f.RegisteredFrom))
	}
	if !f.RegisteredTo.IsZero() {
		conditions = append(conditions, col("registration_date")+" < "+args.add(f.RegisteredTo))
	}
	return conditions
}

// sortKey is an order's leading expression and its direction; the case id
// follows it in the same direction. Each matches an index's expressions
// (migrations/00006_case_search.sql) so that the index serves the order.
func sortKey(o CaseOrder, alias string) (key string, descending bool) {
	switch o {
	case OldestFirst:
		return alias + ".registration_date", false
	case DeadlineFirst:
		return "COALESCE(" + alias + ".resolve_by, 'infinity')", false
	case MostImportantFirst:
		return "importance_rank(" + alias + ".importance)", true
	default:
		return alias + ".registration_date", true
	}
}

// orderBy is the ORDER BY list of an order.
func orderBy(o CaseOrder, alias string) string {
	key, descending := sortKey(o, alias)
	if descending {
		return key + " DESC, " + alias + ".case_id DESC"
	}
	return key + ", " + alias + ".case_id"
}

// keysetCondition selects the cases after the cursor in the order.
func keysetCondition(args *sqlArgs, o CaseOrder, after CaseCursor, alias string) string {
	var value string
	switch o {
	case DeadlineFirst:
		deadline := pgtype.Timestamptz{InfinityModifier: pgtype.Infinity, Valid: true}
		if after.ResolveBy != nil {
			deadline = pgtype.Timestamptz{Time: *after.ResolveBy, Valid: true}
		}
		value = args.add(deadline) + "::timestamptz"
	case MostImportantFirst:
		value = args.add(ImportanceRank(after.Importance)) + "::int"
	default:
		value = args.add(after.RegisteredAt)
	}
	key, descending := sortKey(o, alias)
	beyond := " > "
	if descending {
		beyond = " < "
	}
	return "(" + key + ", " + alias + ".case_id)" + beyond + "(" + value + ", " + args.add(after.CaseID) + ")"
}

// ImportanceRank is the SQL function importance_rank: an importance's place
// in casefile.Importances, from 1 (Low); 0 for none.
func ImportanceRank(importance string) int {
	return slices.Index(casefile.Importances, importance) + 1
}
