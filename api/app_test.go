package api_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/bank/caseservice/api"
	"github.com/bank/caseservice/api/contract"
	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/internal/platform/auth"
	"github.com/bank/caseservice/internal/platform/devissuer"
	"github.com/bank/caseservice/internal/platform/health"
	"github.com/bank/caseservice/internal/platform/metrics"
	"github.com/bank/caseservice/routing"
	"github.com/bank/caseservice/store"
	"github.com/bank/caseservice/workflows"
)

// fakeCases records what reaches the service layer; a 4xx must reach nothing.
type fakeCases struct {
	calls        []string
	lastCase     casefile.Case
	lastProgress workflows.ProgressRequest
	err          error
	result       workflows.Result
	lastNote     workflows.OperatorAction
	customerView bool
	feed         []store.FeedEntry
	feedAfter    store.FeedPosition
	feedLimit    int
	lastList     store.CaseQuery
	listed       store.CasePage
	lastHistory  store.HistoryQuery
	history      store.HistoryPage
}

func (f *fakeCases) NextCaseID(context.Context) (string, error) {
	f.calls = append(f.calls, "NextCaseID")
	return "WI0000000099", f.err
}

func (f *fakeCases) Register(_ context.Context, c casefile.Case, _ string) (string, error) {
	f.calls = append(f.calls, "Register")
	f.lastCase = c
	return "WI0000000007", f.err
}

func (f *fakeCases) Progress(_ context.Context, _, _ string, req workflows.ProgressRequest) (workflows.Result, error) {
	f.calls = append(f.calls, "Progress")
	f.lastProgress = req
	return f.result, f.err
}

func (f *fakeCases) Close(context.Context, string, string, workflows.CloseRequest) (workflows.Result, error) {
	f.calls = append(f.calls, "Close")
	return f.result, f.err
}

func (f *fakeCases) AddAttachment(context.Context, string, string, workflows.AddAttachmentRequest) (workflows.Result, error) {
	f.calls = append(f.calls, "AddAttachment")
	return f.result, f.err
}

func (f *fakeCases) RemoveAttachment(context.Context, string, string, workflows.RemoveAttachmentRequest) (workflows.Result, error) {
	f.calls = append(f.calls, "RemoveAttachment")
	return f.result, f.err
}

func (f *fakeCases) AddNote(_ context.Context, _, _ string, req workflows.OperatorAction) (workflows.Result, error) {
	f.calls = append(f.calls, "AddNote")
	f.lastNote = req
	return f.result, f.err
}

func (f *fakeCases) Changes(_ context.Context, after store.FeedPosition, limit int) ([]store.FeedEntry, error) {
	f.calls = append(f.calls, "Changes")
	f.feedAfter, f.feedLimit = after, limit
	return f.feed, f.err
}

func (f *fakeCases) Case(context.Context, string) (casefile.Case, error) {
	f.calls = append(f.calls, "Case")
	return f.lastCase, f.err
}

func (f *fakeCases) List(_ context.Context, q store.CaseQuery) (store.CasePage, error) {
	f.calls = append(f.calls, "List")
	f.lastList = q
	return f.listed, f.err
}

func (f *fakeCases) History(_ context.Context, q store.HistoryQuery) (store.HistoryPage, error) {
	f.calls = append(f.calls, "History")
	f.customerView = q.CustomerView
	f.lastHistory = q
	return f.history, f.err
}

var now = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func testVerifier(keys jwk.Set) *auth.Verifier {
	return auth.NewVerifier(auth.Options{Keys: auth.StaticKeys{Keys: keys}, Issuer: "test-issuer", Audience: "case-api",
		Algorithms: auth.DefaultAlgorithms, Leeway: time.Second})
}

type fixture struct {
	app    *fiber.App
	cases  *fakeCases
	issuer *devissuer.Issuer
	token  string
}

// newFixture builds the app over a recording fake; tweaks set further options.
func newFixture(t testing.TB, tweaks ...func(*api.Options)) *fixture {
	t.Helper()
	issuer, err := devissuer.Load(filepath.Join(t.TempDir(), "key.json"), "test-issuer", "case-api")
	require.NoError(t, err)
	keys, err := issuer.PublicKeys()
	require.NoError(t, err)
	f := &fixture{cases: &fakeCases{}, issuer: issuer}
	opts := api.Options{
		Cases:          f.cases,
		Verifier:       testVerifier(keys),
		Logger:         zaptest.NewLogger(t),
		RequestTimeout: 5 * time.Second,
		Now:            func() time.Time { return now },
	}
	for _, tweak := range tweaks {
		tweak(&opts)
	}
	f.app = api.New(opts)
	f.token = f.mint(t, devissuer.Claims{Subject: "agent-7", Name: "Stevan.Kostoski",
		Scopes: []string{auth.ScopeRead, auth.ScopeWrite}, TTL: time.Hour})
	return f
}

func (f *fixture) mint(t testing.TB, c devissuer.Claims) string {
	t.Helper()
	tok, err := f.issuer.Token(c)
	require.NoError(t, err)
	return tok
}

type response struct {
	status  int
	header  http.Header
	body    map[string]any
	rawBody string
}

func (f *fixture) do(t *testing.T, method, path, body string, headers ...string) response {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+f.token)
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := f.app.Test(req, -1)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	r := response{status: resp.StatusCode, header: resp.Header, rawBody: string(raw)}
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &r.body), string(raw))
	}
	return r
}

// requireProblem checks an RFC 9457 answer and that nothing reached the service.
func requireProblem(t *testing.T, f *fixture, r response, status int) {
	t.Helper()
	require.Equal(t, status, r.status, r.rawBody)
	require.Equal(t, "application/problem+json", r.header.Get("Content-Type"))
	require.Equal(t, float64(status), r.body["status"])
	require.Equal(t, http.StatusText(status), r.body["title"])
	require.NotEmpty(t, r.body["request-id"])
	if status != http.StatusInternalServerError && status != http.StatusNotFound && status != http.StatusConflict {
		require.Empty(t, f.cases.calls, "a refused request must not reach the service")
	}
}

