package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/bank/caseservice/config"
	"github.com/bank/caseservice/internal/bulk"
	"github.com/bank/caseservice/internal/codecserver"
	"github.com/bank/caseservice/internal/platform/auth"
	"github.com/bank/caseservice/internal/platform/devissuer"
	"github.com/bank/caseservice/internal/platform/encryption"
	"github.com/bank/caseservice/internal/platform/temporalclient"
	"github.com/bank/caseservice/workflows"
)

// serveCodec serves the codec server on ln with the stack's ring and issuer,
// as cmd/casecodec does.
func serveCodec(t *testing.T, s *stack, ln net.Listener, origins []string) {
	t.Helper()
	codec, _, err := encryption.FromConfig(s.opts.codec, encryption.Options{})
	require.NoError(t, err)
	keys, err := s.issuer.PublicKeys()
	require.NoError(t, err)
	srv := &http.Server{Handler: codecserver.New(codecserver.Options{
		Codec:            codec,
		Verifier:         auth.NewVerifier(auth.Options{Keys: auth.StaticKeys{Keys: keys}, Issuer: "e2e", Audience: "case-api", Algorithms: auth.DefaultAlgorithms}),
		Namespace:        "default",
		Origins:          origins,
		DevUI:            len(origins) > 0,
		DecodesPerMinute: 10000,
		Audit:            s.logger.Named("audit"),
		Logger:           s.logger,
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
}

// registerPrivateComplaint creates a complaint full of customer data,
// resolves it and returns its id.
func registerPrivateComplaint(t *testing.T, s *stack) string {
	t.Helper()
	status, body := s.call(t, "POST", "/complaints", map[string]any{
		"customer-id": "C-77", "customer-name": "Ime237069 Prezime23706", "details": "card blocked at the ATM",
		"comm-type": "Email", "comm-reply-address": "ime@example.com",
	})
	require.Equal(t, http.StatusCreated, status, body)
	id := body["id"].(string)
	status, body = s.call(t, "PUT", "/cases/"+id, map[string]any{"state": "Resolved", "resolution": "card unblocked by the branch"})
	require.Equal(t, http.StatusOK, status, body)
	return id
}

// privateData is what registerPrivateComplaint's case holds that only
// decoding may show.
var privateData = []string{"Ime237069", "card blocked at the ATM", "ime@example.com", "card unblocked by the branch"}

// showHistory runs `temporal workflow show --output json` as an operator
// would, with extra flags, and returns every payload's data as text.
func showHistory(t *testing.T, s *stack, caseID string, flags ...string) string {
	t.Helper()
	args := append([]string{"workflow", "show", "--address", s.temporalAddress, "--namespace", "default",
		"--workflow-id", workflows.CaseWorkflowID(caseID), "--output", "json"}, flags...)
	out, err := exec.Command(os.Getenv("TEMPORAL_CLI"), args...).Output()
	require.NoError(t, err, "temporal %s", strings.Join(args, " "))
	var texts []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if data, ok := v["data"].(string); ok {
				if b, err := base64.StdEncoding.DecodeString(data); err == nil {
					texts = append(texts, string(b))
				}
			}
			for _, child := range v {
				walk(child)
			}
		case []any:
			for _, child := range v {
				walk(child)
			}
		}
	}
	var history any
	require.NoError(t, json.Unmarshal(out, &history))
	walk(history)
	return string(out) + "\n" + strings.Join(texts, "\n")
}

// TestOperatorsReadCasesOnlyThroughTheCodecServer fetches a case's history
// from Temporal with the CLI: as stored it holds none of the customer's data;
// through the codec server, with a case:decode token, it reads in full.
func TestOperatorsReadCasesOnlyThroughTheCodecServer(t *testing.T) {
	s := startStack(t, stackOptions{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	serveCodec(t, s, ln, nil)
	id := registerPrivateComplaint(t, s)

	raw := showHistory(t, s, id)
	for _, secret := range privateData {
		assert.NotContains(t, raw, secret, "Temporal holds it in plain text")
	}
	token := s.mint(t, devissuer.Claims{Subject: "jane.doe", Scopes: []string{auth.ScopeDecode}, TTL: time.Minute})
	decoded := showHistory(t, s, id, "--codec-endpoint", "http://"+ln.Addr().String(), "--codec-auth", "Bearer "+token)
	for _, secret := range privateData {
		assert.Contains(t, decoded, secret, "decoded through the codec server")
	}
	audited := s.logs.FilterMessage("Codec call").All()
	require.NotEmpty(t, audited)
	assert.Equal(t, "jane.doe", audited[0].ContextMap()["subject"])
}

// TestKeyRotationKeepsCasesGoing rotates the ring the documented way while a
// case is open, and shows that a worker whose ring lacks a case's key holds
// the case (its task fails, counted by key id) until the key is back.
func TestKeyRotationKeepsCasesGoing(t *testing.T) {
	s := startStack(t, stackOptions{})
	id := registerPrivateComplaint(t, s)
	oldRing, err := os.ReadFile(testCodec.KeysFile)
	require.NoError(t, err)
	newKey, err := encryption.NewKey("rotated")
	require.NoError(t, err)
	ring := func(text string) config.Temporal {
		return config.Temporal{Address: s.temporalAddress, Namespace: "default", Codec: config.Codec{Keys: text}}
	}
	// startWorker runs the case worker on a client of its own ring.
	startWorker := func(cfg config.Temporal, registry *prometheus.Registry) func() {
		tc, err := temporalclient.Dial(context.Background(), cfg, temporalclient.Options{Logger: s.logger, Metrics: registry})
		require.NoError(t, err)
		w := s.newWorker(tc)
		require.NoError(t, w.Start())
		return func() { w.Stop(); tc.Close() }
	}
	s.stopWorker()

	// A worker that lacks the key of the case's history: the case waits.
	registry := prometheus.NewRegistry()
	stop := startWorker(ring(newKey), registry)
	rotated, err := temporalclient.Dial(context.Background(), ring(newKey+"\n"+string(oldRing)), temporalclient.Options{Logger: zap.NewNop()})
	require.NoError(t, err)
	defer rotated.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// An update meets the missing key in its workflow task: Temporal fails
	// that call ("unexpected workflow task failure") and the caller sends it
	// again, as the API's clients retry a 5xx.
	noted := make(chan error, 1)
	var attempts atomic.Int64
	go func() {
		for {
			attempts.Add(1)
			handle, err := rotated.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
				WorkflowID: workflows.CaseWorkflowID(id), UpdateName: workflows.UpdateAddNote, UpdateID: "note-after-rotation",
				Args:         []any{workflows.OperatorAction{Operator: "jane.doe", Note: "after the rotation"}},
				WaitForStage: client.WorkflowUpdateStageCompleted,
			})
			if err == nil {
				err = handle.Get(ctx, nil)
			}
			if err == nil || ctx.Err() != nil {
				noted <- err
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	missing := func() float64 {
		families, err := registry.Gather()
		require.NoError(t, err)
		for _, f := range families {
			if f.GetName() == "case_codec_missing_key_total" {
				for _, m := range f.GetMetric() {
					if m.GetLabel()[0].GetValue() == "replay-fixtures" {
						return m.GetCounter().GetValue()
					}
				}
			}
		}
		return 0
	}
	require.Eventually(t, func() bool { return missing() > 0 && attempts.Load() > 1 }, time.Minute, 50*time.Millisecond,
		"the missing key is counted by its id, and the update tried more than once")
	select {
	case err := <-noted:
		t.Fatalf("the update finished without the key: %v", err)
	default:
	}
	stop()

	// The key is back, behind the new one: the same update goes through.
	stop = startWorker(ring(newKey+"\n"+string(oldRing)), nil)
	defer stop()
	require.NoError(t, <-noted)
	status, body := s.call(t, "GET", "/cases/"+id+"/history", nil)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, changesOf(body), "NoteAdded")

	// What was written after the rotation is under the new key.
	history := awaitHistory(t, rotated, id)
	assert.Contains(t, history, `"rotated"`)
	assert.Contains(t, history, `"replay-fixtures"`)
}

// awaitHistory is a workflow's history with each payload's key id readable.
func awaitHistory(t *testing.T, tc client.Client, caseID string) string {
	t.Helper()
	var ids []string
	events := tc.GetWorkflowHistory(context.Background(), workflows.CaseWorkflowID(caseID), "", false, 0)
	for events.HasNext() {
		event, err := events.Next()
		require.NoError(t, err)
		raw, err := json.Marshal(event)
		require.NoError(t, err)
		ids = append(ids, string(raw))
	}
	return decodeKeyIDs(strings.Join(ids, "\n"))
}

// decodeKeyIDs writes out the base64 key ids of a marshalled history.
func decodeKeyIDs(history string) string {
	var out strings.Builder
	for _, part := range strings.Split(history, `"encryption-key-id":"`)[1:] {
		encoded, _, _ := strings.Cut(part, `"`)
		if id, err := base64.StdEncoding.DecodeString(encoded); err == nil {
			fmt.Fprintf(&out, "%q\n", id)
		}
	}
	return out.String()
}

// TestTemporalUIShowsDecodedCases opens a case in the dev server's UI in
// Chromium: the UI decodes its payloads through the codec server, as make dev
// runs it, and shows the customer's details.
func TestTemporalUIShowsDecodedCases(t *testing.T) {
	ctx := browser(t, 2*time.Minute)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := startStack(t, stackOptions{uiCodecEndpoint: "http://" + ln.Addr().String()})
	serveCodec(t, s, ln, []string{s.temporalUI})
	id := registerPrivateComplaint(t, s)
	require.Eventually(t, func() bool {
		resp, err := http.Get(s.temporalUI)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, time.Minute, 100*time.Millisecond, "the Temporal UI at %s", s.temporalUI)

	var shown string
	var screenshot []byte
	err = chromedp.Run(ctx,
		chromedp.Navigate(s.temporalUI+"/namespaces/default/workflows/"+workflows.CaseWorkflowID(id)),
		chromedp.Poll(`document.body.innerText.includes("card blocked at the ATM")`, nil, chromedp.WithPollingTimeout(90*time.Second)),
		chromedp.Text("body", &shown, chromedp.ByQuery),
		chromedp.FullScreenshot(&screenshot, 80),
	)
	if len(screenshot) > 0 {
		keepScreenshot(t, "temporal-ui-decoded.png", screenshot)
	}
	require.NoError(t, err)
	assert.Contains(t, shown, "Ime237069")
}

// TestBulkActionsReportEachCase escalates every open critical case with one
// call: cases that take it are escalated, one already escalated is rejected
// with the validator's reason and changes nothing, others are not touched.
func TestBulkActionsReportEachCase(t *testing.T) {
	s := startStack(t, stackOptions{})
	create := func(importance string) string {
		status, body := s.call(t, "POST", "/complaints", map[string]any{"customer-id": "C-9", "importance": importance})
		require.Equal(t, http.StatusCreated, status, body)
		return body["id"].(string)
	}
	first, second, already, standard := create("Critical"), create("Critical"), create("Critical"), create("Standard")
	ctx := context.Background()
	action := workflows.OperatorAction{Operator: "jane.doe", Note: "branch outage"}
	require.NoError(t, s.operate(already, workflows.UpdateEscalate, action))

	query := `CaseState = "Accepted" AND Importance = "Critical"`
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		dry, err := bulk.Apply(ctx, s.temporal, bulk.Options{Query: query, Action: workflows.UpdateEscalate, Input: action, DryRun: true})
		assert.NoError(c, err)
		assert.Equal(c, []string{first, second, already}, dry.Selected)
	}, 10*time.Second, 50*time.Millisecond, "visibility lists the new cases")

	var progress []int
	summary, err := bulk.Apply(ctx, s.temporal, bulk.Options{Query: query, Action: workflows.UpdateEscalate, Input: action,
		Concurrency: 2, Progress: func(done, _ int) { progress = append(progress, done) }})
	require.NoError(t, err)
	require.Len(t, summary.Applied, 2)
	assert.Equal(t, []string{first, second}, []string{summary.Applied[0].CaseID, summary.Applied[1].CaseID})
	assert.EqualValues(t, 2, summary.Applied[0].Version)
	require.Len(t, summary.Rejected, 1)
	assert.Equal(t, already, summary.Rejected[0].CaseID)
	assert.Contains(t, summary.Rejected[0].Rejection, "escalated already")
	assert.Empty(t, summary.Failed)
	assert.ElementsMatch(t, []int{1, 2, 3}, progress)

	for id, want := range map[string][]string{
		first: {"Registered", "Escalated"}, already: {"Registered", "Escalated"}, standard: {"Registered"},
	} {
		status, body := s.call(t, "GET", "/cases/"+id+"/history", nil)
		require.Equal(t, http.StatusOK, status)
		assert.ElementsMatch(t, want, changesOf(body), id)
	}
}
