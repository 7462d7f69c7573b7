// Package e2e tests the whole service on a real Temporal dev server (path in
// TEMPORAL_CLI) and real Postgres.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/bank/caseservice/activities"
	"github.com/bank/caseservice/api"
	"github.com/bank/caseservice/api/contract"
	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/caseops"
	"github.com/bank/caseservice/config"
	"github.com/bank/caseservice/delivery"
	"github.com/bank/caseservice/internal/pgtest"
	"github.com/bank/caseservice/internal/platform/auth"
	"github.com/bank/caseservice/internal/platform/devissuer"
	"github.com/bank/caseservice/internal/platform/encryption"
	"github.com/bank/caseservice/internal/platform/logging"
	"github.com/bank/caseservice/internal/platform/temporalclient"
	"github.com/bank/caseservice/internal/platform/tracing"
	"github.com/bank/caseservice/routing"
	"github.com/bank/caseservice/store"
	caseworker "github.com/bank/caseservice/worker"
	"github.com/bank/caseservice/workflows"
)

type stack struct {
	t        *testing.T
	opts     stackOptions
	baseURL  string
	token    string
	pool     *pgxpool.Pool
	store    *store.Store
	temporal client.Client
	// temporalAddress is the dev server's frontend.
	temporalAddress string
	// temporalUI is the dev server's UI, if it serves one.
	temporalUI string
	logger     *zap.Logger
	// logs holds what API and worker logged at info and above.
	logs   *observer.ObservedLogs
	worker worker.Worker
	issuer *devissuer.Issuer
	// contract checks every answer against api/openapi.yaml.
	contract routers.Router
}

type stackOptions struct {
	// register puts the workflow and activities on the worker; nil: as in production.
	register func(worker.Registry, *activities.Activities)
	// activities builds the activities; nil: every delivery to the outbox.
	activities func(*store.Store) *activities.Activities
	policy     *workflows.Policy
	// temporalDB persists the dev server, so that it can be restarted.
	temporalDB string
	// tracer, if set, traces the API, Temporal calls and the worker's SQL.
	tracer trace.TracerProvider
	// gzipTemporal compresses what the service sends to Temporal.
	gzipTemporal bool
	// codec is the key ring the service encrypts with; zero: testCodec.
	codec config.Codec
	// uiCodecEndpoint, if set, serves the dev server's UI, which decodes
	// payloads through this codec server.
	uiCodecEndpoint string
}

// testCodec is the public ring of the recorded histories; it protects nothing.
var testCodec = config.Codec{KeysFile: "../workflows/testdata/codec-keys"}

// testPolicy is a policy with no clocks that would fire during a test.
var testPolicy = workflows.Policy{CallbackMaxRetry: time.Minute, NoticeMaxRetry: time.Minute, MaxHistoryEvents: 10000}

// devServer is a Temporal dev server with the service's search attributes.
type devServer struct {
	server   *testsuite.DevServer
	hostPort string
	// uiURL is the UI's address, if it serves one.
	uiURL string
}

func startTemporal(t *testing.T, logger *zap.Logger, dbFile, hostPort string) *devServer {
	t.Helper()
	return startTemporalUI(t, logger, dbFile, hostPort, "")
}

