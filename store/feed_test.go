package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/internal/pgtest"
	"github.com/bank/caseservice/store"
)

// readFeed reads the whole feed from a position, a page at a time.
func readFeed(t *testing.T, s *store.Store, from store.FeedPosition, size int) ([]store.FeedEntry, store.FeedPosition) {
	t.Helper()
	var all []store.FeedEntry
	for {
		page, err := s.ChangesAfter(context.Background(), from, size)
		require.NoError(t, err)
		if len(page) == 0 {
			return all, from
		}
		all = append(all, page...)
		from = page[len(page)-1].Position
	}
}

func versionsOf(entries []store.FeedEntry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, fmt.Sprintf("%s/%d", e.Case.ID, e.Case.Version))
	}
	return out
}

// A row written by a transaction that began earlier but commits later must
// not land behind a position a consumer has already passed: the feed holds
// back every row of a transaction newer than one still running.
func TestFeedWaitsForTransactionsStillRunning(t *testing.T) {
	pool, _ := pgtest.New(t)
	s := store.New(pool)
	ctx := context.Background()
	a := registered("WI0000000001", "C1", t0)
	require.NoError(t, s.Record(ctx, casefile.HistoryEntry{Case: a, Change: casefile.ChangeRegistered}))

	// An older transaction writes a row and stays open.
	slow, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer slow.Rollback(ctx)
	_, err = slow.Exec(ctx, `INSERT INTO case_history (case_id, version, version_date, change, case_type, customer_id,
		registration_date, state, importance) VALUES ('WI0000000002', 1, now(), 'Registered', 'Complaint', 'C2', now(), 'Accepted', 'Standard')`)
	require.NoError(t, err)

	// A newer one commits meanwhile.
	a.Version = 2
	require.NoError(t, s.Record(ctx, casefile.HistoryEntry{Case: a, Change: casefile.ChangeUpdated}))

	seen, at := readFeed(t, s, store.FeedPosition{}, 10)
	require.Equal(t, []string{"WI0000000001/1"}, versionsOf(seen), "version 2 waits behind the open transaction")

	require.NoError(t, slow.Commit(ctx))
	rest, _ := readFeed(t, s, at, 10)
	require.Equal(t, []string{"WI0000000002/1", "WI0000000001/2"}, versionsOf(rest), "in transaction order, nothing skipped")
}

// Concurrent writers and a consumer that follows them: every row once, in
// one order that a second reader from the start sees the same.
func TestFeedUnderConcurrentWritersServesEveryRowOnce(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	const writers, versions = 8, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			c := registered(casefile.FormatID(int64(w+1)), "C", t0)
			for v := int64(1); v <= versions; v++ {
				c.Version, c.UpdatedAt = v, t0.Add(time.Duration(v)*time.Second)
				require.NoError(t, s.Record(ctx, casefile.HistoryEntry{Case: c, Change: casefile.ChangeUpdated}))
				// A retried write of the same version adds nothing.
				require.NoError(t, s.Record(ctx, casefile.HistoryEntry{Case: c, Change: casefile.ChangeUpdated}))
			}
		})
	}
	var followed []store.FeedEntry
	var at store.FeedPosition
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		page, next := readFeed(t, s, at, 7)
		followed, at = append(followed, page...), next
	}

	seen := map[string]int{}
	for i, e := range followed {
		seen[fmt.Sprintf("%s/%d", e.Case.ID, e.Case.Version)]++
		if i > 0 {
			prev := followed[i-1].Position
			require.True(t, prev.Tx < e.Position.Tx || prev.Tx == e.Position.Tx && prev.Seq < e.Position.Seq, "in order")
		}
	}
	require.Len(t, seen, writers*versions)
	for key, n := range seen {
		require.Equal(t, 1, n, key)
	}
	again, _ := readFeed(t, s, store.FeedPosition{}, 1000)
	require.Equal(t, versionsOf(followed), versionsOf(again))
}