func invalidNames(r response) []string {
	var names []string
	params, _ := r.body["invalid-params"].([]any)
	for _, p := range params {
		names = append(names, p.(map[string]any)["name"].(string))
	}
	return names
}

func TestCreateComplaintAppliesDefaultsFromTheToken(t *testing.T) {
	f := newFixture(t)
	r := f.do(t, "POST", "/v1/case/complaints", `{"customer-id":"1104977710344","details":"card blocked"}`)
	require.Equal(t, http.StatusCreated, r.status, r.rawBody)
	require.Equal(t, map[string]any{"id": "WI0000000007", "created-record-status": "Created"}, r.body)
	c := f.cases.lastCase
	require.Equal(t, casefile.ClassComplaint, c.Class)
	require.Equal(t, "Complaint", c.Type)
	require.Equal(t, "Standard", c.Importance)
	require.Equal(t, "agent-7", c.RegisteredByID)
	require.Equal(t, "Stevan.Kostoski", c.RegisteredByName)
	require.Equal(t, "card blocked", c.Details)
}

func TestCreateServiceRequestKeepsBodyFields(t *testing.T) {
	f := newFixture(t)
	r := f.do(t, "POST", "/v1/case/service-requests", `{"case-id":"WI0000000123","registered-by-name":"Teller 1",
		"customer-id":"C1","importance":"High","comm-type":"Email","case-type":"NewCard","rel-case-id":"WI0000000001"}`)
	require.Equal(t, http.StatusCreated, r.status, r.rawBody)
	c := f.cases.lastCase
	require.Equal(t, casefile.ClassServiceRequest, c.Class)
	require.Equal(t, "WI0000000123", c.ID)
	require.Equal(t, "NewCard", c.Type)
	require.Equal(t, "High", c.Importance)
	require.Equal(t, "Teller 1", c.RegisteredByName)
	require.Equal(t, "agent-7", c.RegisteredByID)
}

func TestCreateCallbackRequest(t *testing.T) {
	f := newFixture(t)
	r := f.do(t, "POST", "/v1/case/callback-requests",
		`{"callback-request-time":"2026-03-02T13:33:17.588Z","categorry":"Cards","party-id":"P-1"}`)
	require.Equal(t, http.StatusCreated, r.status, r.rawBody)
	c := f.cases.lastCase
	require.Equal(t, casefile.ClassCallbackRequest, c.Class)
	require.Equal(t, "P-1", c.CustomerID)
	require.Equal(t, "Cards", c.Categorry)
	require.Equal(t, time.Date(2026, 3, 2, 13, 33, 17, 588_000_000, time.UTC), *c.CallbackAt)
}

func TestBadInputIsRefusedWithTheOffendingFields(t *testing.T) {
	long := strings.Repeat("x", 4001)
	tests := []struct {
		name, method, path, body string
		fields                   []string
	}{
		{"missing customer", "POST", "/v1/case/complaints", `{"details":"x"}`, []string{"customer-id"}},
		{"bad enums", "POST", "/v1/case/complaints", `{"customer-id":"C","importance":"Urgent","comm-type":"Pigeon"}`,
			[]string{"importance", "comm-type"}},
		{"over-long details", "POST", "/v1/case/service-requests", `{"customer-id":"C","details":"` + long + `"}`, []string{"details"}},
		{"malformed case id", "POST", "/v1/case/complaints", `{"customer-id":"C","case-id":"X1"}`, []string{"case-id"}},
		{"callback in the past", "POST", "/v1/case/callback-requests",
			`{"callback-request-time":"2026-03-02T08:58:00Z","categorry":"Cards","party-id":"P"}`, []string{"callback-request-time"}},
		{"callback not RFC 3339", "POST", "/v1/case/callback-requests",
			`{"callback-request-time":"tomorrow","categorry":"Cardz","party-id":""}`, []string{"categorry", "party-id", "callback-request-time"}},
		{"state Closed on PUT", "PUT", "/v1/case/cases/WI0000000001", `{"state":"Closed"}`, []string{"state"}},
		{"case id differs from path", "PUT", "/v1/case/cases/WI0000000001", `{"case-id":"WI0000000002","state":"Accepted"}`, []string{"case-id"}},
		{"close with other case id", "DELETE", "/v1/case/cases/WI0000000001", `{"case-id":"WI0000000002"}`, []string{"case-id"}},
		{"attachment without file", "POST", "/v1/case/cases/WI0000000001/attachments", `{"file-name":"a.pdf"}`, []string{"file-id"}},
		{"empty note", "POST", "/v1/case/cases/WI0000000001/notes", `{"note":"  ","visibility":"customer"}`, []string{"note"}},
		{"over-long note", "POST", "/v1/case/cases/WI0000000001/notes", `{"note":"` + long + `"}`, []string{"note"}},
		{"over-long note in bytes", "POST", "/v1/case/cases/WI0000000001/notes", `{"note":"` + strings.Repeat("é", 2001) + `"}`, []string{"note"}},
		{"feed page too large", "GET", "/v1/case/changes?page-size=1001", "", []string{"page-size"}},
		{"forged feed token", "GET", "/v1/case/changes?after=bm90LWEtdG9rZW4", "", []string{"after"}},
		{"damaged feed token", "GET", "/v1/case/changes?after=%21%21", "", []string{"after"}},
		{"feed parameter", "GET", "/v1/case/changes?since=1", "", []string{"since"}},
		{"unknown resolution code", "PUT", "/v1/case/cases/WI0000000001", `{"state":"Resolved","resolution":"x","resolution-code":"Nope"}`,
			[]string{"resolution-code"}},
		{"unknown resolution code on close", "DELETE", "/v1/case/cases/WI0000000001", `{"resolution-code":"Nope"}`, []string{"resolution-code"}},
		{"note for whom", "POST", "/v1/case/cases/WI0000000001/notes", `{"note":"x","visibility":"public"}`, []string{"visibility"}},
		{"malformed path id", "GET", "/v1/case/cases/123", "", []string{"case-id"}},
		{"page too large", "GET", "/v1/case/cases?page-size=101", "", []string{"page-size"}},
		{"unknown state", "GET", "/v1/case/cases?state=Open&page-number=0", "", []string{"page-number", "state"}},
		{"unknown parameter", "GET", "/v1/case/cases?sort=asc", "", []string{"sort"}},
		{"history page", "GET", "/v1/case/cases/WI0000000001/history?page-size=x", "", []string{"page-size"}},
		{"reschedule into the past", "PUT", "/v1/case/cases/WI0000000001", `{"callback-request-time":"2026-03-01T09:00:00Z"}`,
			[]string{"callback-request-time"}},
		{"reschedule not a time", "PUT", "/v1/case/cases/WI0000000001", `{"callback-request-time":"soon"}`,
			[]string{"callback-request-time"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			r := f.do(t, tt.method, tt.path, tt.body)
			requireProblem(t, f, r, http.StatusBadRequest)
			require.ElementsMatch(t, tt.fields, invalidNames(r))
		})
	}
}

