package store

import "github.com/bank/caseservice/store/internal/queries"

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
	GetCaseSQL           = queries.GetCaseSQL
	GetCasesSQL          = queries.GetCasesSQL
	ListCustomerCasesSQL = queries.ListCustomerCasesSQL
)
