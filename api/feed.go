package api

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/bank/caseservice/store"
)

// MaxFeedPageSize bounds a page of the changes feed.
const MaxFeedPageSize = 1000

// feedPage is an answer of GET /changes: the rows after the position the
// request gave, and the token to ask for the ones after them (the same
// token when there were none, so a consumer polls with it).
type feedPage struct {
	Items     []historyView `json:"Items"`
	NextToken string        `json:"next-token"`
}

// changes serves the changes feed: every history row of every case once,
// in the order of the transactions that wrote them. For the bank's systems
// (agent tokens); a customer token is refused.
func (h *handlers) changes(c *fiber.Ctx) error {
	if principalOf(c).CustomerID != "" {
		return &clientError{status: http.StatusForbidden, detail: "The changes feed is for the bank's systems, not customer tokens."}
	}
	var v validator
	q := newQuery(c, &v, "after", "page-size")
	size := q.positive("page-size", 100, MaxFeedPageSize)
	after, ok := parseFeedToken(c.Query("after"))
	if !ok {
		v.add("after", "is not a token this feed gave out")
	}
	if err := v.err(); err != nil {
		return err
	}
	entries, err := h.cases.Changes(c.UserContext(), after, size)
	if err != nil {
		return err
	}
	page := feedPage{Items: make([]historyView, 0, len(entries)), NextToken: feedToken(after)}
	for i := range entries {
		page.Items = append(page.Items, viewOfHistory(&entries[i].HistoryEntry, forAgent))
	}
	if len(entries) > 0 {
		page.NextToken = feedToken(entries[len(entries)-1].Position)
	}
	return c.JSON(page)
}

// A feed token is the position after a row, "f1.<transaction>.<row>" in
// unpadded base64url: opaque to consumers, who only hand it back.
const feedTokenPrefix = "f1."

func feedToken(p store.FeedPosition) string {
	raw := feedTokenPrefix + strconv.FormatInt(p.Tx, 10) + "." + strconv.FormatInt(p.Seq, 10)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// parseFeedToken reads a token; an empty one is the beginning of the feed.
func parseFeedToken(token string) (store.FeedPosition, bool) {
	if token == "" {
		return store.FeedPosition{}, true
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || !strings.HasPrefix(string(raw), feedTokenPrefix) {
		return store.FeedPosition{}, false
	}
	tx, seq, found := strings.Cut(strings.TrimPrefix(string(raw), feedTokenPrefix), ".")
	p := store.FeedPosition{}
	p.Tx, err = strconv.ParseInt(tx, 10, 64)
	if !found || err != nil || p.Tx < 0 {
		return store.FeedPosition{}, false
	}
	p.Seq, err = strconv.ParseInt(seq, 10, 64)
	if err != nil || p.Seq < 0 {
		return store.FeedPosition{}, false
	}
	return p, true
}
