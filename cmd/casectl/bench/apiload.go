package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/bank/caseservice/casefile"
)

// maxAnswerBytes bounds what is read of one answer; the API's own request
// limit is the same.
const maxAnswerBytes = 1 << 20

// apiLoad is the state of a load run against the API.
type apiLoad struct {
	client  *fasthttp.Client
	timeout time.Duration
	// bases are the API roots; request seq goes to bases[seq % n], and
	// each retry to the next one, so a dead API costs one attempt.
	bases  []string
	tokens []string
	runID  string
	// keyPrefix starts the Idempotency-Key of each request of a phase.
	keyPrefix  string
	retries    int
	callbackIn time.Duration
	mix        mix
	rec        *Recorder
	open       *casePool
	targets    *readTargets
	ledger     *ledger
	timeline   *timeline
	// listFilter is the query of every list; empty: a sampled customer's page.
	listFilter string
}

func newAPILoad(o loadOptions, m mix, tokens []string) *apiLoad {
	return &apiLoad{
		// fasthttp keeps the load tool's own CPU per request low (net/http
		// spent ~130 µs in goroutine handoffs on these two cores), and never
		// follows a redirect: only the address given is talked to.
		client: &fasthttp.Client{
			MaxConnsPerHost:           o.plan.Concurrency,
			MaxIdemponentCallAttempts: 1,
			NoDefaultUserAgentHeader:  true,
			// The bound the net/http client had: no answer is read past 1 MiB.
			MaxResponseBodySize: maxAnswerBytes,
		},
		timeout:    o.timeout,
		bases:      apiRoots(o.apiURL),
		tokens:     tokens,
		runID:      fmt.Sprintf("load-%d", time.Now().UnixNano()),
		retries:    o.retries,
		callbackIn: o.callbackIn,
		mix:        m,
		rec:        NewRecorder(),
		open:       &casePool{},
		targets:    &readTargets{},
		ledger:     &ledger{Cases: map[string]*ledgerCase{}},
		timeline:   &timeline{},
		listFilter: o.listFilter,
	}
}

// apiRoots splits --api's comma-separated roots.
func apiRoots(list string) []string {
	var roots []string
	for root := range strings.SplitSeq(list, ",") {
		if root = strings.TrimSuffix(strings.TrimSpace(root), "/"); root != "" {
			roots = append(roots, root)
		}
	}
	return roots
}

// newPhase starts a run of the plan: a fresh recorder, and Idempotency-Keys
// no other phase uses (sequence numbers start again at 0); name tells the
// phases apart.
func (l *apiLoad) newPhase(name string) {
	l.rec = NewRecorder()
	l.keyPrefix = l.runID + "-" + name + "-"
}

// do runs one operation of the mix. Writes go only to cases this run created
// and holds; when there is none to hold, the operation becomes a create.
func (l *apiLoad) do(ctx context.Context, seq int, scheduled time.Time) {
	op := l.mix.pick()
	token := l.tokens[seq%len(l.tokens)]
	key := l.keyPrefix + strconv.Itoa(seq)
	var o Outcome
	switch op {
	case "update", "close", "attach":
		if id, c := l.open.take(); id != "" {
			if op == "attach" && c.Attachments >= casefile.MaxAttachments-1 {
				op = "update"
			}
			o = l.change(ctx, op, id, c, seq, token, key)
		} else {
			op = "create"
		}
	case "get", "list":
		if op == "list" && l.listFilter != "" {
			o = l.read(ctx, seq, op, readTarget{}, token)
		} else if t, ok := l.targets.pick(); ok {
			o = l.read(ctx, seq, op, t, token)
		} else {
			op = "create"
		}
	}
	if op == "create" {
		o = l.create(ctx, seq, token, key)
	}
	l.rec.Record(op, time.Since(scheduled), o)
}

var createKinds = []struct {
	class casefile.Class
	path  string
}{
	{casefile.ClassComplaint, "/complaints"},
	{casefile.ClassServiceRequest, "/service-requests"},
	{casefile.ClassCallbackRequest, "/callback-requests"},
}