// startTemporalUI starts a dev server; with a codec endpoint, its UI too.
func startTemporalUI(t *testing.T, logger *zap.Logger, dbFile, hostPort, codecEndpoint string) *devServer {
	t.Helper()
	cli := os.Getenv("TEMPORAL_CLI")
	if cli == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("TEMPORAL_CLI is not set; make test builds the Temporal CLI and sets it")
		}
		t.Skip("TEMPORAL_CLI is not set; run make test, which builds the Temporal CLI and sets it")
	}
	var extra []string
	var uiURL, uiPort string
	if codecEndpoint != "" {
		uiHostPort := freeHostPort(t)
		_, uiPort, _ = net.SplitHostPort(uiHostPort)
		extra, uiURL = []string{"--ui-codec-endpoint", codecEndpoint}, "http://"+uiHostPort
	}
	start := func(hostPort string) (*testsuite.DevServer, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
			ExistingPath:     cli,
			LogLevel:         "error",
			DBFilename:       dbFile,
			ClientOptions:    &client.Options{HostPort: hostPort, Namespace: "default", Logger: logging.Temporal(logger)},
			SearchAttributes: allSearchAttributes(),
			EnableUI:         uiURL != "",
			UIPort:           uiPort,
			ExtraArgs:        extra,
			Stdout:           io.Discard,
		})
	}
	if hostPort != "" {
		server, err := start(hostPort)
		require.NoError(t, err)
		return &devServer{server: server, hostPort: hostPort, uiURL: uiURL}
	}
	// A port found free can be taken by another process (a parallel test's
	// dev server picking its own HTTP port) before the server binds it; the
	// server then fails to start, and a fresh port is tried.
	var err error
	for range 3 {
		hostPort = freeHostPort(t)
		var server *testsuite.DevServer
		if server, err = start(hostPort); err == nil {
			return &devServer{server: server, hostPort: hostPort, uiURL: uiURL}
		}
		t.Logf("Temporal dev server on %s did not start: %v", hostPort, err)
	}
	require.NoError(t, err)
	return nil
}

// allSearchAttributes has a value for every key, as the dev server registers
// the attributes of the values it is given.
func allSearchAttributes() temporal.SearchAttributes {
	at := time.Now()
	return workflows.SearchAttributes(casefile.Case{CallbackAt: &at, ResolutionCode: "Explained", AssigneeID: "a", Queue: "q"})
}

func freeHostPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// startStack brings up everything: Temporal, a fresh database, the worker and the API.
func startStack(t *testing.T, opts stackOptions) *stack {
	t.Helper()
	if opts.register == nil {
		opts.register = caseworker.Register
	}
	if opts.policy == nil {
		opts.policy = &testPolicy
	}
	if opts.codec == (config.Codec{}) {
		opts.codec = testCodec
	}
	observed, logs := observer.New(zap.InfoLevel)
	logger := zap.New(zapcore.NewTee(zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)).Core(), observed))
	server := startTemporalUI(t, logger, opts.temporalDB, "", opts.uiCodecEndpoint)
	t.Cleanup(func() { _ = server.server.Stop() })
	// The service's own client, with its context propagators, not the dev server's.
	tc, err := temporalclient.Dial(context.Background(), config.Temporal{Address: server.hostPort, Namespace: "default", GzipRequests: opts.gzipTemporal, Codec: opts.codec}, temporalclient.Options{Logger: logger, Tracer: opts.tracer})
	require.NoError(t, err)
	t.Cleanup(tc.Close)
	pool, databaseURL := pgtest.New(t)
	if opts.tracer != nil {
		pool, err = store.Connect(context.Background(), databaseURL, 8, tracing.SQL(opts.tracer))
		require.NoError(t, err)
		t.Cleanup(pool.Close)
	}
	s := &stack{t: t, opts: opts, pool: pool, store: store.New(pool), temporal: tc, temporalAddress: server.hostPort, temporalUI: server.uiURL, logger: logger, logs: logs}
	s.startWorker()
	t.Cleanup(s.stopWorker)

	s.issuer, err = devissuer.Load(filepath.Join(t.TempDir(), "key.json"), "e2e", "case-api")
	require.NoError(t, err)
	keys, err := s.issuer.PublicKeys()
	require.NoError(t, err)
	s.token = s.mint(t, devissuer.Claims{Subject: "agent-7", Name: "Stevan.Kostoski",
		Scopes: []string{auth.ScopeRead, auth.ScopeWrite}, TTL: time.Hour})

	rules, err := routing.Parse(routing.DefaultSpec, routing.DefaultQueue)
	require.NoError(t, err)
	ring, _, err := encryption.LoadKeyRing(opts.codec)
	require.NoError(t, err)
	pageTokenKeys, err := ring.Derive(api.PageTokenPurpose) // as caseapi does
	require.NoError(t, err)
	app := api.New(api.Options{
		Cases:       caseops.New(tc, s.store.BatchReads(2), *opts.policy), // as caseapi reads
		Idempotency: s.store,
		Tracer:      opts.tracer,
		Verifier: auth.NewVerifier(auth.Options{Keys: auth.StaticKeys{Keys: keys}, Issuer: "e2e", Audience: "case-api",
			Algorithms: auth.DefaultAlgorithms, Leeway: time.Second}),
		Logger:          logger,
		RequestTimeout:  30 * time.Second,
		ResolutionCodes: config.DefaultResolutionCodes,
		Routing:         rules,
		PageTokenKeys:   pageTokenKeys,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	s.baseURL = "http://" + ln.Addr().String() + api.Root
	doc, err := contract.Load()
	require.NoError(t, err)
	doc.Servers = openapi3.Servers{{URL: s.baseURL}}
	s.contract, err = gorillamux.NewRouter(doc)
	require.NoError(t, err)
	return s
}

func (s *stack) startWorker() {
	s.t.Helper()
	s.worker = s.newWorker(s.temporal)
	require.NoError(s.t, s.worker.Start())
}

// newWorker is the stack's case worker on a client of the caller's choice.
func (s *stack) newWorker(tc client.Client) worker.Worker {
	var acts *activities.Activities
	if s.opts.activities != nil {
		acts = s.opts.activities(s.store)
	} else {
		outbox := &delivery.Outbox{Store: s.store, Logger: s.logger}
		acts = &activities.Activities{Recorder: s.store, Callbacks: outbox, Escalations: outbox, Notices: outbox}
	}
	w := worker.New(tc, workflows.TaskQueue, worker.Options{})
	s.opts.register(w, acts)
	return w
}

func (s *stack) stopWorker() {
	if s.worker != nil {
		s.worker.Stop()
		s.worker = nil
	}
}

func (s *stack) mint(t *testing.T, c devissuer.Claims) string {
	t.Helper()
	tok, err := s.issuer.Token(c)
	require.NoError(t, err)
	return tok
}

// call sends a request and decodes the JSON answer into a map.
func (s *stack) call(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	status, _, out := s.do(t, method, path, body, nil)
	return status, out
}

// callWith sends a request with extra headers and returns the status.
func (s *stack) callWith(t *testing.T, method, path string, body any, headers map[string]string) int {
	t.Helper()
	status, _, _ := s.do(t, method, path, body, headers)
	return status
}

// etag is the ETag of GET /cases/{id}.
func (s *stack) etag(t *testing.T, id string) (string, int) {
	t.Helper()
	status, header, _ := s.do(t, "GET", "/cases/"+id, nil, nil)
	return header.Get("ETag"), status
}

func (s *stack) do(t *testing.T, method, path string, body any, headers map[string]string) (int, http.Header, map[string]any) {
	t.Helper()
	var reader io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(t, err)
		reader = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.baseURL+path, reader)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+s.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]any
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &out), string(raw))
	}
	s.checkContract(t, req, resp, raw)
	return resp.StatusCode, resp.Header, out
}

