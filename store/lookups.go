package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/store/internal/queries"
)

// batchedReads batches the two kinds of read (batching.go): cases by id, in
// one query (case_id = ANY), and a customer's pages, pipelined (each its own
// query, all sent in one write and answered in one read). Listings across
// customers are not batched: Postgres runs a pipeline's queries in turn, and
// one of them reads far more rows than a customer's page (about a
// millisecond against 0.06 ms) and would hold up the rest.
type batchedReads struct {
	byID          *batcher[string, casefile.Case]
	customerPages *batcher[caseQuery, CasePage]
}

// caseQuery is a query whose rows are cases, with the most rows expected.
type caseQuery struct {
	sql      string
	args     []any
	capacity int
}

// BatchReads returns a store that runs at most limit reads by id and limit
// customer pages at once, one of a kind while limit or more of it queue, and
// batches the reads that wait. The store it is called on is unchanged.
func (s *Store) BatchReads(limit int) *Store {
	batched := *s
	batched.batched = &batchedReads{
		byID:          &batcher[string, casefile.Case]{limit: limit, one: s.caseAlone, many: s.casesTogether},
		customerPages: &batcher[caseQuery, CasePage]{limit: limit, one: s.runCaseQuery, many: s.pipelineCaseQueries},
	}
	return &batched
}

// Case returns the current state of the case with the given id, or an error
// wrapping ErrNotFound.
func (s *Store) Case(ctx context.Context, id string) (casefile.Case, error) {
	var found casefile.Case
	var err error
	if s.batched == nil {
		found, err = s.caseAlone(ctx, id)
	} else {
		found, err = s.batched.byID.do(ctx, id)
	}
	if err != nil {
		return casefile.Case{}, mapError("get case "+id, err)
	}
	return found, nil
}

func (s *Store) caseAlone(ctx context.Context, id string) (casefile.Case, error) {
	cases, _, err := s.readCases(ctx, 1, queries.GetCaseSQL, id)
	if err != nil {
		return casefile.Case{}, err
	}
	if len(cases) == 0 {
		return casefile.Case{}, casefile.NotFound(id)
	}
	return cases[0], nil
}

// casesTogether reads the cases of a batch of lookups in one query.
func (s *Store) casesTogether(ctx context.Context, batch []*call[string, casefile.Case]) {
	ids := make([]string, len(batch))
	for i, c := range batch {
		ids[i] = c.in
	}
	cases, _, err := s.readCases(ctx, len(ids), queries.GetCasesSQL, ids)
	byID := make(map[string]*casefile.Case, len(cases))
	for i := range cases {
		byID[cases[i].ID] = &cases[i]
	}
	for _, c := range batch {
		switch found := byID[c.in]; {
		case err != nil:
			c.err = err
		case found == nil:
			c.err = casefile.NotFound(c.in)
		default:
			c.val = *found
		}
	}
}

// customerPage runs q, a page of one customer's cases, batched with the
// pages that wait if the store batches.
func (s *Store) customerPage(ctx context.Context, q caseQuery) (CasePage, error) {
	if s.batched == nil {
		return s.runCaseQuery(ctx, q)
	}
	return s.batched.customerPages.do(ctx, q)
}

func (s *Store) runCaseQuery(ctx context.Context, q caseQuery) (CasePage, error) {
	var page CasePage
	var err error
	page.Cases, page.Total, err = s.readCases(ctx, q.capacity, q.sql, q.args...)
	return page, err
}

// pipelineCaseQueries sends the queries of a batch together. Postgres runs
// them in turn, in one implicit transaction: the first to fail fails the rest.
func (s *Store) pipelineCaseQueries(ctx context.Context, batch []*call[caseQuery, CasePage]) {
	var queued pgx.Batch
	for _, c := range batch {
		queued.Queue(c.in.sql, c.in.args...)
	}
	results := s.pool.SendBatch(ctx, &queued)
	defer results.Close()
	for _, c := range batch {
		rows, err := results.Query()
		if err != nil {
			c.err = err
			continue
		}
		c.val.Cases, c.val.Total, c.err = collectCases(rows, c.in.capacity)
	}
}
