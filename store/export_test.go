package store

import (
	"strings"

	"github.com/bank/caseservice/store/internal/queries"
)

// LookupsWaiting, QueriesInFlight, PagesWaiting and PageQueriesInFlight let
// the tests see batched reads' state.
func (s *Store) LookupsWaiting() int      { return waiting(s.batched.byID) }
func (s *Store) QueriesInFlight() int     { return inFlight(s.batched.byID) }
func (s *Store) PagesWaiting() int        { return waiting(s.batched.customerPages) }
func (s *Store) PageQueriesInFlight() int { return inFlight(s.batched.customerPages) }

func waiting[In, Out any](b *batcher[In, Out]) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.waiting)
}

func inFlight[In, Out any](b *batcher[In, Out]) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.inFlight
}

// The tests' tracer tells the reads it sees by their statements.
const (
	GetCaseSQL  = queries.GetCaseSQL
	GetCasesSQL = queries.GetCasesSQL
)

// IsCustomerPage tells a customer page's statement.
func IsCustomerPage(sql string) bool { return strings.HasPrefix(sql, customerPageMark) }

// CountSQL is the statement, and its arguments, that counts q's cases.
func CountSQL(q CaseQuery) (string, []any) {
	var args sqlArgs
	return countSQL(&args, q), args
}

// DirectCountSQL counts f's cases from the cases themselves.
func DirectCountSQL(f CaseFilter) (string, []any) {
	var args sqlArgs
	return "SELECT count(*) FROM cases AS c WHERE " + strings.Join(filterConditions(&args, f, "c"), " AND "), args
}
