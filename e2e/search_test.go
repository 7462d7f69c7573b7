package e2e

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bank/caseservice/casefile"
)

// listed is a case as a list answer shows it.
type listed map[string]any

func (c listed) id() string { return c["case-id"].(string) }

// list pages through GET /cases?query by page-token and returns every item.
func (s *stack) list(t *testing.T, query string) []listed {
	t.Helper()
	var out []listed
	path := "/cases?" + query
	for range 1000 {
		status, page := s.call(t, "GET", path, nil)
		require.Equal(t, http.StatusOK, status, "%s: %v", path, page)
		out = append(out, pageItems(page)...)
		next, ok := page["next-page-token"].(string)
		if !ok {
			return out
		}
		path = "/cases?" + query + "&page-token=" + url.QueryEscape(next)
	}
	t.Fatalf("%s: more than 1000 pages", query)
	return nil
}

func ids(cases []listed) []string {
	out := make([]string, len(cases))
	for i, c := range cases {
		out[i] = c.id()
	}
	return out
}

// TestSearchFiltersAndSorts: each filter and sort of GET /cases, against
// the same answer worked out from the cases' details, with and without a
// customer (two query shapes), paged by token two at a time.
func TestSearchFiltersAndSorts(t *testing.T) {
	policy := testPolicy
	policy.ResolveWithin = map[string]time.Duration{"Critical": time.Hour, "High": 4 * time.Hour, "Standard": 48 * time.Hour}
	s := startStack(t, stackOptions{policy: &policy})

	create := func(path string, body map[string]any) string {
		status, answer := s.call(t, "POST", path, body)
		require.Equal(t, http.StatusCreated, status, answer)
		return answer["id"].(string)
	}
	progress := func(id string, body map[string]any) {
		status, answer := s.call(t, "PUT", "/cases/"+id, body)
		require.Equal(t, http.StatusOK, status, answer)
	}
	var created []string
	for i, importance := range []string{"Low", "Critical", "Standard", "High", "Critical", "Standard"} {
		path := "/complaints"
		if i%2 == 1 {
			path = "/service-requests"
		}
		created = append(created, create(path, map[string]any{"customer-id": "C-SEARCH", "importance": importance}))
	}
	callback := create("/callback-requests", map[string]any{
		"callback-request-time": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339), "categorry": "Cards", "party-id": "C-SEARCH"})
	created = append(created, callback)
	progress(created[0], map[string]any{"assignee-id": "agent-9", "assignee-name": "Ana Petrova"})
	progress(created[3], map[string]any{"assignee-id": "agent-9", "queue": "cards"})
	progress(created[1], map[string]any{"state": "Resolved", "resolution": "done"})
	status, _ := s.call(t, "DELETE", "/cases/"+created[2], map[string]any{"resolution": "withdrawn"})
	require.Equal(t, http.StatusOK, status)

	all := map[string]listed{}
	for _, c := range s.list(t, "state=Accepted,Resolved,Closed&page-size=100") {
		all[c.id()] = c
		require.Equal(t, "/v1/case/cases/"+c.id(), c["href"])
	}
	require.Len(t, all, len(created))
	// want lists the cases that match, in the order of sort.
	want := func(match func(listed) bool, sort string) []string {
		var out []listed
		for _, c := range all {
			if match(c) {
				out = append(out, c)
			}
		}
		slices.SortFunc(out, func(a, b listed) int { return compareForSort(sort, a, b) })
		return ids(out)
	}
	active := func(c listed) bool { return c["state"] != "Closed" }
	is := func(field string, values ...any) func(listed) bool {
		return func(c listed) bool { return active(c) && slices.Contains(values, c[field]) }
	}
	tests := []struct {
		query string
		match func(listed) bool
	}{
		{"", active},
		{"state=Accepted,Resolved", active},
		{"state=Closed", func(c listed) bool { return c["state"] == "Closed" }},
		{"state=Resolved,Closed", func(c listed) bool { return c["state"] != "Accepted" }},
		{"importance=High,Critical", is("importance", "High", "Critical")},
		{"assignee-id=agent-9", is("assignee-id", "agent-9")},
		{"assignee-id=none", is("assignee-id", nil)},
		{"queue=complaints", is("queue", "complaints")},
		{"queue=cards&assignee-id=agent-9", is("queue", "cards")},
		{"case-class=ServiceRequest", is("case-class", "ServiceRequest")},
		{"escalated=false", active},
		{"escalated=true", func(listed) bool { return false }},
		{"callback-status=Scheduled", is("callback-status", "Scheduled")},
		{"case-type=Complaint&importance=Low", func(c listed) bool { return active(c) && c["case-type"] == "Complaint" && c["importance"] == "Low" }},
		{"registered-from=" + url.QueryEscape(all[created[3]]["registration-date"].(string)), func(c listed) bool {
			return active(c) && c["registration-date"].(string) >= all[created[3]]["registration-date"].(string)
		}},
		{"registered-to=" + url.QueryEscape(all[created[3]]["registration-date"].(string)) + "&state=Accepted,Resolved,Closed", func(c listed) bool {
			return c["registration-date"].(string) < all[created[3]]["registration-date"].(string)
		}},
	}
	for _, sort := range []string{"", "-registration-date", "registration-date", "resolve-by", "-importance"} {
		for _, tt := range tests {
			for _, customer := range []string{"", "&customer-id=C-SEARCH"} {
				query := tt.query + customer + "&page-size=2"
				if sort != "" {
					query += "&sort=" + sort
				}
				assert.Equal(t, want(tt.match, sort), ids(s.list(t, query)), query)
			}
		}
	}

	for query, field := range map[string]string{
		"state=Accepted,Open": "state", "importance=Urgent": "importance", "assignee-id=" + strings.Repeat("a", 65): "assignee-id",
		"queue=a%20b": "queue", "case-class=Claim": "case-class", "escalated=maybe": "escalated",
		"callback-status=Lost": "callback-status", "registered-from=2026-13-01": "registered-from", "sort=newest": "sort",
		"page-token=forged": "page-token", "limit=5": "limit",
	} {
		status, problem := s.call(t, "GET", "/cases?"+query, nil)
		require.Equal(t, http.StatusBadRequest, status, query)
		require.Contains(t, invalidParamNames(problem), field, query)
	}
}

