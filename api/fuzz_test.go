package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/bank/caseservice/api"
	"github.com/bank/caseservice/internal/platform/auth"
	"github.com/bank/caseservice/internal/platform/devissuer"
)

// fuzzApp is the real app over a recording fake, with a valid token.
type fuzzApp struct {
	fiber interface {
		Test(*http.Request, ...int) (*http.Response, error)
	}
	cases *fakeCases
	token string
}

func newFuzzApp(f *testing.F) *fuzzApp {
	issuer, err := devissuer.Load(filepath.Join(f.TempDir(), "key.json"), "test-issuer", "case-api")
	if err != nil {
		f.Fatal(err)
	}
	keys, err := issuer.PublicKeys()
	if err != nil {
		f.Fatal(err)
	}
	token, err := issuer.Token(devissuer.Claims{Subject: "fuzz", Scopes: []string{auth.ScopeRead, auth.ScopeWrite}, TTL: time.Hour})
	if err != nil {
		f.Fatal(err)
	}
	cases := &fakeCases{}
	app := api.New(api.Options{Cases: cases, Verifier: testVerifier(keys), Logger: zap.NewNop(), RequestTimeout: 5 * time.Second,
		Now: func() time.Time { return now }})
	return &fuzzApp{fiber: app, cases: cases, token: token}
}

// send serves one request and checks the properties every input must keep:
// no panic (the app would answer 500), no 5xx, and a 4xx reaches no service
// method that changes a case.
func (a *fuzzApp) send(t *testing.T, method, target, contentType string, body []byte) {
	a.cases.calls = nil
	req := httptest.NewRequest(method, "/", strings.NewReader(string(body)))
	req.URL = &url.URL{Path: target}
	if i := strings.IndexByte(target, '?'); i >= 0 {
		req.URL = &url.URL{Path: target[:i], RawQuery: target[i+1:]}
	}
	req.RequestURI = req.URL.RequestURI()
	req.Header.Set("Authorization", "Bearer "+a.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := a.fiber.Test(req, -1)
	if err != nil {
		return // a request fasthttp cannot even parse never reaches us
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 500 {
		t.Fatalf("%s %s %q: %d %s", method, target, body, resp.StatusCode, raw)
	}
	if resp.StatusCode >= 400 {
		for _, call := range a.cases.calls {
			switch call {
			case "Register", "Progress", "Close", "AddAttachment", "RemoveAttachment":
				t.Fatalf("%s %s %q answered %d but called %s", method, target, body, resp.StatusCode, call)
			}
		}
	}
}

var bodySeeds = []string{
	`{"customer-id":"1104977710344","importance":"High","details":"card blocked","comm-type":"Email"}`,
	`{"case-id":"WI0000000001","customer-id":"C","registered-by-name":"Stevan.Kostoski"}`,
	`{"callback-request-time":"2026-03-02T13:33:17.588Z","categorry":"Cards","party-id":"P1"}`,
	`{"state":"Resolved","resolution":"done","case-id":"WI0000000001"}`,
	`{"file-id":"f-1","file-name":"a.pdf"}`,
	`{"customer-id":42}`, `[]`, `null`, `{"a":`, "{\"customer-id\":\"\u0000\"}", ``,
}

func FuzzCreateBodies(f *testing.F) {
	a := newFuzzApp(f)
	for _, seed := range bodySeeds {
		f.Add("/v1/case/complaints", seed)
		f.Add("/v1/case/callback-requests", seed)
	}
	f.Fuzz(func(t *testing.T, path, body string) {
		switch path {
		case "/v1/case/complaints", "/v1/case/service-requests", "/v1/case/callback-requests":
		default:
			path = "/v1/case/complaints"
		}
		a.send(t, "POST", path, "application/json", []byte(body))
	})
}

func FuzzCaseWrites(f *testing.F) {
	a := newFuzzApp(f)
	for _, seed := range bodySeeds {
		f.Add(uint8(0), "WI0000000001", seed)
		f.Add(uint8(1), "WI0000000001", seed)
		f.Add(uint8(2), "WI0000000001", seed)
	}
	f.Add(uint8(3), "WI0000000001/attachments/f-1", ``)
	methods := []string{"PUT", "DELETE", "POST", "DELETE"}
	f.Fuzz(func(t *testing.T, which uint8, id, body string) {
		method := methods[int(which)%len(methods)]
		target := "/v1/case/cases/" + url.PathEscape(id)
		if which%4 == 2 {
			target += "/attachments"
		}
		a.send(t, method, target, "application/json", []byte(body))
	})
}

func FuzzReadQueries(f *testing.F) {
	a := newFuzzApp(f)
	for _, seed := range []string{"", "page-number=2&page-size=50", "state=Closed&customer-id=C1", "page-size=0",
		"state=%00", "case-type=" + strings.Repeat("x", 70), "sort=asc", "page-number=99999999999999999999"} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, query string, history bool) {
		target := "/v1/case/cases?" + query
		if history {
			target = "/v1/case/cases/WI0000000001/history?" + query
		}
		a.send(t, "GET", target, "", nil)
	})
}