func (l *apiLoad) create(ctx context.Context, seq int, token, key string) Outcome {
	kind := createKinds[seq%len(createKinds)]
	customer := fmt.Sprintf("LOAD%06d", rand.IntN(10_000))
	var body map[string]any
	var callbackAt *time.Time
	if kind.class == casefile.ClassCallbackRequest {
		at := time.Now().Add(l.callbackIn).UTC().Truncate(time.Millisecond)
		callbackAt = &at
		body = map[string]any{"callback-request-time": at.Format(time.RFC3339Nano), "categorry": "Cards", "party-id": customer}
	} else {
		body = map[string]any{
			"customer-id": customer, "customer-name": "Load Customer", "importance": casefile.Importances[seq%len(casefile.Importances)],
			"details": "created by casectl load", "case-type": string(kind.class),
		}
	}
	reply, o := l.send(ctx, seq, http.MethodPost, kind.path, token, key, body)
	if o.Err != nil {
		return o
	}
	var answer struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(reply.body, &answer); err != nil || answer.ID == "" {
		o.Err = errors.New("create answered without an id")
		return o
	}
	c := &ledgerCase{Class: kind.class, Customer: customer, State: casefile.StateAccepted, Version: 1, CallbackAt: callbackAt}
	l.ledger.add(answer.ID, c)
	l.targets.add(readTarget{id: answer.ID, customer: customer, state: casefile.StateAccepted})
	l.open.put(answer.ID, c)
	return o
}

// change updates, closes or attaches to a case the caller holds, and hands
// it back unless it is closed or its state is no longer known.
func (l *apiLoad) change(ctx context.Context, op, id string, c *ledgerCase, seq int, token, key string) Outcome {
	path := "/cases/" + id
	method, next := http.MethodPut, c.State
	var body map[string]any
	switch op {
	case "update":
		// Resolve an accepted case, reopen a resolved one.
		next = casefile.StateResolved
		if c.State == casefile.StateResolved {
			next = casefile.StateAccepted
		}
		body = map[string]any{"state": string(next), "resolution": "progressed by casectl load"}
	case "close":
		method, next = http.MethodDelete, casefile.StateClosed
		body = map[string]any{"resolution": "closed by casectl load"}
	case "attach":
		method, path = http.MethodPost, path+"/attachments"
		body = map[string]any{"file-id": fmt.Sprintf("f-%d", seq), "file-name": "statement.pdf"}
	}
	reply, o := l.send(ctx, seq, method, path, token, key, body)
	if o.Err != nil {
		// The write may or may not have happened: the case's state is no
		// longer known, so it is not used again.
		l.ledger.unsure(id)
		return o
	}
	version, err := strconv.ParseInt(strings.Trim(reply.etag, `"`), 10, 64)
	if err != nil {
		l.ledger.unsure(id)
		o.Err = errors.New("change answered without an ETag")
		return o
	}
	l.ledger.wrote(id, next, version, op == "attach")
	if next != casefile.StateClosed {
		l.open.put(id, c)
	}
	return o
}

func (l *apiLoad) read(ctx context.Context, seq int, op string, t readTarget, token string) Outcome {
	path := "/cases/" + t.id
	switch {
	case op == "list" && l.listFilter != "":
		path = "/cases?" + l.listFilter
	case op == "list":
		path = "/cases?" + url.Values{"customer-id": {t.customer}, "state": {string(t.state)}, "page-size": {"20"}}.Encode()
	}
	_, o := l.send(ctx, seq, http.MethodGet, path, token, "", nil)
	return o
}

type reply struct {
	status int
	etag   string
	body   []byte
}

// send makes one request, retrying (up to l.retries) what may pass: no
// answer, a 5xx, a 429, or a 409 that says when to retry. Writes carry their
// Idempotency-Key on every attempt, so a retry never applies a change twice,
// whichever API it reaches.
func (l *apiLoad) send(ctx context.Context, seq int, method, path, token, key string, body any) (reply, Outcome) {
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	var o Outcome
	for attempt := 0; ; attempt++ {
		o.Retries = attempt
		r, wait, err := l.attempt(ctx, l.bases[(seq+attempt)%len(l.bases)], method, path, token, key, raw)
		l.timeline.note(err == nil)
		o.Status, o.Err = r.status, err
		if err == nil || wait < 0 || attempt >= l.retries || ctx.Err() != nil {
			return r, o
		}
		select {
		case <-ctx.Done():
			return r, o
		case <-time.After(max(wait, backoff(attempt))):
		}
	}
}

