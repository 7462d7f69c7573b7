package store

import "github.com/bank/caseservice/store/internal/queries"

// LookupsWaiting and QueriesInFlight let the tests see batched reads' state.
func (s *Store) LookupsWaiting() int {
	s.lookups.mu.Lock()
	defer s.lookups.mu.Unlock()
	return len(s.lookups.waiting)
}

func (s *Store) QueriesInFlight() int {
	s.lookups.mu.Lock()
	defer s.lookups.mu.Unlock()
	return s.lookups.inFlight
}

// GetCaseSQL and GetCasesSQL tell the tests' tracer which read it sees.
const (
	GetCaseSQL  = queries.GetCaseSQL
	GetCasesSQL = queries.GetCasesSQL
)
