package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bank/caseservice/internal/platform/auth"
	"github.com/bank/caseservice/internal/platform/devissuer"
)

// TestChangesFeedUnderConcurrentWriters follows GET /changes while eight
// callers change cases through the API: every history row appears once,
// and a reader from the start sees the same rows in the same order.
func TestChangesFeedUnderConcurrentWriters(t *testing.T) {
	s := startStack(t, stackOptions{})
	const writers, changes = 8, 6
	var ids []string
	for range writers {
		_, body := s.call(t, "POST", "/service-requests", map[string]any{"customer-id": "C-FEED"})
		ids = append(ids, body["id"].(string))
	}

	read := func(after string) (items []string, next string) {
		path := "/changes?page-size=7"
		if after != "" {
			path += "&after=" + url.QueryEscape(after)
		}
		status, body := s.call(t, "GET", path, nil)
		require.Equal(t, http.StatusOK, status, body)
		for _, item := range body["Items"].([]any) {
			row := item.(map[string]any)
			items = append(items, fmt.Sprintf("%s/%s", row["case-id"], row["version-num"]))
		}
		return items, body["next-token"].(string)
	}
	var followed []string
	position := ""
	catchUp := func() {
		for {
			items, next := read(position)
			followed, position = append(followed, items...), next
			if len(items) == 0 {
				return
			}
		}
	}

	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			for i := range changes {
				status, body := s.call(t, "PUT", "/cases/"+id, map[string]any{"resolution": fmt.Sprintf("step %d", i)})
				require.Equal(t, http.StatusOK, status, body)
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for following := true; following; {
		select {
		case <-done:
			following = false
		case <-time.After(20 * time.Millisecond):
		}
		catchUp()
	}
	catchUp()

	want := 0
	seen := map[string]int{}
	for _, key := range followed {
		seen[key]++
	}
	for _, id := range ids {
		rows := s.historyRows(t, id)
		want += len(rows)
		for version := range rows {
			require.Equal(t, 1, seen[fmt.Sprintf("%s/%d", id, version)], "%s version %d", id, version)
		}
	}
	require.Len(t, followed, want, "every row once, none other")
	require.Equal(t, writers*(changes+1), want)

	var again []string
	position = ""
	for {
		items, next := read(position)
		if len(items) == 0 {
			break
		}
		again, position = append(again, items...), next
	}
	require.Equal(t, followed, again, "one order for every reader")

	s.token = s.mint(t, devissuer.Claims{Subject: "customer-feed", Scopes: []string{auth.ScopeRead}, TTL: time.Hour, CustomerID: "C-FEED"})
	status, _ := s.call(t, "GET", "/changes", nil)
	require.Equal(t, http.StatusForbidden, status)
}