// checkContract fails the test when an answer drifts from the OpenAPI contract.
func (s *stack) checkContract(t *testing.T, req *http.Request, resp *http.Response, body []byte) {
	t.Helper()
	route, params, err := s.contract.FindRoute(req)
	if err != nil {
		t.Errorf("%s %s is not in the contract: %v", req.Method, req.URL.Path, err)
		return
	}
	err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status: resp.StatusCode,
		Header: resp.Header,
		Body:   io.NopCloser(bytes.NewReader(body)),
	})
	if err != nil {
		t.Errorf("%s %s answered %d outside the contract: %v", req.Method, req.URL.Path, resp.StatusCode, err)
	}
}

// historyRows counts the stored history rows of a case, per version.
func (s *stack) historyRows(t *testing.T, caseID string) map[int64]int {
	t.Helper()
	rows, err := s.pool.Query(context.Background(),
		"SELECT version, count(*) FROM case_history WHERE case_id = $1 GROUP BY version", caseID)
	require.NoError(t, err)
	defer rows.Close()
	out := map[int64]int{}
	for rows.Next() {
		var version int64
		var n int
		require.NoError(t, rows.Scan(&version, &n))
		out[version] = n
	}
	require.NoError(t, rows.Err())
	return out
}

// operate sends an operator's Update to a case as the Temporal UI and CLI do.
func (s *stack) operate(caseID, name string, arg any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	handle, err := s.temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflows.CaseWorkflowID(caseID), UpdateName: name, Args: []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return err
	}
	return handle.Get(ctx, nil)
}