// compareForSort orders two listed cases as GET /cases's sort does.
func compareForSort(sort string, a, b listed) int {
	byID := strings.Compare(a.id(), b.id())
	switch sort {
	case "registration-date":
		return orThen(strings.Compare(a["registration-date"].(string), b["registration-date"].(string)), byID)
	case "resolve-by":
		da, _ := a["resolve-by"].(string)
		db, _ := b["resolve-by"].(string)
		switch {
		case da == "" && db == "":
			return byID
		case da == "":
			return 1
		case db == "":
			return -1
		}
		return orThen(strings.Compare(da, db), byID)
	case "-importance":
		rank := func(c listed) int { return slices.Index(casefile.Importances, c["importance"].(string)) }
		return orThen(rank(b)-rank(a), -byID)
	default:
		return orThen(strings.Compare(b["registration-date"].(string), a["registration-date"].(string)), -byID)
	}
}

func orThen(first, then int) int {
	if first != 0 {
		return first
	}
	return then
}

func invalidParamNames(problem map[string]any) []string {
	var names []string
	params, _ := problem["invalid-params"].([]any)
	for _, p := range params {
		names = append(names, p.(map[string]any)["name"].(string))
	}
	return names
}

// TestCursorPagesNeitherRepeatNorSkipWhileCasesArrive: while cases are
// registered, paging newest first by token yields every case that was
// there at the first page exactly once, and oldest first every case there
// at the first page, with no case twice.
func TestCursorPagesNeitherRepeatNorSkipWhileCasesArrive(t *testing.T) {
	s := startStack(t, stackOptions{})
	create := func() string {
		status, answer := s.call(t, "POST", "/complaints", map[string]any{"customer-id": "C-CURSOR"})
		require.Equal(t, http.StatusCreated, status, answer)
		return answer["id"].(string)
	}
	var before []string
	for range 12 {
		before = append(before, create())
	}
	for _, sort := range []string{"-registration-date", "registration-date"} {
		for _, customer := range []string{"", "&customer-id=C-CURSOR"} {
			query := "page-size=2&sort=" + sort + customer
			status, first := s.call(t, "GET", "/cases?"+query, nil)
			require.Equal(t, http.StatusOK, status)
			var wg sync.WaitGroup
			arrived := make(chan string, 10)
			wg.Go(func() {
				defer close(arrived)
				for range 10 {
					arrived <- create()
				}
			})
			seen := ids(pageItems(first))
			path := "/cases?" + query + "&page-token=" + url.QueryEscape(first["next-page-token"].(string))
			for {
				status, page := s.call(t, "GET", path, nil)
				require.Equal(t, http.StatusOK, status, page)
				seen = append(seen, ids(pageItems(page))...)
				next, ok := page["next-page-token"].(string)
				if !ok {
					break
				}
				path = "/cases?" + query + "&page-token=" + url.QueryEscape(next)
				time.Sleep(20 * time.Millisecond) // let cases arrive between pages
			}
			wg.Wait()
			var during []string
			for id := range arrived {
				during = append(during, id)
			}
			for _, id := range before {
				require.Equal(t, 1, count(seen, id), "%s: %s", query, id)
			}
			for _, id := range seen {
				require.Equal(t, 1, count(seen, id), "%s: %s twice", query, id)
				require.True(t, slices.Contains(before, id) || slices.Contains(during, id))
			}
			if sort == "-registration-date" {
				require.Len(t, seen, len(before), "newest first: the cases that arrive go before the first page")
			}
			before = append(before, during...)
		}
	}
}