func TestMalformedBodiesAreRefused(t *testing.T) {
	tests := []struct {
		name, body, contentType string
		status                  int
		detail                  string
	}{
		{"unknown field", `{"customer-id":"C","colour":"red"}`, "application/json", 400, `Field "colour" is not part of this request.`},
		{"wrong type", `{"customer-id":42}`, "application/json", 400, `Field "customer-id" must be a string.`},
		{"not JSON", `{"customer-id":`, "application/json", 400, "The request body ends before the JSON object does."},
		{"two objects", `{"customer-id":"C"}{}`, "application/json", 400, "The request body must hold a single JSON object."},
		{"array", `[]`, "application/json", 400, "The request body must be a JSON object."},
		{"empty", ``, "application/json", 400, "A JSON request body is required."},
		{"form body", `customer-id=C`, "application/x-www-form-urlencoded", 415, "The request body must be application/json."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			r := f.do(t, "POST", "/v1/case/complaints", tt.body, "Content-Type", tt.contentType)
			requireProblem(t, f, r, tt.status)
			require.Equal(t, tt.detail, r.body["detail"])
		})
	}
}

// The body limit is enforced by the HTTP server before routing, which
// app.Test bypasses, so this one goes over a real socket. The server answers
// from the Content-Length alone; sending only headers keeps the client from
// racing the server's close with a write.
func TestServerOwnedFieldsCannotBeSet(t *testing.T) {
	for _, field := range []string{`"state":"Closed"`, `"registration-date":"2015-11-13T16:26:24.853Z"`,
		`"version-num":"9"`, `"case-class":"ServiceRequest"`, `"callback-status":"Delivered"`, `"escalated":true`} {
		f := newFixture(t)
		r := f.do(t, "POST", "/v1/case/complaints", `{"customer-id":"C",`+field+`}`)
		requireProblem(t, f, r, http.StatusBadRequest)
	}
}

func TestChangesAreRecordedAsTheTokensSubject(t *testing.T) {
	f := newFixture(t)
	r := f.do(t, "PUT", "/v1/case/cases/WI0000000001", `{"updated-by-id":"someone-else","updated-by-name":"Desk 4","state":"Accepted"}`)
	require.Equal(t, http.StatusOK, r.status, r.rawBody)
	require.Equal(t, workflows.Editor{ID: "agent-7", Name: "Desk 4"}, f.cases.lastProgress.Editor)
}

func TestBodyOverOneMebibyteIs413(t *testing.T) {
	f := newFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = f.app.Listener(ln) }()
	t.Cleanup(func() { _ = f.app.Shutdown() })

	conn, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "POST /v1/case/complaints HTTP/1.1\r\nHost: case\r\n"+
		"Authorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		f.token, 1<<20+1)
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	require.Empty(t, f.cases.calls)
}

func TestTokensAreChecked(t *testing.T) {
	f := newFixture(t)
	other, err := devissuer.Load(filepath.Join(t.TempDir(), "other.json"), "test-issuer", "case-api")
	require.NoError(t, err)
	mint := func(i *devissuer.Issuer, ttl time.Duration) string {
		tok, err := i.Token(devissuer.Claims{Subject: "s", Scopes: []string{auth.ScopeRead}, TTL: ttl})
		require.NoError(t, err)
		return tok
	}
	tests := []struct {
		name, header string
	}{
		{"missing", ""},
		{"not bearer", "Basic dXNlcjpwYXNz"},
		{"garbage", "Bearer not-a-jwt"},
		{"signed by another key", "Bearer " + mint(other, time.Hour)},
		{"expired", "Bearer " + mint(f.issuer, -time.Minute)},
		{"alg none", "Bearer " + unsignedToken()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do(t, "GET", "/v1/case/cases", "", "Authorization", tt.header)
			requireProblem(t, f, r, http.StatusUnauthorized)
			require.True(t, strings.HasPrefix(r.header.Get("WWW-Authenticate"), `Bearer realm="case-api"`))
		})
	}
}

func TestIssuerAndAudienceMustMatch(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "key.json")
	tests := []struct{ name, issuer, audience string }{
		{"wrong issuer", "someone-else", "case-api"},
		{"wrong audience", "test-issuer", "other-api"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Same signing key as the verifier trusts; only the claim differs.
			minting, err := devissuer.Load(keyFile, tt.issuer, tt.audience)
			require.NoError(t, err)
			keys, err := minting.PublicKeys()
			require.NoError(t, err)
			app := api.New(api.Options{
				Cases:          &fakeCases{},
				Verifier:       testVerifier(keys),
				Logger:         zaptest.NewLogger(t),
				RequestTimeout: time.Second,
			})
			tok, err := minting.Token(devissuer.Claims{Subject: "s", Scopes: []string{auth.ScopeRead}, TTL: time.Hour})
			require.NoError(t, err)
			req := httptest.NewRequest("GET", "/v1/case/cases", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := app.Test(req, -1)
			require.NoError(t, err)
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		})
	}
}