// attempt makes a request once. wait is negative when retrying cannot help,
// otherwise what the server asked to wait.
func (l *apiLoad) attempt(ctx context.Context, base, method, path, token, key string, raw []byte) (r reply, wait time.Duration, err error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(base + path)
	req.Header.SetMethod(method)
	req.Header.Set("Authorization", "Bearer "+token)
	if raw != nil {
		req.Header.SetContentType("application/json")
		req.SetBody(raw)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	deadline := time.Now().Add(l.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := l.client.DoDeadline(req, resp, deadline); err != nil {
		return r, 0, errors.New("no answer")
	}
	r.status, r.etag = resp.StatusCode(), string(resp.Header.Peek("ETag"))
	r.body = append([]byte(nil), resp.Body()...)
	if r.status < 300 {
		return r, 0, nil
	}
	err = fmt.Errorf("%d %s", r.status, http.StatusText(r.status))
	retryAfter := string(resp.Header.Peek("Retry-After"))
	switch {
	case r.status >= 500:
		return r, 0, err
	case r.status == http.StatusTooManyRequests, r.status == http.StatusConflict && retryAfter != "":
		seconds, _ := strconv.Atoi(retryAfter)
		return r, min(time.Duration(seconds)*time.Second, 5*time.Second), err
	default:
		return r, -1, err
	}
}

// backoff grows from 200 ms to at most 3 s.
func backoff(attempt int) time.Duration {
	return min(200*time.Millisecond<<min(attempt, 4), 3*time.Second)
}

// sampleTargets reads up to n existing cases through the API, spread over
// the pages of each state, as targets for get and list.
func (l *apiLoad) sampleTargets(ctx context.Context, n int) error {
	if n == 0 {
		return nil
	}
	const pageSize = 100
	perState := (n + len(casefile.States) - 1) / len(casefile.States)
	pages := (perState + pageSize - 1) / pageSize
	for _, state := range casefile.States {
		var totalPages int
		for i := range pages {
			page := 1
			if i > 0 {
				// Spread over the first thousand pages; deeper offsets only
				// make sampling slow.
				page = 1 + i*max(1, min(totalPages, 1000)/pages)
			}
			found, err := l.listPage(ctx, state, page, pageSize)
			if err != nil {
				return err
			}
			totalPages = found.TotalPages
			for _, c := range found.Items {
				l.targets.add(readTarget{id: c.ID, customer: c.Customer, state: state})
			}
			if page >= totalPages {
				break
			}
		}
	}
	return nil
}

type listAnswer struct {
	TotalPages int `json:"total-pages"`
	Items      []struct {
		ID       string `json:"case-id"`
		Customer string `json:"customer-id"`
	} `json:"Items"`
}

func (l *apiLoad) listPage(ctx context.Context, state casefile.State, page, size int) (listAnswer, error) {
	path := "/cases?" + url.Values{"state": {string(state)}, "page-number": {strconv.Itoa(page)}, "page-size": {strconv.Itoa(size)}}.Encode()
	r, _, err := l.attempt(ctx, l.bases[0], http.MethodGet, path, l.tokens[0], "", nil)
	if err != nil {
		return listAnswer{}, fmt.Errorf("sample cases from %s: %w", l.bases[0], err)
	}
	var found listAnswer
	if err := json.Unmarshal(r.body, &found); err != nil {
		return listAnswer{}, fmt.Errorf("sample cases: %w", err)
	}
	return found, nil
}

// casePool holds the open cases of a run that no caller is changing now.
type casePool struct {
	mu    sync.Mutex
	ids   []string
	cases []*ledgerCase
}

func (p *casePool) put(id string, c *ledgerCase) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ids, p.cases = append(p.ids, id), append(p.cases, c)
}

// take removes a random case from the pool; "" when it is empty.
func (p *casePool) take() (string, *ledgerCase) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.ids) == 0 {
		return "", nil
	}
	i, last := rand.IntN(len(p.ids)), len(p.ids)-1
	id, c := p.ids[i], p.cases[i]
	p.ids[i], p.cases[i] = p.ids[last], p.cases[last]
	p.ids, p.cases = p.ids[:last], p.cases[:last]
	return id, c
}

type readTarget struct {
	id, customer string
	state        casefile.State
}

// readTargets are the cases get and list pick from: sampled ones and the
// ones the run created, up to a bound.
type readTargets struct {
	mu   sync.Mutex
	list []readTarget
}

const maxReadTargets = 100_000

func (t *readTargets) add(r readTarget) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.list) < maxReadTargets {
		t.list = append(t.list, r)
	}
}

func (t *readTargets) pick() (readTarget, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.list) == 0 {
		return readTarget{}, false
	}
	return t.list[rand.IntN(len(t.list))], true
}