func pageItems(page map[string]any) []listed {
	var out []listed
	for _, item := range page["Items"].([]any) {
		out = append(out, item.(map[string]any))
	}
	return out
}

func count(ids []string, id string) int {
	n := 0
	for _, x := range ids {
		if x == id {
			n++
		}
	}
	return n
}

// TestHistoryCursorPages: a case's history paged by token, two rows at a
// time, is every version once and in order, and the token of one case's
// history is refused for another's.
func TestHistoryCursorPages(t *testing.T) {
	s := startStack(t, stackOptions{})
	_, body := s.call(t, "POST", "/complaints", map[string]any{"customer-id": "C-HC"})
	id := body["id"].(string)
	_, other := s.call(t, "POST", "/complaints", map[string]any{"customer-id": "C-HC"})
	for i := range 6 {
		status, _ := s.call(t, "POST", "/cases/"+id+"/notes", map[string]any{"note": "note " + string(rune('a'+i))})
		require.Equal(t, http.StatusCreated, status)
	}
	var versions []string
	path := "/cases/" + id + "/history?page-size=2"
	var token string
	for {
		status, page := s.call(t, "GET", path, nil)
		require.Equal(t, http.StatusOK, status, page)
		require.EqualValues(t, 7, page["total-count"])
		for _, item := range pageItems(page) {
			versions = append(versions, item["version-num"].(string))
		}
		next, ok := page["next-page-token"].(string)
		if !ok {
			break
		}
		token = next
		path = "/cases/" + id + "/history?page-size=2&page-token=" + url.QueryEscape(next)
	}
	require.Equal(t, []string{"1", "2", "3", "4", "5", "6", "7"}, versions)
	status, problem := s.call(t, "GET", "/cases/"+other["id"].(string)+"/history?page-token="+url.QueryEscape(token), nil)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, []string{"page-token"}, invalidParamNames(problem))
}