func unsignedToken() string {
	enc := base64.RawURLEncoding.EncodeToString
	header := enc([]byte(`{"alg":"none","typ":"JWT"}`))
	claims := enc([]byte(`{"iss":"test-issuer","aud":"case-api","sub":"s","scope":"case:read","exp":4102444800}`))
	return header + "." + claims + "."
}

func TestTokenInTheQueryStringIsRefused(t *testing.T) {
	f := newFixture(t)
	r := f.do(t, "GET", "/v1/case/cases/WI0000000001?access_token="+f.token, "", "Authorization", "")
	requireProblem(t, f, r, http.StatusUnauthorized)
	r = f.do(t, "GET", "/v1/case/cases/WI0000000001?access_token="+f.token, "")
	requireProblem(t, f, r, http.StatusUnauthorized)
}

func TestIfMatchMustBeAStrongETag(t *testing.T) {
	for _, header := range []string{`W/"3"`, `3`, `"x"`, `"0"`} {
		f := newFixture(t)
		r := f.do(t, "PUT", "/v1/case/cases/WI0000000001", `{"state":"Accepted"}`, "If-Match", header)
		requireProblem(t, f, r, http.StatusPreconditionFailed)
	}
}

func TestCustomerTokensOpenCasesForThemselvesOnly(t *testing.T) {
	f := newFixture(t)
	f.token = f.mint(t, devissuer.Claims{Subject: "cust-1", Scopes: []string{auth.ScopeRead, auth.ScopeWrite}, TTL: time.Hour, CustomerID: "C1"})
	requireProblem(t, f, f.do(t, "POST", "/v1/case/complaints", `{"customer-id":"C2"}`), http.StatusForbidden)
	requireProblem(t, f, f.do(t, "POST", "/v1/case/callback-requests",
		`{"callback-request-time":"2026-03-02T13:00:00Z","categorry":"Cards","party-id":"C2"}`), http.StatusForbidden)
	r := f.do(t, "POST", "/v1/case/complaints", `{"customer-id":"C1"}`)
	require.Equal(t, http.StatusCreated, r.status, r.rawBody)
}

func TestRateLimitPerSubject(t *testing.T) {
	f := newFixture(t, func(o *api.Options) { o.RateLimit, o.RateWindow = 3, time.Minute })
	get := func(subject string) response {
		f.token = f.mint(t, devissuer.Claims{Subject: subject, Scopes: []string{auth.ScopeRead}, TTL: time.Hour})
		return f.do(t, "GET", "/v1/case/cases", "")
	}
	for range 3 {
		require.Equal(t, http.StatusOK, get("busy").status)
	}
	r := get("busy")
	require.Equal(t, http.StatusTooManyRequests, r.status)
	require.NotEmpty(t, r.header.Get("Retry-After"))
	require.Equal(t, "application/problem+json", r.header.Get("Content-Type"))
	require.Equal(t, http.StatusOK, get("quiet").status, "the limit is per subject")
}

func TestSecurityHeadersAndNoCORSByDefault(t *testing.T) {
	f := newFixture(t)
	r := f.do(t, "GET", "/v1/case/cases", "", "Origin", "https://evil.example")
	require.Equal(t, "nosniff", r.header.Get("X-Content-Type-Options"))
	require.Equal(t, "SAMEORIGIN", r.header.Get("X-Frame-Options"))
	require.Contains(t, r.header.Get("Content-Security-Policy"), "default-src 'none'")
	require.Empty(t, r.header.Get("Access-Control-Allow-Origin"))
}

func TestScopesAreEnforcedPerMethod(t *testing.T) {
	f := newFixture(t)
	f.token = f.mint(t, devissuer.Claims{Subject: "reader", Scopes: []string{auth.ScopeRead}, TTL: time.Hour})
	r := f.do(t, "POST", "/v1/case/complaints", `{"customer-id":"C"}`)
	requireProblem(t, f, r, http.StatusForbidden)
	require.Contains(t, r.header.Get("WWW-Authenticate"), `error="insufficient_scope"`)

	f.token = f.mint(t, devissuer.Claims{Subject: "writer", Scopes: []string{auth.ScopeWrite}, TTL: time.Hour})
	r = f.do(t, "GET", "/v1/case/cases", "")
	requireProblem(t, f, r, http.StatusForbidden)
}

func TestServiceErrorsMapToStatuses(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		detail string
	}{
		{"not found", casefile.Reject(casefile.ErrNotFound, "case WI0000000001 does not exist"), 404, "case WI0000000001 does not exist"},
		{"conflict", casefile.Reject(casefile.ErrConflict, "case WI0000000001 is closed"), 409, "case WI0000000001 is closed"},
		{"rule", casefile.Reject(casefile.ErrInvalid, "resolving needs a resolution"), 400, "resolving needs a resolution"},
		{"internal", errors.New("dial tcp 10.0.0.5:5432: secret internals"), 500,
			"The service could not complete the request; it has been logged under the request id."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.cases.err = tt.err
			r := f.do(t, "PUT", "/v1/case/cases/WI0000000001", `{"state":"Resolved","resolution":"x"}`)
			require.Equal(t, tt.status, r.status)
			require.Equal(t, "application/problem+json", r.header.Get("Content-Type"))
			require.Equal(t, tt.detail, r.body["detail"])
			require.NotContains(t, r.rawBody, "secret")
		})
	}
}

