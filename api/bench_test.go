package api_test

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"go.uber.org/zap"

	"github.com/bank/caseservice/api"
	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/internal/platform/auth"
	"github.com/bank/caseservice/internal/platform/logging"
	"github.com/bank/caseservice/internal/platform/metrics"
	"github.com/bank/caseservice/store"
)

// storedCases answers reads with fixed cases, safely from many goroutines.
type storedCases struct {
	fakeCases
	one  casefile.Case
	page []casefile.Case
}

func (s *storedCases) Case(context.Context, string) (casefile.Case, error) { return s.one, nil }

func (s *storedCases) List(context.Context, store.CaseQuery) (store.CasePage, error) {
	return store.CasePage{Cases: s.page, Total: 4711}, nil
}

// benchmarkedCase is a case as the seed writes them: most text fields set.
func benchmarkedCase(i int) casefile.Case {
	at := now.Add(-time.Duration(i) * time.Hour)
	return casefile.Case{
		ID: fmt.Sprintf("WI%010d", i+1), Class: casefile.ClassComplaint, Type: "Complaint",
		RegisteredByID: "agent-7", RegisteredByName: "Stevan.Kostoski", CustomerID: "C0000042",
		CustomerName: "Ana Petrovska", CustomerIdentNum: "1234567890123", RegisteredAt: at,
		State: casefile.StateAccepted, Importance: casefile.ImportanceDefault,
		Details: "The card was charged twice for one purchase.", ArrangementNum: "MK07250120000058984",
		CommReason: "Complaint", CommReplyAddress: "ana@example.com", CommType: "Email",
		Version: 3, UpdatedAt: at.Add(time.Minute),
	}
}

// BenchmarkReads measures the API's own share of a read: the whole Fiber
// chain (request id, access log, headers, deadline, token check, rate
// limit) and the JSON answer, over a store that answers at once. The
// database's share is measured by casectl load (docs/BENCHMARKS.md).
func BenchmarkReads(b *testing.B) {
	f := newFixture(b)
	cases := &storedCases{one: benchmarkedCase(0)}
	for i := range 20 {
		cases.page = append(cases.page, benchmarkedCase(i))
	}
	keys, err := f.issuer.PublicKeys()
	if err != nil {
		b.Fatal(err)
	}
	// As in production: a verified token is remembered.
	verifier := auth.NewVerifier(auth.Options{Keys: auth.StaticKeys{Keys: keys}, Issuer: "test-issuer", Audience: "case-api",
		Algorithms: auth.DefaultAlgorithms, Leeway: time.Second, CacheSize: 1000, CacheMaxAge: 5 * time.Minute})
	accessLog, flush, err := logging.Access("info", false, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	defer flush() //nolint:errcheck // io.Discard
	app := api.New(api.Options{
		Cases: cases, Verifier: verifier, Logger: zap.NewNop(), AccessLog: accessLog,
		RequestTimeout: 5 * time.Second, RateLimit: 1 << 30, RateWindow: time.Minute,
		Metrics: metrics.NewAPI(), Now: time.Now,
	})
	handle := app.Handler()
	for _, read := range []struct{ name, path string }{
		{"get", "/cases/WI0000000001"},
		{"list", "/cases?customer-id=C0000042&state=Accepted"},
	} {
		path := read.path
		b.Run(read.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				var ctx fasthttp.RequestCtx
				for pb.Next() {
					ctx.Request.Reset()
					ctx.Response.Reset()
					ctx.Request.SetRequestURI(api.Root + path)
					ctx.Request.Header.SetMethod(fasthttp.MethodGet)
					ctx.Request.Header.Set("Authorization", "Bearer "+f.token)
					handle(&ctx)
					if ctx.Response.StatusCode() != fasthttp.StatusOK {
						b.Fatalf("%s: %d %s", path, ctx.Response.StatusCode(), ctx.Response.Body())
					}
				}
			})
		})
	}
}