func TestProbesNeedNoToken(t *testing.T) {
	f := newFixture(t, func(o *api.Options) {
		o.Health = health.Handler([]health.Check{
			{Name: "postgres", Probe: func(context.Context) error { return errors.New("down") }},
		})
	})
	for path, want := range map[string]int{"/healthz": http.StatusOK, "/readyz": http.StatusServiceUnavailable} {
		resp, err := f.app.Test(httptest.NewRequest("GET", path, nil), -1)
		require.NoError(t, err)
		require.Equal(t, want, resp.StatusCode, path)
	}
}

func TestContractIsServedWithoutAToken(t *testing.T) {
	f := newFixture(t)
	for path, contentType := range map[string]string{"/v1/case/openapi.yaml": "application/yaml", "/v1/case/openapi.json": "application/json"} {
		resp, err := f.app.Test(httptest.NewRequest("GET", path, nil), -1)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		require.Equal(t, contentType, resp.Header.Get("Content-Type"))
	}
	doc, err := contract.Load()
	require.NoError(t, err)
	var ops []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			ops = append(ops, method+" "+path)
		}
	}
	require.ElementsMatch(t, []string{
		"GET /cases", "GET /cases/{case-id}", "PUT /cases/{case-id}", "DELETE /cases/{case-id}",
		"GET /cases/{case-id}/history", "POST /cases/{case-id}/attachments", "POST /cases/{case-id}/notes", "GET /changes",
		"DELETE /cases/{case-id}/attachments/{file-id}", "POST /complaints", "POST /service-requests",
		"POST /callback-requests",
	}, ops, "every operation of the guide, and no other")
}

func TestUnknownRouteAndMethod(t *testing.T) {
	f := newFixture(t)
	requireProblem(t, f, f.do(t, "GET", "/v1/case/nothing", ""), http.StatusNotFound)
	requireProblem(t, f, f.do(t, "PATCH", "/v1/case/cases/WI0000000001", `{}`), http.StatusMethodNotAllowed)
}

func TestWritesAnswerInTheGuidesShape(t *testing.T) {
	tests := []struct {
		method, path, body string
		want               map[string]any
	}{
		{"PUT", "/v1/case/cases/WI0000000001", `{"state":"Resolved","resolution":"ok"}`,
			map[string]any{"id": "WI0000000001", "created-record-status": "Updated"}},
		{"DELETE", "/v1/case/cases/WI0000000001", ``,
			map[string]any{"id": "WI0000000001", "created-record-status": "Closed"}},
		{"POST", "/v1/case/cases/WI0000000001/attachments", `{"file-id":"f-1","file-name":"a.pdf"}`,
			map[string]any{"id": "f-1", "created-record-status": "Created"}},
		{"DELETE", "/v1/case/cases/WI0000000001/attachments/f-1", ``,
			map[string]any{"id": "f-1", "created-record-status": "Deleted"}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			f := newFixture(t)
			f.cases.result = workflows.Result{CaseID: "WI0000000001", Version: 2, Recorded: true}
			r := f.do(t, tt.method, tt.path, tt.body)
			require.Equal(t, http.StatusOK, r.status, r.rawBody)
			require.Equal(t, tt.want, r.body)
		})
	}
}

// An agent's note goes to the workflow's add-note update, the one operators
// use, with the agent as its author.
func TestNotesGoThroughTheAddNoteUpdate(t *testing.T) {
	f := newFixture(t)
	f.cases.result = workflows.Result{CaseID: "WI0000000001", Version: 4, Recorded: true}
	r := f.do(t, "POST", "/v1/case/cases/WI0000000001/notes", `{"note":"card sent","visibility":"customer"}`)
	require.Equal(t, http.StatusCreated, r.status, r.rawBody)
	require.Equal(t, map[string]any{"id": "WI0000000001", "created-record-status": "Created"}, r.body)
	require.Equal(t, `"4"`, r.header.Get("ETag"))
	require.Equal(t, workflows.OperatorAction{Note: "card sent", Visibility: casefile.NoteCustomer,
		Editor: &workflows.Editor{ID: "agent-7", Name: "Stevan.Kostoski"}}, f.cases.lastNote)

	f.cases.err = casefile.Reject(casefile.ErrConflict, "case WI0000000001 is closed")
	r = f.do(t, "POST", "/v1/case/cases/WI0000000001/notes", `{"note":"late"}`)
	require.Equal(t, http.StatusConflict, r.status, r.rawBody)
	require.Equal(t, "case WI0000000001 is closed", r.body["detail"])
}

func TestCustomersNeitherAddNotesNorSeeAgentsOnes(t *testing.T) {
	f := newFixture(t)
	require.Equal(t, http.StatusOK, f.do(t, "GET", "/v1/case/cases/WI0000000001/history", "").status)
	require.False(t, f.cases.customerView)

	f.token = f.mint(t, devissuer.Claims{Subject: "cust-1", Scopes: []string{auth.ScopeRead, auth.ScopeWrite}, TTL: time.Hour, CustomerID: "C1"})
	f.cases.lastCase = casefile.Case{ID: "WI0000000001", CustomerID: "C1"}
	require.Equal(t, http.StatusOK, f.do(t, "GET", "/v1/case/cases/WI0000000001/history", "").status)
	require.True(t, f.cases.customerView)
	f.cases.calls = nil
	requireProblem(t, f, f.do(t, "POST", "/v1/case/cases/WI0000000001/notes", `{"note":"hi"}`), http.StatusForbidden)
}

// The feed hands back a token for the position after its last row, and the
// same token when there is nothing new, so a consumer polls with it.
func TestResolutionCodesComeFromTheConfiguredList(t *testing.T) {
	f := newFixture(t, func(o *api.Options) { o.ResolutionCodes = []string{"ComplaintUpheld", "Explained"} })
	f.cases.result = workflows.Result{CaseID: "WI0000000001", Version: 2, Recorded: true}
	r := f.do(t, "PUT", "/v1/case/cases/WI0000000001", `{"state":"Resolved","resolution":"refund","resolution-code":"ComplaintUpheld"}`)
	require.Equal(t, http.StatusOK, r.status, r.rawBody)
	require.Equal(t, "ComplaintUpheld", f.cases.lastProgress.ResolutionCode)

	f.cases.calls = nil
	r = f.do(t, "PUT", "/v1/case/cases/WI0000000001", `{"state":"Resolved","resolution":"x","resolution-code":"Upheld"}`)
	requireProblem(t, f, r, http.StatusBadRequest)
	require.Contains(t, r.rawBody, "ComplaintUpheld, Explained")
}

func TestChangesFeedTokensResume(t *testing.T) {
	f := newFixture(t)
	r := f.do(t, "GET", "/v1/case/changes", "")
	require.Equal(t, http.StatusOK, r.status, r.rawBody)
	require.Equal(t, []any{}, r.body["Items"])
	start := r.body["next-token"].(string)
	require.Equal(t, store.FeedPosition{}, f.cases.feedAfter)
	require.Equal(t, 100, f.cases.feedLimit)

	c := casefile.Case{ID: "WI0000000001", Type: "Complaint", CustomerID: "C", State: casefile.StateAccepted, Version: 1}
	f.cases.feed = []store.FeedEntry{
		{HistoryEntry: casefile.HistoryEntry{Case: c, Change: casefile.ChangeRegistered}, Position: store.FeedPosition{Tx: 900, Seq: 7}},
		{HistoryEntry: casefile.HistoryEntry{Case: c, Change: casefile.ChangeNoteAdded, Note: "n", NoteVisibility: casefile.NoteInternal},
			Position: store.FeedPosition{Tx: 901, Seq: 8}},
	}
	r = f.do(t, "GET", "/v1/case/changes?page-size=1000&after="+start, "")
	require.Equal(t, http.StatusOK, r.status, r.rawBody)
	items := r.body["Items"].([]any)
	require.Len(t, items, 2)
	require.Equal(t, "WI0000000001", items[0].(map[string]any)["case-id"])
	require.Equal(t, "internal", items[1].(map[string]any)["note-visibility"])
	next := r.body["next-token"].(string)

	f.cases.feed = nil
	r = f.do(t, "GET", "/v1/case/changes?after="+next, "")
	require.Equal(t, store.FeedPosition{Tx: 901, Seq: 8}, f.cases.feedAfter)
	require.Equal(t, next, r.body["next-token"], "no new rows: the same token")

	f.token = f.mint(t, devissuer.Claims{Subject: "cust-1", Scopes: []string{auth.ScopeRead}, TTL: time.Hour, CustomerID: "C1"})
	f.cases.calls = nil
	requireProblem(t, f, f.do(t, "GET", "/v1/case/changes", ""), http.StatusForbidden)
}

func TestCaseDetailRendersNullsAndUTCMilliseconds(t *testing.T) {
	f := newFixture(t)
	f.cases.lastCase = casefile.Case{
		ID: "WI0000000001", Class: casefile.ClassComplaint, Type: "Complaint", CustomerID: "C",
		RegisteredAt: time.Date(2015, 11, 13, 16, 26, 24, 853_000_000, time.FixedZone("CET", 3600)),
		State:        casefile.StateAccepted, Importance: "Standard", Version: 3,
		Attachments: []casefile.Attachment{{FileID: "f", FileName: "a.pdf"}},
	}
	r := f.do(t, "GET", "/v1/case/cases/WI0000000001", "")
	require.Equal(t, http.StatusOK, r.status, r.rawBody)
	require.Equal(t, "2015-11-13T15:26:24.853Z", r.body["registration-date"])
	for _, key := range []string{"registered-by-id", "resolution", "title", "details", "customer-ident-num", "arrangement-num"} {
		v, present := r.body[key]
		require.True(t, present, key)
		require.Nil(t, v, key)
	}
	require.Equal(t, "3", r.body["version-num"])
	attachments := r.body["attachments"].([]any)
	require.Equal(t, "a.pdf", attachments[0].(map[string]any)["file-name"])
}

func TestRequestsAreMeasured(t *testing.T) {
	f := newFixture(t, func(o *api.Options) { o.Metrics = metrics.NewAPI() })
	require.Equal(t, http.StatusOK, f.do(t, "GET", "/v1/case/cases/WI0000000001", "").status)

	resp, err := f.app.Test(httptest.NewRequest("GET", "/metrics", nil), -1)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Contains(t, string(body), `case_api_request_duration_seconds_count{method="GET",route="/v1/case/cases/:caseID",status="200"} 1`)
}

// TestMetricLabelsOutliveTheirRequest: Fiber hands out request strings that
// point into reused buffers; labels kept from them got overwritten by later
// requests ("POS"), and /metrics answered 500 for duplicate series.
func TestMetricLabelsOutliveTheirRequest(t *testing.T) {
	f := newFixture(t, func(o *api.Options) { o.Metrics = metrics.NewAPI() })
	require.Equal(t, http.StatusBadRequest, f.do(t, "POST", "/v1/case/complaints", `{}`).status)
	for range 5 {
		require.Equal(t, http.StatusOK, f.do(t, "GET", "/v1/case/cases/WI0000000001", "").status)
	}
	resp, err := f.app.Test(httptest.NewRequest("GET", "/metrics", nil), -1)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.Contains(t, string(body), `case_api_request_duration_seconds_count{method="POST",route="/v1/case/complaints",status="400"} 1`)
}

func TestRefusedFieldIsNamedInInvalidParams(t *testing.T) {
	f := newFixture(t)
	f.cases.err = &casefile.Rejection{Kind: casefile.ErrInvalid, Field: "case-type", Detail: `must be the case's type, "Complaint"`}
	r := f.do(t, "PUT", "/v1/case/cases/WI0000000001", `{"case-type":"Other","state":"Resolved","resolution":"x"}`)
	require.Equal(t, http.StatusBadRequest, r.status, r.rawBody)
	require.Equal(t, "The request has invalid fields.", r.body["detail"])
	require.Equal(t, []any{map[string]any{"name": "case-type", "reason": `must be the case's type, "Complaint"`}}, r.body["invalid-params"])
}

func TestPutThatChangesNothingAnswersUnchanged(t *testing.T) {
	for _, body := range []string{``, `{}`, `{"state":"Accepted"}`} {
		t.Run(body, func(t *testing.T) {
			f := newFixture(t)
			f.cases.result = workflows.Result{CaseID: "WI0000000001", Version: 4, Recorded: false}
			r := f.do(t, "PUT", "/v1/case/cases/WI0000000001", body)
			require.Equal(t, http.StatusOK, r.status, r.rawBody)
			require.Equal(t, map[string]any{"id": "WI0000000001", "created-record-status": "Unchanged"}, r.body)
			require.Equal(t, `"4"`, r.header.Get("ETag"))
			require.Equal(t, []string{"Progress"}, f.cases.calls)
		})
	}
}

func TestAssignmentFieldsAreAbsentNullOrSet(t *testing.T) {
	f := newFixture(t)
	f.cases.result = workflows.Result{CaseID: "WI0000000001", Version: 2, Recorded: true}
	for body, want := range map[string]workflows.Assignment{
		`{"assignee-id":"agent-9","assignee-name":"Ana Petrova"}`: {SetAssignee: true, AssigneeID: "agent-9", AssigneeName: "Ana Petrova"},
		`{"assignee-id":"agent-9"}`:                               {SetAssignee: true, AssigneeID: "agent-9"},
		`{"assignee-id":null,"assignee-name":null}`:               {SetAssignee: true},
		`{"queue":"cards.disputes"}`:                              {SetQueue: true, Queue: "cards.disputes"},
		`{"queue":null,"assignee-id":null}`:                       {SetAssignee: true, SetQueue: true},
		`{"state":"Resolved","resolution":"done"}`:                {},
	} {
		r := f.do(t, "PUT", "/v1/case/cases/WI0000000001", body)
		require.Equal(t, http.StatusOK, r.status, r.rawBody)
		require.Equal(t, want, f.cases.lastProgress.Assignment, body)
	}
}

func TestBadAssignmentsAreRefused(t *testing.T) {
	f := newFixture(t)
	for body, field := range map[string]string{
		`{"assignee-id":7}`:  "assignee-id",
		`{"assignee-id":""}`: "assignee-id",
		`{"assignee-id":"` + strings.Repeat("a", 65) + `"}`: "assignee-id",
		`{"assignee-name":"Ana"}`:                           "assignee-name",
		`{"assignee-id":null,"assignee-name":"Ana"}`:        "assignee-name",
		`{"queue":"two words"}`:                             "queue",
		`{"queue":["cards"]}`:                               "queue",
		`{"queue":" "}`:                                     "queue",
	} {
		r := f.do(t, "PUT", "/v1/case/cases/WI0000000001", body)
		requireProblem(t, f, r, http.StatusBadRequest)
		require.Contains(t, invalidNames(r), field, body)
	}
}

func TestCustomersSeeTheQueueButNoAgentsID(t *testing.T) {
	f := newFixture(t)
	f.cases.lastCase = casefile.Case{ID: "WI0000000001", CustomerID: "C1", State: casefile.StateAccepted,
		AssigneeID: "agent-9", AssigneeName: "Ana Petrova", Queue: "cards"}
	r := f.do(t, "GET", "/v1/case/cases/WI0000000001", "")
	require.Equal(t, "agent-9", r.body["assignee-id"])
	require.Equal(t, "/v1/case/cases/WI0000000001", r.body["href"])

	f.token = f.mint(t, devissuer.Claims{Subject: "cust-1", Scopes: []string{auth.ScopeRead, auth.ScopeWrite}, TTL: time.Hour, CustomerID: "C1"})
	r = f.do(t, "GET", "/v1/case/cases/WI0000000001", "")
	require.Equal(t, http.StatusOK, r.status, r.rawBody)
	require.Nil(t, r.body["assignee-id"])
	require.Equal(t, "Ana Petrova", r.body["assignee-name"])
	require.Equal(t, "cards", r.body["queue"])

	f.cases.calls = nil
	r = f.do(t, "PUT", "/v1/case/cases/WI0000000001", `{"queue":"vip"}`)
	require.Equal(t, http.StatusForbidden, r.status, r.rawBody)
	require.NotContains(t, f.cases.calls, "Progress")
}

func TestNewCasesAreRoutedToAQueue(t *testing.T) {
	rules, err := routing.Parse("case-class=Complaint importance=Critical -> urgent; categorry=Cards -> cards", "desk")
	require.NoError(t, err)
	f := newFixture(t, func(o *api.Options) { o.Routing = rules })
	for path, body := range map[string]string{
		"urgent": `{"customer-id":"C1","importance":"Critical"}`,
		"desk":   `{"customer-id":"C1"}`,
	} {
		require.Equal(t, http.StatusCreated, f.do(t, "POST", "/v1/case/complaints", body).status)
		require.Equal(t, path, f.cases.lastCase.Queue, body)
	}
	r := f.do(t, "POST", "/v1/case/callback-requests", `{"callback-request-time":"2026-03-02T10:00:00Z","categorry":"Cards","party-id":"C1"}`)
	require.Equal(t, http.StatusCreated, r.status, r.rawBody)
	require.Equal(t, "cards", f.cases.lastCase.Queue)
}

func TestListFiltersAreReadAndChecked(t *testing.T) {
	f := newFixture(t)
	yes := true
	r := f.do(t, "GET", "/v1/case/cases?state=Accepted,Resolved&importance=High,Critical&assignee-id=none&queue=cards"+
		"&case-class=Complaint&escalated=true&callback-status=Failed&registered-from=2026-03-01T00:00:00%2B01:00"+
		"&registered-to=2026-03-02T00:00:00Z&sort=resolve-by&case-type=Complaint", "")
	require.Equal(t, http.StatusOK, r.status, r.rawBody)
	require.Equal(t, store.CaseQuery{
		Filter: store.CaseFilter{
			States: []casefile.State{casefile.StateAccepted, casefile.StateResolved}, Importances: []string{"High", "Critical"},
			CaseType: "Complaint", CaseClass: casefile.ClassComplaint, Unassigned: true, Queue: "cards", Escalated: &yes,
			CallbackStatus: casefile.CallbackFailed, RegisteredFrom: time.Date(2026, 2, 28, 23, 0, 0, 0, time.UTC),
			RegisteredTo: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC),
		},
		Order: store.DeadlineFirst, Page: store.Page{Number: 1, Size: 20},
	}, f.cases.lastList)
	require.Nil(t, r.body["next-page-token"])

	r = f.do(t, "GET", "/v1/case/cases?assignee-id=agent-9", "")
	require.Equal(t, "agent-9", f.cases.lastList.Filter.AssigneeID)
	require.Equal(t, store.NewestFirst, f.cases.lastList.Order)

	for query, field := range map[string]string{
		"state=Accepted,Open":       "state",
		"state=Accepted,":           "state",
		"importance=Urgent":         "importance",
		"escalated=yes":             "escalated",
		"case-class=Claim":          "case-class",
		"callback-status=Lost":      "callback-status",
		"queue=a%20b":               "queue",
		"registered-from=yesterday": "registered-from",
		"registered-from=2026-03-02T00:00:00Z&registered-to=2026-03-01T00:00:00Z": "registered-to",
		"sort=importance":              "sort",
		"colour=red":                   "colour",
		"page-token=abc":               "page-token",
		"page-token=abc&page-number=2": "page-number",
	} {
		f.cases.calls = nil
		r := f.do(t, "GET", "/v1/case/cases?"+query, "")
		requireProblem(t, f, r, http.StatusBadRequest)
		require.Contains(t, invalidNames(r), field, query)
	}
}

func TestPageTokensResumeTheirListingOnly(t *testing.T) {
	f := newFixture(t)
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	f.cases.listed = store.CasePage{Cases: []casefile.Case{{ID: "WI0000000009", RegisteredAt: at, Importance: "High"}}, Total: 3, More: true}
	r := f.do(t, "GET", "/v1/case/cases?state=Accepted&page-size=1", "")
	require.Equal(t, http.StatusOK, r.status, r.rawBody)
	token, _ := r.body["next-page-token"].(string)
	require.NotEmpty(t, token)

	f.cases.listed.More = false
	r = f.do(t, "GET", "/v1/case/cases?state=Accepted&page-size=1&page-token="+token, "")
	require.Equal(t, http.StatusOK, r.status, r.rawBody)
	require.Equal(t, &store.CaseCursor{CaseID: "WI0000000009", RegisteredAt: at, Importance: "High"}, f.cases.lastList.After)
	require.EqualValues(t, 2, r.body["page-number"])
	require.Nil(t, r.body["next-page-token"], "the last page")

	for name, query := range map[string]string{
		"other filters":         "state=Resolved&page-token=" + token,
		"another order":         "state=Accepted&sort=registration-date&page-token=" + token,
		"altered":               "state=Accepted&page-token=" + token[:len(token)-2] + "xx",
		"signed by another API": "state=Accepted&page-token=" + otherAPIsToken(t, token),
	} {
		f.cases.calls = nil
		r := f.do(t, "GET", "/v1/case/cases?"+query, "")
		requireProblem(t, f, r, http.StatusBadRequest)
		require.Equal(t, []string{"page-token"}, invalidNames(r), name)
	}

	f.cases.history = store.HistoryPage{Entries: []casefile.HistoryEntry{{Case: casefile.Case{ID: "WI0000000001", Version: 5}}}, Total: 9, More: true}
	r = f.do(t, "GET", "/v1/case/cases/WI0000000001/history?page-size=1", "")
	require.Equal(t, http.StatusOK, r.status, r.rawBody)
	historyToken := r.body["next-page-token"].(string)
	r = f.do(t, "GET", "/v1/case/cases/WI0000000001/history?page-size=1&page-token="+historyToken, "")
	require.Equal(t, http.StatusOK, r.status, r.rawBody)
	require.Equal(t, int64(5), f.cases.lastHistory.AfterVersion)
	f.cases.calls = nil
	r = f.do(t, "GET", "/v1/case/cases/WI0000000002/history?page-token="+historyToken, "")
	requireProblem(t, f, r, http.StatusBadRequest)
	r = f.do(t, "GET", "/v1/case/cases?page-token="+historyToken, "")
	requireProblem(t, f, r, http.StatusBadRequest)
}

// otherAPIsToken is token as an API with another key ring would sign it.
func otherAPIsToken(t *testing.T, token string) string {
	payload, _, ok := strings.Cut(token, ".")
	require.True(t, ok)
	return payload + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 16))
}

func TestCustomersCannotListByAgent(t *testing.T) {
	f := newFixture(t)
	f.token = f.mint(t, devissuer.Claims{Subject: "cust-1", Scopes: []string{auth.ScopeRead}, TTL: time.Hour, CustomerID: "C1"})
	requireProblem(t, f, f.do(t, "GET", "/v1/case/cases?assignee-id=agent-9", ""), http.StatusForbidden)
	r := f.do(t, "GET", "/v1/case/cases?queue=cards", "")
	require.Equal(t, http.StatusOK, r.status, r.rawBody)
	require.Equal(t, "C1", f.cases.lastList.Filter.CustomerID)
}
